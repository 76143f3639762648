"""services/events.py against a real SQLite database: recording, notification, pull races, purge."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from openvod.config import Settings
from openvod.db.models import App, Delivery, Event
from openvod.runtime import Context, Topic
from openvod.services import events
from openvod.services.apps import ensure_default_app
from openvod.services.context import build_context


@pytest.fixture()
def ctx(tmp_path: Path) -> Iterator[Context]:
    c = build_context(Settings(data_dir=tmp_path, pull_wait_seconds=5))
    yield c
    c.db.dispose()


@pytest.fixture()
def app_id(ctx: Context) -> str:
    return ensure_default_app(ctx.db, None, None)[0].id


def deliveries_of(ctx: Context, event_id: str) -> list[tuple[str, str, str, str | None]]:
    with ctx.db.session() as s:
        rows = s.scalars(select(Delivery).where(Delivery.event_id == event_id).order_by(Delivery.id))
        return [(d.url, d.method, d.state, d.last_error) for d in rows]


def test_record_queues_one_delivery_per_target(ctx: Context, app_id: str) -> None:
    with ctx.db.session() as s:
        no_push = events.record(s, app_id, "T", {})
        task_only = events.record(s, app_id, "T", {}, cb_url="http://task.lan/cb", cb_method="put")
        # the app's signing secret is made (sealed) by the first push, not here
        assert s.get(App, app_id).callback_secret is None  # type: ignore[union-attr]
        app = s.get(App, app_id)
        assert app is not None
        app.callback_url = "http://app.lan/cb"
        both = events.record(s, app_id, "T", {}, cb_url="http://task.lan/cb")
        same = events.record(s, app_id, "T", {}, cb_url="http://app.lan/cb")
        bad = events.record(s, app_id, "T", {}, cb_url="http://task.lan/cb", cb_method="GET")
    assert deliveries_of(ctx, no_push) == []
    assert deliveries_of(ctx, task_only) == [("http://task.lan/cb", "PUT", "pending", None)]
    assert deliveries_of(ctx, both) == [("http://app.lan/cb", "POST", "pending", None),
                                        ("http://task.lan/cb", "POST", "pending", None)]
    assert deliveries_of(ctx, same) == [("http://app.lan/cb", "POST", "pending", None)]
    # an unsupported method does not undo the caller's change; the refusal is logged instead
    assert deliveries_of(ctx, bad)[1][2:] == (
        "failed", "InvalidParameter.CallbackMethod: method 'GET' is not supported")


def test_waiters_wake_after_commit_not_after_rollback(ctx: Context, app_id: str) -> None:
    woken: list[int] = []
    with ctx.signals.listening(Topic.EVENTS, lambda _app_id: woken.append(1)):
        with pytest.raises(RuntimeError), ctx.db.session() as s:
            events.record(s, app_id, "T", {})
            raise RuntimeError("roll back")
        assert woken == []
        with ctx.db.session() as s:
            events.record(s, app_id, "T", {})
            events.record(s, app_id, "T", {})
            assert woken == []  # not before the commit
        assert woken == [1]
        with ctx.db.session() as s:  # a session without events does not notify
            s.scalar(select(func.count()).select_from(Event))
        assert woken == [1]


def test_blocking_pull_waits_then_wakes_on_commit(ctx: Context, app_id: str) -> None:
    got: list[Any] = []
    poller = threading.Thread(target=lambda: got.append((events.pull_events(ctx, app_id, wait=5), time.monotonic())))
    poller.start()
    time.sleep(0.3)
    with ctx.db.session() as s:
        event_id = events.record(s, app_id, "T", {"n": 1})
    committed = time.monotonic()
    poller.join(10)
    items, returned = got[0]
    assert [i.event_id for i in items] == [event_id]
    # Woken by the commit, not by the 1 s re-check (the margin is for a loaded 2-core CI machine).
    assert returned - committed < 0.9 * events.RECHECK_SECONDS
    t0 = time.monotonic()
    assert events.pull_events(ctx, app_id, wait=0.5) == []
    assert 0.5 <= time.monotonic() - t0 < 1.5


def test_concurrent_pullers_never_get_the_same_event(ctx: Context, app_id: str) -> None:
    with ctx.db.session() as s:
        ids = {events.record(s, app_id, "T", {"n": n}) for n in range(48)}
    handed: list[str] = []
    lock = threading.Lock()

    def drain() -> None:
        while batch := events.pull_events(ctx, app_id, wait=0):
            with lock:
                handed.extend(i.event_id for i in batch)

    threads = [threading.Thread(target=drain) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert sorted(handed) == sorted(ids)


def test_confirm_counts_only_own_events(ctx: Context, app_id: str) -> None:
    with ctx.db.session() as s:
        mine = events.record(s, app_id, "T", {})
    (item,) = events.pull_events(ctx, app_id, wait=0)
    assert events.confirm_events(ctx, "app-other", [item.event_handle]) == 0
    assert events.confirm_events(ctx, app_id, [f"{mine}.7", "nonsense", ".1", f"{mine}."]) == 1  # any pull count
    assert events.confirm_events(ctx, app_id, [item.event_handle]) == 1  # idempotent
    with ctx.db.session() as s:
        assert s.get(Event, mine).confirmed_at is not None  # type: ignore[union-attr]
