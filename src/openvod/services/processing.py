"""Processing tasks (Tencent's ProcessMedia / ProcessMediaByProcedure) and their detail.

A processing task is one ``task`` row with one step per item of its ``MediaProcessTask``, in
result order (see ``domain.templates.TASK_SETS``). Steps run in parallel as far as the executor
has room. Its detail has Tencent's ``ProcedureTask`` shape, so the native API and the Tencent
compatibility API show the same thing; URLs are signed when the detail is read.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from openvod.db.models import Media, Task, TaskStep, utcnow
from openvod.domain.tasks import TERMINAL, TaskState, new_task_id
from openvod.domain.templates import expand_steps
from openvod.domain.times import iso
from openvod.engine import queue
from openvod.errors import InvalidParameter, NotFound
from openvod.services import events
from openvod.services import procedures as procedures_svc
from openvod.services import tasks as tasks_svc
from openvod.services import templates as templates_svc
from openvod.services.context import Context
from openvod.services.urls import render

__all__ = ["NOTIFY_MODES", "PROCESSING_KINDS", "build_detail", "process_media", "process_task_detail", "render",
           "rerun_step", "run_procedure"]

NOTIFY_MODES = ("Finish", "Change", "None")
PROCESSING_KINDS = ("process_media", "procedure")
SESSION_WINDOW = timedelta(days=3)  # Tencent: a SessionId deduplicates for three days


def _bad(msg: str, code: str) -> InvalidParameter:
    return InvalidParameter(msg, code=code)


def process_media(
    ctx: Context,
    app_id: str,
    file_id: str,
    media_process_task: dict[str, Any],
    *,
    priority: int = 0,
    notify_mode: str = "Finish",
    session_context: str = "",
    session_id: str | None = None,
    procedure: str = "",
    ext_info: str = "",
    task_id: str | None = None,
) -> str:
    """Queue the processing of a media file; returns the task id (an earlier one for a repeated
    ``session_id``)."""
    if not -10 <= priority <= 10:
        raise _bad(f"TasksPriority must be -10..10, got {priority}", "InvalidParameter.TasksPriority")
    if notify_mode not in NOTIFY_MODES:
        raise _bad(f"TasksNotifyMode must be Finish, Change or None, got {notify_mode!r}",
                   "InvalidParameter.TasksNotifyMode")
    if len(session_context) > 1000:
        raise _bad("SessionContext is over 1000 characters", "InvalidParameter.SessionContext")
    if session_id is not None and not 1 <= len(session_id) <= 50:
        raise _bad("SessionId must be 1-50 characters", "InvalidParameter.SessionId")
    media_process_task = templates_svc.require_templates(ctx, app_id, media_process_task)  # canonical
    steps = expand_steps(media_process_task)
    resolved = [templates_svc.resolve(ctx, app_id, st.template_kind, st.definition) for st in steps]
    with ctx.db.session() as s:
        media = s.get(Media, file_id) if isinstance(file_id, str) and len(file_id) <= 32 else None
        if media is None or media.app_id != app_id:
            raise NotFound(f"media {file_id!r} does not exist", code="ResourceNotFound.FileId")
        if session_id:
            earlier = s.scalar(select(Task.id).where(Task.app_id == app_id, Task.session_id == session_id,
                                                     Task.created_at > utcnow() - SESSION_WINDOW))
            if earlier:
                return earlier
        tasks_svc.ensure_queue_room(s, ctx, app_id)
        source = {"bucket": media.source_bucket, "key": media.source_key, "file_id": file_id,
                  "probe": media.probe, "name": media.name}
        task_id = task_id or new_task_id()
        kind = PROCESSING_KINDS[1] if procedure else PROCESSING_KINDS[0]
        task = Task(id=task_id, app_id=app_id, kind=kind, state=TaskState.INIT, priority=priority,
                    input={"MediaProcessTask": media_process_task, "ExtInfo": ext_info},
                    file_id=file_id, procedure=procedure, session_id=session_id, session_context=session_context,
                    notify_mode=notify_mode)
        s.add(task)
        for idx, (st, params) in enumerate(zip(steps, resolved, strict=True)):
            s.add(TaskStep(task_id=task_id, app_id=app_id, idx=idx, kind=st.kind.value, state=TaskState.INIT,
                           priority=priority, created_at=utcnow(),
                           input={"definition": st.definition, "template": params, "step": st.params,
                                  "source": source}))
        s.flush()
        queue.record_task_event(s, task)
    ctx.notify_work()
    return task_id


def run_procedure(ctx: Context, app_id: str, file_id: str, name: str, **kw: Any) -> str:
    """Run the task flow ``name`` on a media file (after upload, or on demand)."""
    flow = procedures_svc.get_procedure(ctx, app_id, name)
    return process_media(ctx, app_id, file_id, flow["media_process_task"], procedure=name, **kw)


# --- detail ------------------------------------------------------------------------------------

_STATUS = {TaskState.INIT: "WAITING", TaskState.EXEC: "PROCESSING", TaskState.SUCC: "FINISH",
           TaskState.FAIL: "FINISH", TaskState.CANCELED: "ABORTED"}
_STEP_STATUS = {TaskState.INIT: "WAITING", TaskState.EXEC: "PROCESSING", TaskState.SUCC: "SUCCESS",
                TaskState.FAIL: "FAIL", TaskState.CANCELED: "FAIL"}
_RESULT_FIELD = {"Transcode": "TranscodeTask", "AnimatedGraphics": "AnimatedGraphicTask",
                 "SnapshotByTimeOffset": "SnapshotByTimeOffsetTask", "SampleSnapshot": "SampleSnapshotTask",
                 "ImageSprites": "ImageSpriteTask", "CoverBySnapshot": "CoverBySnapshotTask",
                 "AdaptiveDynamicStreaming": "AdaptiveDynamicStreamingTask"}


def _iso(t: datetime | None) -> str:
    return iso(t) if t else ""  # Tencent writes "" for a time that has not come


def _step_result(st: TaskStep) -> dict[str, Any]:
    failed = st.state in (TaskState.FAIL, TaskState.CANCELED)
    body = {
        "Status": _STEP_STATUS[TaskState(st.state)],
        "ErrCodeExt": (st.error_code or "") if failed else "",
        "ErrCode": (10000 if failed else 0),
        "Message": (st.error_message or "") if failed else "SUCCESS" if st.state == TaskState.SUCC else "",
        "Progress": int(round(st.progress)),
        "Input": {"Definition": st.input.get("definition"), **st.input.get("step", {})},
        "Output": st.output if st.state == TaskState.SUCC and st.output else None,
        "BeginProcessTime": _iso(st.started_at),
        "FinishTime": _iso(st.finished_at),
    }
    return {"Type": st.kind, _RESULT_FIELD.get(st.kind, f"{st.kind}Task"): body}


def build_detail(s: Session, task: Task, steps: list[TaskStep] | None = None) -> dict[str, Any]:
    """The ``DescribeTaskDetail`` answer with URL markers (``_object``) in place of URLs: events
    store this, and :func:`render` signs the URLs when it is read."""
    if steps is None:
        steps = list(s.scalars(select(TaskStep).where(TaskStep.task_id == task.id).order_by(TaskStep.idx)))
    media = s.get(Media, task.file_id) if task.file_id else None
    status = _STATUS[TaskState(task.state)]
    procedure_task = {
        "TaskId": task.id,
        "Status": "FINISH" if status in ("FINISH", "ABORTED") else "PROCESSING",
        "ErrCode": 0,
        "Message": task.error_message or "",
        "FileId": task.file_id or "",
        "FileName": media.name if media else "",
        "FileUrl": {"_object": [media.source_bucket, media.source_key]} if media else "",
        "MetaData": (media.meta if media else None),
        "MediaProcessResultSet": [_step_result(st) for st in steps],
        "TasksPriority": task.priority,
        "TasksNotifyMode": task.notify_mode,
        "SessionContext": task.session_context,
        "SessionId": task.session_id or "",
        "Procedure": task.procedure,
    }
    return {
        "TaskType": "Procedure",
        "Status": status,
        "CreateTime": _iso(task.created_at),
        "BeginProcessTime": _iso(task.started_at),
        "FinishTime": _iso(task.finished_at),
        "ProcedureTask": procedure_task,
    }


def process_task_detail(ctx: Context, app_id: str, task_id: str) -> dict[str, Any]:
    """Tencent's ``DescribeTaskDetail`` answer for a processing task (``TaskType`` Procedure)."""
    with ctx.db.session() as s:
        task = s.get(Task, task_id) if isinstance(task_id, str) and len(task_id) <= 40 else None
        if task is None or task.app_id != app_id or task.kind not in PROCESSING_KINDS:
            raise NotFound(f"task {task_id!r} does not exist", code="ResourceNotFound.Task")
        detail = build_detail(s, task)
    return dict(render(ctx, app_id, detail))


