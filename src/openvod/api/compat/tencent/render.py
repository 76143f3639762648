"""Tencent VOD's wire shapes of tasks, templates and procedures, rendered from the read models.

Tencent's key names (``TaskId``, ``Status``, ``CreateTime``, ...) for these resources live here; the
task detail and its status maps are :mod:`openvod.domain.procedure_task` (the same shape is the
payload of stored ``ProcedureStateChanged`` events, written below the transports), cut to Tencent's
models by :mod:`openvod.api.compat.tencent.shapes`.
"""

from __future__ import annotations

from typing import Any

from openvod.api.compat.tencent import shapes
from openvod.domain import procedure_task
from openvod.domain.procedure_task import TASK_STATUS
from openvod.domain.templates import AUDIO_ONLY_CONTAINERS
from openvod.domain.times import iso_s, iso_s_or_none
from openvod.domain.views.procedures import ProcedureView
from openvod.domain.views.tasks import ProcessingTaskView, TaskView
from openvod.domain.views.templates import TemplateView
from openvod.services.processing import PROCESSING_KINDS

__all__ = ["procedure_out", "task_detail", "task_item", "template_out", "template_set_key"]


def template_out(t: TemplateView) -> dict[str, Any]:
    """An item of ``<Kind>TemplateSet``: the params flat, then the template's own fields (and a
    transcode template's ``ContainerType``: ``PureAudio`` for an audio-only container, else ``Video``)."""
    out = {**t.params, "Definition": t.definition, "Type": t.type, "Name": t.name, "Comment": t.comment,
           "CreateTime": iso_s(t.created_at), "UpdateTime": iso_s(t.updated_at)}
    if t.kind == "Transcode":
        out["ContainerType"] = "PureAudio" if t.params.get("Container") in AUDIO_ONLY_CONTAINERS else "Video"
    out.pop("PerTitle", None)  # OpenVOD's option (per-title ladders): not in Tencent's model; the native API has it
    return out


def task_detail(view: ProcessingTaskView) -> dict[str, Any]:
    """DescribeTaskDetail's answer (URL markers unsigned): the shared detail, its ``ProcedureTask``
    cut to Tencent's model."""
    detail = procedure_task.task_detail(view)
    return {**detail, "ProcedureTask": shapes.procedure_task(detail["ProcedureTask"])}


def template_set_key(kind: str) -> str:
    """The key of Describe<Kind>Templates' list."""
    return f"{kind}TemplateSet"


def procedure_out(p: ProcedureView) -> dict[str, Any]:
    """An item of ``ProcedureTemplateSet``."""
    return {"Name": p.name, "Type": p.type, "Comment": p.comment, "MediaProcessTask": p.media_process_task,
            "CreateTime": iso_s(p.created_at), "UpdateTime": iso_s(p.updated_at)}


def task_item(t: TaskView) -> dict[str, Any]:
    """An item of DescribeTasks' ``TaskSet``."""
    return {"TaskId": t.task_id, "Status": TASK_STATUS[t.state], "FileId": t.file_id or "",
            "TaskType": "Procedure" if t.kind in PROCESSING_KINDS else t.kind,
            "CreateTime": iso_s(t.created_at), "BeginProcessTime": iso_s_or_none(t.started_at) or "",
            "FinishTime": iso_s_or_none(t.finished_at) or "", "SessionId": t.session_id or "",
            "SessionContext": t.session_context or ""}

