"""The durable queue: claiming, renewing, finishing and retrying steps in the database.

A step is runnable when ``init``. Claiming sets ``exec`` with a lease (owner + expiry) and counts
an attempt. The lease is renewed by heartbeat; a step whose lease expires goes back to ``init``
until ``max_attempts``, then ``fail`` with the last error. Every task state change is recorded as
a ``TaskStateChanged`` event in the same transaction, through the recorder the wiring hands the
engine (:mod:`openvod.engine.hooks`): the engine does not import services.

The hot path (claim, settle, the task state that follows) is a handful of precompiled Core
statements per step with no ORM identity map or unit of work: a worker that settles a step can
lease its next one in the same transaction (:func:`settle` with ``next_owner``). Task kinds with
event hooks of their own (processing tasks) are synced through the ORM, as the hooks need it.

**Lock order.** On PostgreSQL writers run at once, and every transaction that writes a task and
its steps takes its row locks in one order, so none can wait for another in a cycle (a deadlock):

1. **steps before tasks** — a transaction locks every step row it will write before any task row;
2. **steps in id order** where it waits for several (a cancel, a put-back); a claim never waits
   (``FOR UPDATE SKIP LOCKED``: it passes locked steps), and a settle waits for its own step only;
3. **tasks in id order** (:func:`_sync_all` derives each task's state with its row locked), with
   ``FOR NO KEY UPDATE``, not ``FOR UPDATE``. Writing a step twice in one transaction (a retry its
   own worker leases again at once) makes PostgreSQL check its foreign key, which takes ``KEY
   SHARE`` on the task row during the step phase; two such settles of one task would each wait
   for the other's share under ``FOR UPDATE``. ``NO KEY UPDATE`` does not conflict with it.
4. the one exception, a task's **waiting steps after its row**: deriving the task's state releases
   them once the rest has succeeded (``_RELEASE``). No cycle: a waiting step is created after
   the steps it waits for, so ``lock_task`` reaches it last, and the releasing transaction
   already holds the step it settled, which ``lock_task`` needs first.

The engine's statements do so by construction; services that change a task and its steps (cancel,
delete, move to top, rerun) call :func:`lock_task` first. SQLite serializes writers and ignores
row locks, so there the order costs nothing. Each task whose state changes is signalled
(``task_changed``) once its transaction commits, in every process: the executor need not.
"""

from __future__ import annotations

import os
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from types import SimpleNamespace
from typing import Any, cast

from sqlalchemy import (
    JSON,
    Connection,
    Table,
    and_,
    bindparam,
    case,
    false,
    literal,
    or_,
    select,
    update,
)
from sqlalchemy.orm import Session

from openvod.db.models import Task, TaskStep, utcnow
from openvod.db.session import Database
from openvod.domain.events import EventType
from openvod.domain.numbers import parse_uint
from openvod.domain.tasks import (
    CLAIM,
    FINAL,
    FINISH,
    PUT_BACK,
    RELEASE,
    RUNNING,
    SETTLE_FAILURE,
    TERMINAL,
    StepState,
    TaskState,
    releasable,
    task_output_of,
    task_state_of,
)
from openvod.domain.times import iso_s_or_none as _iso
from openvod.engine import fair
from openvod.engine import hooks as engine_hooks
from openvod.engine.guards import state_in
from openvod.errors import InvalidParameter
from openvod.runtime import Topic, signal_on_commit

__all__ = [
    "ORDER",
    "Claim",
    "Failure",
    "claim",
    "expire_leases",
    "fail_step",
    "finish_step",
    "lock_task",
    "queue_position",
    "queue_positions",
    "recover_dead_owners",
    "release",
    "renew",
    "requeue",
    "requeue_leases",
    "set_progress",
    "settle",
    "sync_task",
]

_T, _S = cast(Table, Task.__table__), cast(Table, TaskStep.__table__)
ORDER = fair.ORDER
TASK_STATE_CHANGED = EventType.TASK_STATE_CHANGED


