"""engine/queue.py under concurrency, on PostgreSQL (where writers really run at once; SQLite
serializes them): claimers in separate processes never lease one step twice, a claim passes
steps other transactions hold (``FOR UPDATE SKIP LOCKED``), and users cancelling, deleting and
topping tasks while workers settle their steps never deadlock (one lock order: steps in id
order, then their tasks in id order; see the module docstring of engine/queue.py)."""

from __future__ import annotations

import multiprocessing
import random
import re
import threading
import time
from collections import Counter
from collections.abc import Iterator
from multiprocessing.connection import Connection
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.dialects import postgresql

from openvod.config import Settings
from openvod.db.models import Task, TaskStep, utcnow
from openvod.db.session import Database
from openvod.domain.tasks import new_task_id
from openvod.engine import queue
from openvod.errors import Conflict, NotFound
from openvod.runtime import Context
from openvod.services import apps, tasks
from openvod.services.context import build_context

LEASE = 30.0


@pytest.fixture()
def ctx(tmp_path: Path, pg_url: str) -> Iterator[Context]:
    c = build_context(Settings(data_dir=tmp_path, database_url=pg_url, workers=0))
    yield c
    c.db.dispose()


def _add_tasks(ctx: Context, app_id: str, n: int, steps: int = 1) -> list[str]:
    ids, now = [], utcnow()
    with ctx.db.session() as s:
        for _ in range(n):
            task_id = new_task_id()
            s.add(Task(id=task_id, app_id=app_id, kind="noop", state="init", input={}, created_at=now))
            s.add_all(TaskStep(task_id=task_id, app_id=app_id, idx=i, kind="noop", state="init", input={},
                               created_at=now) for i in range(steps))
            ids.append(task_id)
    return ids


def test_the_claim_locks_its_step_with_skip_locked_on_postgresql() -> None:
    sql = str(queue._CLAIM.compile(dialect=postgresql.dialect()))  # type: ignore[no-untyped-call]  # noqa: SLF001
    assert sql.startswith("WITH RECURSIVE waiting_apps") and "UPDATE task_step SET" in sql
    # the step chosen inside ``WHERE id = (…)`` is locked or passed; the outer test re-checks its state
    assert sql.count("FOR UPDATE") == 1
    assert re.search(r"LIMIT %\(param_\d\)s::INTEGER FOR UPDATE SKIP LOCKED\) AND task_step.state = ", sql), sql


def test_a_claim_passes_a_step_another_transaction_holds(ctx: Context) -> None:
    app_id = apps.create_app(ctx.db, "a")[0].id
    first, second = _add_tasks(ctx, app_id, 2)
    with ctx.db.engine.connect() as holder:  # e.g. a user cancelling the first task right now
        holder.execute(select(TaskStep.id).where(TaskStep.task_id == first).with_for_update())
        t0 = time.monotonic()
        (c,) = queue.claim(ctx.db, ["w"], LEASE)
        assert c.task_id == second and time.monotonic() - t0 < 1.0  # skipped, not waited for
        holder.rollback()
    assert [c.task_id for c in queue.claim(ctx.db, ["w2"], LEASE)] == [first]


def _claimer(url: str, me: int, start: Connection, out: Connection) -> None:
    """A worker process: lease and settle steps (each settle leases the next, as workers do)
    until none is left. Sends back each step id it leased."""
    db = Database(url)
    leased: list[int] = []
    empty = 0
    start.recv()
    current: queue.Claim | None = None
    n = 0
    while True:
        n += 1
        owner = f"p{me}-{n}"
        if current is None:
            got = queue.claim(db, [owner, owner + "b"][: 1 + n % 2], LEASE)
            if not got:
                with db.engine.connect() as conn:
                    left = conn.scalar(select(func.count()).select_from(TaskStep).where(TaskStep.state == "init"))
                if not left:
                    break
                empty += 1  # every runnable step was held by other claimers at that instant
                time.sleep(0.001)
                continue
            leased += [c.step_id for c in got]
            for extra in got[1:]:
                assert queue.settle(db, extra.step_id, extra.owner, {"by": me}, max_attempts=1)[0]
            current = got[0]
        else:
            done, current = queue.settle(db, current.step_id, current.owner, {"by": me}, max_attempts=1,
                                         next_owner=owner, lease_seconds=LEASE)
            assert done
            if current is not None:
                leased.append(current.step_id)
    db.dispose()
    out.send((leased, empty))


