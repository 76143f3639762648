"""services/task_counts.py: task totals and integer offsets from the trigger-kept tally equal what
counting and walking the rows give, through every kind of write, on SQLite and PostgreSQL; and
they read the tally, not the app's rows."""

from __future__ import annotations

import random
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from sqlalchemy import delete, event, func, select, update

from openvod.config import Settings
from openvod.db.models import Task, TaskTally, TaskTallyDelta
from openvod.domain.tasks import TaskState, id_floor, new_task_id
from openvod.runtime import Context
from openvod.services import retention, task_counts, tasks
from openvod.services.apps import create_app, ensure_default_app
from openvod.services.context import build_context

STATES = [s.value for s in TaskState]
T0 = datetime(2025, 6, 1, tzinfo=UTC)


@pytest.fixture()
def ctx(tmp_path: Any, database_url: str | None) -> Iterator[Context]:
    c = build_context(Settings(data_dir=tmp_path, workers=0, database_url=database_url, task_retention_days=30))
    yield c
    c.db.dispose()


def _seed(ctx: Context, app_id: str, n: int, *, days: int = 12, seed: int = 7) -> list[str]:
    """``n`` tasks spread over ``days`` days from T0 (several tally buckets a day), mixed states."""
    rnd = random.Random(seed)
    ids = []
    with ctx.db.session() as s:
        for _ in range(n):
            at = T0 + timedelta(seconds=rnd.uniform(0, days * 86400))
            tid = new_task_id(at.timestamp())
            ids.append(tid)
            state = rnd.choice(STATES)
            s.add(Task(id=tid, app_id=app_id, kind="noop", state=state, input={}, created_at=at,
                       finished_at=at + timedelta(minutes=1) if state in ("succ", "fail", "canceled") else None))
    return sorted(ids)


def _counted(ctx: Context, app_id: str, lo: str | None, hi: str | None, states: tuple[str, ...] = ()) -> int:
    conds = [Task.app_id == app_id]
    if lo:
        conds.append(Task.id >= lo)
    if hi:
        conds.append(Task.id < hi)
    if states:
        conds.append(Task.state.in_(states))
    with ctx.db.session() as s:
        return int(s.scalar(select(func.count()).select_from(Task).where(*conds)) or 0)


RANGES: list[tuple[str | None, str | None]] = [
    (None, None), ("20250603", None), (None, "20250605"), ("20250603", "20250603"), ("20250602", "20250609"),
    ("20250520", "20250701"), ("20250701", "20250702"),
]


def _check_all(ctx: Context, app_id: str) -> None:
    for tz in (UTC, timezone(timedelta(hours=8)), timezone(timedelta(hours=5, minutes=30))):
        for start, end in RANGES:
            lo, hi = tasks._id_range(start, end, tz)
            for states in ((), ("succ",), ("init", "exec")):
                got = tasks.list_tasks(ctx, app_id, start=start, end=end, tz=tz, state=states or None, limit=1)[2]
                assert got == _counted(ctx, app_id, lo, hi, states), (start, end, tz, states)


def test_totals_equal_counting_through_inserts_updates_and_deletes(ctx: Context) -> None:
    app_id = ensure_default_app(ctx.db, None, None)[0].id
    ids = _seed(ctx, app_id, 600)
    _check_all(ctx, app_id)
    with ctx.db.session() as s:  # the engine's kind of write: state changes, one row and many
        s.execute(update(Task).where(Task.id.in_(ids[::5])).values(state="succ"))
        s.execute(update(Task).where(Task.id.in_(ids[1::7])).values(state="exec"))
        s.execute(update(Task).where(Task.id.in_(ids[2::11])).values(priority=3))  # no state change
        s.execute(delete(Task).where(Task.id.in_(ids[3::9])))
    tasks.create_noop(ctx, app_id)  # today's bucket, through the service
    _check_all(ctx, app_id)
    assert retention.prune(ctx).tasks > 0  # batches of deletions
    _check_all(ctx, app_id)


