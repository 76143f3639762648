"""The durable queue: claiming, renewing, finishing and retrying steps in the database.

A step is runnable when ``init``. Claiming sets ``exec`` with a lease (owner + expiry) and counts
an attempt. The lease is renewed by heartbeat; a step whose lease expires goes back to ``init``
until ``max_attempts``, then ``fail`` with the last error. Every task state change is recorded as
a ``TaskStateChanged`` event in the same transaction.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import Connection, Integer, Select, and_, bindparam, false, func, or_, select, update
from sqlalchemy.orm import Session

from openvod.db.models import Task, TaskStep, utcnow
from openvod.db.session import Database
from openvod.domain.tasks import TERMINAL, TaskState, task_state_of
from openvod.domain.times import iso_or_none as _iso
from openvod.services import events

__all__ = [
    "ORDER",
    "Claim",
    "claim",
    "expire_leases",
    "fail_step",
    "finish_step",
    "queue_position",
    "release",
    "requeue",
    "renew",
    "set_progress",
    "sync_task",
]

ORDER = (TaskStep.topped_at.desc().nulls_last(), TaskStep.priority.desc(), TaskStep.created_at, TaskStep.id)
TASK_STATE_CHANGED = "TaskStateChanged"


@dataclass(frozen=True)
class Claim:
    step_id: int
    task_id: str
    kind: str
    attempt: int
    owner: str




def sync_task(s: Session, task_id: str) -> Task | None:
    """Derive the task's state from its steps; on a change, stamp times and record an event."""
    task = s.get(Task, task_id)
    if task is None:
        return None
    steps = list(s.scalars(select(TaskStep).where(TaskStep.task_id == task_id).order_by(TaskStep.idx)))
    new = task_state_of([st.state for st in steps])
    if task.state == TaskState.CANCELED or new == task.state:
        hook = TASK_EVENT_HOOKS.get(task.kind)
        if hook is not None and task.state != TaskState.CANCELED:
            hook(s, task, False)  # a step changed, the task did not
        return task
    now = utcnow()
    task.state = new
    if new == TaskState.EXEC and task.started_at is None:
        task.started_at = now
    if new in TERMINAL:
        task.finished_at = now
    if new == TaskState.FAIL:
        failed = next(st for st in steps if st.state == TaskState.FAIL)
        task.error_code, task.error_message = failed.error_code, failed.error_message
    elif new == TaskState.INIT:
        task.error_code = task.error_message = None
    if new == TaskState.SUCC:
        task.output = {"steps": [st.output for st in steps]} if len(steps) > 1 else steps[0].output
    record_task_event(s, task)
    return task


# Task kinds with events of their own (processing tasks: ProcedureStateChanged) register
# ``hook(session, task, task_state_changed)`` here instead of the generic TaskStateChanged.
TASK_EVENT_HOOKS: dict[str, Callable[[Session, Task, bool], None]] = {}


def record_task_event(s: Session, task: Task) -> None:
    hook = TASK_EVENT_HOOKS.get(task.kind)
    if hook is not None:
        hook(s, task, True)
        return
    payload: dict[str, Any] = {
        "TaskId": task.id,
        "TaskType": task.kind,
        "State": task.state,
        "ErrCode": task.error_code or "",
        "Message": task.error_message or "",
        "ExtParam": task.ext_param,
        "Output": task.output,
        "CreateTime": _iso(task.created_at),
        "BeginProcessTime": _iso(task.started_at),
        "FinishTime": _iso(task.finished_at),
    }
    events.record(s, task.app_id, TASK_STATE_CHANGED, payload, cb_url=task.cb_url, cb_method=task.cb_method)


def claim(db: Database, owner_for: Callable[[], str], n: int, lease_seconds: float) -> list[Claim]:
    """Lease up to ``n`` runnable steps in queue order; ``owner_for()`` names each lease."""
    if n <= 0:
        return []
    out: list[Claim] = []
    with db.session() as s:
        now = utcnow()
        rows = list(s.scalars(select(TaskStep).where(TaskStep.state == TaskState.INIT,
                                                     TaskStep.cancel_requested == false())
                              .order_by(*ORDER).limit(n)))
        for st in rows:
            owner = owner_for()
            res = s.execute(update(TaskStep)
                            .where(TaskStep.id == st.id, TaskStep.state == TaskState.INIT)
                            .values(state=TaskState.EXEC, lease_owner=owner,
                                    lease_expires_at=now + timedelta(seconds=lease_seconds),
                                    attempts=TaskStep.attempts + 1, progress=0.0, started_at=now,
                                    error_code=None, error_message=None, error_detail=None)
                            .execution_options(synchronize_session=False))
            if res.rowcount:  # type: ignore[attr-defined]
                out.append(Claim(st.id, st.task_id, st.kind, st.attempts + 1, owner))
        s.expire_all()
        for task_id in {c.task_id for c in out}:
            sync_task(s, task_id)
    return out


def renew(db: Database, step_id: int, owner: str, lease_seconds: float) -> tuple[bool, bool]:
    """Extend the lease. Returns (still ours, cancel requested)."""
    with db.session() as s:
        res = s.execute(update(TaskStep)
                        .where(TaskStep.id == step_id, TaskStep.lease_owner == owner,
                               TaskStep.state == TaskState.EXEC)
                        .values(lease_expires_at=utcnow() + timedelta(seconds=lease_seconds)))
        cancel = s.scalar(select(TaskStep.cancel_requested).where(TaskStep.id == step_id))
        return bool(res.rowcount), bool(cancel)  # type: ignore[attr-defined]


