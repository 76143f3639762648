"""Tasks: create, get, list, top, delete (cancel), meta info. Workers never come through here;
they use ``engine.queue``."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any

from sqlalchemy import bindparam, func, select
from sqlalchemy.orm import Session

from openvod.db.models import Media, Task, TaskStep, utcnow
from openvod.domain.events import CallbackFormat
from openvod.domain.keys import validate_bucket, validate_key
from openvod.domain.tasks import TERMINAL, StepState, TaskState, id_floor, new_task_id, task_time
from openvod.domain.views.tasks import (
    TaskDestination,
    TaskError,
    TaskMetaView,
    TaskSource,
    TaskView,
    TranscodeOutput,
)
from openvod.engine import queue
from openvod.errors import Conflict, InvalidParameter, NotFound, OpenVODError, TooManyRequests
from openvod.runtime import Context, Topic
from openvod.services import chunking, deliveries, presets, task_counts
from openvod.services.media import physical
from openvod.services.offset_hints import hints_for

__all__ = ["Source", "TranscodeRequest", "create_noop", "create_transcode", "delete_task", "ensure_queue_room",
           "get_task", "list_tasks", "note_offset", "task_id_at", "task_meta", "top_task", "wait_task"]

EXTENSIONS = {"hls": "m3u8", "m3u8": "m3u8"}
_ACLS = ("private", "public-read")
_TYPES = ("video", "audio", "image")


@dataclass
class Source:
    path: str | None = None  # "/bucket/key" in the app's storage
    file_id: str | None = None
    type: str = "video"
    index: int = 0


@dataclass
class TranscodeRequest:
    preset: str
    sources: list[Source]
    dst_bucket: str | None = None
    dst_key: str | None = None
    dst_dir: str | None = None
    dst_acl: str = "private"
    cb_url: str | None = None
    cb_method: str = "POST"
    cb_format: CallbackFormat = CallbackFormat.EVENT  # what cb_url is sent, and when
    ext_param: str = ""
    priority: int = 0
    extra: dict[str, Any] = field(default_factory=dict)


def _bad(msg: str, code: str = "InvalidParameter") -> InvalidParameter:
    return InvalidParameter(msg, code=code)


def _resolve_source(ctx: Context, app_id: str, src: Source) -> dict[str, Any]:
    if src.type not in _TYPES:
        raise _bad(f"srcInfo type must be one of {', '.join(_TYPES)}, got {src.type!r}", "InvalidParameter.SrcInfo")
    if src.file_id:
        with ctx.db.session() as s:
            m = s.get(Media, src.file_id)
            if m is None or m.app_id != app_id:
                raise NotFound(f"media {src.file_id!r} does not exist", code="ResourceNotFound.Media")
            bucket, key = m.source_bucket, m.source_key
        name = key.rsplit("/", 1)[-1]
    elif src.path:
        parts = src.path.lstrip("/").split("/", 1)
        if not src.path.startswith("/") or len(parts) != 2:
            raise _bad(f"srcInfo path must be /bucket/key, got {src.path!r}", "InvalidParameter.SrcInfo")
        bucket, key = physical(app_id, parts[0], parts[1])
        name = parts[1].rsplit("/", 1)[-1]
    else:
        raise _bad("each srcInfo entry needs a path (/bucket/key) or a fileId", "InvalidParameter.SrcInfo")
    if not ctx.storage.exists(bucket, key):
        raise NotFound(f"source {src.path or src.file_id} does not exist", code="ResourceNotFound.Object")
    return {"bucket": bucket, "key": key, "name": name, "type": src.type, "index": src.index,
            "file_id": src.file_id, "path": src.path or ""}


def _check_callback(ctx: Context, app_id: str, url: str | None, method: str) -> tuple[str | None, str]:
    if url is None:
        return None, method.upper()
    try:
        return deliveries.check_callback(ctx.settings, url, method,
                                         allow_private=deliveries.private_callbacks_allowed(ctx, app_id))
    except InvalidParameter as exc:  # same rule as the app callback, under the task API's names
        raise _bad(exc.message.replace("callback", "cbUrl", 1), exc.code.replace("Callback", "Cb")) from exc


def create_transcode(ctx: Context, app_id: str, req: TranscodeRequest) -> TaskView:
    """Validate everything first (preset, sources, destination), then queue one step (or, for a
    long source with ``chunk_seconds`` set, its chunks, its audio and their join: services.chunking)."""
    if "|" in req.preset:
        raise _bad(f"preset chains ({req.preset!r}) are not supported; create one task per preset",
                   "InvalidParameter.PresetChain")
    preset = presets.get_preset(ctx, app_id, req.preset)
    if not 1 <= len(req.sources) <= 20:
        raise _bad("srcInfo must list 1 to 20 sources", "InvalidParameter.SrcInfo")
    if len({s.index for s in req.sources}) != len(req.sources):
        raise _bad("srcInfo indexes must be distinct", "InvalidParameter.SrcInfo")
    sources = sorted((_resolve_source(ctx, app_id, s) for s in req.sources), key=lambda s: s["index"])
    if req.dst_acl not in _ACLS:
        raise _bad(f"dstAcl must be private or public-read, got {req.dst_acl!r}", "InvalidParameter.DstAcl")
    if not -100 <= req.priority <= 100:
        raise _bad(f"priority must be -100..100, got {req.priority}", "InvalidParameter.Priority")
    cb_url, cb_method = _check_callback(ctx, app_id, req.cb_url, req.cb_method)
    bucket = validate_bucket(req.dst_bucket or ctx.settings.default_bucket)
    fmt = str((preset.params or {}).get("f", "mp4")).lower()
    ext = EXTENSIONS.get(fmt, fmt)
    task_id = new_task_id()
    stem = sources[0]["name"].rsplit(".", 1)[0] or "output"
    if req.dst_key:
        key = validate_key(req.dst_key.lstrip("/"))
    elif req.dst_dir:
        key = validate_key(f"{req.dst_dir.strip('/')}/{stem}.{ext}")
    else:
        key = f"transcode/{task_id}/{stem}.{ext}"
    pb, pk = physical(app_id, bucket, key)
    ctx.storage.ensure_bucket(pb)
    data = {"preset": preset.name, "params": preset.params, "sources": sources,
            "dst": {"bucket": pb, "key": pk, "acl": req.dst_acl, "logical_bucket": bucket, "logical_key": key,
                    "dir": req.dst_dir or ""}}
    chunked = chunking.plan(ctx, app_id, task_id, data)  # None: one step (chunk_seconds=0, short, VFR...)
    if chunked is not None:
        data = {**data, "chunked": chunked.info}
    return _create(ctx, app_id, task_id, "transcode", data, req.priority, cb_url, cb_method, req.ext_param,
                   cb_format=req.cb_format, steps=chunked.steps if chunked is not None else None)


def create_noop(ctx: Context, app_id: str, *, sleep: float = 0.0, priority: int = 0,
                ext_param: str = "", cb_url: str | None = None) -> TaskView:
    if not 0 <= sleep <= 3600:
        raise _bad("sleep must be 0-3600 seconds", "InvalidParameter.Sleep")
    cb_url, cb_method = _check_callback(ctx, app_id, cb_url, "POST")
    return _create(ctx, app_id, new_task_id(), "noop", {"sleep": sleep}, priority, cb_url, cb_method, ext_param)


def _create(ctx: Context, app_id: str, task_id: str, kind: str, data: dict[str, Any], priority: int,
            cb_url: str | None, cb_method: str, ext_param: str,
            cb_format: CallbackFormat = CallbackFormat.EVENT,
            steps: list[chunking.PlannedStep] | None = None) -> TaskView:
    if len(ext_param) > 4096:
        raise _bad("extParam is over 4096 characters", "InvalidParameter.ExtParam")
    with ctx.db.session() as s:
        ensure_queue_room(s, ctx, app_id)
        task = Task(id=task_id, app_id=app_id, kind=kind, state=TaskState.INIT, priority=priority, input=data,
                    cb_url=cb_url, cb_method=cb_method, cb_format=cb_format.value, ext_param=ext_param,
                    created_at=task_time(task_id) or utcnow())  # the id's time: a day is a range of ids
        s.add(task)
        for idx, st in enumerate(steps or [chunking.PlannedStep(kind, data)]):
            s.add(TaskStep(task_id=task_id, app_id=app_id, idx=idx, kind=st.kind, state=st.state,
                           priority=priority, input=st.input, created_at=task.created_at or utcnow()))
        s.flush()
        queue.record_task_event(s, task)
    ctx.signals.work_available()  # after commit: the scheduler may take it at once
    return get_task(ctx, app_id, task_id)


def ensure_queue_room(s: Session, ctx: Context, app_id: str) -> None:
    """Refuse a new task while the app has ``app_max_queued_tasks`` tasks waiting to start: one
    tenant can't fill the database and the queue for everyone. Counted in the transaction that
    adds the task; concurrent creators may overshoot the limit by their number."""
    limit = ctx.settings.app_max_queued_tasks
    waiting = select(Task.id).where(Task.app_id == app_id, Task.state == TaskState.INIT).limit(limit).subquery()
    if int(s.scalar(select(func.count()).select_from(waiting)) or 0) >= limit:
        raise TooManyRequests(f"the app already has {limit} tasks waiting to start (app_max_queued_tasks); "
                              "wait for some to finish or cancel some, then try again",
                              code="RequestLimitExceeded.TaskQueue")


def _load(ctx: Context, app_id: str, task_id: str) -> Task:
    with ctx.db.session() as s:
        t = s.get(Task, task_id) if isinstance(task_id, str) and len(task_id) <= 40 else None
        if t is None or t.app_id != app_id:
            raise NotFound(f"task {task_id!r} does not exist", code="ResourceNotFound.Task")
        return t




def _public(ctx: Context, task: Task, steps: list[TaskStep], position: int) -> TaskView:
    progress = sum(st.progress for st in steps) / len(steps) if steps else 100.0
    state = TaskState(task.state)
    preset: str | None = None
    sources: tuple[TaskSource, ...] | None = None
    dst: TaskDestination | None = None
    output: TranscodeOutput | None = None
    result: dict[str, Any] | None = None
    file_id = procedure = session_id = session_context = None  # processing tasks only
    if task.kind == "transcode":
        data = task.input
        d = data["dst"]
        preset = data["preset"]
        sources = tuple(TaskSource(name=s["name"], type=s["type"], index=s["index"], file_id=s.get("file_id"),
                                   path=s.get("path") or "") for s in data["sources"])
        dst = TaskDestination(bucket=d["logical_bucket"], key=d["logical_key"], acl=d["acl"], dir=d.get("dir") or "")
        if state == TaskState.SUCC and task.output:
            o = task.output
            output = TranscodeOutput(bucket=d["logical_bucket"], key=d["logical_key"], size=o.get("size"),
                                     url=ctx.object_url(d["bucket"], d["key"]), files=o.get("files", []))
    else:
        result = task.output if state == TaskState.SUCC else None
        if task.file_id:
            file_id, procedure = task.file_id, task.procedure or None
            session_id, session_context = task.session_id or "", task.session_context
    return TaskView(
        task_id=task.id, kind=task.kind, state=state, progress=round(progress, 1),
        queue_position=position if state == TaskState.INIT else None, priority=task.priority,
        topped=task.topped_at is not None, attempts=max((st.attempts for st in steps), default=0),
        ext_param=task.ext_param, cb_url=task.cb_url, cb_method=task.cb_method,
        error=TaskError(task.error_code, task.error_message) if task.error_code else None,
        created_at=task.created_at, started_at=task.started_at, finished_at=task.finished_at,
        preset=preset, sources=sources, dst=dst, transcode_output=output, result=result, file_id=file_id,
        procedure=procedure, session_id=session_id, session_context=session_context,
    )


_TASKS, _STEPS = Task.__table__, TaskStep.__table__
# Built once: constructing a statement per call (coercions, cache keys) was a third of get_task's time.
_GET_TASK = select(_TASKS).where(_TASKS.c.id == bindparam("task_id"))
_GET_STEPS = (select(_STEPS.c.id, _STEPS.c.app_id, _STEPS.c.state, _STEPS.c.progress, _STEPS.c.attempts,
                     _STEPS.c.topped_at, _STEPS.c.priority, _STEPS.c.created_at)
              .where(_STEPS.c.task_id == bindparam("task_id")).order_by(_STEPS.c.idx))


def get_task(ctx: Context, app_id: str, task_id: str) -> TaskView:
    # The hottest read of the API (clients poll it): plain Core queries on one connection, no
    # ORM identity map. Rows expose columns as attributes, like the models.
    if not isinstance(task_id, str) or len(task_id) > 40:
        raise NotFound(f"task {task_id!r} does not exist", code="ResourceNotFound.Task")
    with ctx.db.engine.connect() as conn:
        task = conn.execute(_GET_TASK, {"task_id": task_id}).first()
        if task is None or task.app_id != app_id:
            raise NotFound(f"task {task_id!r} does not exist", code="ResourceNotFound.Task")
        steps = list(conn.execute(_GET_STEPS, {"task_id": task_id}))
        position = queue.queue_position(conn, steps[0]) if steps and task.state == TaskState.INIT else 0
        return _public(ctx, task, steps, position)  # type: ignore[arg-type]


def _day(value: str | int | None, name: str, tz: tzinfo) -> datetime | None:
    if value in (None, "", 0, "0"):
        return None
    try:
        return datetime.strptime(str(value), "%Y%m%d").replace(tzinfo=tz)  # midnight there
    except ValueError as exc:
        raise _bad(f"{name} must be a date YYYYMMDD, got {value!r}", "InvalidParameter.Date") from exc


def list_tasks(ctx: Context, app_id: str, *, start: str | int | None = None, end: str | int | None = None,
               marker: str | None = None, limit: int = 100, state: str | tuple[str, ...] | None = None,
               file_id: str | None = None, newest_first: bool = False, tz: tzinfo = UTC, count: bool = True,
               ) -> tuple[list[TaskView], str | None, int]:
    """Tasks created between the days ``start`` and ``end`` (inclusive, days of time zone ``tz``),
    oldest first (or newest first), keyset paged by task id (ids sort by creation), with the total
    in the range (-1 with ``count`` off). ``file_id`` keeps the processing tasks of one media file;
    ``state`` one state or any of several.

    A page is a range of one index: ``(app_id, id)``, ``(app_id, state, id)`` for one state, or
    ``file_id``'s. The day range is a range of ids too (a task's id starts with its creation
    time: :func:`~openvod.domain.tasks.id_floor`), so a page deep in a month of a million tasks
    costs what the first does. The total is read from the task tally (services/task_counts.py),
    not counted, except for one file's tasks."""
    if not 0 <= limit <= 1000:
        raise _bad(f"limit must be 0-1000, got {limit}", "InvalidParameter.Limit")
    conds = _day_range(app_id, start, end, tz)
    states = (state,) if isinstance(state, str) else tuple(state or ())
    if states:
        known = {s.value for s in TaskState}
        if any(st not in known for st in states):
            raise _bad(f"state must be one of init, exec, succ, fail, canceled; got {state!r}",
                       "InvalidParameter.State")
        conds.append(Task.state == states[0] if len(states) == 1 else Task.state.in_(states))
    if file_id:
        conds.append(Task.file_id == file_id)
    with ctx.db.session() as s:
        total = -1
        if count and file_id:  # a file's few tasks: counted in its index
            total = int(s.scalar(select(func.count()).select_from(Task).where(*conds)) or 0)
        elif count:
            total = task_counts.total(s, app_id, *_id_range(start, end, tz), states)
        if marker and marker not in ("0",):
            conds.append(Task.id < marker if newest_first else Task.id > marker)
        order = Task.id.desc() if newest_first else Task.id
        rows = list(s.scalars(select(Task).where(*conds).order_by(order).limit(limit + 1)))
        page = rows[:limit]
        steps: dict[str, list[TaskStep]] = {}
        if page:
            for st in s.scalars(select(TaskStep).where(TaskStep.task_id.in_([t.id for t in page]))
                                .order_by(TaskStep.idx)):
                steps.setdefault(st.task_id, []).append(st)
        queued = [steps[t.id][0].id for t in page if t.state == TaskState.INIT and steps.get(t.id)]
        positions = queue.queue_positions(s, app_id, queued)  # one statement for the page's queued tasks
        items = [_public(ctx, t, steps.get(t.id, []), positions.get(steps[t.id][0].id, 0) if steps.get(t.id) else 0)
                 for t in page]
    return items, (page[-1].id if len(rows) > limit and page else None), total


