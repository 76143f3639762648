"""Event actions: PullEvents (long-polls the native queue) and ConfirmEvents."""

from __future__ import annotations

from openvod.api.compat.tencent.common import Call, Params, list_param
from openvod.api.compat.tencent.library_render import event_content
from openvod.errors import InvalidParameter
from openvod.services import events

__all__ = ["PULL_WAIT", "confirm_events_action", "pull_events_action"]

PULL_WAIT = 5.0

async def pull_events_action(c: Call) -> Params:
    items = await events.pull_events_async(c.ctx, c.app_id, wait=PULL_WAIT)
    return {"EventSet": [event_content(i) for i in items[:events.PULL_BATCH]]}


def confirm_events_action(c: Call) -> Params:
    handles = [h for h in list_param(c.params, "EventHandles") if isinstance(h, str)]
    if not handles:
        raise InvalidParameter("EventHandles must list at least one handle", code="InvalidParameterValue.EventHandles")
    events.confirm_events(c.ctx, c.app_id, handles)
    return {}