def set_progress(db: Database, step_id: int, owner: str, progress: float) -> None:
    with db.session() as s:
        s.execute(update(TaskStep)
                  .where(TaskStep.id == step_id, TaskStep.lease_owner == owner, TaskStep.state == TaskState.EXEC)
                  .values(progress=max(0.0, min(100.0, progress))))


def _owned(s: Session, step_id: int, owner: str) -> TaskStep | None:
    st = s.get(TaskStep, step_id)
    if st is None or st.lease_owner != owner or st.state != TaskState.EXEC:
        return None  # the lease was lost (expired, re-leased or cancelled): our result doesn't count
    return st


def finish_step(db: Database, step_id: int, owner: str, output: dict[str, Any]) -> bool:
    with db.session() as s:
        st = _owned(s, step_id, owner)
        if st is None:
            return False
        st.state, st.output, st.progress, st.finished_at = TaskState.SUCC, output, 100.0, utcnow()
        st.lease_owner = st.lease_expires_at = None
        s.flush()
        sync_task(s, st.task_id)
        return True


def fail_step(db: Database, step_id: int, owner: str, *, code: str, message: str, detail: str | None = None,
              retryable: bool, max_attempts: int) -> bool:
    """Record a failed attempt: back to the queue if retryable and attempts remain, else ``fail``."""
    with db.session() as s:
        st = _owned(s, step_id, owner)
        if st is None:
            return False
        _fail(s, st, code, message, detail, retryable=retryable, max_attempts=max_attempts)
        return True


def _fail(s: Session, st: TaskStep, code: str, message: str, detail: str | None, *, retryable: bool,
          max_attempts: int) -> None:
    st.error_code, st.error_message, st.error_detail = code, message, detail
    st.lease_owner = st.lease_expires_at = None
    if st.cancel_requested:
        st.state = TaskState.CANCELED
    elif retryable and st.attempts < max_attempts:
        st.state, st.progress = TaskState.INIT, 0.0
    else:
        st.state, st.finished_at = TaskState.FAIL, utcnow()
    s.flush()
    sync_task(s, st.task_id)


def release(db: Database, step_id: int, owner: str, *, reason: str, max_attempts: int) -> bool:
    """The worker holding the step is gone: treat it as an expired lease right now."""
    with db.session() as s:
        st = _owned(s, step_id, owner)
        if st is None:
            return False
        _fail(s, st, "FailedOperation.WorkerLost", reason, None, retryable=True, max_attempts=max_attempts)
        return True


def requeue(db: Database, step_id: int, owner: str) -> bool:
    """Put a leased step back as if never taken (a graceful shutdown: no attempt counted)."""
    with db.session() as s:
        st = _owned(s, step_id, owner)
        if st is None:
            return False
        st.state, st.progress, st.attempts = TaskState.INIT, 0.0, max(0, st.attempts - 1)
        st.lease_owner = st.lease_expires_at = None
        s.flush()
        sync_task(s, st.task_id)
        return True


def expire_leases(db: Database, max_attempts: int, *, owner_prefix: str | None = None) -> int:
    """Put back steps whose lease expired (or, with ``owner_prefix``, every lease of a dead
    process, expired or not). Returns how many."""
    with db.session() as s:
        cond = [TaskStep.state == TaskState.EXEC]
        if owner_prefix is not None:
            cond.append(TaskStep.lease_owner.startswith(owner_prefix, autoescape=True))
        else:
            cond.append(TaskStep.lease_expires_at < utcnow())
        stale = list(s.scalars(select(TaskStep).where(and_(*cond))))
        for st in stale:
            _fail(s, st, "FailedOperation.WorkerLost",
                  f"the worker running this step was lost (lease {st.lease_owner} expired) on attempt {st.attempts}",
                  None, retryable=True, max_attempts=max_attempts)
        return len(stale)


def _position_query(topped: bool) -> Select[int]:
    # Built once per shape with bind parameters, so SQLAlchemy's compiled cache makes it cheap.
    t = TaskStep
    p_topped, p_prio = bindparam("topped", type_=t.topped_at.type), bindparam("prio", type_=Integer)
    p_created, p_id = bindparam("created", type_=t.created_at.type), bindparam("id", type_=Integer)
    if topped:
        ahead_topped, same_topped = t.topped_at > p_topped, t.topped_at == p_topped
    else:
        ahead_topped, same_topped = t.topped_at.is_not(None), t.topped_at.is_(None)
    ahead = or_(
        ahead_topped,
        and_(same_topped, t.priority > p_prio),
        and_(same_topped, t.priority == p_prio,
             or_(t.created_at < p_created, and_(t.created_at == p_created, t.id < p_id))),
    )
    return select(func.count()).select_from(t).where(t.state == TaskState.INIT, ahead)


_POSITION = {True: _position_query(True), False: _position_query(False)}


def queue_position(conn: Session | Connection, st: Any) -> int:
    """How many runnable steps will be handed out before ``st`` (a step or a row with its
    state, topped_at, priority, created_at and id)."""
    if st.state != TaskState.INIT:
        return 0
    params = {"topped": st.topped_at, "prio": st.priority, "created": st.created_at, "id": st.id}
    return int(conn.execute(_POSITION[st.topped_at is not None], params).scalar() or 0)
