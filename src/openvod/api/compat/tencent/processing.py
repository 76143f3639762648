"""Processing and task actions: ProcessMedia, ProcessMediaByProcedure, DescribeTaskDetail, DescribeTasks."""

from __future__ import annotations

from typing import Any

from openvod.api.compat.tencent.common import Call, Params, int_param, obj_param, str_param
from openvod.api.compat.tencent.render import task_detail, task_item
from openvod.domain.tasks import TaskState
from openvod.errors import InvalidParameter
from openvod.services import processing
from openvod.services import tasks as tasks_svc

__all__ = ["describe_task_detail", "describe_tasks", "process_media_action", "process_media_by_procedure"]

# --- processing ------------------------------------------------------------------------------


def _task_kw(p: Params) -> dict[str, Any]:
    return {"priority": int_param(p, "TasksPriority", 0) or 0,
            "notify_mode": str_param(p, "TasksNotifyMode", "Finish") or "Finish",
            "session_context": str_param(p, "SessionContext", "") or "",
            "session_id": str_param(p, "SessionId")}


def process_media_action(c: Call) -> Params:
    p = c.params
    fid = str_param(p, "FileId", required=True)
    task = obj_param(p, "MediaProcessTask")
    if not task:
        raise InvalidParameter("MediaProcessTask is required", code="MissingParameter.MediaProcessTask")
    assert fid is not None
    task_id = processing.process_media(c.ctx, c.app_id, fid, task, ext_info=str_param(p, "ExtInfo", "") or "",
                                       **_task_kw(p))
    return {"TaskId": task_id}


def process_media_by_procedure(c: Call) -> Params:
    p = c.params
    fid, name = str_param(p, "FileId", required=True), str_param(p, "ProcedureName", required=True)
    assert fid is not None and name is not None
    task_id = processing.run_procedure(c.ctx, c.app_id, fid, name, ext_info=str_param(p, "ExtInfo", "") or "",
                                       **_task_kw(p))
    return {"TaskId": task_id, "ReviewAudioVideoTaskId": "", "ImportMediaKnowledgeTaskIdSet": []}


def describe_task_detail(c: Call) -> Params:
    task_id = str_param(c.params, "TaskId", required=True)
    assert task_id is not None
    view = processing.process_task_detail(c.ctx, c.app_id, task_id)
    return dict(processing.render(c.ctx, c.app_id, task_detail(view)))  # URLs signed as it is read


_STATES_OF: dict[str, tuple[str, ...]] = {"WAITING": (TaskState.INIT.value,), "PROCESSING": (TaskState.EXEC.value,),
                                         "FINISH": (TaskState.SUCC.value, TaskState.FAIL.value)}


def describe_tasks(c: Call) -> Params:
    p = c.params
    status = str_param(p, "Status")
    if status is not None and status not in ("WAITING", "PROCESSING", "FINISH"):
        raise InvalidParameter("Status must be WAITING, PROCESSING or FINISH", code="InvalidParameterValue.Status")
    fid = str_param(p, "FileId")
    limit = int_param(p, "Limit", 10) or 10
    if not 1 <= limit <= 100:
        raise InvalidParameter("Limit must be 1-100", code="InvalidParameterValue.Limit")
    marker = str_param(p, "ScrollToken") or None
    # One page of one index range (services/tasks.py list_tasks): FINISH is "succ or fail".
    out, next_marker, _ = tasks_svc.list_tasks(c.ctx, c.app_id, marker=marker, limit=limit,
                                               state=_STATES_OF.get(status or ""), file_id=fid, count=False)
    return {"TaskSet": [task_item(t) for t in out], "ScrollToken": next_marker or ""}