def _id_range(start: str | int | None, end: str | int | None, tz: tzinfo) -> tuple[str | None, str | None]:
    """The ids ``[lo, hi)`` of the tasks created in the days ``start`` to ``end`` (None: open)."""
    lo, hi = _day(start, "startdate", tz), _day(end, "enddate", tz)
    return (None if lo is None else id_floor(lo)), (None if hi is None else id_floor(hi + timedelta(days=1)))


def _day_range(app_id: str, start: str | int | None, end: str | int | None, tz: tzinfo) -> list[Any]:
    conds: list[Any] = [Task.app_id == app_id]
    lo, hi = _id_range(start, end, tz)
    if lo is not None:
        conds.append(Task.id >= lo)
    if hi is not None:
        conds.append(Task.id < hi)
    return conds


def task_id_at(ctx: Context, app_id: str, offset: int, *, start: str | int | None = None,
               end: str | int | None = None, tz: tzinfo = UTC) -> str | None:
    """The id of the ``offset``-th task (1-based) of :func:`list_tasks`' oldest-first order in the
    day range, or None past the end: the keyset marker an integer offset stands for.

    An offset this process handed out (:func:`note_offset`) is answered from memory, O(1)
    (services/offset_hints.py); any other is found in the task tally (services/task_counts.py):
    running sums of its buckets name the ~4.7 hours of tasks the offset falls in, and only those
    are walked in the index."""
    if offset <= 0:
        return None
    hinted = hints_for(ctx.db).recall(_scope(app_id, start, end, tz), offset)
    if hinted is not None:
        return hinted
    with ctx.db.session() as s:
        return task_counts.id_at_offset(s, app_id, offset, *_id_range(start, end, tz))


