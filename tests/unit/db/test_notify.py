"""db/notify.py and runtime.SharedSignals: signals between the processes (here, contexts) sharing a
PostgreSQL database, through LISTEN/NOTIFY — how fast they arrive, that each process hears its own
once, that a lost connection comes back and says so, and that the waiters they serve (task
long-polls, event pulls) wake at once on a change made elsewhere."""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import psycopg
import pytest

from openvod.config import Settings
from openvod.db.notify import PgRelay
from openvod.engine import queue
from openvod.runtime import Context, LocalSignals, SharedSignals, Topic
from openvod.services import apps, events, tasks
from openvod.services.context import build_context

WAKE_BOUND = 0.1  # seconds: a signal from another process arrives within this


@pytest.fixture()
def contexts(tmp_path: Path, pg_url: str) -> Iterator[Callable[[], Context]]:
    """Builds contexts on one fresh database, as separate processes (a server, a worker) would."""
    made: list[Context] = []

    def make() -> Context:
        ctx = build_context(Settings(data_dir=tmp_path / f"p{len(made)}", database_url=pg_url, workers=0))
        made.append(ctx)
        return ctx

    yield make
    for ctx in made:
        ctx.db.dispose()


class Heard:
    """A listener that keeps what it hears, with when, and can be waited on."""

    def __init__(self) -> None:
        self.keys: list[str | None] = []
        self.at: list[float] = []
        self._cond = threading.Condition()

    def __call__(self, key: str | None) -> None:
        with self._cond:
            self.keys.append(key)
            self.at.append(time.monotonic())
            self._cond.notify_all()

    def wait_for(self, n: int, timeout: float = 5.0) -> bool:
        with self._cond:
            return self._cond.wait_for(lambda: len(self.keys) >= n, timeout)


def test_on_postgresql_every_context_shares_its_signals(contexts: Callable[[], Context], tmp_path: Path) -> None:
    assert isinstance(contexts().signals, SharedSignals)
    assert contexts().signals.recheck_seconds > LocalSignals.recheck_seconds
    sqlite = build_context(Settings(data_dir=tmp_path / "sqlite", workers=0))
    try:
        # SQLite shares them too, through PRAGMA data_version (tests/unit/db/test_sqlite_watch.py)
        assert isinstance(sqlite.signals, SharedSignals) and sqlite.signals.recheck_seconds == 15.0
    finally:
        sqlite.db.dispose()


def test_a_signal_reaches_another_context_within_100_ms_and_its_own_once(contexts: Callable[[], Context]) -> None:
    sender, receiver = contexts(), contexts()
    here, there = Heard(), Heard()
    sender.signals.subscribe(Topic.TASK, here)
    receiver.signals.subscribe(Topic.TASK, there)
    sender.signals.task_changed("warm-up")  # the first opens the sender's connection
    assert there.wait_for(1)
    latencies = []
    for i in range(1, 21):
        t0 = time.monotonic()
        sender.signals.task_changed(f"t{i}")
        assert there.wait_for(i + 1), f"signal {i} never arrived"
        latencies.append(there.at[i] - t0)
    assert there.keys == ["warm-up"] + [f"t{i}" for i in range(1, 21)]
    print(f"cross-context wake: median {statistics.median(latencies) * 1000:.1f} ms, "
          f"max {max(latencies) * 1000:.1f} ms")
    assert statistics.median(latencies) < WAKE_BOUND and max(latencies) < 1.0, latencies  # (a loaded CI host)
    receiver.signals.events_recorded("app1")  # other topics, other keys, the other way round
    time.sleep(0.2)
    assert here.keys == there.keys  # each once: its own were delivered locally only


_CHILD = """
import sys, time
from pathlib import Path
from openvod.config import Settings
from openvod.services.context import worker_context
ctx = worker_context(Settings(data_dir=Path(sys.argv[1]), database_url=sys.argv[2], workers=0))
ctx.signals.events_recorded("warm-up")  # opens the sender's connection
for i in range(5):
    time.sleep(0.05)
    print(time.time(), flush=True)
    ctx.signals.events_recorded(f"app-{i}")
ctx.db.dispose()  # sends what is still queued before closing
"""


def test_a_signal_crosses_processes(contexts: Callable[[], Context], tmp_path: Path, pg_url: str) -> None:
    receiver = contexts()
    heard: dict[str, float] = {}
    done = threading.Event()

    def hear(key: str | None) -> None:
        heard[str(key)] = time.time()
        if key == "app-4":
            done.set()

    receiver.signals.subscribe(Topic.EVENTS, hear)
    child = subprocess.run([sys.executable, "-c", _CHILD, str(tmp_path / "child"), pg_url],
                           capture_output=True, text=True, timeout=60, check=True)
    assert done.wait(5), child.stderr
    sent = [float(t) for t in child.stdout.split()]
    latencies = [heard[f"app-{i}"] - t for i, t in enumerate(sent)]
    print(f"cross-process wake: median {statistics.median(latencies) * 1000:.1f} ms, "
          f"max {max(latencies) * 1000:.1f} ms")
    assert statistics.median(latencies) < WAKE_BOUND, latencies


