"""``/v1/events`` (pull, confirm, read-only listing, push log) and ``/v1/app/callback`` (push settings)."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query

from openvod.api.deps import AuthKey, Ctx
from openvod.api.v1.event_schemas import (
    CallbackPublic,
    CallbackUpdate,
    ConfirmRequest,
    ConfirmResult,
    DeliveryList,
    DeliveryPublic,
    EventList,
    EventPublic,
    RecentEvent,
    RecentEventList,
)
from openvod.services import deliveries, events

__all__ = ["router"]

router = APIRouter(tags=["events"])


@router.get("/v1/events", response_model=EventList, summary="Pull events (long-poll)")
async def pull(
    ctx: Ctx,
    key: AuthKey,
    wait: Annotated[float, Query(ge=0, le=60, description="seconds to wait when none are ready; "
                                 "capped by the server's pull_wait_seconds")] = 0.0,
) -> EventList:
    """Up to 16 unconfirmed events, oldest first. Each is hidden for ``pull_redeliver_seconds``
    after it is handed out and comes back unless confirmed by then."""
    items = await events.pull_events_async(ctx, key.app_id, wait=wait)
    return EventList(items=[EventPublic.from_view(e) for e in items])


@router.post("/v1/events/confirm", response_model=ConfirmResult, summary="Confirm pulled events")
def confirm(body: ConfirmRequest, ctx: Ctx, key: AuthKey) -> ConfirmResult:
    return ConfirmResult(confirmed=events.confirm_events(ctx, key.app_id, body.handles))


@router.get("/v1/events/recent", response_model=RecentEventList, summary="Recent events, newest first (read-only)")
def list_recent(
    ctx: Ctx,
    key: AuthKey,
    # Range and format are checked by the service, so a bad value gets its own error code.
    limit: Annotated[int, Query(description="1-100")] = 50,
    type_: Annotated[str | None, Query(alias="type", description="only events of this type")] = None,
    marker: Annotated[str | None, Query(description="next_marker of the previous page")] = None,
) -> RecentEventList:
    """The app's events for looking at: unlike ``GET /v1/events`` this hands nothing out and
    confirms nothing, so it never takes an event from the app's pull consumer."""
    items, nxt = events.list_recent(ctx, key.app_id, limit=limit, type_=type_, marker=marker)
    return RecentEventList(items=[RecentEvent.from_view(e) for e in items], next_marker=nxt)


@router.get("/v1/events/deliveries", response_model=DeliveryList, summary="Recent push deliveries")
def list_deliveries(
    ctx: Ctx,
    key: AuthKey,
    state: Literal["pending", "done", "failed"] | None = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
) -> DeliveryList:
    items = deliveries.list_deliveries(ctx, key.app_id, state=state, limit=limit)
    return DeliveryList(items=[DeliveryPublic.from_view(d) for d in items])


@router.post("/v1/events/deliveries/{delivery_id}/redeliver", response_model=DeliveryPublic,
             summary="Push a delivery again now")
def redeliver(delivery_id: int, ctx: Ctx, key: AuthKey) -> DeliveryPublic:
    return DeliveryPublic.from_view(deliveries.redeliver(ctx, key.app_id, delivery_id))


@router.get("/v1/app/callback", response_model=CallbackPublic, summary="The app's push settings")
def get_callback(ctx: Ctx, key: AuthKey) -> CallbackPublic:
    return CallbackPublic.from_view(deliveries.get_callback(ctx, key.app_id))


@router.put("/v1/app/callback", response_model=CallbackPublic, summary="Push the app's events to a URL")
def set_callback(body: CallbackUpdate, ctx: Ctx, key: AuthKey) -> CallbackPublic:
    return CallbackPublic.from_view(deliveries.set_callback(ctx, key.app_id, body.url, body.method))


@router.delete("/v1/app/callback", response_model=CallbackPublic, summary="Stop pushing the app's events")
def clear_callback(ctx: Ctx, key: AuthKey) -> CallbackPublic:
    return CallbackPublic.from_view(deliveries.clear_callback(ctx, key.app_id))
