"""Task and step states, the moves between them, and task ids. No I/O.

A task is one or more steps; the queue moves **steps** (:data:`STEP_MOVES`), and a task's state
follows from its steps' (:func:`task_state_of`), except that a user cancels a task directly.

Steps::

    wait --release--> init --claim--> exec --finish--> succ
    |                 |               |--fail-----> fail --re-run--> init
    |                 |               |--fail-----> init      (retryable, attempts left)
    |                 |               |--fail-----> canceled  (a cancel was requested while it ran)
    |                 |               '--put back-> init      (the worker stopped or was lost: no attempt counted)
    |                 '--cancel--> canceled
    '--cancel--> canceled

A ``wait`` step is not runnable: it waits for the rest of its task (a join of chunks encoded in
parallel). The queue releases a task's ``wait`` steps (to ``init``) in the transaction that
leaves every other step of the task ``succ`` (:func:`releasable`); a failed or cancelled step
leaves them waiting, so the task is ``fail`` or ``canceled`` (a re-run of the failed step lets
them go once it succeeds).

The queue's SQL statements take their ``WHERE state ...`` guards from these moves
(``CLAIM.sources``...), so the table below and the database agree by construction.
"""

from __future__ import annotations

import re
import secrets
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

__all__ = [
    "id_floor",
    "task_time",
    "CANCEL",
    "CLAIM",
    "FINAL",
    "FINISH",
    "JOIN_KINDS",
    "PUT_BACK",
    "RELEASE",
    "RERUN",
    "RUNNING",
    "SETTLE_FAILURE",
    "STEP_MOVES",
    "STEP_TRANSITIONS",
    "TASK_TRANSITIONS",
    "TERMINAL",
    "Move",
    "StepState",
    "TaskState",
    "allowed_from",
    "new_task_id",
    "releasable",
    "task_output_of",
    "task_state_of",
]


class TaskState(StrEnum):
    INIT = "init"  # queued
    EXEC = "exec"  # a step is leased by a worker (or queued behind one that finished)
    SUCC = "succ"
    FAIL = "fail"
    CANCELED = "canceled"


class StepState(StrEnum):
    """A step's state; the same words as a task's (the wire formats show both), and ``wait``."""

    INIT = "init"  # runnable
    EXEC = "exec"  # leased by a worker
    SUCC = "succ"
    FAIL = "fail"
    CANCELED = "canceled"
    WAIT = "wait"  # not runnable until every other step of its task has succeeded (then: RELEASE)


TERMINAL = frozenset({TaskState.SUCC, TaskState.FAIL, TaskState.CANCELED})
"""A task in these states has finished (one failed step may still be re-run: see RERUN)."""


@dataclass(frozen=True)
class Move:
    """One kind of step move: from any of ``sources`` to one of ``targets``."""

    name: str
    sources: frozenset[StepState]
    targets: frozenset[StepState]

    @property
    def target(self) -> StepState:
        """The one target of a move that has one (``CLAIM.target == StepState.EXEC``)."""
        if len(self.targets) != 1:
            raise ValueError(f"the {self.name} move has {len(self.targets)} targets, not one")
        return next(iter(self.targets))


def _move(name: str, sources: Iterable[StepState], targets: Iterable[StepState]) -> Move:
    return Move(name, frozenset(sources), frozenset(targets))


_S = StepState
CLAIM = _move("claim", {_S.INIT}, {_S.EXEC})
FINISH = _move("finish", {_S.EXEC}, {_S.SUCC})
# One statement decides: init (retryable, attempts left), canceled (cancel requested) or fail.
SETTLE_FAILURE = _move("fail", {_S.EXEC}, {_S.INIT, _S.CANCELED, _S.FAIL})
PUT_BACK = _move("put back", {_S.EXEC}, {_S.INIT})
# A running step is not moved by a cancel: it is flagged, and its worker settles it (SETTLE_FAILURE).
CANCEL = _move("cancel", {_S.INIT, _S.WAIT}, {_S.CANCELED})
RERUN = _move("re-run", {_S.FAIL}, {_S.INIT})
# Made by the queue once the rest of the task has succeeded (see ``releasable``).
RELEASE = _move("release", {_S.WAIT}, {_S.INIT})
STEP_MOVES = (CLAIM, FINISH, SETTLE_FAILURE, PUT_BACK, CANCEL, RERUN, RELEASE)

RUNNING = CLAIM.targets
"""Leased steps: the states a lease is renewed, progress is reported and a lease expires in."""

STEP_TRANSITIONS: dict[StepState, frozenset[StepState]] = {
    state: frozenset(t for m in STEP_MOVES if state in m.sources for t in m.targets) for state in StepState
}
"""Every legal step move, ``state -> states``, derived from :data:`STEP_MOVES`."""


