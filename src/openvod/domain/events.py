"""Event types and push-delivery states: the words stored in ``event.type`` and ``delivery.state``."""

from __future__ import annotations

from enum import StrEnum

__all__ = ["DeliveryState", "EventType"]


class EventType(StrEnum):
    """What an event reports; the names are Tencent VOD's ``EventType`` values."""

    NEW_FILE_UPLOAD = "NewFileUpload"
    FILE_DELETED = "FileDeleted"
    PULL_COMPLETE = "PullComplete"
    PROCEDURE_STATE_CHANGED = "ProcedureStateChanged"  # a processing task (flow) moved
    TASK_STATE_CHANGED = "TaskStateChanged"  # any other task moved


class DeliveryState(StrEnum):
    """One push of an event to a callback URL: retried while ``pending``, then ``done`` or ``failed``."""

    PENDING = "pending"
    DONE = "done"
    FAILED = "failed"
