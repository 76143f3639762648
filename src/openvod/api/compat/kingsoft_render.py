"""Kingsoft offline transcoding's wire shapes, rendered from the read models.

    _ok(taskInfo=task_info(view))            # GetTaskByTaskID
    _ok(presetdetail=preset_info(view, detail=True))

Kingsoft's key names (``taskid``, ``queuePosition``, ``presettype``, ...) live here and nowhere else;
:mod:`openvod.api.compat.kingsoft` parses, authenticates and calls the services.
"""

from __future__ import annotations

import json
from typing import Any

from openvod.domain.times import iso_s, iso_s_or_none
from openvod.domain.views.presets import PresetView
from openvod.domain.views.tasks import TaskMetaView, TaskView

__all__ = ["meta_info", "preset_info", "task_info"]


def preset_info(p: PresetView, *, detail: bool) -> dict[str, Any]:
    """An item of ``presetList`` (GetPresetList) or the ``presetdetail`` (GetPresetDetail)."""
    out: dict[str, Any] = {"preset": p.name, "presettype": p.type, "description": p.description,
                           "system": p.system, "createTime": iso_s(p.created_at), "updateTime": iso_s(p.updated_at)}
    if detail:
        out["param"] = p.params
    return out


def task_info(t: TaskView) -> dict[str, Any]:
    """A ``taskInfo`` (GetTaskByTaskID, GetTaskList): any kind of task, transcode fields empty for others."""
    dst, err = t.dst, t.error
    out: dict[str, Any] = {
        "taskid": t.task_id, "preset": t.preset, "state": t.state.value, "progress": t.progress,
        "queuePosition": t.queue_position, "topped": t.topped,
        "srcInfo": [{"name": s.name, "type": s.type, "index": s.index} for s in t.sources or ()],
        "dstBucket": dst.bucket if dst else None, "dstObjectKey": dst.key if dst else None,
        "dstAcl": dst.acl if dst else None,
        "cbUrl": t.cb_url, "cbMethod": t.cb_method, "extParam": t.ext_param,
        "createTime": iso_s(t.created_at), "startTime": iso_s_or_none(t.started_at),
        "endTime": iso_s_or_none(t.finished_at),
        "errorCode": err.code if err else "", "errorMessage": err.message if err else "",
    }
    if t.transcode_output is not None:
        out["dstUrl"], out["dstSize"] = t.transcode_output.url, t.transcode_output.size
    elif t.result:  # another kind's output: it has no object, but the keys are there as before
        out["dstUrl"], out["dstSize"] = t.result.get("url"), t.result.get("size")
    return out


def meta_info(m: TaskMetaView) -> dict[str, Any]:
    """An item of ``metaInfo`` (GetTaskMetaInfo): the probe JSON as compact strings."""
    return {
        "taskid": m.task_id,
        "meta_info": json.dumps(m.output, separators=(",", ":")) if m.output is not None else "",
        "src_meta_info": [json.dumps(s, separators=(",", ":")) for s in m.sources],
    }
