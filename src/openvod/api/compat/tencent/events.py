"""Event actions: PullEvents (long-polls the native queue) and ConfirmEvents."""

from __future__ import annotations

from typing import Any

from openvod.api.compat.tencent.common import Call, Params, list_param
from openvod.api.compat.tencent.media import PART_TYPES
from openvod.errors import InvalidParameter
from openvod.services import events

__all__ = ["PULL_WAIT", "confirm_events_action", "pull_events_action"]

PULL_WAIT = 5.0

_PAYLOAD_FIELD = {"NewFileUpload": "FileUploadEvent", "ProcedureStateChanged": "ProcedureStateChangeEvent",
                  "FileDeleted": "FileDeleteEvent", "PullComplete": "PullCompleteEvent"}


def _event_content(item: dict[str, Any]) -> dict[str, Any]:
    etype, payload = item["type"], dict(item.get("payload") or {})
    if etype == "NewFileUpload":
        basic = payload.get("MediaBasicInfo") or {}
        payload = {"FileId": payload.get("FileId"), "MediaBasicInfo": {
            "Name": basic.get("Name", ""), "ClassId": basic.get("ClassId", 0),
            "SourceInfo": {"SourceType": "Upload", "SourceContext": payload.get("SourceContext") or ""}},
            "ProcedureTaskId": payload.get("ProcedureTaskId") or "", "ReviewAudioVideoTaskId": "",
            "MetaData": payload.get("MetaData")}
    elif etype == "FileDeleted":
        types = {v: k for k, v in PART_TYPES.items() if v}
        parts = []
        for part in payload.get("DeleteParts") or []:
            n, _, d = str(part).partition(":")
            if n in types:
                parts.append({"Type": types[n], "Definition": int(d) if d.isascii() and d.isdigit() else 0})
        payload = {"FileIdSet": payload.get("FileIdSet") or [], "FileDeleteResultInfo": [
            {"FileId": fid, "DeleteParts": parts} for fid in payload.get("FileIdSet") or []]}
    return {"EventHandle": item["event_handle"], "EventType": etype,
            _PAYLOAD_FIELD.get(etype, f"{etype}Event"): payload}


async def pull_events_action(c: Call) -> Params:
    items = await events.pull_events_async(c.ctx, c.app_id, wait=PULL_WAIT)
    return {"EventSet": [_event_content(i) for i in items[:events.PULL_BATCH]]}


def confirm_events_action(c: Call) -> Params:
    handles = [h for h in list_param(c.params, "EventHandles") if isinstance(h, str)]
    if not handles:
        raise InvalidParameter("EventHandles must list at least one handle", code="InvalidParameterValue.EventHandles")
    events.confirm_events(c.ctx, c.app_id, handles)
    return {}
