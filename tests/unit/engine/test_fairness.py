"""Fair scheduling across apps (engine/fair.py) and the per-app limits, against real SQLite and
PostgreSQL databases (each test runs on both): tasks are created and topped through
services.tasks, and a worker is played by the claim/settle calls the real worker makes (each
settle leases the next step in its transaction)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, func, select, update

from openvod.config import Settings
from openvod.db.models import TaskStep
from openvod.engine import queue
from openvod.errors import TooManyRequests
from openvod.runtime import Context
from openvod.services import apps, tasks
from openvod.services.context import build_context

LEASE = 30.0


def _context(tmp_path: Path, database_url: str | None, **settings: Any) -> Context:
    return build_context(Settings(data_dir=tmp_path, database_url=database_url, workers=0, **settings))


@pytest.fixture()
def ctx(tmp_path: Path, database_url: str | None) -> Iterator[Context]:
    c = _context(tmp_path, database_url)
    yield c
    c.db.dispose()


def _app(ctx: Context, name: str) -> str:
    return apps.create_app(ctx.db, name)[0].id


def _enqueue(ctx: Context, app_id: str, n: int, priority: int = 0) -> list[str]:
    return [tasks.create_noop(ctx, app_id, priority=priority).task_id for _ in range(n)]


def _running(ctx: Context) -> dict[str, int]:
    with ctx.db.session() as s:
        rows = s.execute(select(TaskStep.app_id, func.count()).where(TaskStep.state == "exec")
                         .group_by(TaskStep.app_id)).all()
    return {app_id: n for app_id, n in rows}


class OneWorker:
    """What worker.run_step does with a no-op step: settle it and lease the next one at once."""

    def __init__(self, ctx: Context, max_running: int = 0) -> None:
        self.ctx, self.max_running, self.n = ctx, max_running, 0
        self.current: queue.Claim | None = None
        self.started: list[tuple[str, str]] = []  # (app id, task id) in the order steps started

    def step(self) -> bool:
        self.n += 1
        owner = f"w-{self.n}"
        if self.current is None:
            got = queue.claim(self.ctx.db, [owner], LEASE, max_running=self.max_running)
            nxt = got[0] if got else None
        else:
            done, nxt = queue.settle(self.ctx.db, self.current.step_id, self.current.owner, {"ok": True},
                                     max_attempts=3, next_owner=owner, lease_seconds=LEASE,
                                     max_running=self.max_running)
            assert done
        self.current = nxt
        if nxt is not None:
            self.started.append((nxt.app_id, nxt.task_id))
        return nxt is not None


def test_a_flood_and_move_to_top_in_one_app_do_not_starve_another(ctx: Context) -> None:
    a, b = _app(ctx, "flood"), _app(ctx, "small")
    flood = _enqueue(ctx, a, 200, priority=100)  # the highest priority there is, too
    worker = OneWorker(ctx)
    for _ in range(3):
        assert worker.step()
    assert [t for _, t in worker.started] == flood[:3]

    mine = _enqueue(ctx, b, 3)
    assert [tasks.get_task(ctx, b, t).queue_position for t in mine] == [0, 1, 2]  # within b's own queue
    topped = flood[-5:]
    for t in topped:  # a keeps moving its newest tasks to the top after b arrived
        assert tasks.top_task(ctx, a, t).queue_position == 0

    for _ in range(6):
        assert worker.step()
    next_six = worker.started[3:9]
    assert {t for app, t in next_six if app == b} == set(mine), next_six
    assert [app for app, _ in next_six] == [b, a, b, a, b, a]  # round robin while both wait
    # Within a, "move to top" still works: its topped tasks, newest topped first, lead its queue.
    assert [t for app, t in next_six if app == a] == topped[::-1][:3]

    while worker.step():
        pass
    assert len(worker.started) == 203
    rest = [t for _, t in worker.started[9:]]
    assert rest == topped[::-1][3:] + flood[3:-5]  # then a's own order: topped, then oldest first


def test_priority_orders_an_apps_queue_but_not_across_apps(ctx: Context) -> None:
    a, b = _app(ctx, "a"), _app(ctx, "b")
    low_a = _enqueue(ctx, a, 2, priority=-5)
    b_tasks = _enqueue(ctx, b, 2, priority=-100)
    high_a = _enqueue(ctx, a, 2, priority=50)
    worker = OneWorker(ctx)
    while worker.step():
        pass
    order = [t for _, t in worker.started]
    assert [t for t in order if t in low_a + high_a] == high_a + low_a
    assert [app for app, _ in worker.started] == [a, b, a, b, a, a]
    assert order[1] == b_tasks[0] and order[3] == b_tasks[1]


def test_per_app_running_cap_holds_while_others_wait(tmp_path: Path, database_url: str | None) -> None:
    ctx = _context(tmp_path, database_url, app_max_running_steps=2)
    try:
        a, b = _app(ctx, "a"), _app(ctx, "b")
        a_tasks, b_tasks = _enqueue(ctx, a, 20), _enqueue(ctx, b, 3)
        cap = ctx.settings.app_max_running_steps
        claims = queue.claim(ctx.db, [f"w{i}" for i in range(4)], LEASE, max_running=cap)
        assert sorted(c.app_id for c in claims) == sorted([a, a, b, b])
        # Both apps are at their cap: a fifth worker gets nothing although 19 steps wait.
        assert queue.claim(ctx.db, ["w4"], LEASE, max_running=cap) == []
        pool, n, started = list(claims), 4, len(claims)
        while pool:
            c = pool.pop(0)
            n += 1
            _, nxt = queue.settle(ctx.db, c.step_id, c.owner, {}, max_attempts=3, next_owner=f"w{n}",
                                  lease_seconds=LEASE, max_running=cap)
            running = _running(ctx)
            assert all(v <= cap for v in running.values()), running
            if nxt is not None:
                pool.append(nxt)
                started += 1
            if not pool:  # the scheduler hands idle workers what the caps now allow
                pool = queue.claim(ctx.db, [f"x{n}-{i}" for i in range(4)], LEASE, max_running=cap)
                started += len(pool)
        assert started == len(a_tasks) + len(b_tasks)
        assert all(tasks.get_task(ctx, a, t).state == "succ" for t in a_tasks)
        assert all(tasks.get_task(ctx, b, t).state == "succ" for t in b_tasks)
    finally:
        ctx.db.dispose()


def test_a_single_app_keeps_all_workers_without_a_cap(ctx: Context) -> None:
    a = _app(ctx, "alone")
    _enqueue(ctx, a, 5)
    assert len(queue.claim(ctx.db, [f"w{i}" for i in range(4)], LEASE)) == 4
    assert _running(ctx) == {a: 4}


def test_queued_task_limit_is_per_app(tmp_path: Path, database_url: str | None) -> None:
    ctx = _context(tmp_path, database_url, app_max_queued_tasks=3)
    try:
        a, b = _app(ctx, "a"), _app(ctx, "b")
        first = _enqueue(ctx, a, 3)
        with pytest.raises(TooManyRequests) as err:
            tasks.create_noop(ctx, a)
        assert err.value.status == 429 and err.value.code == "RequestLimitExceeded.TaskQueue"
        assert "app_max_queued_tasks" in err.value.message
        assert len(_enqueue(ctx, b, 3)) == 3  # another app has its own room
        assert queue.claim(ctx.db, ["w"], LEASE)[0].app_id == a  # a running task no longer waits
        assert len(_enqueue(ctx, a, 1)) == 1
        tasks.delete_task(ctx, a, first[1])  # nor does a cancelled one
        assert len(_enqueue(ctx, a, 1)) == 1
        with pytest.raises(TooManyRequests):
            tasks.create_noop(ctx, a)
    finally:
        ctx.db.dispose()


def test_a_pages_queue_positions_in_one_statement_equal_each_tasks_own(ctx: Context) -> None:
    """list_tasks reads its page's queue positions in one statement (queue.queue_positions): the
    same numbers as each task's own get_task (one query each), through priorities, ties in
    creation time, tasks moved to the top and running ones."""
    a, b = _app(ctx, "a"), _app(ctx, "b")
    mine = _enqueue(ctx, a, 6) + _enqueue(ctx, a, 4, priority=7) + _enqueue(ctx, a, 3, priority=-2)
    _enqueue(ctx, b, 5, priority=99)  # another app's queue is not counted
    with ctx.db.session() as s:  # ties: two steps created in the same microsecond
        first = s.scalar(select(TaskStep.created_at).where(TaskStep.task_id == mine[1]))
        s.execute(update(TaskStep).where(TaskStep.task_id == mine[2]).values(created_at=first))
    for t in (mine[4], mine[9]):
        tasks.top_task(ctx, a, t)
    worker = OneWorker(ctx)
    assert worker.step()  # one of a's or b's starts: it is no longer queued
    statements: list[str] = []
    event.listen(ctx.db.engine, "before_cursor_execute",
                 lambda *args: statements.append(args[2]) if "row_number" in args[2] else None)
    listed, _, _ = tasks.list_tasks(ctx, a, limit=100)
    assert len(statements) == 1, statements
    by_list = {t.task_id: t.queue_position for t in listed}
    by_get = {t: tasks.get_task(ctx, a, t).queue_position for t in mine}
    assert by_list == by_get
    queued = sorted(p for p in by_get.values() if p is not None)
    assert queued == list(range(len(queued))) and len(queued) >= 12
