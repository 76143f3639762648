"""Schemas of ``/v1/events`` (pull, confirm, listing, push log) and ``/v1/app/callback``, rendered
from the read models of :mod:`openvod.domain.views.events`. Times have milliseconds."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

from openvod.domain.times import iso_ms
from openvod.domain.views.events import (
    CallbackView,
    DeliveryAttemptView,
    DeliveryView,
    EventView,
    RecentEventView,
)
from openvod.services.events import MAX_CONFIRM

__all__ = ["CallbackPublic", "CallbackUpdate", "ConfirmRequest", "ConfirmResult", "DeliveryAttempt",
           "DeliveryList", "DeliveryPublic", "EventList", "EventPublic", "RecentEvent", "RecentEventList"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class EventPublic(BaseModel):
    event_handle: str = Field(description="confirm with this; a later hand-out of the event gets a new one")
    event_id: str = Field(description="stable across hand-outs and pushes: dedupe on it")
    type: str
    created_at: str
    payload: dict[str, Any]

    @classmethod
    def from_view(cls, v: EventView) -> EventPublic:
        return cls(event_handle=v.event_handle, event_id=v.event_id, type=v.type,
                   created_at=iso_ms(v.created_at), payload=v.payload)


class EventList(BaseModel):
    items: list[EventPublic]


class RecentEvent(BaseModel):
    event_id: str
    type: str
    created_at: str
    payload: dict[str, Any]
    pulls: int = Field(description="how often GET /v1/events handed the event out")
    confirmed_at: str | None = Field(description="when a pull consumer confirmed it; null until then")

    @classmethod
    def from_view(cls, v: RecentEventView) -> RecentEvent:
        return cls(event_id=v.event_id, type=v.type, created_at=iso_ms(v.created_at), payload=v.payload,
                   pulls=v.pulls, confirmed_at=iso_ms(v.confirmed_at) if v.confirmed_at is not None else None)


class RecentEventList(BaseModel):
    items: list[RecentEvent]
    next_marker: str | None = Field(description="pass as marker for the next, older page; null on the last")


class ConfirmRequest(_Strict):
    handles: list[Annotated[str, Field(max_length=64)]] = Field(min_length=1, max_length=MAX_CONFIRM)


class ConfirmResult(BaseModel):
    confirmed: int = Field(description="events of this app the handles named; handles naming nothing are ignored")


class DeliveryAttempt(BaseModel):
    at: str
    attempt: int
    status: int | None
    error: str | None
    ms: int

    @classmethod
    def from_view(cls, a: DeliveryAttemptView) -> DeliveryAttempt:
        return cls(at=a.at, attempt=a.attempt, status=a.status, error=a.error, ms=a.ms)


class DeliveryPublic(BaseModel):
    id: int
    event_id: str
    event_type: str
    url: str
    method: str
    state: str
    attempts: int
    last_status: int | None
    last_error: str | None
    next_attempt_at: str | None = Field(description="when the next attempt is due; null unless pending")
    deadline_at: str
    created_at: str
    updated_at: str
    log: list[DeliveryAttempt] = Field(description="the last 50 attempts, oldest first")

    @classmethod
    def from_view(cls, d: DeliveryView) -> DeliveryPublic:
        return cls(
            id=d.id, event_id=d.event_id, event_type=d.event_type, url=d.url, method=d.method, state=d.state,
            attempts=d.attempts, last_status=d.last_status, last_error=d.last_error,
            next_attempt_at=iso_ms(d.next_attempt_at) if d.next_attempt_at is not None else None,
            deadline_at=iso_ms(d.deadline_at), created_at=iso_ms(d.created_at),
            updated_at=iso_ms(d.updated_at), log=[DeliveryAttempt.from_view(a) for a in d.log],
        )


class DeliveryList(BaseModel):
    items: list[DeliveryPublic]


class CallbackUpdate(_Strict):
    url: str = Field(max_length=1024)
    method: str = Field(default="POST", max_length=8)


class CallbackPublic(BaseModel):
    url: str | None
    method: str
    secret: str | None = Field(description="HMAC-SHA256 key of the OpenVOD-Signature header")

    @classmethod
    def from_view(cls, c: CallbackView) -> CallbackPublic:
        return cls(url=c.url, method=c.method, secret=c.secret)
