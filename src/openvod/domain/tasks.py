"""Task and step states, their transitions, and task ids. No I/O."""

from __future__ import annotations

import secrets
import time
from datetime import UTC, datetime
from enum import StrEnum

from openvod.errors import Conflict

__all__ = ["TERMINAL", "StepState", "TaskState", "check_transition", "new_task_id", "task_state_of"]


class TaskState(StrEnum):
    INIT = "init"  # queued
    EXEC = "exec"  # leased by a worker
    SUCC = "succ"
    FAIL = "fail"
    CANCELED = "canceled"


StepState = TaskState  # steps move through the same states

TERMINAL = frozenset({TaskState.SUCC, TaskState.FAIL, TaskState.CANCELED})

_ALLOWED: dict[TaskState, frozenset[TaskState]] = {
    TaskState.INIT: frozenset({TaskState.EXEC, TaskState.CANCELED, TaskState.FAIL}),
    # exec -> init is a retry after a lost lease or a retryable failure
    TaskState.EXEC: frozenset({TaskState.SUCC, TaskState.FAIL, TaskState.CANCELED, TaskState.INIT}),
    TaskState.SUCC: frozenset(),
    TaskState.FAIL: frozenset({TaskState.INIT}),  # a failed step may be re-run alone
    TaskState.CANCELED: frozenset(),
}


def check_transition(current: str, new: str, *, what: str = "task") -> None:
    """Raise ``Conflict`` unless ``current -> new`` is a legal move."""
    if TaskState(new) not in _ALLOWED[TaskState(current)]:
        raise Conflict(f"{what} can't go from {current} to {new}", code="FailedOperation.InvalidState")


def task_state_of(step_states: list[str]) -> TaskState:
    """A task's state, derived from its steps'."""
    states = {TaskState(s) for s in step_states}
    if not states:
        return TaskState.SUCC
    if states == {TaskState.INIT}:
        return TaskState.INIT
    if TaskState.CANCELED in states and not states & {TaskState.EXEC}:
        return TaskState.CANCELED
    if states & {TaskState.EXEC, TaskState.INIT}:
        return TaskState.EXEC
    if TaskState.FAIL in states:
        return TaskState.FAIL
    return TaskState.SUCC


def new_task_id(now: float | None = None) -> str:
    """40 characters: 32 hex (12 of milliseconds, so ids sort by time, + 20 random) and the
    creation date ``YYYYMMDD`` — the shape Kingsoft's SDK expects (it refuses ids under 35)."""
    t = time.time() if now is None else now
    ms = int(t * 1000)
    return f"{ms:012x}{secrets.token_hex(10)}{datetime.fromtimestamp(t, UTC):%Y%m%d}"