def note_offset(ctx: Context, app_id: str, offset: int, last_id: str, *, start: str | int | None = None,
                end: str | int | None = None, tz: tzinfo = UTC) -> None:
    """Remember that ``offset`` of the day range's oldest-first list starts after task ``last_id``
    (the last row of the page just served), so the page the client asks for next is a keyset range."""
    hints_for(ctx.db).remember(_scope(app_id, start, end, tz), offset, last_id)


def _scope(app_id: str, start: str | int | None, end: str | int | None, tz: tzinfo) -> tuple[str, ...]:
    return app_id, str(_day(start, "startdate", tz)), str(_day(end, "enddate", tz)), str(tz)


def top_task(ctx: Context, app_id: str, task_id: str) -> TaskView:
    """Move a queued task to the top of its app's queue (newest topped first). It then starts
    before the app's other work, never before other apps' (see engine/fair.py)."""
    with ctx.db.session() as s:
        task = _locked(s, app_id, task_id)
        if task.state != TaskState.INIT:
            raise Conflict(f"task {task_id} is {task.state}; only a queued task can be moved to the top",
                           code="FailedOperation.TaskNotQueued")
        now = utcnow()
        task.topped_at = now
        waiting = (TaskState.INIT, StepState.WAIT)  # a chunked task's join starts as soon as it may, too
        for st in s.scalars(select(TaskStep).where(TaskStep.task_id == task_id, TaskStep.state.in_(waiting))):
            st.topped_at = now
    ctx.signals.work_available()
    return get_task(ctx, app_id, task_id)


