"""The dashboard's numbers (``services.stats``) on SQLite and PostgreSQL: rows written straight
into a real database, then read back as one app's view, never another app's."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from openvod.config import Settings
from openvod.db.models import Media, Object, Task, TaskStep
from openvod.runtime import Context
from openvod.services.apps import create_app, ensure_default_app
from openvod.services.context import build_context
from openvod.services.stats import app_stats

NOW = datetime(2026, 12, 3, 15, 0, tzinfo=UTC)


@pytest.fixture()
def ctx(tmp_path: Path, database_url: str | None) -> Iterator[Context]:
    c = build_context(Settings(data_dir=tmp_path, database_url=database_url, workers=0))
    yield c
    c.db.dispose()


def _task(app: str, tid: str, state: str, created: datetime, *, kind: str = "procedure",
          error: tuple[str, str] | None = None) -> Task:
    return Task(id=tid, app_id=app, kind=kind, state=state, input={}, created_at=created, finished_at=created,
                error_code=error[0] if error else None, error_message=error[1] if error else None)


def _step(app: str, tid: str, begun: datetime, seconds: float | None, kind: str = "Transcode") -> TaskStep:
    ended = begun + timedelta(seconds=seconds) if seconds is not None else None
    return TaskStep(task_id=tid, app_id=app, kind=kind, state="succ" if ended else "exec", input={},
                    started_at=begun, finished_at=ended)


def test_counts_sizes_minutes_and_failures_of_one_app(ctx: Context) -> None:
    mine = ensure_default_app(ctx.db, None, None)[0].id
    other = create_app(ctx.db, "other")[0].id
    today = NOW.replace(hour=1)
    with ctx.db.session() as s:
        for app, n in ((mine, 2), (other, 1)):
            for i in range(n):
                fid = f"{app[-8:]}{i}"
                s.add(Media(id=fid, app_id=app, name=f"m{i}", source_bucket="vod", source_key="k"))
                s.add(Object(app_id=app, bucket="vod", key=f"src{i}", size=1000, role="source", media_id=fid))
            s.add(Object(app_id=app, bucket="vod", key="cover", size=30, role="cover"))
        s.add_all([
            _task(mine, "t-old-fail", "fail", NOW - timedelta(days=9), error=("E.Old", "too old to list")),
            _task(mine, "t-fail-1", "fail", today - timedelta(days=2), error=("FFmpeg.Failed", "no video stream")),
            _task(mine, "t-fail-2", "fail", today, error=("FFmpeg.Failed", "moov atom not found")),
            _task(mine, "t-succ", "succ", today),
            _task(mine, "t-exec", "exec", today),
            _task(mine, "t-noop", "succ", today, kind="noop"),
            _task(other, "t-other", "fail", today, error=("X", "other app")),
        ])
        s.flush()
        s.add_all([
            _step(mine, "t-succ", today, 90),
            _step(mine, "t-succ", today - timedelta(days=1), 30),
            _step(mine, "t-exec", NOW - timedelta(minutes=2), None),  # running: counted up to now
            _step(mine, "t-noop", today, 600, kind="noop"),  # waits, encodes nothing
            _step(mine, "t-old-fail", NOW - timedelta(days=8), 600),  # before the week
            _step(other, "t-other", today, 900),
        ])
        s.commit()

    v = app_stats(ctx, mine, now=NOW)
    assert (v.media_count, v.storage_bytes, v.source_bytes) == (2, 2030, 2000)
    assert v.tasks_by_state == {"init": 0, "exec": 1, "succ": 2, "fail": 2 + 1, "canceled": 0}
    assert [d.day.isoformat() for d in v.days] == [f"2026-11-{d}" for d in range(27, 31)] + [
        "2026-12-01", "2026-12-02", "2026-12-03"]
    assert [d.steps for d in v.days] == [0, 0, 0, 0, 0, 1, 2]
    assert v.encoding_seconds_today == pytest.approx(90 + 120)
    assert v.encoding_seconds_week == pytest.approx(90 + 120 + 30)
    assert [(f.task_id, f.error_message) for f in v.recent_failures] == [
        ("t-fail-2", "moov atom not found"), ("t-fail-1", "no video stream")]
    assert app_stats(ctx, other, now=NOW).media_count == 1