def test_claimers_in_separate_processes_lease_each_step_exactly_once(ctx: Context) -> None:
    app_ids = [apps.create_app(ctx.db, f"app{i}")[0].id for i in range(3)]
    for app_id in app_ids:
        _add_tasks(ctx, app_id, 60)
    ctx.db.dispose()
    mp = multiprocessing.get_context("fork")  # the engine's hooks are installed in this process already
    starts, results, procs = [], [], []
    for me in range(4):
        start_r, start_w = mp.Pipe(duplex=False)
        out_r, out_w = mp.Pipe(duplex=False)
        p = mp.Process(target=_claimer, args=(ctx.db.url, me, start_r, out_w), daemon=True)
        p.start()
        starts.append(start_w)
        results.append(out_r)
        procs.append(p)
    for w in starts:
        w.send("go")
    got = [r.recv() if r.poll(60) else pytest.fail("a claimer did not finish") for r in results]
    for p in procs:
        p.join(10)
        assert p.exitcode == 0
    leased = Counter(step_id for ids, _ in got for step_id in ids)
    assert len(leased) == 180 and set(leased.values()) == {1}, leased.most_common(3)
    assert all(ids for ids, _ in got)  # the processes really ran side by side
    with ctx.db.session() as s:
        assert dict(s.execute(select(TaskStep.state, func.count()).group_by(TaskStep.state)).all()) == {"succ": 180}
        assert s.scalar(select(func.max(TaskStep.attempts))) == 1
        assert s.scalar(select(func.count()).select_from(Task).where(Task.state != "succ")) == 0


def test_cancelling_deleting_and_topping_while_workers_settle_never_deadlocks(ctx: Context) -> None:
    app_id = apps.create_app(ctx.db, "busy")[0].id
    ids = _add_tasks(ctx, app_id, 120, steps=3)
    errors: list[BaseException] = []
    stop = threading.Event()
    settled = Counter[str]()

    def worker(me: int) -> None:
        rng = random.Random(me)
        current: queue.Claim | None = None
        n = 0
        try:
            while not stop.is_set():
                n += 1
                owner = f"w{me}-{n}"
                if current is None:
                    got = queue.claim(ctx.db, [owner], LEASE)
                    if not got:
                        time.sleep(0.001)
                        continue
                    current = got[0]
                    continue
                result: dict[str, int] | queue.Failure = {"n": n}
                if rng.random() < 0.2 and current.attempt < 3:  # retried; never runs out of attempts
                    result = queue.Failure("StorageError", "hiccup", retryable=True)
                _, current = queue.settle(ctx.db, current.step_id, current.owner, result, max_attempts=3,
                                          next_owner=owner, lease_seconds=LEASE)
                settled["steps"] += 1
        except BaseException as exc:  # noqa: BLE001 - reported by the test
            errors.append(exc)

    def user(me: int) -> None:
        rng = random.Random(100 + me)
        try:
            while not stop.is_set():
                task_id = rng.choice(ids)
                try:
                    if rng.random() < 0.3:
                        tasks.top_task(ctx, app_id, task_id)
                    else:
                        tasks.delete_task(ctx, app_id, task_id)  # cancels, or deletes a finished task
                    settled["user"] += 1
                except (NotFound, Conflict):
                    pass
        except BaseException as exc:  # noqa: BLE001 - reported by the test
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(4)]
    threads += [threading.Thread(target=user, args=(i,)) for i in range(2)]
    for th in threads:
        th.start()
    time.sleep(4.0)
    stop.set()
    for th in threads:
        th.join(30)
    assert not errors, repr(errors[0])
    assert settled["steps"] > 100 and settled["user"] > 50, settled