def delete_task(ctx: Context, app_id: str, task_id: str) -> str:
    """A queued task is cancelled before it runs; a running one is cancelled and its worker told
    to kill FFmpeg at once; a finished one is removed. Returns what happened."""
    with ctx.db.session() as s:
        task = _locked(s, app_id, task_id)
        if task.state in TERMINAL:
            chunking.remove_intermediates(ctx, task.input)  # a failed or cancelled chunked task's pieces
            s.delete(task)  # its steps go with it (ON DELETE CASCADE), locked already
            return "deleted"
        now = utcnow()
        for st in s.scalars(select(TaskStep).where(TaskStep.task_id == task_id)):
            if st.state in (TaskState.INIT, StepState.WAIT):
                st.state, st.finished_at = TaskState.CANCELED, now
            elif st.state == TaskState.EXEC:
                st.cancel_requested = True
        task.state, task.finished_at = TaskState.CANCELED, now
        task.error_code, task.error_message = "FailedOperation.Canceled", "the task was cancelled by a user"
        s.flush()
        queue.record_task_event(s, task)
    ctx.signals.work_available()  # the executor delivers the cancel to a running step
    ctx.signals.task_changed(task_id)
    return "canceled"


def _locked(s: Session, app_id: str, task_id: str) -> Task:
    """The app's task, locked with its steps for a change (the engine's lock order:
    ``engine.queue.lock_task``), as it is now; NotFound if it is not there."""
    task = s.get(Task, task_id) if isinstance(task_id, str) and len(task_id) <= 40 else None
    if task is None or task.app_id != app_id:  # checked before locking anything of another app's
        raise NotFound(f"task {task_id!r} does not exist", code="ResourceNotFound.Task")
    locked = queue.lock_task(s, task_id)
    if locked is None:  # deleted since it was read
        raise NotFound(f"task {task_id!r} does not exist", code="ResourceNotFound.Task")
    return locked