def _procedure_event(s: Session, task: Task, changed: bool) -> None:
    """``ProcedureStateChanged``: at the end in Finish mode, on every step change in Change mode."""
    if task.notify_mode == "None":
        return
    if task.notify_mode == "Finish" and not (changed and task.state in TERMINAL):
        return
    detail = build_detail(s, task)
    events.record(s, task.app_id, "ProcedureStateChanged", detail["ProcedureTask"])


queue.TASK_EVENT_HOOKS.update({kind: _procedure_event for kind in PROCESSING_KINDS})


def rerun_step(ctx: Context, app_id: str, task_id: str, index: int) -> dict[str, Any]:
    """Run a failed step of a processing task again, alone."""
    with ctx.db.session() as s:
        task = s.get(Task, task_id)
        if task is None or task.app_id != app_id:
            raise NotFound(f"task {task_id!r} does not exist", code="ResourceNotFound.Task")
        st = s.scalar(select(TaskStep).where(TaskStep.task_id == task_id, TaskStep.idx == index))
        if st is None:
            raise NotFound(f"task {task_id} has no step {index}", code="ResourceNotFound.Step")
        if st.state != TaskState.FAIL:
            raise InvalidParameter(f"step {index} is {st.state}; only a failed step can be run again",
                                   code="FailedOperation.StepNotFailed")
        st.state, st.progress, st.attempts = TaskState.INIT, 0.0, 0
        st.error_code = st.error_message = st.error_detail = None
        st.finished_at = None
        task.finished_at = None
        s.flush()
        queue.sync_task(s, task_id)
    ctx.notify_work()
    return process_task_detail(ctx, app_id, task_id)
