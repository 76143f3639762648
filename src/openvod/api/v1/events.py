"""``/v1/events`` (pull, confirm, read-only listing, push log) and ``/v1/app/callback`` (push settings)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field

from openvod.api.deps import AuthKey, Ctx
from openvod.services import deliveries, events

__all__ = ["router"]

router = APIRouter(tags=["events"])


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class EventPublic(BaseModel):
    event_handle: str = Field(description="confirm with this; a later hand-out of the event gets a new one")
    event_id: str = Field(description="stable across hand-outs and pushes: dedupe on it")
    type: str
    created_at: str
    payload: dict[str, Any]


class EventList(BaseModel):
    items: list[EventPublic]


class RecentEvent(BaseModel):
    event_id: str
    type: str
    created_at: str
    payload: dict[str, Any]
    pulls: int = Field(description="how often GET /v1/events handed the event out")
    confirmed_at: str | None = Field(description="when a pull consumer confirmed it; null until then")


class RecentEventList(BaseModel):
    items: list[RecentEvent]
    next_marker: str | None = Field(description="pass as marker for the next, older page; null on the last")


class ConfirmRequest(_Strict):
    handles: list[Annotated[str, Field(max_length=64)]] = Field(min_length=1, max_length=events.MAX_CONFIRM)


class ConfirmResult(BaseModel):
    confirmed: int = Field(description="events of this app the handles named; handles naming nothing are ignored")


class DeliveryAttempt(BaseModel):
    at: str
    attempt: int
    status: int | None
    error: str | None
    ms: int


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


class DeliveryList(BaseModel):
    items: list[DeliveryPublic]


class CallbackUpdate(_Strict):
    url: str = Field(max_length=1024)
    method: str = Field(default="POST", max_length=8)


class CallbackPublic(BaseModel):
    url: str | None
    method: str
    secret: str | None = Field(description="HMAC-SHA256 key of the OpenVOD-Signature header")


@router.get("/v1/events", response_model=EventList, summary="Pull events (long-poll)")
async def pull(
    ctx: Ctx,
    key: AuthKey,
    wait: Annotated[float, Query(ge=0, le=60, description="seconds to wait when none are ready; "
                                 "capped by the server's pull_wait_seconds")] = 0.0,
) -> dict[str, Any]:
    """Up to 16 unconfirmed events, oldest first. Each is hidden for ``pull_redeliver_seconds``
    after it is handed out and comes back unless confirmed by then."""
    return {"items": await events.pull_events_async(ctx, key.app_id, wait=wait)}


@router.post("/v1/events/confirm", response_model=ConfirmResult, summary="Confirm pulled events")
def confirm(body: ConfirmRequest, ctx: Ctx, key: AuthKey) -> dict[str, Any]:
    return {"confirmed": events.confirm_events(ctx, key.app_id, body.handles)}


@router.get("/v1/events/recent", response_model=RecentEventList, summary="Recent events, newest first (read-only)")
def list_recent(
    ctx: Ctx,
    key: AuthKey,
    # Range and format are checked by the service, so a bad value gets its own error code.
    limit: Annotated[int, Query(description="1-100")] = 50,
    type_: Annotated[str | None, Query(alias="type", description="only events of this type")] = None,
    marker: Annotated[str | None, Query(description="next_marker of the previous page")] = None,
) -> dict[str, Any]:
    """The app's events for looking at: unlike ``GET /v1/events`` this hands nothing out and
    confirms nothing, so it never takes an event from the app's pull consumer."""
    items, nxt = events.list_recent(ctx, key.app_id, limit=limit, type_=type_, marker=marker)
    return {"items": items, "next_marker": nxt}


@router.get("/v1/events/deliveries", response_model=DeliveryList, summary="Recent push deliveries")
def list_deliveries(
    ctx: Ctx,
    key: AuthKey,
    state: Literal["pending", "done", "failed"] | None = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
) -> dict[str, Any]:
    return {"items": deliveries.list_deliveries(ctx, key.app_id, state=state, limit=limit)}


@router.post("/v1/events/deliveries/{delivery_id}/redeliver", response_model=DeliveryPublic,
             summary="Push a delivery again now")
def redeliver(delivery_id: int, ctx: Ctx, key: AuthKey) -> dict[str, Any]:
    return deliveries.redeliver(ctx, key.app_id, delivery_id)


@router.get("/v1/app/callback", response_model=CallbackPublic, summary="The app's push settings")
def get_callback(ctx: Ctx, key: AuthKey) -> dict[str, Any]:
    return deliveries.get_callback(ctx, key.app_id)


@router.put("/v1/app/callback", response_model=CallbackPublic, summary="Push the app's events to a URL")
def set_callback(body: CallbackUpdate, ctx: Ctx, key: AuthKey) -> dict[str, Any]:
    return deliveries.set_callback(ctx, key.app_id, body.url, body.method)


@router.delete("/v1/app/callback", response_model=CallbackPublic, summary="Stop pushing the app's events")
def clear_callback(ctx: Ctx, key: AuthKey) -> dict[str, Any]:
    return deliveries.clear_callback(ctx, key.app_id)
