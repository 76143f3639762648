"""What every part of a running OpenVOD process shares: the :class:`Context` (settings, database,
storage, URL secret) and its :class:`Signals`.

This module sits below ``services/`` and ``engine/`` alike, so both can take a context without
importing each other. It builds nothing: ``services.context.build_context`` makes the context
of a process (the server, a worker, a CLI command) and hands it down.

Signals are wake-ups, never data: a listener that hears one re-reads the database, and every
waiter also re-reads on a bounded timer (:attr:`Signals.recheck_seconds`), since a signal may be
lost. Two implementations:

* :class:`LocalSignals` reaches the listeners of this process only: other processes' changes go
  unheard, so waiters re-read every second (a database only this process can see: in-memory).
* :class:`SharedSignals` also reaches every other process on the same database through a
  :class:`Relay`: on PostgreSQL ``LISTEN/NOTIFY`` (:mod:`openvod.db.notify`: workers on other
  machines, other API servers), on SQLite ``PRAGMA data_version`` (:mod:`openvod.db.sqlite_watch`:
  the local executor's worker processes, CLI commands). Every change is heard, so the timer is
  only a safety net (15 s).

A change is best signalled after the commit that makes it visible: :func:`signal_on_commit`
marks a session, and the signals found in its ``info`` (:data:`SIGNALS_INFO_KEY`) are sent once
it commits (nothing if it rolls back).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Protocol

from sqlalchemy import event
from sqlalchemy.orm import Session

from openvod.config import Settings
from openvod.db.session import Database
from openvod.storage.base import Storage

__all__ = ["SIGNALS_INFO_KEY", "Context", "Listener", "LocalSignals", "Relay", "SharedSignals", "Signals", "Topic",
           "signal_on_commit"]

log = logging.getLogger("openvod.signals")

SIGNALS_INFO_KEY = "openvod.signals"
"""The key under which a context's signals sit in its database's session ``info`` (see
:meth:`openvod.db.session.Database`), so a commit listener can find them from a session."""


class Topic(StrEnum):
    """What a signal says. The key that comes with it narrows it down (None: any)."""

    WORK = "work"  # work is available (a task was created, topped or cancelled); no key
    TASK = "task"  # a task changed; key: its id, or None for "some tasks" (a batch of steps ended)
    EVENTS = "events"  # events were recorded (or a delivery is due); key: the app's id, or None


Listener = Callable[[str | None], None]
"""Called with the signal's key, on the notifying thread: it must be quick and must not block
(set an event, schedule a callback on a loop)."""


class Signals(Protocol):
    """Wake-ups between the parts of OpenVOD: "work is available", "task X changed", "events for
    app Y". A signal may be lost or arrive more than once; it is a hint to re-read, not a fact.

    A waiter reads, then waits for a signal of its topic (or ``recheck_seconds``), then reads
    again; it subscribes before its first read, so a change committed in between still wakes it."""

    @property
    def recheck_seconds(self) -> float:
        """The longest a waiter should go without re-reading: short when changes made by other
        processes are not signalled here, a safety net when they are."""
        ...

    def notify(self, topic: Topic, key: str | None = None) -> None:
        """Tell the listeners of ``topic``; ``key`` narrows it (a task id, an app id)."""
        ...

    def subscribe(self, topic: Topic, listener: Listener) -> Callable[[], None]:
        """Call ``listener`` on every signal of ``topic`` until the returned function is called."""
        ...

    def listening(self, topic: Topic, listener: Listener) -> AbstractContextManager[None]:
        """:meth:`subscribe` for the length of a ``with`` block."""
        ...

    def work_available(self) -> None:
        """Poke the executor: call after a transaction that creates or reorders work commits."""
        ...

    def task_changed(self, task_id: str | None = None) -> None:
        """Wake task long-polls; ``task_id`` None means "some tasks"."""
        ...

    def events_recorded(self, app_id: str | None = None) -> None:
        """Wake event pullers of ``app_id`` and the push dispatcher."""
        ...

    def close(self) -> None:
        """Release what carries signals to other processes (threads, connections), if anything."""
        ...


class LocalSignals:
    """:class:`Signals` within one process: listeners are called on the notifying thread. Other
    processes' changes go unheard, so waiters re-read every second."""

    recheck_seconds: float = 1.0

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._listeners: dict[Topic, list[Listener]] = {topic: [] for topic in Topic}

    def notify(self, topic: Topic, key: str | None = None) -> None:
        with self._lock:
            listeners = list(self._listeners[topic])
        for listener in listeners:
            try:
                listener(key)
            except Exception:  # a broken listener must not fail the commit or the loop that notified it
                log.exception("%s listener %r failed", topic.value, listener)

    def subscribe(self, topic: Topic, listener: Listener) -> Callable[[], None]:
        with self._lock:
            self._listeners[topic].append(listener)

        def unsubscribe() -> None:
            with self._lock:
                try:
                    self._listeners[topic].remove(listener)
                except ValueError:  # already removed
                    pass

        return unsubscribe

    @contextmanager
    def listening(self, topic: Topic, listener: Listener) -> Iterator[None]:
        unsubscribe = self.subscribe(topic, listener)
        try:
            yield
        finally:
            unsubscribe()

    def work_available(self) -> None:
        self.notify(Topic.WORK)

    def task_changed(self, task_id: str | None = None) -> None:
        self.notify(Topic.TASK, task_id)

    def events_recorded(self, app_id: str | None = None) -> None:
        self.notify(Topic.EVENTS, app_id)

    def listeners(self, topic: Topic) -> int:
        """How many listeners ``topic`` has (for tests and diagnostics)."""
        with self._lock:
            return len(self._listeners[topic])

    def close(self) -> None:
        """Nothing to release in one process (see :meth:`SharedSignals.close`)."""