def test_offsets_land_where_walking_the_rows_does(ctx: Context) -> None:
    app_id = ensure_default_app(ctx.db, None, None)[0].id
    _seed(ctx, app_id, 300, days=5)
    for tz in (UTC, timezone(timedelta(hours=8))):
        for start, end in RANGES[:5]:
            lo, hi = tasks._id_range(start, end, tz)
            conds = [Task.app_id == app_id] + ([Task.id >= lo] if lo else []) + ([Task.id < hi] if hi else [])
            with ctx.db.session() as s:
                walked = list(s.scalars(select(Task.id).where(*conds).order_by(Task.id)))
            for offset in sorted({1, 2, 37, 100, len(walked) - 1, len(walked), len(walked) + 1, 1000}):
                with ctx.db.session() as s:
                    got = task_counts.id_at_offset(s, app_id, offset, lo, hi)
                want = walked[offset - 1] if 1 <= offset <= len(walked) else None
                assert got == want, (start, end, tz, offset)


def test_another_app_and_a_deleted_app_do_not_count(ctx: Context) -> None:
    app_id = ensure_default_app(ctx.db, None, None)[0].id
    other = create_app(ctx.db, "other")[0].id
    _seed(ctx, app_id, 50)
    _seed(ctx, other, 80, seed=8)
    assert tasks.list_tasks(ctx, app_id, limit=1)[2] == 50
    assert tasks.list_tasks(ctx, other, limit=1)[2] == 80
    with ctx.db.session() as s:
        s.execute(delete(Task).where(Task.app_id == other))
    assert tasks.list_tasks(ctx, other, limit=1)[2] == 0
    assert tasks.list_tasks(ctx, app_id, limit=1)[2] == 50


def test_a_total_reads_the_tally_and_at_most_two_edge_buckets(ctx: Context) -> None:
    """Every statement that touches ``task`` for a total is bounded by ids on both sides (an edge
    bucket), and the total of the whole app touches none."""
    app_id = ensure_default_app(ctx.db, None, None)[0].id
    _seed(ctx, app_id, 400)
    lo, hi = id_floor(T0 + timedelta(days=2, hours=1)), id_floor(T0 + timedelta(days=9, hours=3))
    want = _counted(ctx, app_id, lo, hi)
    seen: list[tuple[str, Any]] = []

    def grab(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, executemany: bool) -> None:
        if "count(*)" in statement.lower() and "FROM task " in statement + " ":
            seen.append((statement, parameters))

    event.listen(ctx.db.engine, "before_cursor_execute", grab)
    try:
        with ctx.db.session() as s:
            assert task_counts.total(s, app_id, None, None) == 400
            assert not seen
            assert task_counts.total(s, app_id, lo, hi) == want
    finally:
        event.remove(ctx.db.engine, "before_cursor_execute", grab)
    assert 1 <= len(seen) <= 2
    for statement, _ in seen:
        assert "task.id >=" in statement and "task.id <" in statement, statement


def test_postgresql_folds_pending_deltas_without_changing_a_total(ctx: Context) -> None:
    if ctx.db.engine.dialect.name != "postgresql":
        with ctx.db.session() as s:  # SQLite's triggers write the tally itself
            app_id = ensure_default_app(ctx.db, None, None)[0].id
            _seed(ctx, app_id, 20)
            assert s.scalar(select(func.count()).select_from(TaskTallyDelta)) == 0
        return
    app_id = ensure_default_app(ctx.db, None, None)[0].id
    ids = _seed(ctx, app_id, 200)
    with ctx.db.session() as s:
        assert s.scalar(select(func.count()).select_from(TaskTallyDelta)) == 200
    errors: list[BaseException] = []

    def writer(part: list[str]) -> None:  # state changes racing the folds
        try:
            for tid in part:
                with ctx.db.session() as s:
                    s.execute(update(Task).where(Task.id == tid).values(state="canceled"))
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(ids[i::3],)) for i in range(3)]
    for t in threads:
        t.start()
    for _ in range(20):
        with ctx.db.session() as s:
            task_counts.fold(s)
    for t in threads:
        t.join()
    assert not errors
    with ctx.db.session() as s:
        task_counts.fold(s)
        assert s.scalar(select(func.count()).select_from(TaskTallyDelta)) == 0
    _check_all(ctx, app_id)
    assert tasks.list_tasks(ctx, app_id, state="canceled", limit=1)[2] == 200