def allowed_from(*targets: StepState) -> frozenset[StepState]:
    """The step states from which a move to each of ``targets`` is legal:
    ``allowed_from(StepState.SUCC) == {StepState.EXEC}``."""
    return frozenset(s for s, to in STEP_TRANSITIONS.items() if set(targets) <= to)


_T = TaskState
TASK_TRANSITIONS: dict[TaskState, frozenset[TaskState]] = {
    _T.INIT: frozenset({_T.EXEC, _T.CANCELED}),
    # exec -> init: its only running step is back in the queue (a retry, a lost lease)
    _T.EXEC: frozenset({_T.SUCC, _T.FAIL, _T.CANCELED, _T.INIT}),
    _T.SUCC: frozenset(),
    # a failed step re-run alone: init if it is the only step not done, else exec. Canceled: the
    # waiting step of a failed task cancelled (no service does it: deleting a failed task removes it).
    _T.FAIL: frozenset({_T.INIT, _T.EXEC, _T.CANCELED}),
    _T.CANCELED: frozenset(),
}
"""Every task move a single step move can cause (``tests/unit/domain/test_tasks.py`` checks it
against :func:`task_state_of` and :data:`STEP_TRANSITIONS`), plus a user's cancel."""

FINAL = frozenset(s for s, to in TASK_TRANSITIONS.items() if not to)
"""Task states nothing leaves: its steps no longer move the task (a cancelled task stays so while
its running step winds down)."""


def task_state_of(step_states: list[str]) -> TaskState:
    """A task's state, derived from its steps'. A waiting step counts as pending while it can
    still run (the rest of the task is running or has succeeded); beside a failed or cancelled
    step with nothing else to run it never will, and the task is ``fail`` or ``canceled``."""
    states = {StepState(s) for s in step_states}
    if not states:
        return TaskState.SUCC
    if states <= {_S.INIT, _S.WAIT}:
        return TaskState.INIT
    if _S.CANCELED in states and _S.EXEC not in states:
        return TaskState.CANCELED
    if states & {_S.EXEC, _S.INIT}:
        return TaskState.EXEC
    if _S.FAIL in states:
        return TaskState.FAIL
    if _S.WAIT in states:
        return TaskState.EXEC  # the rest has succeeded: the waiting step is released with it
    return TaskState.SUCC


def releasable(step_states: list[str]) -> bool:
    """Whether a task's ``wait`` steps may run: it has some, and every other step has succeeded.
    (The queue makes this test in SQL, in the statement that releases them.)"""
    states = {StepState(s) for s in step_states}
    return _S.WAIT in states and states <= {_S.SUCC, _S.WAIT}


JOIN_KINDS = frozenset({"transcode_join"})
"""Step kinds that wait for the rest of their task and make its result out of the others' work
(a chunked transcode's join): the output of a task that ends in one is that step's output."""


def task_output_of(steps: Sequence[tuple[str, dict[str, Any] | None]]) -> dict[str, Any] | None:
    """A finished task's output from its steps' ``(kind, output)`` in index order: a one-step task
    has its step's, a task ending in a join (:data:`JOIN_KINDS`) the join's, any other
    ``{"steps": [each step's output]}``."""
    if not steps:
        return None
    if len(steps) == 1 or steps[-1][0] in JOIN_KINDS:
        return steps[-1][1]
    return {"steps": [output for _, output in steps]}


def new_task_id(now: float | None = None) -> str:
    """40 characters: 32 hex (12 of milliseconds, so ids sort by time, + 20 random) and the
    creation date ``YYYYMMDD`` — the shape Kingsoft's SDK expects (it refuses ids under 35)."""
    t = time.time() if now is None else now
    ms = int(t * 1000)
    return f"{ms:012x}{secrets.token_hex(10)}{datetime.fromtimestamp(t, UTC):%Y%m%d}"


_ID_TIME = re.compile(r"[0-9a-f]{12}")


def task_time(task_id: str) -> datetime | None:
    """When a task was created, as its id says (the first 12 hex digits, milliseconds), or None
    for an id of another shape. Tasks are created at this time, so a range of creation times is
    a range of ids (:func:`id_floor`)."""
    head = task_id[:12]
    if len(task_id) < 12 or not _ID_TIME.fullmatch(head):
        return None
    return datetime.fromtimestamp(int(head, 16) / 1000, UTC)


def id_floor(moment: datetime) -> str:
    """The least task id created at or after ``moment``: ids sort by creation time, so
    ``id_floor(a) <= id < id_floor(b)`` are the tasks created in ``[a, b)``."""
    return f"{max(0, int(moment.timestamp() * 1000)):012x}"
