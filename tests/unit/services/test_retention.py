"""services/retention.py: what is pruned, what stays, in batches, by index."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select, update

from openvod.config import Settings
from openvod.db.models import Delivery, Event, Task, TaskStep, utcnow
from openvod.domain.tasks import StepState, TaskState
from openvod.runtime import Context
from openvod.services import events, retention
from openvod.services.apps import ensure_default_app
from openvod.services.context import build_context


@pytest.fixture()
def ctx(tmp_path: Path) -> Iterator[Context]:
    c = build_context(Settings(data_dir=tmp_path, task_retention_days=30, event_retention_days=4))
    yield c
    c.db.dispose()


@pytest.fixture()
def app_id(ctx: Context) -> str:
    return ensure_default_app(ctx.db, None, None)[0].id


def _task(ctx: Context, app_id: str, tid: str, state: TaskState, finished: datetime | None) -> None:
    with ctx.db.session() as s:
        s.add(Task(id=tid, app_id=app_id, kind="noop", state=state.value, input={}, finished_at=finished,
                   created_at=(finished or utcnow()) - timedelta(minutes=5)))
        s.flush()
        s.add(TaskStep(task_id=tid, app_id=app_id, kind="noop", state=StepState.SUCC.value, input={}))


def _ids(ctx: Context) -> list[str]:
    with ctx.db.session() as s:
        return sorted(s.scalars(select(Task.id)))


def test_finished_tasks_past_retention_go_with_their_steps(ctx: Context, app_id: str) -> None:
    now = utcnow()
    old = now - timedelta(days=31)
    _task(ctx, app_id, "t-old-succ", TaskState.SUCC, old)
    _task(ctx, app_id, "t-old-fail", TaskState.FAIL, old)
    _task(ctx, app_id, "t-old-canceled", TaskState.CANCELED, old)
    _task(ctx, app_id, "t-recent", TaskState.SUCC, now - timedelta(days=29))
    _task(ctx, app_id, "t-queued-long-ago", TaskState.INIT, None)
    _task(ctx, app_id, "t-running", TaskState.EXEC, None)
    with ctx.db.session() as s:  # a queued task created long ago is still wanted
        s.execute(update(Task).where(Task.id == "t-queued-long-ago").values(created_at=now - timedelta(days=400)))

    report = retention.prune(ctx, now=now)

    assert report.tasks == 3
    assert _ids(ctx) == ["t-queued-long-ago", "t-recent", "t-running"]
    with ctx.db.session() as s:
        assert sorted(s.scalars(select(TaskStep.task_id))) == ["t-queued-long-ago", "t-recent", "t-running"]
    assert retention.prune(ctx, now=now).tasks == 0  # nothing left to do


def test_zero_days_keeps_tasks_for_ever(tmp_path: Path) -> None:
    c = build_context(Settings(data_dir=tmp_path, task_retention_days=0))
    try:
        app = ensure_default_app(c.db, None, None)[0].id
        _task(c, app, "t-ancient", TaskState.SUCC, utcnow() - timedelta(days=3650))
        assert retention.prune(c).tasks == 0
        assert _ids(c) == ["t-ancient"]
    finally:
        c.db.dispose()


def test_prune_works_in_batches_until_done(ctx: Context, app_id: str) -> None:
    old = utcnow() - timedelta(days=40)
    for i in range(23):
        _task(ctx, app_id, f"t{i:03d}", TaskState.SUCC, old + timedelta(seconds=i))
    statements: list[str] = []

    def count(conn: object, cursor: object, statement: str, *args: object) -> None:
        if statement.lstrip().upper().startswith("DELETE FROM TASK "):
            statements.append(statement)

    from sqlalchemy import event as sa_event
    sa_event.listen(ctx.db.engine, "before_cursor_execute", count)
    try:
        assert retention.prune_tasks(ctx, before=utcnow() - timedelta(days=30), batch=5) == 23
    finally:
        sa_event.remove(ctx.db.engine, "before_cursor_execute", count)
    assert _ids(ctx) == []
    assert len(statements) == 5  # 5 + 5 + 5 + 5 + 3: one short transaction per batch


def test_each_batch_is_an_index_range_not_a_scan(ctx: Context, app_id: str) -> None:
    before = utcnow()
    queries = {"task": retention.finished_tasks_query(before, 500), "event": retention.old_events_query(before, 500)}
    with ctx.db.engine.connect() as conn:
        for table, q in queries.items():
            compiled = q.compile(ctx.db.engine, compile_kwargs={"render_postcompile": True})
            args = tuple("2026-01-01" for _ in compiled.positiontup or ())
            plan = " | ".join(str(r[-1]) for r in conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {compiled}", args))
            index = "ix_task_finished" if table == "task" else "ix_event_created"
            assert f"USING INDEX {index}" in plan, plan
            assert "TEMP B-TREE" not in plan, plan


def test_old_events_go_with_their_deliveries(ctx: Context, app_id: str) -> None:
    with ctx.db.session() as s:
        old = events.record(s, app_id, "T", {}, cb_url="http://a.lan/")
        new = events.record(s, app_id, "T", {}, cb_url="http://a.lan/")
    with ctx.db.session() as s:
        s.execute(update(Event).where(Event.id == old).values(created_at=utcnow() - timedelta(days=5)))
    assert retention.prune(ctx).events == 1
    with ctx.db.session() as s:
        assert s.scalars(select(Event.id)).all() == [new]
        assert s.scalars(select(Delivery.event_id)).all() == [new]
        assert s.scalar(select(func.count()).select_from(Event)) == 1
