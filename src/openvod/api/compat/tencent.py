"""Tencent Cloud VOD API (``tencentcloud-sdk-python-vod``, version 2018-07-17) on ``POST /``.

Requests carry ``X-TC-Action`` and a TC3-HMAC-SHA256 signature (:mod:`openvod.auth.tc3`); answers
are always HTTP 200, ``Content-Type: application/json`` exactly (the SDK ignores error envelopes
otherwise), ``{"Response": {..., "RequestId"}}`` with errors in ``Response.Error{Code, Message}``.
Everything is translated to the native services; no logic lives here.

The app is the key's own app; ``SubAppId`` (non-zero) names another, which only a key of the
default app (the "main account") may reach.
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import parse_qsl

import anyio
from fastapi import APIRouter, Request, Response
from fastapi.routing import APIRoute
from starlette.routing import Match
from starlette.types import Scope

from openvod.auth.tc3 import verify_tc3
from openvod.errors import AuthFailure, InvalidParameter, NotFound, OpenVODError
from openvod.services import apps, cos_upload, events, media, procedures, processing, pull, templates
from openvod.services import tasks as tasks_svc
from openvod.services.context import Context

__all__ = ["VERSION", "handle", "router"]

log = logging.getLogger("openvod.compat.tencent")

VERSION = "2018-07-17"
ACTION_HEADER = "x-tc-action"
PULL_WAIT = 5.0
_UNSUPPORTED_YET: set[str] = set()



class _TencentRoute(APIRoute):
    """Matches only requests with ``X-TC-Action``, so another ``/`` route (Kingsoft's ``X-Action``)
    registered after this one gets the rest."""

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        if not any(k == b"x-tc-action" for k, _v in scope.get("headers") or []):
            return Match.NONE, {}
        return super().matches(scope)


router = APIRouter(tags=["tencent-compat"], include_in_schema=False, route_class=_TencentRoute)

Params = dict[str, Any]


class _Call:
    __slots__ = ("app_id", "ctx", "params")

    def __init__(self, ctx: Context, app_id: str, params: Params) -> None:
        self.ctx, self.app_id, self.params = ctx, app_id, params


def _json(payload: dict[str, Any]) -> Response:
    body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()
    return Response(content=body, status_code=200, headers={"Content-Type": "application/json"})


def _ok(request_id: str, fields: dict[str, Any]) -> Response:
    return _json({"Response": {**fields, "RequestId": request_id}})


def _error(request_id: str, code: str, message: str) -> Response:
    return _json({"Response": {"Error": {"Code": code, "Message": message}, "RequestId": request_id}})


# --- parameters ------------------------------------------------------------------------------


def _unflatten(pairs: list[tuple[str, str]]) -> Params:
    """``A.0.B=v`` (the SDK's GET form) to nested dicts and lists; values stay strings."""
    root: dict[str, Any] = {}
    for key, value in pairs:
        parts = key.split(".")
        node: Any = root
        for i, part in enumerate(parts):
            last = i == len(parts) - 1
            nxt: Any = value if last else ({} if not parts[i + 1].isdigit() else [])
            if isinstance(node, list):
                idx = int(part)
                while len(node) <= idx:
                    node.append(None)
                if node[idx] is None or last:
                    node[idx] = nxt
                node = node[idx]
            else:
                if part not in node or last:
                    node[part] = nxt
                node = node[part]
    return root


def _str(p: Params, key: str, default: str | None = None, *, required: bool = False) -> str | None:
    v = p.get(key)
    if v is None or v == "":
        if required:
            raise InvalidParameter(f"{key} is required", code=f"MissingParameter.{key}")
        return default
    if not isinstance(v, str):
        raise InvalidParameter(f"{key} must be a string", code=f"InvalidParameterValue.{key}")
    return v


def _int(p: Params, key: str, default: int | None = None) -> int | None:
    v = p.get(key)
    if v is None or v == "":
        return default
    try:
        if isinstance(v, bool):
            raise ValueError
        return int(v)
    except (TypeError, ValueError) as exc:
        raise InvalidParameter(f"{key} must be an integer, got {v!r}", code=f"InvalidParameterValue.{key}") from exc


def _list(p: Params, key: str) -> list[Any]:
    v = p.get(key)
    if v is None:
        return []
    if not isinstance(v, list):
        raise InvalidParameter(f"{key} must be an array", code=f"InvalidParameterValue.{key}")
    return v


def _obj(p: Params, key: str) -> dict[str, Any] | None:
    v = p.get(key)
    if v is None:
        return None
    if not isinstance(v, dict):
        raise InvalidParameter(f"{key} must be an object", code=f"InvalidParameterValue.{key}")
    return v


# --- media -----------------------------------------------------------------------------------

_FILTERS = {"basicInfo", "metaData", "transcodeInfo", "animatedGraphicsInfo", "imageSpriteInfo",
            "snapshotByTimeOffsetInfo", "sampleSnapshotInfo", "keyFrameDescInfo", "adaptiveDynamicStreamingInfo",
            "miniProgramReviewInfo", "subtitleInfo", "reviewInfo"}


def _num(v: Any, cast: type = int) -> Any:
    try:
        return cast(v) if v is not None else cast(0)
    except (TypeError, ValueError):
        return cast(0)


def _transcode_item(o: dict[str, Any]) -> dict[str, Any]:
    return {"Url": o.get("url"), "Definition": o.get("definition"), "Bitrate": _num(o.get("bitrate")),
            "Height": _num(o.get("height")), "Width": _num(o.get("width")), "Size": _num(o.get("size")),
            "Duration": _num(o.get("duration"), float), "Md5": o.get("md5") or "",
            "Container": o.get("container") or "", "VideoStreamSet": o.get("video_streams") or [],
            "AudioStreamSet": o.get("audio_streams") or []}


def _media_info(m: dict[str, Any], filters: set[str] | None) -> dict[str, Any]:
    def want(name: str) -> bool:
        return filters is None or name in filters

    outputs = m.get("outputs") or {}
    info: dict[str, Any] = {"FileId": m["file_id"]}
    if want("basicInfo"):
        source = m.get("source") or {}
        mtype = m.get("media_type") or ""
        category = {"video": "Video", "audio": "Audio", "image": "Image"}.get(mtype.lower(), "Video")
        info["BasicInfo"] = {
            "Name": m.get("name") or "", "Description": m.get("description") or "",
            "CreateTime": m.get("created_at") or "", "UpdateTime": m.get("updated_at") or "",
            "ExpireTime": m.get("expire_at") or "9999-12-31T23:59:59Z", "ClassId": m.get("class_id") or 0,
            "ClassName": "", "ClassPath": "", "CoverUrl": m.get("cover_url") or "",
            "Type": (source.get("key") or "").rsplit(".", 1)[-1].lower() if "." in (source.get("key") or "") else "",
            "MediaUrl": source.get("url") or m.get("play_url") or "",
            "SourceInfo": {"SourceType": "Upload", "SourceContext": m.get("source_context") or ""},
            "StorageRegion": "", "StoragePath": source.get("key") or "", "TagSet": [], "Category": category,
            "Status": "Normal" if m.get("state") in (None, "", "ready", "normal", "Normal") else str(m["state"]),
            "StorageClass": "STANDARD", "Vid": "",
        }
    if want("metaData"):
        info["MetaData"] = m.get("metadata")
    if want("transcodeInfo"):
        info["TranscodeInfo"] = {"TranscodeSet": [_transcode_item(o) for o in outputs.get("transcodes") or []]}
    if want("animatedGraphicsInfo"):
        info["AnimatedGraphicsInfo"] = {"AnimatedGraphicsSet": [
            {"Url": o.get("url"), "Definition": o.get("definition"), "Container": o.get("container") or "gif",
             "Height": _num(o.get("height")), "Width": _num(o.get("width")), "Bitrate": _num(o.get("bitrate")),
             "Size": _num(o.get("size")), "Md5": o.get("md5") or "",
             "StartTimeOffset": _num(o.get("start"), float), "EndTimeOffset": _num(o.get("end"), float)}
            for o in outputs.get("animated_graphics") or []]}
    if want("snapshotByTimeOffsetInfo"):
        by_def: dict[Any, list[dict[str, Any]]] = {}
        for o in outputs.get("snapshots") or []:
            by_def.setdefault(o.get("definition"), []).append(
                {"TimeOffset": _num(o.get("time_offset", o.get("offset")), float), "Url": o.get("url"),
                 "WaterMarkDefinition": []})
        info["SnapshotByTimeOffsetInfo"] = {"SnapshotByTimeOffsetSet": [
            {"Definition": d, "PicInfoSet": pics} for d, pics in by_def.items()]}
    if want("sampleSnapshotInfo"):
        grouped: dict[Any, list[str]] = {}
        for o in outputs.get("sample_snapshots") or []:
            grouped.setdefault(o.get("definition"), []).append(o.get("url"))
        info["SampleSnapshotInfo"] = {"SampleSnapshotSet": [
            {"Definition": d, "SampleType": "Percent", "Interval": 0, "ImageUrlSet": urls, "WaterMarkDefinition": []}
            for d, urls in grouped.items()]}
    if want("imageSpriteInfo"):
        info["ImageSpriteInfo"] = {"ImageSpriteSet": [
            {"Definition": o.get("definition"), "Height": _num(o.get("cell_height")),
             "Width": _num(o.get("cell_width")), "TotalCount": len(o.get("sheets") or []),
             "ImageUrlSet": o.get("sheets") or [], "WebVttUrl": o.get("url")}
            for o in outputs.get("image_sprites") or []]}
    if want("adaptiveDynamicStreamingInfo"):
        info["AdaptiveDynamicStreamingInfo"] = {"AdaptiveDynamicStreamingSet": [
            {"Definition": o.get("definition"), "Package": o.get("format") or "HLS",
             "DrmType": o.get("drm_type") or "", "Url": o.get("url"), "Size": _num(o.get("size"))}
            for o in outputs.get("adaptive_streams") or []]}
    return info


def describe_media_infos(c: _Call) -> Params:
    ids = [str(x) for x in _list(c.params, "FileIds")]
    if not 1 <= len(ids) <= 20:
        raise InvalidParameter("FileIds must list 1-20 file ids", code="InvalidParameterValue.FileIds")
    raw = _list(c.params, "Filters")
    filters = set(raw) if raw else None
    if filters and not filters <= _FILTERS:
        raise InvalidParameter(f"unknown Filters {sorted(filters - _FILTERS)}", code="InvalidParameterValue.Filters")
    found, missing = media.describe_media(c.ctx, c.app_id, ids)
    return {"MediaInfoSet": [_media_info(m, filters) for m in found], "NotExistFileIdSet": missing}


def search_media(c: _Call) -> Params:
    p = c.params
    offset, limit = _int(p, "Offset", 0) or 0, _int(p, "Limit", 10) or 10
    if offset < 0 or not 1 <= limit <= 100:
        raise InvalidParameter("Offset must be >= 0 and Limit 1-100", code="InvalidParameterValue.Limit")
    names = [n for n in _list(p, "Names") if isinstance(n, str)]
    name = _str(p, "Text") or (names[0] if names else None)
    class_ids = _list(p, "ClassIds")
    class_id = _int(p, "ClassId") if p.get("ClassId") is not None else (int(class_ids[0]) if class_ids else None)
    if _list(p, "FileIds"):
        found, _missing = media.describe_media(c.ctx, c.app_id, [str(x) for x in _list(p, "FileIds")])
        items: list[dict[str, Any]] = found
    else:
        items, marker = [], None
        while len(items) < offset + limit:
            page, marker = media.list_media(c.ctx, c.app_id, name=name, class_id=class_id, limit=100, marker=marker)
            items += page
            if marker is None:
                break
    filters = set(_list(p, "Filters")) or None
    window = items[offset:offset + limit]
    return {"TotalCount": len(items) if len(items) < offset + limit else max(len(items), offset + limit),
            "MediaInfoSet": [_media_info(m, filters) for m in window]}


def modify_media_info(c: _Call) -> Params:
    p = c.params
    fid = _str(p, "FileId", required=True)
    assert fid is not None
    kw: dict[str, Any] = {}
    if p.get("Name") is not None:
        kw["name"] = _str(p, "Name")
    if p.get("Description") is not None:
        kw["description"] = p["Description"]
    if p.get("ClassId") is not None:
        kw["class_id"] = _int(p, "ClassId")
    if p.get("ExpireTime") is not None:
        from datetime import datetime
        raw = _str(p, "ExpireTime") or ""
        try:
            kw["expire_at"] = datetime.fromisoformat(raw.replace("Z", "+00:00"))
        except ValueError as exc:
            raise InvalidParameter(f"ExpireTime {raw!r} is not ISO 8601", code="InvalidParameterValue.ExpireTime") \
                from exc
    m = media.modify_media(c.ctx, c.app_id, fid, **kw)
    return {"CoverUrl": m.get("cover_url") or "", "AddedSubtitleSet": []}


_PART_TYPES = {"OriginalFiles": "source", "TranscodeFiles": "transcodes", "AnimatedGraphicsFiles": "animated_graphics",
               "SnapshotByTimeOffsetFiles": "snapshots", "SampleSnapshotFiles": "sample_snapshots",
               "ImageSpriteFiles": "image_sprites", "AdaptiveDynamicStreamingFiles": "adaptive_streams",
               "WechatPublishFiles": None, "WechatMiniProgramPublishFiles": None}


def delete_media_action(c: _Call) -> Params:
    fid = _str(c.params, "FileId", required=True)
    assert fid is not None
    parts: list[str] = []
    for item in _list(c.params, "DeleteParts"):
        if not isinstance(item, dict) or item.get("Type") not in _PART_TYPES:
            raise InvalidParameter(f"DeleteParts item {item!r} has an unknown Type",
                                   code="InvalidParameterValue.DeleteParts")
        native = _PART_TYPES[item["Type"]]
        if native is None:
            continue
        definition = _int(item, "Definition", 0)
        parts.append(f"{native}:{definition}" if definition and native != "source" else native)
    media.delete_media(c.ctx, c.app_id, fid, parts or None)
    return {}


def pull_upload(c: _Call) -> Params:
    p = c.params
    url = _str(p, "MediaUrl", required=True)
    assert url is not None
    m = pull.pull_media(c.ctx, c.app_id, url, name=_str(p, "MediaName"), class_id=_int(p, "ClassId", 0) or 0,
                        procedure=_str(p, "Procedure", "") or "", source_context=_str(p, "SourceContext", "") or "",
                        session_context=_str(p, "SessionContext", "") or "")
    return {"TaskId": f"pull-{m['file_id']}"}


# --- processing ------------------------------------------------------------------------------


def _task_kw(p: Params) -> dict[str, Any]:
    return {"priority": _int(p, "TasksPriority", 0) or 0,
            "notify_mode": _str(p, "TasksNotifyMode", "Finish") or "Finish",
            "session_context": _str(p, "SessionContext", "") or "",
            "session_id": _str(p, "SessionId")}


def process_media_action(c: _Call) -> Params:
    p = c.params
    fid = _str(p, "FileId", required=True)
    task = _obj(p, "MediaProcessTask")
    if not task:
        raise InvalidParameter("MediaProcessTask is required", code="MissingParameter.MediaProcessTask")
    assert fid is not None
    task_id = processing.process_media(c.ctx, c.app_id, fid, task, ext_info=_str(p, "ExtInfo", "") or "",
                                       **_task_kw(p))
    return {"TaskId": task_id}


def process_media_by_procedure(c: _Call) -> Params:
    p = c.params
    fid, name = _str(p, "FileId", required=True), _str(p, "ProcedureName", required=True)
    assert fid is not None and name is not None
    task_id = processing.run_procedure(c.ctx, c.app_id, fid, name, ext_info=_str(p, "ExtInfo", "") or "",
                                       **_task_kw(p))
    return {"TaskId": task_id, "ReviewAudioVideoTaskId": "", "ImportMediaKnowledgeTaskIdSet": []}


def describe_task_detail(c: _Call) -> Params:
    task_id = _str(c.params, "TaskId", required=True)
    assert task_id is not None
    return processing.process_task_detail(c.ctx, c.app_id, task_id)


_STATE_OF = {"WAITING": "init", "PROCESSING": "exec"}
_STATUS_OF = {"init": "WAITING", "exec": "PROCESSING", "succ": "FINISH", "fail": "FINISH", "canceled": "ABORTED"}


def describe_tasks(c: _Call) -> Params:
    p = c.params
    status = _str(p, "Status")
    if status is not None and status not in ("WAITING", "PROCESSING", "FINISH"):
        raise InvalidParameter("Status must be WAITING, PROCESSING or FINISH", code="InvalidParameterValue.Status")
    fid = _str(p, "FileId")
    limit = _int(p, "Limit", 10) or 10
    if not 1 <= limit <= 100:
        raise InvalidParameter("Limit must be 1-100", code="InvalidParameterValue.Limit")
    marker = _str(p, "ScrollToken")
    out: list[dict[str, Any]] = []
    next_marker: str | None = None
    # Filters the native list does not know are applied here, page by page.
    while len(out) < limit:
        page, marker, _total = tasks_svc.list_tasks(c.ctx, c.app_id, marker=marker, limit=100,
                                                    state=_STATE_OF.get(status or ""), file_id=fid)
        for t in page:
            if status == "FINISH" and t["state"] not in ("succ", "fail"):
                continue
            out.append(t)
            if len(out) == limit:
                next_marker = t["task_id"]
                break
        if marker is None or next_marker:
            break
    items = []
    for t in out:
        items.append({"TaskId": t["task_id"], "Status": _STATUS_OF.get(t["state"], "PROCESSING"),
                      "FileId": t.get("file_id") or "", "TaskType": "Procedure" if t["kind"] in
                      processing.PROCESSING_KINDS else t["kind"],
                      "CreateTime": t.get("created_at") or "", "BeginProcessTime": t.get("started_at") or "",
                      "FinishTime": t.get("finished_at") or "", "SessionId": t.get("session_id") or "",
                      "SessionContext": t.get("session_context") or ""})
    return {"TaskSet": items, "ScrollToken": next_marker or ""}


# --- templates -------------------------------------------------------------------------------

_TEMPLATE_KINDS = {
    "TranscodeTemplate": "Transcode",
    "AnimatedGraphicsTemplate": "AnimatedGraphics",
    "SnapshotByTimeOffsetTemplate": "SnapshotByTimeOffset",
    "SampleSnapshotTemplate": "SampleSnapshot",
    "ImageSpriteTemplate": "ImageSprite",
    "AdaptiveDynamicStreamingTemplate": "AdaptiveDynamicStreaming",
}
_META = {"Name", "Comment", "SubAppId", "Definition", "Definitions", "Type", "Offset", "Limit"}


def _template_out(t: dict[str, Any]) -> dict[str, Any]:
    return {**t["params"], "Definition": t["definition"], "Type": t["type"], "Name": t["name"],
            "Comment": t["comment"], "CreateTime": t["created_at"], "UpdateTime": t["updated_at"]}


def _template_actions(suffix: str, kind: str) -> dict[str, Callable[[_Call], Params]]:
    def create(c: _Call) -> Params:
        params = {k: v for k, v in c.params.items() if k not in _META}
        t = templates.create_template(c.ctx, c.app_id, kind, params, name=_str(c.params, "Name", "") or "",
                                      comment=_str(c.params, "Comment", "") or "")
        return {"Definition": t["definition"]}

    def describe(c: _Call) -> Params:
        defs = c.params.get("Definitions")
        res = templates.list_templates(c.ctx, c.app_id, kind,
                                       definitions=[_int({"d": d}, "d") or 0 for d in defs] if defs else None,
                                       type=_str(c.params, "Type"), offset=_int(c.params, "Offset", 0) or 0,
                                       limit=_int(c.params, "Limit", 10) or 10)
        key = {"AdaptiveDynamicStreaming": "AdaptiveDynamicStreamingTemplateSet"}.get(kind, f"{kind}TemplateSet")
        return {"TotalCount": res["total"], key: [_template_out(t) for t in res["items"]]}

    def modify(c: _Call) -> Params:
        d = _int(c.params, "Definition")
        if d is None:
            raise InvalidParameter("Definition is required", code="MissingParameter.Definition")
        params = {k: v for k, v in c.params.items() if k not in _META}
        templates.update_template(c.ctx, c.app_id, kind, d, name=_str(c.params, "Name"),
                                  comment=_str(c.params, "Comment"), params=params or None)
        return {}

    def delete(c: _Call) -> Params:
        d = _int(c.params, "Definition")
        if d is None:
            raise InvalidParameter("Definition is required", code="MissingParameter.Definition")
        templates.delete_template(c.ctx, c.app_id, kind, d)
        return {}

    return {f"Create{suffix}": create, f"Describe{suffix}s": describe, f"Modify{suffix}": modify,
            f"Delete{suffix}": delete}


def _procedure_out(pr: dict[str, Any]) -> dict[str, Any]:
    return {"Name": pr["name"], "Type": pr["type"], "Comment": pr["comment"],
            "MediaProcessTask": pr["media_process_task"], "CreateTime": pr["created_at"],
            "UpdateTime": pr["updated_at"]}


def create_procedure(c: _Call) -> Params:
    name = _str(c.params, "Name", required=True)
    assert name is not None
    procedures.create_procedure(c.ctx, c.app_id, name, _obj(c.params, "MediaProcessTask") or {},
                                comment=_str(c.params, "Comment", "") or "")
    return {}


def describe_procedures(c: _Call) -> Params:
    names = c.params.get("Names")
    res = procedures.list_procedures(c.ctx, c.app_id, names=names or None, offset=_int(c.params, "Offset", 0) or 0,
                                     limit=_int(c.params, "Limit", 10) or 10)
    return {"TotalCount": res["total"], "ProcedureTemplateSet": [_procedure_out(p) for p in res["items"]]}


def modify_procedure(c: _Call) -> Params:
    name = _str(c.params, "Name", required=True)
    assert name is not None
    procedures.update_procedure(c.ctx, c.app_id, name, task=_obj(c.params, "MediaProcessTask"),
                                comment=_str(c.params, "Comment"))
    return {}


def delete_procedure(c: _Call) -> Params:
    name = _str(c.params, "Name", required=True)
    assert name is not None
    procedures.delete_procedure(c.ctx, c.app_id, name)
    return {}


# --- events ----------------------------------------------------------------------------------

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
        types = {v: k for k, v in _PART_TYPES.items() if v}
        parts = []
        for part in payload.get("DeleteParts") or []:
            n, _, d = str(part).partition(":")
            if n in types:
                parts.append({"Type": types[n], "Definition": int(d) if d.isdigit() else 0})
        payload = {"FileIdSet": payload.get("FileIdSet") or [], "FileDeleteResultInfo": [
            {"FileId": fid, "DeleteParts": parts} for fid in payload.get("FileIdSet") or []]}
    return {"EventHandle": item["event_handle"], "EventType": etype,
            _PAYLOAD_FIELD.get(etype, f"{etype}Event"): payload}


async def pull_events_action(c: _Call) -> Params:
    items = await events.pull_events_async(c.ctx, c.app_id, wait=PULL_WAIT)
    return {"EventSet": [_event_content(i) for i in items[:events.PULL_BATCH]]}


def confirm_events_action(c: _Call) -> Params:
    handles = [h for h in _list(c.params, "EventHandles") if isinstance(h, str)]
    if not handles:
        raise InvalidParameter("EventHandles must list at least one handle", code="InvalidParameterValue.EventHandles")
    events.confirm_events(c.ctx, c.app_id, handles)
    return {}


# --- dispatch --------------------------------------------------------------------------------

_SYNC_ACTIONS: dict[str, Callable[[_Call], Params]] = {
    "DescribeMediaInfos": describe_media_infos,
    "SearchMedia": search_media,
    "ModifyMediaInfo": modify_media_info,
    "DeleteMedia": delete_media_action,
    "PullUpload": pull_upload,
    "ProcessMedia": process_media_action,
    "ProcessMediaByProcedure": process_media_by_procedure,
    "DescribeTaskDetail": describe_task_detail,
    "DescribeTasks": describe_tasks,
    "CreateProcedureTemplate": create_procedure,
    "DescribeProcedureTemplates": describe_procedures,
    "ModifyProcedureTemplate": modify_procedure,
    "ResetProcedureTemplate": modify_procedure,
    "DeleteProcedureTemplate": delete_procedure,
    "ConfirmEvents": confirm_events_action,
    "ApplyUpload": lambda c: cos_upload.apply_upload(c.ctx, c.app_id, c.params),
    "CommitUpload": lambda c: cos_upload.commit_upload(c.ctx, c.app_id, c.params),
}
for _suffix, _kind in _TEMPLATE_KINDS.items():
    _SYNC_ACTIONS.update(_template_actions(_suffix, _kind))
_ASYNC_ACTIONS: dict[str, Callable[[_Call], Awaitable[Params]]] = {"PullEvents": pull_events_action}

ACTIONS = frozenset(_SYNC_ACTIONS) | frozenset(_ASYNC_ACTIONS)


def _lookup(ctx: Context) -> Callable[[str], str | None]:
    def lookup(secret_id: str) -> str | None:
        k = apps.lookup_key(ctx.db, secret_id)
        return k.secret_key if k is not None and k.state == "active" else None
    return lookup


def _resolve_app(ctx: Context, key_app_id: str, sub_app_id: int | None) -> str:
    if not sub_app_id:
        return key_app_id
    all_apps = apps.list_apps(ctx.db)
    target = next((a for a in all_apps if a.sub_app_id == sub_app_id), None)
    key_app = next((a for a in all_apps if a.id == key_app_id), None)
    if target is None:
        raise InvalidParameter(f"SubAppId {sub_app_id} does not exist", code="InvalidParameterValue.SubAppId")
    if target.id != key_app_id and not (key_app is not None and key_app.is_default):
        raise AuthFailure(f"this key may not act on SubAppId {sub_app_id}", code="AuthFailure.UnauthorizedOperation")
    return target.id


def _authenticate(ctx: Context, method: str, query: str, headers: dict[str, str], body: bytes,
                  sub_app_id: int | None) -> str:
    secret_id = verify_tc3(method, query, headers, body, _lookup(ctx), now=time.time())
    key = apps.lookup_key(ctx.db, secret_id)
    if key is None:
        raise AuthFailure(f"SecretId {secret_id} is unknown", code="AuthFailure.SecretIdNotFound")
    return _resolve_app(ctx, key.app_id, sub_app_id)


async def handle(request: Request) -> Response:
    """Answer one Tencent VOD API request (``X-TC-Action``)."""
    request_id = str(uuid.uuid4())
    action = request.headers.get(ACTION_HEADER, "")
    try:
        ctx: Context = request.app.state.ctx
        headers = {k.lower(): v for k, v in request.headers.items()}
        body = await request.body()
        method = request.method.upper()
        query = request.url.query
        if not action:
            raise InvalidParameter("the X-TC-Action header is missing", code="MissingParameter")
        version = headers.get("x-tc-version", "")
        if version != VERSION:
            raise InvalidParameter(f"X-TC-Version must be {VERSION}, got {version!r}", code="NoSuchVersion")
        if "authorization" not in headers:
            raise AuthFailure("only TC3-HMAC-SHA256 signatures are accepted (no Authorization header)",
                              code="AuthFailure.SignatureFailure")
        if method == "GET":
            params: Any = _unflatten(parse_qsl(query, keep_blank_values=True))
        elif body:
            try:
                params = json.loads(body)
            except (ValueError, UnicodeDecodeError) as exc:
                raise InvalidParameter("the request body is not JSON", code="InvalidParameter") from exc
        else:
            params = {}
        if not isinstance(params, dict):
            raise InvalidParameter("the request body must be a JSON object", code="InvalidParameter")
        sub_app_id = _int(params, "SubAppId")
        app_id = await anyio.to_thread.run_sync(_authenticate, ctx, method, query, headers, body, sub_app_id)
        if action in _UNSUPPORTED_YET or action not in ACTIONS:
            raise OpenVODError(f"action {action!r} is not supported", code="UnsupportedOperation")
        call = _Call(ctx, app_id, params)
        if action in _ASYNC_ACTIONS:
            result = await _ASYNC_ACTIONS[action](call)
        else:
            result = await anyio.to_thread.run_sync(_SYNC_ACTIONS[action], call)
        return _ok(request_id, result)
    except OpenVODError as exc:
        code = exc.code
        if isinstance(exc, NotFound) and code == "ResourceNotFound.Media":
            code = "ResourceNotFound.FileNotExist"
        return _error(request_id, code, exc.message)
    except Exception:
        log.exception("Tencent compat action %r failed", action)
        return _error(request_id, "InternalError", "internal error")


@router.post("/", include_in_schema=False)
@router.get("/", include_in_schema=False)
async def tencent_root(request: Request) -> Response:
    """The Tencent VOD endpoint (only with ``X-TC-Action``; see :func:`handle`)."""
    return await handle(request)
