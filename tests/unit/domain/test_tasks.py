"""domain/tasks.py: the step moves, the transition tables derived from them, and the task state
that follows from its steps'. Exhaustive over small tasks: the tables are small enough to check
whole."""

from __future__ import annotations

import itertools

import pytest

from openvod.domain.tasks import (
    CANCEL,
    CLAIM,
    FINAL,
    FINISH,
    JOIN_KINDS,
    PUT_BACK,
    RELEASE,
    RERUN,
    RUNNING,
    SETTLE_FAILURE,
    STEP_MOVES,
    STEP_TRANSITIONS,
    TASK_TRANSITIONS,
    TERMINAL,
    StepState,
    TaskState,
    allowed_from,
    releasable,
    task_output_of,
    task_state_of,
)

S, T = StepState, TaskState


def test_the_values_are_the_words_stored_in_the_database() -> None:
    words = ["init", "exec", "succ", "fail", "canceled"]
    assert [s.value for s in StepState] == [*words, "wait"] and [t.value for t in TaskState] == words
    assert StepState.EXEC == "exec" and f"{TaskState.CANCELED}" == "canceled"


def test_step_transitions_are_exactly_the_moves_the_queue_makes() -> None:
    assert STEP_TRANSITIONS == {
        S.INIT: {S.EXEC, S.CANCELED},  # claim, a user's cancel of a queued step
        S.EXEC: {S.SUCC, S.FAIL, S.CANCELED, S.INIT},  # finish, fail, fail after a cancel, retry / put back
        S.SUCC: set(),
        S.FAIL: {S.INIT},  # re-run alone
        S.CANCELED: set(),
        S.WAIT: {S.INIT, S.CANCELED},  # released once the rest of its task succeeded, a user's cancel
    }
    assert {m.name for m in STEP_MOVES} == {"claim", "finish", "fail", "put back", "cancel", "re-run", "release"}
    for move in STEP_MOVES:
        for source, target in itertools.product(move.sources, move.targets):
            assert target in STEP_TRANSITIONS[source], (move.name, source, target)


def test_allowed_from_gives_the_guards_of_the_queue_statements() -> None:
    assert allowed_from(S.EXEC) == {S.INIT} == CLAIM.sources
    assert allowed_from(S.SUCC) == {S.EXEC} == FINISH.sources
    # the failure statement picks one of three targets in SQL: only exec may go to all three
    assert allowed_from(S.INIT, S.CANCELED, S.FAIL) == {S.EXEC} == SETTLE_FAILURE.sources
    assert allowed_from(S.INIT) == {S.EXEC, S.FAIL, S.WAIT}  # put back, re-run, or release
    assert allowed_from(S.CANCELED) == {S.INIT, S.EXEC, S.WAIT}
    assert RUNNING == {S.EXEC} and S.WAIT not in CLAIM.sources  # a waiting step is never leased
    assert CANCEL.sources == {S.INIT, S.WAIT} and RELEASE.sources == {S.WAIT}
    assert (CLAIM.target, FINISH.target, PUT_BACK.target, CANCEL.target, RERUN.target, RELEASE.target) == (
        S.EXEC, S.SUCC, S.INIT, S.CANCELED, S.INIT, S.INIT)
    with pytest.raises(ValueError, match="the fail move has 3 targets"):
        _ = SETTLE_FAILURE.target