class Relay(Protocol):
    """Carries signals between the processes sharing a database (:class:`openvod.db.notify.PgRelay`
    on PostgreSQL). Topics and keys travel as strings; what they mean is this module's business."""

    def send(self, topic: str, key: str | None) -> None:
        """Queue a message for every other process; must return at once and never raise."""
        ...

    def listen(self, deliver: Callable[[str | None, str | None], None]) -> None:
        """Start calling ``deliver(topic, key)`` with other processes' messages (``(None, None)``:
        messages may have been lost), if not started yet in this process; returns when listening."""
        ...

    def close(self) -> None:
        """Stop sending and listening."""
        ...


class SharedSignals(LocalSignals):
    """:class:`Signals` across processes: a signal reaches this process's listeners at once (on the
    notifying thread) and, through ``relay``, those of every other process on the database (on
    their relay's thread, a few milliseconds later). The relay starts listening when the first
    listener subscribes, so a process that only notifies (a worker) holds no listening connection."""

    recheck_seconds: float = 15.0

    def __init__(self, relay: Relay) -> None:
        super().__init__()
        self._relay = relay

    def notify(self, topic: Topic, key: str | None = None) -> None:
        super().notify(topic, key)
        self._relay.send(topic.value, key)

    def subscribe(self, topic: Topic, listener: Listener) -> Callable[[], None]:
        unsubscribe = super().subscribe(topic, listener)
        self._relay.listen(self._heard)  # the first time in this process: from here on, hear the others
        return unsubscribe

    def _heard(self, topic: str | None, key: str | None) -> None:
        if topic is None:  # the relay was away: everything may have changed
            for each in Topic:
                super().notify(each, None)
            return
        try:
            known = Topic(topic)
        except ValueError:  # a newer process's topic: nothing here listens for it
            log.debug("ignoring signal of unknown topic %r", topic)
            return
        super().notify(known, key)  # locally only: it came from elsewhere

    def close(self) -> None:
        """Stop the relay (its threads and connections); signals then reach this process only."""
        self._relay.close()


_ON_COMMIT_KEY = "openvod.signals.on_commit"


def signal_on_commit(s: Session, topic: Topic, key: str | None = None) -> None:
    """Send ``topic``/``key`` through the signals in ``s.info`` once ``s`` commits (each distinct
    signal once); nothing is sent if it rolls back, or if the session carries no signals."""
    s.info.setdefault(_ON_COMMIT_KEY, set()).add((topic, key))


@event.listens_for(Session, "after_commit")
def _after_commit(s: Session) -> None:
    marked = s.info.pop(_ON_COMMIT_KEY, None)
    signals: Signals | None = s.info.get(SIGNALS_INFO_KEY)
    if marked and signals is not None:
        for topic, key in sorted(marked, key=lambda m: (m[0].value, m[1] or "")):
            signals.notify(topic, key)


@event.listens_for(Session, "after_rollback")
def _after_rollback(s: Session) -> None:
    s.info.pop(_ON_COMMIT_KEY, None)


@dataclass
class Context:
    """The wiring every service and job needs, built once per process."""

    settings: Settings
    db: Database
    storage: Storage
    url_secret: bytes
    signals: Signals = field(default_factory=LocalSignals)

    def __post_init__(self) -> None:
        # Sessions carry the signals, so a commit that recorded events can wake their waiters.
        self.db.info[SIGNALS_INFO_KEY] = self.signals
        self.db.on_dispose(self.signals.close)  # its relay's connections go with the pool's

    def object_url(self, bucket: str, key: str, *, expires_in: int = 3600) -> str:
        """A signed URL for a physical object, fetchable as returned."""
        return self.storage.signed_url(bucket, key, expires_in=expires_in)
