"""The queue's statements make only the step moves domain/tasks.py allows: each operation is tried
on a step in every state, against real SQLite and PostgreSQL databases."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack

import pytest
from sqlalchemy import select, update

from openvod.config import Settings
from openvod.db.models import Task, TaskStep, utcnow
from openvod.domain.tasks import (
    CLAIM,
    FINISH,
    PUT_BACK,
    RUNNING,
    SETTLE_FAILURE,
    STEP_TRANSITIONS,
    Move,
    StepState,
    new_task_id,
)
from openvod.engine import queue
from openvod.engine.guards import state_in
from openvod.runtime import Context
from openvod.services.apps import ensure_default_app
from openvod.services.context import build_context

OWNER = "guard-test"


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def ctx(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Context]:
    with ExitStack() as stack:
        url = None
        if request.param == "postgresql":
            url = stack.enter_context(request.getfixturevalue("pg_server").database())
        c = build_context(Settings(data_dir=tmp_path_factory.mktemp("guards"), database_url=url))
        yield c
        c.db.dispose()


def _step_in(ctx: Context, state: StepState) -> tuple[str, int]:
    """A one-step task whose step is in ``state``, leased to OWNER; no other step is runnable."""
    app_id = ensure_default_app(ctx.db, None, None)[0].id
    task_id, now = new_task_id(), utcnow()
    with ctx.db.session() as s:
        s.execute(update(TaskStep).where(TaskStep.state == StepState.INIT).values(state=StepState.SUCC))
        s.add(Task(id=task_id, app_id=app_id, kind="noop", state=state.value, input={}, created_at=now))
        st = TaskStep(task_id=task_id, app_id=app_id, idx=0, kind="noop", state=state.value, input={},
                      created_at=now, lease_owner=OWNER, attempts=1)
        s.add(st)
        s.flush()
        return task_id, st.id


def _state(ctx: Context, step_id: int) -> str:
    with ctx.db.session() as s:
        return s.scalar(select(TaskStep.state).where(TaskStep.id == step_id)) or ""


OPERATIONS = {
    "claim": (CLAIM, lambda ctx, sid: bool(queue.claim(ctx.db, [OWNER + "-2"], 30.0))),
    "finish": (FINISH, lambda ctx, sid: queue.finish_step(ctx.db, sid, OWNER, {"ok": True})),
    "fail": (SETTLE_FAILURE, lambda ctx, sid: queue.fail_step(ctx.db, sid, OWNER, code="X", message="m",
                                                              retryable=False, max_attempts=3)),
    "retry": (SETTLE_FAILURE, lambda ctx, sid: queue.fail_step(ctx.db, sid, OWNER, code="X", message="m",
                                                               retryable=True, max_attempts=3)),
    "put back": (PUT_BACK, lambda ctx, sid: queue.requeue(ctx.db, sid, OWNER)),
}


@pytest.mark.parametrize("state", list(StepState))
@pytest.mark.parametrize("operation", list(OPERATIONS))
def test_each_operation_moves_only_steps_its_move_allows(ctx: Context, operation: str, state: StepState) -> None:
    move, run = OPERATIONS[operation]
    _task_id, step_id = _step_in(ctx, state)
    done = run(ctx, step_id)
    after = StepState(_state(ctx, step_id))
    assert done == (state in move.sources)
    if done:
        assert after in move.targets and after in STEP_TRANSITIONS[state]
    else:
        assert after == state  # refused: the row is untouched


@pytest.mark.parametrize("state", list(StepState))
def test_leases_are_renewed_only_while_running(ctx: Context, state: StepState) -> None:
    _task_id, step_id = _step_in(ctx, state)
    assert queue.renew(ctx.db, step_id, OWNER, 30.0)[0] == (state in RUNNING)


def test_a_guard_needs_a_state() -> None:
    assert str(state_in(TaskStep.state, CLAIM.sources)) == "task_step.state = :state_1"
    assert "IN" in str(state_in(TaskStep.state, SETTLE_FAILURE.targets))
    with pytest.raises(ValueError, match="at least one state"):
        state_in(TaskStep.state, Move("none", frozenset(), frozenset()).sources)
