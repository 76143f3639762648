"""Kingsoft's integer ``marker``: a marker handed out resumes by keyset (services/offset_hints.py),
any other offset still gives the right page, and paging while tasks are added sees each once."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event

from openvod.api.compat import kingsoft
from openvod.config import Settings
from openvod.runtime import Context
from openvod.services import tasks
from openvod.services.apps import ensure_default_app
from openvod.services.context import build_context
from openvod.services.offset_hints import OffsetHints


@pytest.fixture()
def ctx(tmp_path: Path) -> Iterator[Context]:
    c = build_context(Settings(data_dir=tmp_path))
    yield c
    c.db.dispose()


@pytest.fixture()
def app_id(ctx: Context) -> str:
    return ensure_default_app(ctx.db, None, None)[0].id


def _add(ctx: Context, app_id: str, n: int) -> list[str]:
    return [tasks.create_noop(ctx, app_id).task_id for _ in range(n)]


def _page(ctx: Context, app_id: str, marker: int, limit: int) -> dict[str, Any]:
    return kingsoft.OPERATIONS["GetTaskList"][1](ctx, app_id, {"marker": str(marker), "limit": str(limit)})


class _OffsetQueries:
    """Counts the id-only queries that walk an index to an offset (SQLAlchemy writes ``LIMIT ? OFFSET ?``
    for every limit on SQLite, so the page queries, which load whole rows, are not counted)."""

    def __init__(self, ctx: Context) -> None:
        self.ctx, self.count = ctx, 0

    def _seen(self, conn: object, cursor: object, statement: str, *args: object) -> None:
        self.count += statement.startswith("SELECT task.id \nFROM task") and "OFFSET" in statement

    def __enter__(self) -> _OffsetQueries:
        event.listen(self.ctx.db.engine, "before_cursor_execute", self._seen)
        return self

    def __exit__(self, *exc: object) -> None:
        event.remove(self.ctx.db.engine, "before_cursor_execute", self._seen)


def test_a_returned_marker_resumes_without_an_offset_walk_and_inserts_are_seen_once(ctx: Context,
                                                                                 app_id: str) -> None:
    first = _add(ctx, app_id, 12)
    seen: list[str] = []
    page = _page(ctx, app_id, 0, 5)
    seen += [t["taskid"] for t in page["taskInfo"]]
    added = _add(ctx, app_id, 3)  # while the client is paging
    with _OffsetQueries(ctx) as walks:
        while page["count"]:
            page = _page(ctx, app_id, page["marker"], 5)
            seen += [t["taskid"] for t in page["taskInfo"]]
    assert walks.count == 0  # every marker came from a previous page: keyset ranges only
    assert seen == first + added  # oldest first, each exactly once
    assert page["marker"] == page["total"] == 15


def test_an_offset_never_handed_out_is_walked_and_gives_the_same_rows(ctx: Context, app_id: str) -> None:
    ids = _add(ctx, app_id, 9)
    with _OffsetQueries(ctx) as walks:
        page = _page(ctx, app_id, 7, 5)  # a client computing its own offsets
    assert walks.count == 1
    assert [t["taskid"] for t in page["taskInfo"]] == ids[7:]
    assert page["marker"] == 9 and page["count"] == 2


def test_after_a_seen_row_is_deleted_the_next_page_skips_nothing(ctx: Context, app_id: str) -> None:
    ids = _add(ctx, app_id, 10)
    page = _page(ctx, app_id, 0, 4)
    tasks.delete_task(ctx, app_id, ids[0])  # queued: cancelled; then removed
    tasks.delete_task(ctx, app_id, ids[0])
    nxt = _page(ctx, app_id, page["marker"], 4)
    # a raw offset 4 over the shortened list would start at ids[5] and never show ids[4]
    assert [t["taskid"] for t in nxt["taskInfo"]] == ids[4:8]


def test_the_hint_cache_is_bounded_and_least_recently_used_goes_first() -> None:
    hints = OffsetHints(size=3)
    for i in range(3):
        hints.remember("scope", i, f"t{i}")
    assert hints.recall("scope", 0) == "t0"  # now the most recently used
    hints.remember("scope", 3, "t3")
    assert len(hints) == 3
    assert hints.recall("scope", 1) is None
    assert [hints.recall("scope", i) for i in (0, 2, 3)] == ["t0", "t2", "t3"]
    assert hints.recall("other", 0) is None
