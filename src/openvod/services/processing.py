"""Processing tasks (Tencent's ProcessMedia / ProcessMediaByProcedure) and their detail.

A processing task is one ``task`` row with one step per item of its ``MediaProcessTask``, in
result order (see ``domain.templates.TASK_SETS``). Steps run in parallel as far as the executor
has room. Its detail is a :class:`~openvod.domain.views.tasks.ProcessingTaskView`, rendered in
Tencent's ``ProcedureTask`` shape (``domain.procedure_task``) by the native API, the Tencent
compatibility API and the ``ProcedureStateChanged`` event alike; URLs are signed when it is read.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from openvod.db.models import Media, Task, TaskStep, utcnow
from openvod.domain.procedure_task import procedure_task
from openvod.domain.tasks import TERMINAL, TaskState, new_task_id, task_time
from openvod.domain.templates import expand_steps
from openvod.domain.views.tasks import MediaRef, ProcessingTaskView, StepView
from openvod.engine import queue
from openvod.errors import InvalidParameter, NotFound
from openvod.runtime import Context
from openvod.services import events
from openvod.services import procedures as procedures_svc
from openvod.services import tasks as tasks_svc
from openvod.services import templates as templates_svc
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
    keep_cover: bool = False,
) -> str:
    """Queue the processing of a media file; returns the task id (an earlier one for a repeated
    ``session_id``). ``keep_cover``: a cover step leaves a cover the media has by then alone (the
    cover made for an upload that had none must not replace one uploaded meanwhile)."""
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
    marks = [templates_svc.resolve_watermarks(ctx, app_id, st.params) for st in steps]
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
                    notify_mode=notify_mode, created_at=task_time(task_id) or utcnow())
        s.add(task)
        for idx, (st, params) in enumerate(zip(steps, resolved, strict=True)):
            s.add(TaskStep(task_id=task_id, app_id=app_id, idx=idx, kind=st.kind.value, state=TaskState.INIT,
                           priority=priority, created_at=utcnow(),
                           input={"definition": st.definition, "template": params, "step": st.params,
                                  "source": source, **({"keep_cover": True} if keep_cover else {}),
                                  **({"watermarks": marks[idx]} if marks[idx] else {})}))
        s.flush()
        queue.record_task_event(s, task)
    ctx.signals.work_available()
    return task_id


def run_procedure(ctx: Context, app_id: str, file_id: str, name: str, **kw: Any) -> str:
    """Run the task flow ``name`` on a media file (after upload, or on demand)."""
    flow = procedures_svc.get_procedure(ctx, app_id, name)
    return process_media(ctx, app_id, file_id, flow.media_process_task, procedure=name, **kw)


# --- detail ------------------------------------------------------------------------------------

def build_detail(s: Session, task: Task, steps: list[TaskStep] | None = None) -> ProcessingTaskView:
    """The processing task ``task`` with its steps (read in ``s`` unless given), as a read model:
    events store it rendered (``domain.procedure_task``), transports render it when it is read."""
    if steps is None:
        steps = list(s.scalars(select(TaskStep).where(TaskStep.task_id == task.id).order_by(TaskStep.idx)))
    media = s.get(Media, task.file_id) if task.file_id else None
    return ProcessingTaskView(
        task_id=task.id, state=TaskState(task.state), file_id=task.file_id,
        media=MediaRef(file_id=media.id, name=media.name, bucket=media.source_bucket, key=media.source_key,
                       meta=media.meta) if media else None,
        error_message=task.error_message, priority=task.priority, notify_mode=task.notify_mode,
        session_context=task.session_context, session_id=task.session_id, procedure=task.procedure,
        created_at=task.created_at, started_at=task.started_at, finished_at=task.finished_at,
        steps=tuple(StepView(index=st.idx, kind=st.kind, state=TaskState(st.state), progress=st.progress,
                             definition=st.input.get("definition"), params=st.input.get("step", {}),
                             output=st.output, error_code=st.error_code, error_message=st.error_message,
                             started_at=st.started_at, finished_at=st.finished_at) for st in steps),
    )


def process_task_detail(ctx: Context, app_id: str, task_id: str) -> ProcessingTaskView:
    """A processing task with its steps. Its outputs hold URL markers: render it
    (``domain.procedure_task.task_detail``) and sign it with :func:`render`."""
    with ctx.db.session() as s:
        task = s.get(Task, task_id) if isinstance(task_id, str) and len(task_id) <= 40 else None
        if task is None or task.app_id != app_id or task.kind not in PROCESSING_KINDS:
            raise NotFound(f"task {task_id!r} does not exist", code="ResourceNotFound.Task")
        return build_detail(s, task)


def _procedure_event(s: Session, task: Task, changed: bool) -> None:
    """``ProcedureStateChanged``: at the end in Finish mode, on every step change in Change mode."""
    if task.notify_mode == "None":
        return
    if task.notify_mode == "Finish" and not (changed and task.state in TERMINAL):
        return
    events.record(s, task.app_id, events.EventType.PROCEDURE_STATE_CHANGED, procedure_task(build_detail(s, task)))


EVENT_HOOKS = {kind: _procedure_event for kind in PROCESSING_KINDS}
"""The engine's task event hooks for processing kinds (installed by ``services.context``)."""


def rerun_step(ctx: Context, app_id: str, task_id: str, index: int) -> ProcessingTaskView:
    """Run a failed step of a processing task again, alone; returns the task as it is now."""
    with ctx.db.session() as s:
        task = s.get(Task, task_id)
        if task is None or task.app_id != app_id:
            raise NotFound(f"task {task_id!r} does not exist", code="ResourceNotFound.Task")
        queue.lock_task(s, task_id)  # the engine's lock order (steps, then the task); refreshes ``task``
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
    ctx.signals.work_available()
    return process_task_detail(ctx, app_id, task_id)