def test_a_lost_listener_reconnects_and_says_anything_may_have_changed(contexts: Callable[[], Context],
                                                                        pg_url: str) -> None:
    sender, receiver = contexts(), contexts()
    heard = Heard()
    receiver.signals.subscribe(Topic.EVENTS, heard)
    with psycopg.connect(pg_url, autocommit=True) as admin:  # e.g. a failover, a restarted server
        killed = admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                               "WHERE datname = current_database() AND query LIKE 'LISTEN %'").fetchall()
    assert len(killed) == 1
    assert heard.wait_for(1, timeout=10), "no wake-up after the listener came back"
    assert heard.keys == [None]  # whatever was sent meanwhile is lost: every waiter re-reads
    sender.signals.events_recorded("app1")
    assert heard.wait_for(2) and heard.keys[1] == "app1"


def test_a_relay_sends_what_is_queued_when_it_closes_and_a_fork_gets_an_origin_of_its_own(pg_url: str) -> None:
    listener, sender = PgRelay(pg_url), PgRelay(pg_url)
    got: list[tuple[str | None, str | None]] = []
    done = threading.Event()

    def deliver(topic: str | None, key: str | None) -> None:
        got.append((topic, key))
        if key == "k2":
            done.set()

    try:
        listener.listen(deliver)
        for key in ("k1", "k1", "k2"):  # duplicates queued together are sent once
            sender.send("task", key)
        sender.close()
        sender.send("task", "after close")  # ignored
        assert done.wait(5)
        time.sleep(0.1)
        assert got == [("task", "k1"), ("task", "k2")]
        origin = listener.origin
        pid = os.fork()
        if pid == 0:  # the child: an origin of its own, none of the parent's threads or connections
            listener._own_process()  # noqa: SLF001 - what every entry point does first
            os._exit(0 if listener.origin != origin and listener._listener is None else 1)  # noqa: SLF001
        assert os.waitpid(pid, 0)[1] == 0
        assert listener.origin == origin
    finally:
        listener.close()
        sender.close()


def test_shared_signals_deliver_here_at_once_and_elsewhere_through_the_relay() -> None:
    class FakeRelay:
        def __init__(self) -> None:
            self.sent: list[tuple[str, str | None]] = []
            self.deliver: Callable[[str | None, str | None], None] | None = None
            self.closed = False

        def send(self, topic: str, key: str | None) -> None:
            self.sent.append((topic, key))

        def listen(self, deliver: Callable[[str | None, str | None], None]) -> None:
            self.deliver = deliver

        def close(self) -> None:
            self.closed = True

    relay = FakeRelay()
    signals = SharedSignals(relay)
    signals.work_available()  # nobody listens yet: sent on, and the relay not listening
    assert relay.sent == [("work", None)] and relay.deliver is None
    task, evs = Heard(), Heard()
    signals.subscribe(Topic.TASK, task)
    signals.subscribe(Topic.EVENTS, evs)
    signals.task_changed("t1")
    assert task.keys == ["t1"] and relay.sent[-1] == ("task", "t1")
    assert relay.deliver is not None
    relay.deliver("events", "app1")  # from another process: here only, not sent back
    relay.deliver("someday", "x")  # a topic this version does not know: ignored
    relay.deliver(None, None)  # the relay was away: everyone re-reads
    assert evs.keys == ["app1", None] and task.keys == ["t1", None]
    assert relay.sent == [("work", None), ("task", "t1")]
    signals.close()
    assert relay.closed


def test_a_task_long_poll_wakes_when_a_worker_elsewhere_settles_it(contexts: Callable[[], Context]) -> None:
    server, worker = contexts(), contexts()
    app_id = apps.create_app(server.db, "a")[0].id
    task_id = tasks.create_noop(server, app_id).task_id
    (claim,) = queue.claim(worker.db, ["w"], 30.0)
    answered: list[tuple[float, str]] = []

    def poll() -> None:
        view = tasks.wait_task(server, app_id, task_id, timeout=10)
        answered.append((time.monotonic(), view.state))

    th = threading.Thread(target=poll)
    th.start()
    time.sleep(0.3)  # the poll is waiting
    settled = time.monotonic()
    assert queue.finish_step(worker.db, claim.step_id, "w", {"ok": True})  # the worker's commit signals
    th.join(10)
    assert answered and answered[0][1] == "succ"
    assert answered[0][0] - settled < 0.5  # not the safety timer (15 s)


def test_an_event_pull_wakes_when_another_process_records_one(contexts: Callable[[], Context]) -> None:
    server, worker = contexts(), contexts()
    app_id = apps.create_app(server.db, "a")[0].id
    pulled: list[tuple[float, int]] = []

    def pull() -> None:
        items = events.pull_events(server, app_id, wait=5)
        pulled.append((time.monotonic(), len(items)))

    th = threading.Thread(target=pull)
    th.start()
    time.sleep(0.3)
    recorded = time.monotonic()
    with worker.db.session() as s:
        events.record(s, app_id, "Test", {"n": 1})
    th.join(10)
    assert pulled and pulled[0][1] == 1 and pulled[0][0] - recorded < 0.5
