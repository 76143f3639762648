"""engine/queue.py against real SQLite and PostgreSQL databases (each test runs on both): claim
order, settling (with the next claim in the same transaction), retries, cancels, lease recovery,
task state and its events. Concurrency on PostgreSQL: test_queue_concurrency.py."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from openvod.config import Settings
from openvod.db.models import App, Delivery, Event, Task, TaskStep, utcnow
from openvod.domain.tasks import new_task_id
from openvod.engine import hooks as engine_hooks
from openvod.engine import queue
from openvod.runtime import Context
from openvod.services.apps import ensure_default_app
from openvod.services.context import build_context

LEASE = 30.0


@pytest.fixture()
def ctx(tmp_path: Path, database_url: str | None) -> Iterator[Context]:
    c = build_context(Settings(data_dir=tmp_path, database_url=database_url))
    yield c
    c.db.dispose()


@pytest.fixture()
def app_id(ctx: Context) -> str:
    return ensure_default_app(ctx.db, None, None)[0].id


def add_task(ctx: Context, app_id: str, *, kind: str = "noop", steps: int = 1, priority: int = 0,
             topped: bool = False, cb_url: str | None = None) -> str:
    task_id = new_task_id()
    now = utcnow()
    with ctx.db.session() as s:
        s.add(Task(id=task_id, app_id=app_id, kind=kind, state="init", priority=priority, input={"n": 1},
                   cb_url=cb_url, topped_at=now if topped else None, created_at=now))
        for idx in range(steps):
            s.add(TaskStep(task_id=task_id, app_id=app_id, idx=idx, kind=kind, state="init", priority=priority,
                           input={"idx": idx}, topped_at=now if topped else None, created_at=now))
    return task_id


def task(ctx: Context, task_id: str) -> Task:
    with ctx.db.session() as s:
        t = s.get(Task, task_id)
        assert t is not None
        return t


def step(ctx: Context, task_id: str, idx: int = 0) -> TaskStep:
    with ctx.db.session() as s:
        st = s.scalar(select(TaskStep).where(TaskStep.task_id == task_id, TaskStep.idx == idx))
        assert st is not None
        return st


def states_recorded(ctx: Context, task_id: str) -> list[str]:
    with ctx.db.session() as s:
        evs = s.scalars(select(Event).where(Event.type == "TaskStateChanged").order_by(Event.id))
        return [e.payload["State"] for e in evs if e.payload["TaskId"] == task_id]


def test_claim_takes_topped_then_priority_then_oldest(ctx: Context, app_id: str) -> None:
    old, high, topped, new = (add_task(ctx, app_id), add_task(ctx, app_id, priority=5),
                              add_task(ctx, app_id, topped=True), add_task(ctx, app_id))
    claims = queue.claim(ctx.db, ["a", "b", "c"], LEASE)
    assert [(c.task_id, c.owner, c.attempt) for c in claims] == [(topped, "a", 1), (high, "b", 1), (old, "c", 1)]
    assert claims[0].kind == "noop" and claims[0].app_id == app_id and claims[0].input == {"idx": 0}
    st = step(ctx, topped)
    assert st.state == "exec" and st.lease_owner == "a" and st.lease_expires_at is not None
    t = task(ctx, topped)
    assert t.state == "exec" and t.started_at is not None
    assert states_recorded(ctx, topped) == ["exec"]
    assert [c.task_id for c in queue.claim(ctx.db, ["d", "e"], LEASE)] == [new]
    assert queue.claim(ctx.db, ["f"], LEASE) == []


def test_settle_records_output_and_claims_the_next_step_in_one_go(ctx: Context, app_id: str) -> None:
    first, second = add_task(ctx, app_id), add_task(ctx, app_id)
    (c,) = queue.claim(ctx.db, ["w1"], LEASE)
    recorded, nxt = queue.settle(ctx.db, c.step_id, "w1", {"ok": True}, max_attempts=3, next_owner="w2",
                                 lease_seconds=LEASE)
    assert recorded and nxt is not None and nxt.task_id == second and nxt.owner == "w2"
    t = task(ctx, first)
    assert (t.state, t.output, t.error_code) == ("succ", {"ok": True}, None)
    assert t.finished_at is not None and t.started_at is not None
    st = step(ctx, first)
    assert (st.state, st.progress, st.lease_owner, st.lease_expires_at) == ("succ", 100.0, None, None)
    assert states_recorded(ctx, first) == ["exec", "succ"]
    assert states_recorded(ctx, second) == ["exec"] and task(ctx, second).state == "exec"
    # nothing left: settled, and no next claim
    assert queue.settle(ctx.db, nxt.step_id, "w2", {}, max_attempts=3, next_owner="w3") == (True, None)


def test_a_lost_lease_does_not_count_but_the_worker_may_go_on(ctx: Context, app_id: str) -> None:
    first, second = add_task(ctx, app_id), add_task(ctx, app_id)
    (c,) = queue.claim(ctx.db, ["w1"], LEASE)
    assert queue.requeue(ctx.db, c.step_id, "w1")  # e.g. the lease expired and was put back
    recorded, nxt = queue.settle(ctx.db, c.step_id, "w1", {"late": True}, max_attempts=3, next_owner="w1b")
    assert not recorded and nxt is not None and nxt.task_id == first  # back at the head of the queue
    assert step(ctx, first).output is None
    assert task(ctx, second).state == "init"
    assert not queue.finish_step(ctx.db, c.step_id, "someone-else", {})


def test_retryable_failures_retry_until_max_attempts(ctx: Context, app_id: str) -> None:
    tid = add_task(ctx, app_id)
    failure = queue.Failure("StorageError", "disk hiccup", "detail", retryable=True)
    for attempt in (1, 2):
        (c,) = queue.claim(ctx.db, ["w"], LEASE)
        assert c.attempt == attempt
        assert queue.settle(ctx.db, c.step_id, "w", failure, max_attempts=3) == (True, None)
        st = step(ctx, tid)
        assert (st.state, st.progress, st.error_code, st.finished_at) == ("init", 0.0, "StorageError", None)
        assert task(ctx, tid).state == "init"
    (c,) = queue.claim(ctx.db, ["w"], LEASE)
    assert step(ctx, tid).error_code is None  # a new attempt starts clean
    queue.settle(ctx.db, c.step_id, "w", failure, max_attempts=3)
    st, t = step(ctx, tid), task(ctx, tid)
    assert (st.state, st.attempts, st.error_detail) == ("fail", 3, "detail") and st.finished_at is not None
    assert (t.state, t.error_code, t.error_message) == ("fail", "StorageError", "disk hiccup")
    assert states_recorded(ctx, tid) == ["exec", "init", "exec", "init", "exec", "fail"]


def test_a_retry_its_worker_takes_again_at_once_records_no_event(ctx: Context, app_id: str) -> None:
    tid = add_task(ctx, app_id)
    (c,) = queue.claim(ctx.db, ["w"], LEASE)
    recorded, nxt = queue.settle(ctx.db, c.step_id, "w", queue.Failure("StorageError", "hiccup", retryable=True),
                                 max_attempts=3, next_owner="w2")
    assert recorded and nxt is not None and (nxt.task_id, nxt.attempt) == (tid, 2)
    assert task(ctx, tid).state == "exec" and states_recorded(ctx, tid) == ["exec"]  # init was never visible


def test_non_retryable_failure_fails_at_once(ctx: Context, app_id: str) -> None:
    tid = add_task(ctx, app_id)
    (c,) = queue.claim(ctx.db, ["w"], LEASE)
    assert queue.fail_step(ctx.db, c.step_id, "w", code="FailedOperation.FFmpeg", message="bad input",
                           retryable=False, max_attempts=3)
    assert (task(ctx, tid).state, task(ctx, tid).error_message) == ("fail", "bad input")


def test_a_cancelled_step_ends_canceled_and_its_worker_takes_nothing_next(ctx: Context, app_id: str) -> None:
    tid, other = add_task(ctx, app_id), add_task(ctx, app_id)
    (c,) = queue.claim(ctx.db, ["w"], LEASE)
    with ctx.db.session() as s:
        s.execute(update(TaskStep).where(TaskStep.id == c.step_id).values(cancel_requested=True))
    assert queue.renew(ctx.db, c.step_id, "w", LEASE) == (True, True)
    # The executor may be signalling this worker about the cancel: it must not start another step.
    recorded, nxt = queue.settle(ctx.db, c.step_id, "w", queue.Failure("FailedOperation.Canceled", "cancelled",
                                                                       retryable=True),
                                 max_attempts=3, next_owner="w2")
    assert recorded and nxt is None
    assert step(ctx, tid).state == "canceled" and task(ctx, tid).state == "canceled"
    assert task(ctx, other).state == "init"
    # a cancelled step is never claimed
    with ctx.db.session() as s:
        s.execute(update(TaskStep).where(TaskStep.task_id == other).values(cancel_requested=True))
    assert queue.claim(ctx.db, ["w3"], LEASE) == []


def test_expired_leases_go_back_and_count_an_attempt(ctx: Context, app_id: str) -> None:
    tid = add_task(ctx, app_id)
    (c,) = queue.claim(ctx.db, ["host:1:1-a"], LEASE)
    assert queue.expire_leases(ctx.db, 3) == 0  # not expired yet
    with ctx.db.session() as s:
        s.execute(update(TaskStep).values(lease_expires_at=utcnow() - timedelta(seconds=1)))
    assert queue.expire_leases(ctx.db, 3) == 1
    st = step(ctx, tid)
    assert (st.state, st.attempts, st.error_code) == ("init", 1, "FailedOperation.WorkerLost")
    assert "host:1:1-a" in (st.error_message or "")
    (c,) = queue.claim(ctx.db, ["host:1:2-b"], LEASE)
    assert c.attempt == 2
    assert queue.expire_leases(ctx.db, 3, owner_prefix="host:1:1-") == 0  # another worker's lease
    assert queue.expire_leases(ctx.db, 3, owner_prefix="host:1:2-") == 1


def test_requeue_leases_puts_back_without_counting(ctx: Context, app_id: str) -> None:
    a, b, c = add_task(ctx, app_id), add_task(ctx, app_id), add_task(ctx, app_id)
    queue.claim(ctx.db, ["host:1:1-x", "host:1:1-y", "host:1:2-z"], LEASE)
    assert queue.requeue_leases(ctx.db, "host:1:1-") == 2
    assert [(step(ctx, t).state, step(ctx, t).attempts) for t in (a, b, c)] == [("init", 0), ("init", 0),
                                                                                  ("exec", 1)]
    assert states_recorded(ctx, a) == ["exec", "init"] and task(ctx, a).state == "init"


def test_multi_step_task_is_exec_until_its_last_step_ends(ctx: Context, app_id: str) -> None:
    tid = add_task(ctx, app_id, steps=2)
    c1, c2 = queue.claim(ctx.db, ["w1", "w2"], LEASE)
    assert states_recorded(ctx, tid) == ["exec"]  # one event for the two claims
    queue.settle(ctx.db, c1.step_id, "w1", {"i": 0}, max_attempts=3)
    assert task(ctx, tid).state == "exec" and states_recorded(ctx, tid) == ["exec"]
    queue.settle(ctx.db, c2.step_id, "w2", {"i": 1}, max_attempts=3)
    assert task(ctx, tid).output == {"steps": [{"i": 0}, {"i": 1}]}
    assert states_recorded(ctx, tid) == ["exec", "succ"]


def test_task_events_push_to_the_app_and_the_task_callback(ctx: Context, app_id: str) -> None:
    with ctx.db.session() as s:
        app = s.get(App, app_id)
        assert app is not None
        app.callback_url, app.callback_secret = "http://app.lan/cb", None
    tid = add_task(ctx, app_id, cb_url="http://task.lan/cb")
    (c,) = queue.claim(ctx.db, ["w"], LEASE)
    queue.settle(ctx.db, c.step_id, "w", {"ok": 1}, max_attempts=3)
    with ctx.db.session() as s:
        rows = s.execute(select(Event.payload, Delivery.url, Delivery.state)
                         .join(Delivery, Delivery.event_id == Event.id).order_by(Event.id, Delivery.id)).all()
        # the app's signing secret is made (sealed) by the first push, not here
        assert s.get(App, app_id).callback_secret is None  # type: ignore[union-attr]
    pushed = [(p["TaskId"], p["State"], url, state) for p, url, state in rows]
    assert pushed == [(tid, "exec", "http://app.lan/cb", "pending"), (tid, "exec", "http://task.lan/cb", "pending"),
                      (tid, "succ", "http://app.lan/cb", "pending"), (tid, "succ", "http://task.lan/cb", "pending")]
    payload = rows[-1][0]
    assert payload["Output"] == {"ok": 1} and payload["FinishTime"] and payload["BeginProcessTime"]


def test_kinds_with_event_hooks_are_synced_through_the_orm(ctx: Context, app_id: str,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[tuple[str, str, bool]] = []

    def hook(s: Session, t: Task, changed: bool) -> None:
        seen.append((t.id, t.state, changed))

    installed = engine_hooks.current()
    monkeypatch.setattr(engine_hooks, "_installed",
                        dataclasses.replace(installed, task_events={**installed.task_events, "hooked": hook}))
    tid = add_task(ctx, app_id, kind="hooked", steps=2)
    (c1,) = queue.claim(ctx.db, ["w1"], LEASE)
    # settling the first step and claiming the second in one transaction: one sync sees both
    recorded, c2 = queue.settle(ctx.db, c1.step_id, "w1", {"i": 0}, max_attempts=3, next_owner="w2")
    assert recorded and c2 is not None and c2.task_id == tid
    assert step(ctx, tid, 0).state == "succ" and step(ctx, tid, 1).state == "exec"
    queue.settle(ctx.db, c2.step_id, "w2", {"i": 1}, max_attempts=3)
    assert seen == [(tid, "exec", True), (tid, "exec", False), (tid, "succ", True)]
    assert task(ctx, tid).state == "succ" and states_recorded(ctx, tid) == []  # the hook's own events only
