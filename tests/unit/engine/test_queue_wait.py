"""Waiting steps (a chunked transcode's join) in engine/queue.py: released in the transaction that
leaves the rest of their task succeeded, never beside a failed or cancelled step; the task's
output is the join's; executors see the released step (the Celery worker's token top-up counts
it). On SQLite, and on PostgreSQL where settles of one task really run at once."""

from __future__ import annotations

import random
import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, update

from openvod.config import Settings
from openvod.db.models import Task, TaskStep, utcnow
from openvod.domain.tasks import new_task_id
from openvod.engine import celery_executor, queue
from openvod.errors import Conflict, NotFound
from openvod.runtime import Context
from openvod.services import apps, tasks
from openvod.services.context import build_context

LEASE = 30.0
PARTS = ("transcode_chunk", "transcode_chunk", "transcode_audio")


@pytest.fixture()
def ctx(tmp_path: Path, database_url: str | None) -> Iterator[Context]:
    c = build_context(Settings(data_dir=tmp_path, database_url=database_url, workers=0))
    yield c
    c.db.dispose()


@pytest.fixture()
def app_id(ctx: Context) -> str:
    return apps.create_app(ctx.db, "a")[0].id


def add_chunked(ctx: Context, app_id: str, n: int = 1) -> list[str]:
    """Tasks shaped like a chunked transcode: three runnable parts, then a waiting join."""
    ids, now = [], utcnow()
    with ctx.db.session() as s:
        for _ in range(n):
            task_id = new_task_id()
            s.add(Task(id=task_id, app_id=app_id, kind="chunked", state="init", input={}, created_at=now))
            for idx, kind in enumerate(PARTS):
                s.add(TaskStep(task_id=task_id, app_id=app_id, idx=idx, kind=kind, state="init", input={},
                               created_at=now))
            s.add(TaskStep(task_id=task_id, app_id=app_id, idx=len(PARTS), kind="transcode_join", state="wait",
                           input={}, created_at=now))
            ids.append(task_id)
    return ids


def states(ctx: Context, task_id: str) -> tuple[str, list[str]]:
    with ctx.db.session() as s:
        task = s.get(Task, task_id)
        assert task is not None
        steps = s.scalars(select(TaskStep.state).where(TaskStep.task_id == task_id).order_by(TaskStep.idx))
        return task.state, list(steps)


def run(ctx: Context, n: int, result: dict[str, Any] | queue.Failure | None = None) -> list[queue.Claim]:
    claims = queue.claim(ctx.db, [f"w{i}" for i in range(n)], LEASE)
    for c in claims:
        assert queue.settle(ctx.db, c.step_id, c.owner, result or {"kind": c.kind}, max_attempts=1)[0]
    return claims


def test_the_join_waits_for_every_part_then_makes_the_tasks_output(ctx: Context, app_id: str) -> None:
    (tid,) = add_chunked(ctx, app_id)
    assert {c.kind for c in queue.claim(ctx.db, ["a", "b", "c", "d"], LEASE)} == set(PARTS)  # never the join
    queue.requeue_leases(ctx.db, "")
    run(ctx, 2)
    assert states(ctx, tid) == ("exec", ["succ", "succ", "init", "wait"])
    run(ctx, 1)  # the last part: its settle releases the join, in the same transaction
    assert states(ctx, tid) == ("exec", ["succ", "succ", "succ", "init"])
    (join,) = run(ctx, 1, {"size": 9, "files": ["out.mp4"], "chunks": 2})
    assert join.kind == "transcode_join"
    with ctx.db.session() as s:
        task = s.get(Task, tid)
        assert task is not None and task.state == "succ"
        assert task.output == {"size": 9, "files": ["out.mp4"], "chunks": 2}  # not {"steps": [...]}


