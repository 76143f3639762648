"""What every part of a running OpenVOD process shares: the :class:`Context` (settings, database,
storage, URL secret) and its :class:`Signals`.

This module sits below ``services/`` and ``engine/`` alike, so both can take a context without
importing each other. It builds nothing: ``services.context.build_context`` makes the context
of a process (the server, a worker, a CLI command) and hands it down.

Signals are wake-ups, never data: a listener that hears one re-reads the database, and every
waiter also re-reads on a bounded timer, since other processes (workers, other servers) change
the database without telling this one. :class:`LocalSignals` reaches the listeners of this
process; a cross-process implementation (PostgreSQL ``LISTEN/NOTIFY``, Redis pub/sub) plugs into
the same :class:`Signals` protocol when OpenVOD scales out.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Protocol

from openvod.config import Settings
from openvod.db.session import Database
from openvod.storage.base import Storage

__all__ = ["SIGNALS_INFO_KEY", "Context", "Listener", "LocalSignals", "Signals", "Topic"]

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
    app Y". A signal may be lost or arrive more than once; it is a hint to re-read, not a fact."""

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


class LocalSignals:
    """:class:`Signals` within one process: listeners are called on the notifying thread."""

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

    def object_url(self, bucket: str, key: str, *, expires_in: int = 3600) -> str:
        """A signed URL for a physical object, fetchable as returned."""
        return self.storage.signed_url(bucket, key, expires_in=expires_in)
