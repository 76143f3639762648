"""Recording events into the outbox table (delivery comes with the engine)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from openvod.db.models import Event
from openvod.ids import new_id

__all__ = ["EventType", "record"]


class EventType:
    NEW_FILE_UPLOAD = "NewFileUpload"
    FILE_DELETED = "FileDeleted"
    PULL_COMPLETE = "PullComplete"


def record(s: Session, app_id: str, type_: str, payload: dict[str, Any]) -> str:
    """Add an event in the caller's transaction, so it exists iff the change it reports does."""
    ev = Event(id=new_id("ev"), app_id=app_id, type=type_, payload=payload)
    s.add(ev)
    return ev.id