@dataclass(frozen=True)
class Claim:
    """A leased step, with what a worker needs to run it."""

    step_id: int
    task_id: str
    kind: str
    attempt: int
    owner: str
    app_id: str
    input: dict[str, Any]


@dataclass(frozen=True)
class Failure:
    """How an attempt failed; ``retryable`` puts the step back while attempts remain."""

    code: str
    message: str
    detail: str | None = None
    retryable: bool = False


# -- the task's state, derived from its steps -------------------------------------------------

# Locked (PostgreSQL; SQLite serializes writers anyway): two workers settling two steps of one
# task must not both read the other's step as still running and leave the task in ``exec``. FOR NO
# KEY UPDATE, the lock an UPDATE of the row takes, not FOR UPDATE: see "Lock order" above.
_TASK_ROW = (select(_T.c.id, _T.c.app_id, _T.c.kind, _T.c.state, _T.c.ext_param, _T.c.cb_url, _T.c.cb_method,
                    _T.c.error_code, _T.c.error_message, _T.c.output, _T.c.created_at, _T.c.started_at,
                    _T.c.finished_at).where(_T.c.id == bindparam("task_id")).with_for_update(key_share=True))
_STEP_STATES = (select(_S.c.state, _S.c.kind, _S.c.output, _S.c.error_code, _S.c.error_message)
                .where(_S.c.task_id == bindparam("task_id")).order_by(_S.c.idx))

# A task's waiting steps (a join) become runnable once every other step of it has succeeded; run
# with the task row locked, so of two steps settling at once the second sees the first's result.
# Locks the waiting rows after the task row: no cycle with ``lock_task`` (steps in id order, then
# the task), as a waiting step is created after the steps it waits for (a higher id), which the
# settling transaction holds first.
_OTHER = _S.alias("other")
_RELEASE = (update(_S).where(_S.c.task_id == bindparam("tid"), state_in(_S.c.state, RELEASE.sources),
                             ~select(_OTHER.c.id).where(_OTHER.c.task_id == bindparam("tid"),
                                                        _OTHER.c.state.not_in([StepState.SUCC.value,
                                                                               StepState.WAIT.value])).exists())
            .values(state=RELEASE.target))


# Sets every derived column (unchanged ones to what was read), so one compiled statement serves;
# the state test makes it a no-op if the task changed since it was read.
_SET_TASK = (update(_T).where(_T.c.id == bindparam("task_id"), _T.c.state == bindparam("was"))
             .values(state=bindparam("to"), started_at=bindparam("started", type_=_T.c.started_at.type),
                     finished_at=bindparam("finished", type_=_T.c.finished_at.type),
                     error_code=bindparam("code"), error_message=bindparam("message"),
                     output=bindparam("result", type_=JSON(none_as_null=True))))


def _changes(task: Any, steps: Sequence[Any], now: datetime) -> dict[str, Any] | None:
    """The task columns to set for its steps' states (``task`` and ``steps`` are models or rows),
    or None when the task's state stays."""
    new = task_state_of([st.state for st in steps])
    if task.state in FINAL or new == task.state:
        return None
    values: dict[str, Any] = {"state": new}
    if new == TaskState.EXEC and task.started_at is None:
        values["started_at"] = now
    if new in TERMINAL:
        values["finished_at"] = now
    if new == TaskState.FAIL:
        failed = next(st for st in steps if st.state == StepState.FAIL)
        values["error_code"], values["error_message"] = failed.error_code, failed.error_message
    elif new == TaskState.INIT:
        values["error_code"] = values["error_message"] = None
    if new == TaskState.SUCC:
        values["output"] = task_output_of([(st.kind, st.output) for st in steps])
    return values


