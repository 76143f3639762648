"""Kingsoft offline transcoding's wire shapes, rendered from the read models.

    _ok(taskInfo=task_info(view))            # GetTaskByTaskID
    _ok(presetdetail=preset_info(view, detail=True))

Kingsoft's key names (``taskid``, ``queuePosition``, ``presettype``, ...) live here and nowhere else;
:mod:`openvod.api.compat.kingsoft` parses, authenticates and calls the services. Times are written
in ``tz``, the server's ``compat_timezone`` (UTC unless set).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, tzinfo
from typing import Any

from openvod.domain.times import iso_s_or_none, utc
from openvod.domain.views.presets import PresetView
from openvod.domain.views.tasks import TaskMetaView, TaskView

__all__ = ["ks_time", "meta_info", "preset_info", "task_info"]

_STATUS = {"canceled": "fail"}  # the manual's taskStatus is init, exec, succ or fail


def ks_time(t: datetime, tz: tzinfo = UTC) -> str:
    """The manual's time format, in time zone ``tz``: ``2016-08-15 13:41:46``."""
    return utc(t).astimezone(tz).strftime("%Y-%m-%d %H:%M:%S")


def preset_info(p: PresetView, *, detail: bool, tz: tzinfo = UTC) -> dict[str, Any]:
    """An item of ``presetList`` (GetPresetList) or the ``presetdetail`` (GetPresetDetail); its
    ``param`` is the one the user saved, values as they were sent (the canonical one for presets
    saved before OpenVOD kept them, and for system presets)."""
    updated = ks_time(p.updated_at, tz) if utc(p.updated_at) > utc(p.created_at) else ""  # "" when never updated
    out: dict[str, Any] = {"preset": p.name, "presetType": p.type, "presettype": p.type,
                           "description": p.description, "system": p.system,
                           "createTime": ks_time(p.created_at, tz), "updateTime": updated}
    if detail:
        out["param"] = p.params_as_saved
    return out


def task_info(t: TaskView, tz: tzinfo = UTC) -> dict[str, Any]:
    """A ``taskInfo`` (GetTaskByTaskID, GetTaskList): any kind of task, transcode fields empty for others.

    The manual's keys (``taskStatus``, ``isTop`` "0"/"1", ``errorCode`` "0" when none, strings never
    null) and, kept for existing callers, OpenVOD's own (``state``, ``topped``, ``errorMessage``, ...)."""
    dst, err = t.dst, t.error
    created_ms = int(utc(t.created_at).timestamp() * 1000)
    out: dict[str, Any] = {
        "taskid": t.task_id, "preset": t.preset or "", "taskStatus": _STATUS.get(t.state.value, t.state.value),
        "state": t.state.value, "progress": t.progress, "queuePosition": t.queue_position,
        "isTop": "1" if t.topped else "0", "topped": t.topped,
        "srcInfo": [{"path": s.path, "type": s.type, "index": s.index, "name": s.name, "aaa": created_ms}
                    for s in t.sources or ()],
        "dstBucket": dst.bucket if dst else "", "dstDir": dst.dir if dst else "",
        "dstObjectKey": dst.key if dst else "", "dstAcl": dst.acl if dst else "",
        "cbUrl": t.cb_url or "", "cbMethod": t.cb_method or "", "extParam": t.ext_param or "",
        "createTime": ks_time(t.created_at, tz), "startTime": iso_s_or_none(t.started_at),
        "endTime": iso_s_or_none(t.finished_at),
        "errorCode": err.code if err else "0", "errorMsg": (err.message or "") if err else "",
        "errorMessage": (err.message or "") if err else "",
    }
    if t.transcode_output is not None:
        out["dstUrl"], out["dstSize"] = t.transcode_output.url, t.transcode_output.size
    elif t.result:  # another kind's output: it has no object, but the keys are there as before
        out["dstUrl"], out["dstSize"] = t.result.get("url"), t.result.get("size")
    return out


def meta_info(m: TaskMetaView, created_at: datetime, tz: tzinfo = UTC) -> dict[str, Any]:
    """An item of ``metaInfo`` (GetTaskMetaInfo): the probe JSON as compact strings, and the task's
    ``createTime``."""
    return {
        "taskid": m.task_id, "createTime": ks_time(created_at, tz),
        "meta_info": json.dumps(m.output, separators=(",", ":")) if m.output is not None else "",
        "src_meta_info": [json.dumps(s, separators=(",", ":")) for s in m.sources],
    }