def test_a_failed_part_fails_the_task_and_keeps_the_join_waiting_until_it_is_rerun(
        ctx: Context, app_id: str) -> None:
    (tid,) = add_chunked(ctx, app_id)
    failed = run(ctx, 1, queue.Failure("InvalidParameter", "bad chunk"))[0]
    run(ctx, 2)
    assert states(ctx, tid) == ("fail", ["fail", "succ", "succ", "wait"])
    with ctx.db.session() as s:  # a re-run of the failed step (as services.processing does it)
        queue.lock_task(s, tid)
        s.execute(update(TaskStep).where(TaskStep.id == failed.step_id).values(state="init", attempts=0))
        queue.sync_task(s, tid)
    assert states(ctx, tid) == ("exec", ["init", "succ", "succ", "wait"])
    run(ctx, 1)
    assert states(ctx, tid) == ("exec", ["succ", "succ", "succ", "init"])


def test_cancel_and_top_reach_the_waiting_join(ctx: Context, app_id: str) -> None:
    queued, cancelled = add_chunked(ctx, app_id, 2)
    tasks.top_task(ctx, app_id, queued)
    with ctx.db.session() as s:
        assert all(st.topped_at is not None for st in s.scalars(select(TaskStep).where(TaskStep.task_id == queued)))
    assert tasks.delete_task(ctx, app_id, cancelled) == "canceled"
    assert states(ctx, cancelled) == ("canceled", ["canceled"] * 4)


def test_the_celery_worker_tops_up_a_token_for_the_released_join(ctx: Context, app_id: str) -> None:
    class Broker:  # what top_up uses of the Celery app and of Redis
        sent = 0

        def send_task(self, name: str, queue: str) -> None:
            self.sent += 1

        def llen(self, name: str) -> int:
            return 0

    add_chunked(ctx, app_id)
    broker = Broker()
    assert celery_executor.top_up(ctx, broker, broker) == 3  # type: ignore[arg-type]
    run(ctx, 3)
    assert celery_executor.runnable_steps(ctx) == 1
    assert celery_executor.top_up(ctx, broker, broker) == 1  # type: ignore[arg-type]  # after each step


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_settles_cancels_and_tops_at_once_release_every_join_and_never_deadlock(ctx: Context, app_id: str) -> None:
    ids = add_chunked(ctx, app_id, 60)
    errors: list[BaseException] = []
    stop = threading.Event()
    done = Counter[str]()

    def worker(me: int) -> None:
        rng, current, n = random.Random(me), None, 0
        try:
            while not stop.is_set():
                n += 1
                if current is None:
                    got = queue.claim(ctx.db, [f"w{me}-{n}"], LEASE)
                    current = got[0] if got else None
                    if current is None:
                        time.sleep(0.001)
                    continue
                result: dict[str, int] | queue.Failure = {"n": n}
                if rng.random() < 0.1 and current.attempt < 3:  # retried; never runs out of attempts
                    result = queue.Failure("StorageError", "hiccup", retryable=True)
                _, current = queue.settle(ctx.db, current.step_id, current.owner, result, max_attempts=3,
                                          next_owner=f"w{me}-{n}", lease_seconds=LEASE)
                done["steps"] += 1
        except BaseException as exc:  # noqa: BLE001 - reported by the test
            errors.append(exc)

    def user() -> None:
        rng = random.Random(7)
        try:
            while not stop.is_set():
                try:
                    if rng.random() < 0.5:
                        tasks.top_task(ctx, app_id, rng.choice(ids))
                    else:
                        tasks.delete_task(ctx, app_id, rng.choice(ids[:10]))
                    done["user"] += 1
                except (NotFound, Conflict):
                    pass
                time.sleep(0.005)
        except BaseException as exc:  # noqa: BLE001 - reported by the test
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(4)] + [threading.Thread(target=user)]
    for th in threads:
        th.start()
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and any(states(ctx, t)[0] not in ("succ", "canceled") for t in ids[10:]):
        time.sleep(0.1)
    stop.set()
    for th in threads:
        th.join(30)
    assert not errors, repr(errors[0])
    assert done["steps"] > 200, done
    for tid in ids[10:]:  # never cancelled: every join was released, ran, and made the output
        assert states(ctx, tid) == ("succ", ["succ"] * 4), tid
