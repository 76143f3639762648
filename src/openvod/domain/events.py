"""Event types, push-delivery states and callback formats: the words stored in ``event.type``,
``delivery.state`` and ``task.cb_format`` / ``delivery.format``."""

from __future__ import annotations

from enum import StrEnum

__all__ = ["CallbackFormat", "DeliveryState", "EventType"]


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


class CallbackFormat(StrEnum):
    """How a task's own callback (``cb_url``) is pushed, and what a push's body is."""

    EVENT = "event"  # the signed event envelope, on every state change (the native API)
    KINGSOFT = "kingsoft"  # Kingsoft's GetTaskByTaskID answer, once, when the task ends (CreateTask's cbUrl)
