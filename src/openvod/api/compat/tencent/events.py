"""Event actions: PullEvents (long-polls the native queue) and ConfirmEvents."""

from __future__ import annotations

import anyio

from openvod.api.compat.tencent.common import Call, Params, list_param
from openvod.api.compat.tencent.library_render import event_content
from openvod.domain.views.events import EventView
from openvod.domain.views.media import MediaView
from openvod.errors import InvalidParameter
from openvod.services import events, media

__all__ = ["PULL_WAIT", "confirm_events_action", "pull_events_action"]

PULL_WAIT = 5.0

async def pull_events_action(c: Call) -> Params:
    items = (await events.pull_events_async(c.ctx, c.app_id, wait=PULL_WAIT))[:events.PULL_BATCH]
    uploaded = await anyio.to_thread.run_sync(_uploaded, c, items)
    return {"EventSet": [event_content(i, uploaded.get(str((i.payload or {}).get("FileId")))) for i in items]}


def _uploaded(c: Call, items: list[EventView]) -> dict[str, MediaView]:
    """The files NewFileUpload events name, as they are now (deleted ones are left out)."""
    ids = sorted({str(i.payload["FileId"]) for i in items
                  if i.type == "NewFileUpload" and i.payload and i.payload.get("FileId")})
    found, _missing = media.describe_media(c.ctx, c.app_id, ids) if ids else ([], [])
    return {m.file_id: m for m in found}


def confirm_events_action(c: Call) -> Params:
    handles = [h for h in list_param(c.params, "EventHandles") if isinstance(h, str)]
    if not handles:
        raise InvalidParameter("EventHandles must list at least one handle", code="InvalidParameterValue.EventHandles")
    events.confirm_events(c.ctx, c.app_id, handles)
    return {}
