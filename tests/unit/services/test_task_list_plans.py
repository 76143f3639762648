"""Every task list query is a range of one index, whatever the filter: EXPLAIN QUERY PLAN of the
page query services/tasks.py list_tasks runs (an O(offset) or O(range) plan would scan or sort)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event

from openvod.config import Settings
from openvod.runtime import Context
from openvod.services import tasks
from openvod.services.apps import ensure_default_app
from openvod.services.context import build_context


@pytest.fixture()
def ctx(tmp_path: Path) -> Iterator[Context]:
    c = build_context(Settings(data_dir=tmp_path, workers=0))
    yield c
    c.db.dispose()


def _page_plans(ctx: Context, **kw: Any) -> list[str]:
    """The query plans of the page queries (rows of ``task`` by ``ORDER BY ... LIMIT``) one
    list_tasks call runs."""
    seen: list[tuple[str, Any]] = []

    def grab(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, executemany: bool) -> None:
        if statement.startswith("SELECT task.id, task.app_id") and "ORDER BY task.id" in statement:
            seen.append((statement, parameters))

    event.listen(ctx.db.engine, "before_cursor_execute", grab)
    try:
        tasks.list_tasks(ctx, kw.pop("app_id"), **kw)
    finally:
        event.remove(ctx.db.engine, "before_cursor_execute", grab)
    plans = []
    with ctx.db.engine.connect() as conn:
        for statement, parameters in seen:
            rows = conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", parameters).all()
            plans.append(" | ".join(str(r[-1]) for r in rows))
    return plans


@pytest.mark.parametrize(("kw", "index"), [
    ({}, "ix_task_app_id"),
    ({"newest_first": True}, "ix_task_app_id"),
    ({"start": "20261101", "end": "20261130"}, "ix_task_app_id"),
    ({"start": "20261101", "end": "20261130", "marker": "0192f1c0a1b2c3d4e5f60718293a4b5c20261115"}, "ix_task_app_id"),
    ({"state": "init"}, "ix_task_app_state_id"),
    ({"state": "succ", "newest_first": True, "marker": "0192f1c0a1b2c3d4e5f60718293a4b5c20261115"},
     "ix_task_app_state_id"),
    ({"state": ("succ", "fail")}, "ix_task_app_id"),
    ({"file_id": "1700000000000123456"}, "ix_task_file_id_id"),
    ({"file_id": "1700000000000123456", "newest_first": True}, "ix_task_file_id_id"),
])
def test_each_list_is_a_range_of_one_index(ctx: Context, kw: dict[str, Any], index: str) -> None:
    app_id = ensure_default_app(ctx.db, None, None)[0].id
    for _ in range(3):
        tasks.create_noop(ctx, app_id)
    (plan,) = _page_plans(ctx, app_id=app_id, limit=50, **kw)
    assert f"INDEX {index}" in plan, plan
    assert "TEMP B-TREE" not in plan and "SCAN task" not in plan, plan
