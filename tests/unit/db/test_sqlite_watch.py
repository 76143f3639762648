"""db/sqlite_watch.py: on SQLite, a commit by another process (here, another context on the same
file) wakes this one's waiters, and waiting while nothing changes costs no page re-reads."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from openvod.api.v1.tasks import _waiters
from openvod.config import Settings
from openvod.db.sqlite_watch import CHECK_SECONDS, SqliteRelay
from openvod.runtime import Context, Topic
from openvod.services import tasks
from openvod.services.apps import ensure_default_app
from openvod.services.context import build_context


@pytest.fixture()
def two(tmp_path: Path) -> Iterator[tuple[Context, Context]]:
    """Two contexts on one SQLite file: two processes' worth of connections and signals."""
    a = build_context(Settings(data_dir=tmp_path, workers=0))
    b = build_context(Settings(data_dir=tmp_path, workers=0))
    yield a, b
    a.db.dispose()
    b.db.dispose()


def test_another_connections_commit_is_heard_and_silence_is_silent(two: tuple[Context, Context]) -> None:
    writer, reader = two
    app_id = ensure_default_app(writer.db, None, None)[0].id
    heard: list[float] = []
    woke = threading.Event()

    def listener(_key: str | None) -> None:
        heard.append(time.monotonic())
        woke.set()

    reader.signals.subscribe(Topic.TASK, listener)
    time.sleep(3 * CHECK_SECONDS)
    assert heard == []  # nothing committed: nothing delivered
    began = time.monotonic()
    tasks.create_noop(writer, app_id)  # the other "process" commits
    assert woke.wait(5)
    assert heard[0] - began < CHECK_SECONDS + 1.0
    time.sleep(3 * CHECK_SECONDS)
    assert len(heard) == 1  # once per change, not once per interval


def test_an_idle_long_poll_reads_its_page_once(two: tuple[Context, Context]) -> None:
    writer, reader = two
    app_id = ensure_default_app(writer.db, None, None)[0].id
    reads: list[float] = []

    async def read() -> int:
        reads.append(time.monotonic())
        return len(tasks.list_tasks(reader, app_id)[0])

    async def poll(timeout: float) -> int:
        return await _waiters.until(reader.signals, read, lambda n: n > 0, timeout)

    assert asyncio.run(poll(3.0)) == 0  # nothing happens for 3 s
    assert len(reads) == 2  # the first read, and the last at the deadline: none in between

    reads.clear()

    async def poll_then_write() -> int:
        waiting = asyncio.create_task(poll(10.0))
        await asyncio.sleep(0.5)
        await asyncio.to_thread(tasks.create_noop, writer, app_id)
        return await waiting

    began = time.monotonic()
    assert asyncio.run(poll_then_write()) == 1
    assert time.monotonic() - began < 0.5 + CHECK_SECONDS + 1.0  # woken by the commit, not by a timer


def test_close_stops_the_watch(tmp_path: Path) -> None:
    ctx = build_context(Settings(data_dir=tmp_path, workers=0))
    relay = SqliteRelay(Path(ctx.db.engine.url.database or ""))
    relay.listen(lambda topic, key: None)
    assert any(t.name == "sqlite-watch" for t in threading.enumerate())
    relay.close()
    ctx.db.dispose()
    assert relay._thread is not None and not relay._thread.is_alive()