def sync_task(s: Session, task_id: str) -> Task | None:
    """Derive the task's state from its steps; on a change, stamp times and record an event.
    ORM version, for callers holding models (and for kinds with event hooks)."""
    task = s.get(Task, task_id)
    if task is None:
        return None
    steps = list(s.scalars(select(TaskStep).where(TaskStep.task_id == task_id).order_by(TaskStep.idx)))
    if task.state not in FINAL and releasable([st.state for st in steps]):
        for st in steps:
            if st.state in RELEASE.sources:
                st.state = RELEASE.target
        signal_on_commit(s, Topic.WORK)
    values = _changes(task, steps, utcnow())
    if values is None:
        hook = engine_hooks.current().task_events.get(task.kind)
        if hook is not None and task.state != TaskState.CANCELED:
            hook(s, task, False)  # a step changed, the task did not
        return task
    for name, value in values.items():
        setattr(task, name, value)
    record_task_event(s, task)
    signal_on_commit(s, Topic.TASK, task_id)
    return task


def lock_task(s: Session, task_id: str) -> Task | None:
    """Lock a task and its steps for a change to them, in the order every writer takes (see
    "Lock order" above): its steps in id order, then the task. Returns the task as it is now that
    no one else can change it (re-read, whatever the session held), or None if it is gone. Call
    it before changing a task's steps or state outside the engine."""
    s.execute(select(TaskStep.id).where(TaskStep.task_id == task_id).order_by(TaskStep.id).with_for_update())
    return s.get(Task, task_id, with_for_update={"key_share": True}, populate_existing=True)


def _sync_all(s: Session, task_ids: Sequence[str]) -> None:
    """Sync each task once, after the transaction has written (and so locked) its steps, in id
    order: the lock order above. A task that changed and changed back in between (a retry its own
    worker took again at once) records nothing: no one could have seen the state in between."""
    for task_id in sorted(set(task_ids)):
        _sync(s, task_id)


def _sync(s: Session, task_id: str) -> None:
    """:func:`sync_task` in Core statements on the session's connection (no models loaded). The
    task row is locked first, so its steps are read as the last writer left them."""
    conn = s.connection()
    task = conn.execute(_TASK_ROW, {"task_id": task_id}).first()
    if task is None:
        return
    hooks = engine_hooks.current()
    if task.kind in hooks.task_events:
        s.expire_all()  # Core wrote steps behind the identity map's back
        sync_task(s, task_id)
        s.flush()  # so the Core statements that follow in this transaction see it
        return
    steps = conn.execute(_STEP_STATES, {"task_id": task_id}).all()
    if task.state not in FINAL and releasable([st.state for st in steps]):
        if conn.execute(_RELEASE, {"tid": task_id}).rowcount:
            signal_on_commit(s, Topic.WORK)  # a step became runnable: executors elsewhere may take it
        steps = conn.execute(_STEP_STATES, {"task_id": task_id}).all()
    values = _changes(task, steps, utcnow())
    if values is None:
        return
    t = SimpleNamespace(**{**task._asdict(), **values})
    changed = conn.execute(_SET_TASK, {"task_id": task_id, "was": task.state, "to": t.state, "started": t.started_at,
                                       "finished": t.finished_at, "code": t.error_code, "message": t.error_message,
                                       "result": t.output})
    if not changed.rowcount:
        return  # changed meanwhile (PostgreSQL: a cancel committed since the read); it has its event
    hooks.record_event(s, t.app_id, TASK_STATE_CHANGED, _payload(t), cb_url=t.cb_url, cb_method=t.cb_method)
    signal_on_commit(s, Topic.TASK, task_id)