@pytest.mark.parametrize(("steps", "expected"), [
    ([], T.SUCC),
    ([S.INIT], T.INIT),
    ([S.INIT, S.INIT], T.INIT),
    ([S.EXEC, S.INIT], T.EXEC),
    ([S.SUCC, S.INIT], T.EXEC),  # between two steps a task is still running
    ([S.SUCC, S.FAIL], T.FAIL),
    ([S.FAIL, S.EXEC], T.EXEC),  # a failed step does not fail the task while another runs
    ([S.CANCELED, S.EXEC], T.EXEC),  # a running step winds down first
    ([S.CANCELED, S.SUCC], T.CANCELED),
    ([S.SUCC, S.SUCC], T.SUCC),
    # a waiting step (a join) is pending while the rest can still succeed
    ([S.WAIT], T.INIT),
    ([S.INIT, S.WAIT], T.INIT),
    ([S.EXEC, S.WAIT], T.EXEC),
    ([S.SUCC, S.WAIT], T.EXEC),
    ([S.SUCC, S.INIT, S.WAIT], T.EXEC),
    # ... and never runs beside a failed or cancelled step with nothing left to run
    ([S.SUCC, S.FAIL, S.WAIT], T.FAIL),
    ([S.FAIL, S.EXEC, S.WAIT], T.EXEC),
    ([S.SUCC, S.CANCELED, S.WAIT], T.CANCELED),
    ([S.CANCELED, S.EXEC, S.WAIT], T.EXEC),
])
def test_task_state_of(steps: list[StepState], expected: TaskState) -> None:
    assert task_state_of(list(steps)) == expected


@pytest.mark.parametrize(("steps", "expected"), [
    ([S.WAIT], True),
    ([S.SUCC, S.SUCC, S.WAIT], True),
    ([S.SUCC, S.WAIT, S.WAIT], True),
    ([S.SUCC, S.EXEC, S.WAIT], False),
    ([S.SUCC, S.INIT, S.WAIT], False),
    ([S.SUCC, S.FAIL, S.WAIT], False),  # until the failed step is re-run and succeeds
    ([S.SUCC, S.CANCELED, S.WAIT], False),
    ([S.SUCC, S.SUCC], False),  # nothing waits
])
def test_waiting_steps_are_released_when_the_rest_succeeded(steps: list[StepState], expected: bool) -> None:
    assert releasable(list(steps)) is expected
    if expected:  # releasing them changes nothing a user sees: the task was and stays pending
        after = [S.INIT if st == S.WAIT else st for st in steps]
        assert task_state_of(list(steps)) == task_state_of(after) in {T.INIT, T.EXEC}


def test_task_output_of_a_join_is_the_joins() -> None:
    assert task_output_of([]) is None
    assert task_output_of([("transcode", {"size": 1})]) == {"size": 1}
    assert task_output_of([("a", {"n": 1}), ("b", None)]) == {"steps": [{"n": 1}, None]}
    assert "transcode_join" in JOIN_KINDS
    chunked = [("transcode_chunk", {"key": "v0"}), ("transcode_audio", {"key": "a"}),
               ("transcode_join", {"size": 9, "files": ["out.mp4"]})]
    assert task_output_of(chunked) == {"size": 9, "files": ["out.mp4"]}


def _task_moves_caused_by_one_step_move(max_steps: int) -> set[tuple[TaskState, TaskState]]:
    seen = set()
    for n in range(1, max_steps + 1):
        for states in itertools.product(StepState, repeat=n):
            before = task_state_of(list(states))
            for i, state in enumerate(states):
                for target in STEP_TRANSITIONS[state]:
                    after = task_state_of([*states[:i], target, *states[i + 1:]])
                    if after != before:
                        seen.add((before, after))
    return seen


def test_task_transitions_are_exactly_what_one_step_move_can_cause() -> None:
    caused = _task_moves_caused_by_one_step_move(max_steps=4)
    # A task in a final state is not moved by its steps (the queue does not sync it): a cancelled
    # task whose running step is put back stays cancelled.
    assert (T.CANCELED, T.EXEC) in caused and FINAL == {T.SUCC, T.CANCELED}
    legal = {(a, b) for a, bs in TASK_TRANSITIONS.items() for b in bs}
    assert {(a, b) for a, b in caused if a not in FINAL} == legal


def test_terminal_and_final_states() -> None:
    assert TERMINAL == {T.SUCC, T.FAIL, T.CANCELED}
    assert FINAL < TERMINAL  # a failed task may run again (one of its steps re-run)
    # canceled: the waiting step of a failed task cancelled (see domain/tasks.py)
    assert TASK_TRANSITIONS[T.FAIL] == {T.INIT, T.EXEC, T.CANCELED}
