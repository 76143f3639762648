"""Read models of events and their push deliveries.

``payload`` is the event's stored JSON with URL markers already made into fresh URLs. Times are
``datetime`` as stored; renderers format them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

__all__ = ["CallbackView", "DeliveryAttemptView", "DeliveryView", "EventView", "RecentEventView"]


@dataclass(frozen=True)
class EventView:
    """An event handed out by a pull: ``event_handle`` names this hand-out, ``event_id`` the event."""

    event_handle: str
    event_id: str
    type: str
    created_at: datetime
    payload: dict[str, Any]


@dataclass(frozen=True)
class RecentEventView:
    """An event as the read-only listing shows it."""

    event_id: str
    type: str
    created_at: datetime
    payload: dict[str, Any]
    pulls: int
    confirmed_at: datetime | None


@dataclass(frozen=True)
class DeliveryAttemptView:
    """One attempt of a push, as logged (``at`` is already formatted when the attempt was logged)."""

    at: str
    attempt: int
    status: int | None
    error: str | None
    ms: int


@dataclass(frozen=True)
class DeliveryView:
    id: int
    event_id: str
    event_type: str
    url: str
    method: str
    state: str
    attempts: int
    last_status: int | None
    last_error: str | None
    next_attempt_at: datetime | None  # None unless pending
    deadline_at: datetime
    created_at: datetime
    updated_at: datetime
    log: tuple[DeliveryAttemptView, ...]


@dataclass(frozen=True)
class CallbackView:
    """An app's push settings: ``url`` None when unset; ``secret`` signs every push."""

    url: str | None
    method: str
    secret: str