def test_recount_replaces_a_tally_that_went_wrong(ctx: Context, tmp_path: Any) -> None:
    """``openvod recount-tasks`` (task_counts.rebuild): after the tally was changed behind the
    triggers' back, the totals are right again, pending deltas included."""
    app_id = ensure_default_app(ctx.db, None, None)[0].id
    _seed(ctx, app_id, 90)
    with ctx.db.session() as s:
        s.execute(update(TaskTally).values(n=TaskTally.n + 3))
        s.add(TaskTallyDelta(app_id=app_id, bucket="0197ff", state="succ", d=5))
    assert tasks.list_tasks(ctx, app_id, limit=1)[2] != 90
    assert task_counts.rebuild(ctx.db.engine) == 90
    _check_all(ctx, app_id)
    tasks.create_noop(ctx, app_id)  # the triggers go on from the recount
    assert tasks.list_tasks(ctx, app_id, limit=1)[2] == 91


def test_recount_command(tmp_path: Any) -> None:
    from click.testing import CliRunner

    from openvod.cli import main

    c = build_context(Settings(data_dir=tmp_path, workers=0))
    app_id = ensure_default_app(c.db, None, None)[0].id
    _seed(c, app_id, 7)
    with c.db.session() as s:
        s.execute(delete(TaskTally))
    c.db.dispose()
    result = CliRunner().invoke(main, ["recount-tasks", "--data-dir", str(tmp_path), "--json"],
                                env={"OPENVOD_CONFIG": str(tmp_path / "none.toml")})
    assert result.exit_code == 0, result.output
    assert '"tasks": 7' in result.output


def test_a_read_that_sees_many_pending_deltas_folds_them(ctx: Context, monkeypatch: pytest.MonkeyPatch) -> None:
    """PostgreSQL: a list whose total read more than FOLD_AFTER pending deltas folds them, in its
    own transaction (no second connection), and the total is the same before and after."""
    app_id = ensure_default_app(ctx.db, None, None)[0].id
    _seed(ctx, app_id, 40)
    monkeypatch.setattr(task_counts, "FOLD_AFTER", 10)
    assert tasks.list_tasks(ctx, app_id, limit=1)[2] == 40
    with ctx.db.session() as s:
        assert s.scalar(select(func.count()).select_from(TaskTallyDelta)) == 0
    assert tasks.list_tasks(ctx, app_id, limit=1)[2] == 40


def test_housekeeping_folds_the_deltas_every_interval(ctx: Context, monkeypatch: pytest.MonkeyPatch) -> None:
    """The API server's housekeeping thread folds pending deltas every TALLY_FOLD_INTERVAL,
    whether or not anything reads a total (and runs the rest of its round only every
    HOUSEKEEPING_INTERVAL)."""
    from openvod.api import app as api_app

    app_id = ensure_default_app(ctx.db, None, None)[0].id
    _seed(ctx, app_id, 25)
    monkeypatch.setattr(api_app, "TALLY_FOLD_INTERVAL", 0.05)
    pruned: list[int] = []
    monkeypatch.setattr(api_app.retention, "prune", lambda c: pruned.append(1))
    stop = threading.Event()
    worker = threading.Thread(target=api_app._housekeeping, args=(ctx, stop))
    worker.start()
    try:
        for _ in range(100):
            with ctx.db.session() as s:
                if s.scalar(select(func.count()).select_from(TaskTallyDelta)) == 0:
                    break
            stop.wait(0.05)
    finally:
        stop.set()
        worker.join()
    with ctx.db.session() as s:
        assert s.scalar(select(func.count()).select_from(TaskTallyDelta)) == 0
    assert tasks.list_tasks(ctx, app_id, limit=1)[2] == 25
    assert pruned == []  # the 10-minute round did not run


def test_ids_of_another_shape_are_counted_and_walked_too(ctx: Context) -> None:
    """Task ids that do not start with hex milliseconds (imported, or written by hand) make
    buckets of their own first six characters: totals and offsets still count and find them,
    rather than failing to read such a bucket as a number."""
    app_id = ensure_default_app(ctx.db, None, None)[0].id
    ids = _seed(ctx, app_id, 30)
    odd = ["t-old-succ", "t-old--x", "zzzzzz", "ÿÿÿÿÿÿ-1", "0197\U0010ffff-a"]
    with ctx.db.session() as s:
        for tid in odd:
            s.add(Task(id=tid, app_id=app_id, kind="noop", state="succ", input={}, created_at=T0))
    walked = sorted(ids + odd)
    assert tasks.list_tasks(ctx, app_id, limit=1)[2] == len(walked)
    with ctx.db.session() as s:
        for offset in range(1, len(walked) + 2):
            want = walked[offset - 1] if offset <= len(walked) else None
            assert task_counts.id_at_offset(s, app_id, offset, None, None) == want, offset