def _payload(task: Any) -> dict[str, Any]:
    return {
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


def record_task_event(s: Session, task: Task) -> None:
    hooks = engine_hooks.current()
    hook = hooks.task_events.get(task.kind)
    if hook is not None:
        hook(s, task, True)
        return
    hooks.record_event(s, task.app_id, TASK_STATE_CHANGED, _payload(task), cb_url=task.cb_url, cb_method=task.cb_method)


# -- claiming ---------------------------------------------------------------------------------

# One statement leases the next step, chosen fairly across apps (see ``fair``). SKIP LOCKED lets
# PostgreSQL claimers pass each other (SQLite ignores it: its writers are serialized anyway); the
# state test in the outer WHERE keeps a step from being leased twice either way.
_CLAIM = (update(_S).where(_S.c.id == fair.head_of_fairest_app(), state_in(_S.c.state, CLAIM.sources))
          .values(state=CLAIM.target, lease_owner=bindparam("owner", type_=_S.c.lease_owner.type),
                  lease_expires_at=bindparam("expires", type_=_S.c.lease_expires_at.type),
                  attempts=_S.c.attempts + 1, progress=0.0, started_at=bindparam("now", type_=_S.c.started_at.type),
                  error_code=None, error_message=None, error_detail=None)
          .returning(_S.c.id, _S.c.task_id, _S.c.kind, _S.c.attempts, _S.c.app_id, _S.c.input))


def _claim(conn: Connection, owners: Sequence[str], lease_seconds: float, max_running: int) -> list[Claim]:
    now = utcnow()
    expires = now + timedelta(seconds=lease_seconds)
    cap = max_running or fair.NO_CAP
    out: list[Claim] = []
    for owner in owners:
        row = conn.execute(_CLAIM, {"owner": owner, "expires": expires, "now": now, "cap": cap}).first()
        if row is None:
            break
        out.append(Claim(row.id, row.task_id, row.kind, row.attempts, owner, row.app_id, row.input))
    return out


def claim(db: Database, owners: Sequence[str], lease_seconds: float, *, max_running: int = 0) -> list[Claim]:
    """Lease up to ``len(owners)`` runnable steps, the i-th to ``owners[i]``, each chosen fairly
    across apps (:mod:`openvod.engine.fair`); ``max_running`` caps an app's running steps (0: no cap)."""
    if not owners:
        return []
    with db.session() as s:
        out = _claim(s.connection(), owners, lease_seconds, max_running)
        _sync_all(s, [c.task_id for c in out])
    return out


def warm_up(db: Database) -> None:
    """Open a pooled connection and have SQLAlchemy compile the claim, by running one in a
    transaction that is rolled back (it changes nothing; a row it locked for that moment is skipped
    by real claimers). A worker process calls it at start, so its first real claim costs what every
    later one does: with 32 processes starting on two cores, that first compile was a 1 s ramp."""
    with db.engine.connect() as conn:
        tx = conn.begin()
        try:
            _claim(conn, ["warm-up"], 1.0, 0)
        finally:
            tx.rollback()


# -- settling ---------------------------------------------------------------------------------

_FINISH = (update(_S).where(_S.c.id == bindparam("step_id"), _S.c.lease_owner == bindparam("owner"),
                            state_in(_S.c.state, FINISH.sources))
           .values(state=FINISH.target, output=bindparam("result", type_=_S.c.output.type), progress=100.0,
                   finished_at=bindparam("now", type_=_S.c.finished_at.type), lease_owner=None,
                   lease_expires_at=None)
           .returning(_S.c.task_id, _S.c.cancel_requested))


def _fail(conn: Connection, step_id: int, owner: str, failure: Failure, max_attempts: int) -> tuple[str, bool] | None:
    """Record a failed attempt: back to ``init`` if retryable with attempts left, ``canceled`` if
    a cancel was requested, else ``fail``. One statement, so a cancel can't slip in between.
    Returns (task id, cancel requested), or None if the lease was not ours."""
    cancelled = _S.c.cancel_requested.is_(True)
    retry = and_(~cancelled, _S.c.attempts < max_attempts) if failure.retryable else false()
    state = case((cancelled, StepState.CANCELED.value), (retry, StepState.INIT.value), else_=StepState.FAIL.value)
    now = literal(utcnow(), _S.c.finished_at.type)
    row = conn.execute(
        update(_S).where(_S.c.id == step_id, _S.c.lease_owner == owner, state_in(_S.c.state, SETTLE_FAILURE.sources))
        .values(state=state, error_code=failure.code, error_message=failure.message, error_detail=failure.detail,
                lease_owner=None, lease_expires_at=None, progress=case((retry, 0.0), else_=_S.c.progress),
                finished_at=case((or_(cancelled, retry), _S.c.finished_at), else_=now))
        .returning(_S.c.task_id, _S.c.cancel_requested)).first()
    return (row.task_id, bool(row.cancel_requested)) if row is not None else None


def settle(db: Database, step_id: int, owner: str, result: dict[str, Any] | Failure, *, max_attempts: int,
           next_owner: str | None = None, lease_seconds: float = 30.0, max_running: int = 0,
           ) -> tuple[bool, Claim | None]:
    """Record the outcome of a leased step: its output, or a :class:`Failure`. With
    ``next_owner`` the caller's worker is free, and the next runnable step is leased to it in the
    same transaction (``max_running`` as in :func:`claim`) — unless a cancel of this step was
    requested (the executor may already be signalling the worker about it; the next step must not
    catch that signal).

    Returns (recorded, next claim): not recorded when the lease was lost (expired and re-leased,
    or released) — the result then doesn't count.
    """
    with db.session() as s:
        conn = s.connection()
        if isinstance(result, Failure):
            done = _fail(conn, step_id, owner, result, max_attempts)
        else:
            row = conn.execute(_FINISH, {"step_id": step_id, "owner": owner, "result": result,
                                         "now": utcnow()}).first()
            done = (row.task_id, bool(row.cancel_requested)) if row is not None else None
        nxt: list[Claim] = []
        if next_owner is not None and not (done is not None and done[1]):
            nxt = _claim(conn, [next_owner], lease_seconds, max_running)
        settled = [done[0]] if done is not None else []
        _sync_all(s, settled + [c.task_id for c in nxt])
    return done is not None, (nxt[0] if nxt else None)


def finish_step(db: Database, step_id: int, owner: str, output: dict[str, Any]) -> bool:
    """Record a step's output; False if the lease was lost (see :func:`settle`)."""
    return settle(db, step_id, owner, output, max_attempts=1)[0]


def fail_step(db: Database, step_id: int, owner: str, *, code: str, message: str, detail: str | None = None,
              retryable: bool, max_attempts: int) -> bool:
    """Record a failed attempt: back to the queue if retryable and attempts remain, else ``fail``."""
    return settle(db, step_id, owner, Failure(code, message, detail, retryable), max_attempts=max_attempts)[0]


def release(db: Database, step_id: int, owner: str, *, reason: str, max_attempts: int) -> bool:
    """The worker holding the step is gone: treat it as an expired lease right now."""
    return fail_step(db, step_id, owner, code="FailedOperation.WorkerLost", message=reason, retryable=True,
                     max_attempts=max_attempts)


def _put_back(db: Database, owned: Any) -> int:
    """Steps matching ``owned`` go back to ``init`` as if never taken (no attempt counted)."""
    with db.session() as s:
        # Locked in id order first (the lock order above): a bare UPDATE locks in scan order.
        mine = select(_S.c.id).where(owned, state_in(_S.c.state, PUT_BACK.sources)).order_by(_S.c.id).with_for_update()
        rows = s.connection().execute(
            update(_S).where(_S.c.id.in_(mine), state_in(_S.c.state, PUT_BACK.sources))
            .values(state=PUT_BACK.target, progress=0.0, lease_owner=None, lease_expires_at=None,
                    attempts=case((_S.c.attempts > 0, _S.c.attempts - 1), else_=0))
            .returning(_S.c.task_id)).all()
        _sync_all(s, [r.task_id for r in rows])
    return len(rows)


def requeue(db: Database, step_id: int, owner: str) -> bool:
    """Put a leased step back as if never taken (a graceful shutdown: no attempt counted)."""
    return _put_back(db, and_(_S.c.id == step_id, _S.c.lease_owner == owner)) > 0


def requeue_leases(db: Database, owner_prefix: str) -> int:
    """:func:`requeue` every lease whose owner starts with ``owner_prefix`` (the leases of
    workers that are known to be stopped). Returns how many."""
    return _put_back(db, _S.c.lease_owner.startswith(owner_prefix, autoescape=True))


def recover_dead_owners(db: Database, max_attempts: int, host: str) -> int:
    """Put back at once the leases held by processes of ``host`` that no longer exist (owners are
    ``host:pid:...``): a restarted server or worker need not wait for them to expire."""
    with db.session() as s:
        owners = set(s.scalars(select(_S.c.lease_owner).where(state_in(_S.c.state, RUNNING),
                                                              _S.c.lease_owner.is_not(None))))
    n = 0
    for owner in owners:
        h, _, rest = (owner or "").partition(":")
        try:
            pid = parse_uint(rest.partition(":")[0], "pid", maximum=2**22)
        except InvalidParameter:
            continue  # not an owner this scheme wrote
        if h == host and not os.path.exists(f"/proc/{pid}"):
            n += expire_leases(db, max_attempts, owner_prefix=f"{h}:{pid}:")
    return n


def expire_leases(db: Database, max_attempts: int, *, owner_prefix: str | None = None) -> int:
    """Put back steps whose lease expired (or, with ``owner_prefix``, every lease of a dead
    process, expired or not). Returns how many."""
    with db.session() as s:
        cond = [state_in(_S.c.state, RUNNING)]
        if owner_prefix is not None:
            cond.append(_S.c.lease_owner.startswith(owner_prefix, autoescape=True))
        else:
            cond.append(_S.c.lease_expires_at < utcnow())
        stale = s.connection().execute(select(_S.c.id, _S.c.lease_owner, _S.c.attempts).where(*cond)).all()
    n = 0
    for st in stale:
        reason = f"the worker running this step was lost (lease {st.lease_owner} expired) on attempt {st.attempts}"
        n += release(db, st.id, st.lease_owner, reason=reason, max_attempts=max_attempts)
    return n


# -- while a step runs ------------------------------------------------------------------------

def renew(db: Database, step_id: int, owner: str, lease_seconds: float) -> tuple[bool, bool]:
    """Extend the lease. Returns (still ours, cancel requested)."""
    with db.session() as s:
        res = s.execute(update(TaskStep)
                        .where(TaskStep.id == step_id, TaskStep.lease_owner == owner,
                               state_in(TaskStep.state, RUNNING))
                        .values(lease_expires_at=utcnow() + timedelta(seconds=lease_seconds)))
        cancel = s.scalar(select(TaskStep.cancel_requested).where(TaskStep.id == step_id))
        return bool(res.rowcount), bool(cancel)  # type: ignore[attr-defined]


def set_progress(db: Database, step_id: int, owner: str, progress: float) -> None:
    """Record a running step's progress (jobs report it at most every second) and wake whoever
    watches its task: in other processes too, on PostgreSQL, where they re-read only every 15 s."""
    with db.session() as s:
        task_id = s.scalar(update(TaskStep)
                           .where(TaskStep.id == step_id, TaskStep.lease_owner == owner,
                                  state_in(TaskStep.state, RUNNING))
                           .values(progress=max(0.0, min(100.0, progress))).returning(TaskStep.task_id))
        if task_id is not None:
            signal_on_commit(s, Topic.TASK, task_id)


# -- queue position ---------------------------------------------------------------------------

_POSITION = {True: fair.position_query(True), False: fair.position_query(False)}


_POSITIONS = fair.positions_query()


def queue_positions(conn: Session | Connection, app_id: str, step_ids: Collection[int]) -> dict[int, int]:
    """:func:`queue_position` of each of ``step_ids`` (steps of ``app_id``), in one statement;
    steps not runnable are left out (their position is 0)."""
    if not step_ids:
        return {}
    return {int(i): int(n or 0) for i, n in conn.execute(_POSITIONS, {"app": app_id, "ids": list(step_ids)})}


def queue_position(conn: Session | Connection, st: Any) -> int:
    """How many of its app's runnable steps will be handed out before ``st`` (a step or a row with
    its app_id, state, topped_at, priority, created_at and id). Other apps' steps are interleaved
    fairly (:mod:`openvod.engine.fair`), so with k apps waiting about k times as many start first."""
    if st.state not in CLAIM.sources:  # not runnable
        return 0
    params = {"app": st.app_id, "topped": st.topped_at, "prio": st.priority, "created": st.created_at, "id": st.id}
    return int(conn.execute(_POSITION[st.topped_at is not None], params).scalar() or 0)