def wait_task(ctx: Context, app_id: str, task_id: str, timeout: float) -> TaskView:
    """Return the task once it is finished, or as it is after ``timeout`` seconds. Wakes when the
    task changes (``task_changed``; from every process when the signals are shared) and re-reads
    every ``ctx.signals.recheck_seconds`` anyway (bounded, no spin)."""
    deadline = time.monotonic() + max(0.0, min(timeout, 60.0))
    changed = threading.Event()

    def wake(key: str | None) -> None:
        if key is None or key == task_id:
            changed.set()

    with ctx.signals.listening(Topic.TASK, wake):
        while True:
            changed.clear()  # before the read: a change after it still ends the wait below
            task = get_task(ctx, app_id, task_id)
            left = deadline - time.monotonic()
            if task.state in TERMINAL or left <= 0:
                return task
            changed.wait(min(ctx.signals.recheck_seconds, left))


def task_meta(ctx: Context, app_id: str, task_id: str) -> TaskMetaView:
    """ffprobe JSON of the sources and of the output (once there is one)."""
    task = _load(ctx, app_id, task_id)
    from openvod.media.inputs import MediaLimits
    from openvod.media.probe import probe

    limits = MediaLimits.from_settings(ctx.settings)
    sources = []
    for src in task.input.get("sources", []):
        try:
            with ctx.storage.local_path(src["bucket"], src["key"]) as path:
                sources.append(probe(path, timeout=ctx.settings.probe_timeout, limits=limits))
        except OpenVODError as exc:  # a missing or unreadable source is reported, not raised
            sources.append({"error": exc.message})
    output = None
    if task.state == TaskState.SUCC and task.kind == "transcode":
        dst = task.input["dst"]
        try:
            with ctx.storage.local_path(dst["bucket"], dst["key"]) as path:
                output = probe(path, timeout=ctx.settings.probe_timeout, limits=limits, own_output=True)
        except OpenVODError as exc:
            output = {"error": exc.message}
    return TaskMetaView(task_id=task.id, sources=sources, output=output)
