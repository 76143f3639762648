"""runtime.py: the context's signals (in-process), and how commits, the engine hooks and the
executor seam use them — against a real SQLite database."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import update

from openvod.config import Settings
from openvod.db.models import Task
from openvod.engine import hooks as engine_hooks
from openvod.engine.executor import create_executor
from openvod.engine.local import LocalExecutor
from openvod.runtime import Context, LocalSignals, Topic
from openvod.services import events, tasks
from openvod.services.apps import ensure_default_app
from openvod.services.context import build_context, worker_context


@pytest.fixture()
def ctx(tmp_path: Path) -> Iterator[Context]:
    c = build_context(Settings(data_dir=tmp_path, workers=0))
    yield c
    c.db.dispose()


def test_signals_reach_the_listeners_of_their_topic_with_the_key() -> None:
    signals = LocalSignals()
    heard: list[tuple[str, str | None]] = []
    unsubscribe = signals.subscribe(Topic.TASK, lambda key: heard.append(("task", key)))
    with signals.listening(Topic.EVENTS, lambda key: heard.append(("events", key))):
        signals.task_changed("t1")
        signals.events_recorded("app1")
        signals.work_available()  # nobody listens to work
        assert heard == [("task", "t1"), ("events", "app1")]
    assert signals.listeners(Topic.EVENTS) == 0
    unsubscribe()
    unsubscribe()  # twice is harmless
    signals.task_changed()
    assert heard == [("task", "t1"), ("events", "app1")] and signals.listeners(Topic.TASK) == 0


def test_a_broken_listener_neither_raises_nor_stops_the_others(caplog: pytest.LogCaptureFixture) -> None:
    signals = LocalSignals()
    heard: list[str | None] = []

    def broken(_key: str | None) -> None:
        raise RuntimeError("boom")

    signals.subscribe(Topic.WORK, broken)
    signals.subscribe(Topic.WORK, heard.append)
    signals.work_available()
    assert heard == [None]
    assert "work listener" in caplog.text and "boom" in caplog.text


def test_a_commit_that_recorded_events_signals_their_apps_once(ctx: Context) -> None:
    app_id = ensure_default_app(ctx.db, None, None)[0].id
    other = LocalSignals()  # another context's signals hear nothing of this one's commits
    heard: list[str | None] = []
    elsewhere: list[str | None] = []
    with ctx.signals.listening(Topic.EVENTS, heard.append), other.listening(Topic.EVENTS, elsewhere.append):
        with pytest.raises(RuntimeError), ctx.db.session() as s:
            events.record(s, app_id, "T", {})
            raise RuntimeError("roll back")
        with ctx.db.session() as s:
            events.record(s, app_id, "T", {})
            events.record(s, app_id, "T", {})
            assert heard == []
    assert heard == [app_id] and elsewhere == []


def test_the_engine_hooks_are_installed_by_the_wiring_and_named_when_missing(
        ctx: Context, monkeypatch: pytest.MonkeyPatch) -> None:
    installed = engine_hooks.current()
    assert installed.record_event is events.record
    assert set(installed.task_events) == {"procedure", "process_media"}
    monkeypatch.setattr(engine_hooks, "_installed", None)
    with pytest.raises(RuntimeError, match="build_context"):
        engine_hooks.current()


def test_create_executor_follows_the_settings(ctx: Context, tmp_path: Path) -> None:
    assert create_executor(ctx, worker_context) is None  # workers=0: this process runs no steps
    busy = Context(settings=Settings(data_dir=tmp_path, workers=2), db=ctx.db, storage=ctx.storage,
                   url_secret=ctx.url_secret)
    executor = create_executor(busy, worker_context)
    assert isinstance(executor, LocalExecutor) and executor.slots == 2
    health = executor.health()
    assert (health.kind, health.running, health.workers, health.alive, health.ok) == ("local", False, 2, 0, False)


def test_local_executor_runs_work_it_is_signalled_and_wakes_task_waiters(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, workers=1, lease_seconds=4, heartbeat_seconds=1)
    ctx = build_context(settings)
    app_id = ensure_default_app(ctx.db, None, None)[0].id
    executor = create_executor(ctx, worker_context)
    assert executor is not None
    signals = ctx.signals
    assert isinstance(signals, LocalSignals)
    executor.start()
    try:
        assert signals.listeners(Topic.WORK) == 1
        task_signals: list[str | None] = []
        with ctx.signals.listening(Topic.TASK, task_signals.append):
            view = tasks.create_noop(ctx, app_id)  # signals work_available after its commit
            done = tasks.wait_task(ctx, app_id, view.task_id, 60)
        assert done.state == "succ"
        assert view.task_id in task_signals  # the claim's commit: this task started
        assert None in task_signals  # the scheduler: "some tasks changed" (its worker's steps ended)
        assert signals.listeners(Topic.TASK) == 0  # wait_task let go
        health = executor.health()
        assert health.ok and (health.workers, health.alive) == (1, 1)
    finally:
        executor.stop()
        ctx.db.dispose()
    assert signals.listeners(Topic.WORK) == 0
    assert not executor.health().running


def test_wait_task_returns_at_once_on_a_signal_for_its_task(ctx: Context) -> None:
    app_id = ensure_default_app(ctx.db, None, None)[0].id
    view = tasks.create_noop(ctx, app_id)  # no workers: it stays queued
    ended = threading.Event()
    got: list[str] = []

    def waiter() -> None:
        got.append(tasks.wait_task(ctx, app_id, view.task_id, 30).state)
        ended.set()

    thread = threading.Thread(target=waiter)
    started = time.monotonic()
    thread.start()
    assert not ended.wait(0.2)
    with ctx.db.session() as s:  # cancelled in the database, unsignalled (as by another process)...
        s.execute(update(Task).where(Task.id == view.task_id).values(state="canceled"))
    ctx.signals.task_changed("another task")  # ...a signal for another task is not ours...
    still_waiting = not ended.wait(0.1)
    if time.monotonic() - started < 0.9:  # (the waiter re-reads every second anyway)
        assert still_waiting
    ctx.signals.task_changed(view.task_id)  # ...this one is
    assert ended.wait(0.5) and got == ["canceled"]
    thread.join(5)
