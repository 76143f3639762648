"""The ``ProcedureTask`` shape: Tencent's detail of a processing task, OpenVOD's one detail format.

It is stored (the payload of ``ProcedureStateChanged`` events, written by whichever process
finished a step), answered by ``GET /v1/tasks/{id}/detail`` and by Tencent's
``DescribeTaskDetail``, so it is rendered here, below services and transports alike, from a
:class:`~openvod.domain.views.tasks.ProcessingTaskView`:

    payload = procedure_task(view)     # an event's payload
    answer = task_detail(view)         # DescribeTaskDetail: TaskType, Status, times, ProcedureTask

Both carry URL markers (``{"_object": [bucket, key]}``) in place of URLs; they are signed when
read (``services.urls.render``). :data:`TASK_STATUS` is the one map from task states to Tencent's
task ``Status``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from openvod.domain.tasks import TaskState
from openvod.domain.times import iso_s
from openvod.domain.views.tasks import ProcessingTaskView, StepView

__all__ = ["STEP_STATUS", "TASK_STATUS", "procedure_task", "step_result", "task_detail"]

TASK_STATUS: dict[TaskState, str] = {
    TaskState.INIT: "WAITING", TaskState.EXEC: "PROCESSING", TaskState.SUCC: "FINISH",
    TaskState.FAIL: "FINISH", TaskState.CANCELED: "ABORTED"}
"""A task's Tencent ``Status`` (DescribeTaskDetail, DescribeTasks)."""

STEP_STATUS: dict[TaskState, str] = {
    TaskState.INIT: "WAITING", TaskState.EXEC: "PROCESSING", TaskState.SUCC: "SUCCESS",
    TaskState.FAIL: "FAIL", TaskState.CANCELED: "FAIL"}
"""A step's Tencent ``Status`` (an item of ``MediaProcessResultSet``)."""

_RESULT_FIELD = {"Transcode": "TranscodeTask", "AnimatedGraphics": "AnimatedGraphicTask",
                 "SnapshotByTimeOffset": "SnapshotByTimeOffsetTask", "SampleSnapshot": "SampleSnapshotTask",
                 "ImageSprites": "ImageSpriteTask", "CoverBySnapshot": "CoverBySnapshotTask",
                 "AdaptiveDynamicStreaming": "AdaptiveDynamicStreamingTask"}


def _time(t: datetime | None) -> str:
    return iso_s(t) if t else ""  # Tencent writes "" for a time that has not come


def step_result(st: StepView) -> dict[str, Any]:
    """One item of ``MediaProcessResultSet``: ``{"Type", "<Kind>Task": {Status, ErrCode, ...}}``."""
    failed = st.state in (TaskState.FAIL, TaskState.CANCELED)
    body = {
        "Status": STEP_STATUS[st.state],
        "ErrCodeExt": (st.error_code or "") if failed else "",
        "ErrCode": (10000 if failed else 0),
        "Message": (st.error_message or "") if failed else "SUCCESS" if st.state == TaskState.SUCC else "",
        "Progress": int(round(st.progress)),
        "Input": {"Definition": st.definition, **st.params},
        "Output": st.output if st.state == TaskState.SUCC and st.output else None,
        "BeginProcessTime": _time(st.started_at),
        "FinishTime": _time(st.finished_at),
    }
    return {"Type": st.kind, _RESULT_FIELD.get(st.kind, f"{st.kind}Task"): body}


def procedure_task(view: ProcessingTaskView) -> dict[str, Any]:
    """The ``ProcedureTask`` object (also the ``ProcedureStateChanged`` event's payload)."""
    media = view.media
    return {
        "TaskId": view.task_id,
        "Status": "FINISH" if TASK_STATUS[view.state] in ("FINISH", "ABORTED") else "PROCESSING",
        "ErrCode": 0,
        "Message": view.error_message or "",
        "FileId": view.file_id or "",
        "FileName": media.name if media else "",
        "FileUrl": {"_object": [media.bucket, media.key]} if media else "",
        "MetaData": (media.meta if media else None),
        "MediaProcessResultSet": [step_result(st) for st in view.steps],
        "TasksPriority": view.priority,
        "TasksNotifyMode": view.notify_mode,
        "SessionContext": view.session_context,
        "SessionId": view.session_id or "",
        "Procedure": view.procedure,
    }


def task_detail(view: ProcessingTaskView) -> dict[str, Any]:
    """The ``DescribeTaskDetail`` answer (``TaskType`` Procedure), URL markers unsigned."""
    return {
        "TaskType": "Procedure",
        "Status": TASK_STATUS[view.state],
        "CreateTime": _time(view.created_at),
        "BeginProcessTime": _time(view.started_at),
        "FinishTime": _time(view.finished_at),
        "ProcedureTask": procedure_task(view),
    }
