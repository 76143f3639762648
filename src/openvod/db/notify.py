"""PostgreSQL ``LISTEN/NOTIFY`` between the processes that share one database: the transport
under :class:`openvod.runtime.SharedSignals` when OpenVOD runs on PostgreSQL.

A :class:`PgRelay` carries short ``(topic, key)`` messages on one channel. It knows nothing of
what they mean (the runtime does); it only moves them, with two threads per process, each on a
psycopg connection of its own (not the pool's), both started on first use:

* the **sender** takes what :meth:`PgRelay.send` queued (``send`` itself never touches the
  network, so it may be called from a commit hook or a request thread) and sends it as
  ``pg_notify`` calls, one round trip per batch, duplicates dropped;
* the **listener** runs ``LISTEN`` and blocks on the connection's socket
  (``Connection.notifies``; no polling) and hands each message of *another* process to the
  ``deliver`` callback given to :meth:`PgRelay.listen`. Messages carry the sending process's
  origin token, so this process's own (already delivered locally) are skipped.

Either connection lost (a restarted server, a failover) is opened again with capped exponential
backoff. NOTIFY is not stored: what was sent while the listener was away is gone, so after a
reconnect it delivers ``(None, None)``, "anything may have changed", and the waiters re-read.
:meth:`PgRelay.close` (also run at exit) sends what is still queued, then stops both threads.
A forked child gets relay state of its own (a new origin, no inherited connection or thread).
"""

from __future__ import annotations

import atexit
import logging
import os
import re
import threading
import uuid
from collections.abc import Callable
from typing import Any

import psycopg
from sqlalchemy.engine import make_url

__all__ = ["CHANNEL", "Deliver", "PgRelay", "conninfo"]

log = logging.getLogger("openvod.signals.pg")

CHANNEL = "openvod"
Deliver = Callable[[str | None, str | None], None]
"""Called on the listener thread with a message's topic and key; topic None: anything may have
changed (the listener was away). It must be quick: set an event, schedule a callback."""

MAX_PENDING = 1000  # distinct messages queued before they collapse into one "anything" per topic
BACKOFF_START, BACKOFF_MAX = 0.25, 30.0  # seconds between reconnection attempts
LISTEN_READY_SECONDS = 5.0  # how long the first listen() waits for LISTEN to be in place
_IDENTIFIER = re.compile(r"[a-z_][a-z0-9_]{0,62}")


def conninfo(url: str) -> str:
    """A libpq connection string for a SQLAlchemy PostgreSQL URL (any driver spelling)."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def _connect(info: str) -> psycopg.Connection[Any]:
    # Keepalives: a listener waits on its socket for hours; a peer gone without a word is noticed.
    return psycopg.connect(info, autocommit=True, connect_timeout=10, application_name="openvod-signals",
                           keepalives=1, keepalives_idle=30, keepalives_interval=10, keepalives_count=3)


class PgRelay:
    """Messages to and from every process LISTENing on ``channel`` of the database at ``url``."""

    def __init__(self, url: str, *, channel: str = CHANNEL) -> None:
        if not _IDENTIFIER.fullmatch(channel):
            raise ValueError(f"the notification channel must be a lower-case SQL identifier, got {channel!r}")
        self._conninfo = conninfo(url)
        self.channel = channel
        self._closed = threading.Event()
        self._reset()

    def _reset(self) -> None:
        """Fresh per-process state (at creation, and in a forked child)."""
        self._pid = os.getpid()
        self.origin = uuid.uuid4().hex[:12]
        self._lock = threading.Lock()
        self._pending: set[str] = set()
        self._send_wake = threading.Event()
        self._sender: threading.Thread | None = None
        self._listener: threading.Thread | None = None
        self._deliver: Deliver | None = None
        self._listening = threading.Event()
        self._listen_conn: psycopg.Connection[Any] | None = None

    def _own_process(self) -> None:
        if self._pid != os.getpid():  # forked: the parent's threads and connections are not ours
            self._reset()

    # -- sending ----------------------------------------------------------------------------

    def send(self, topic: str, key: str | None) -> None:
        """Queue ``(topic, key)`` for every other process; returns at once (never raises)."""
        if not self._closed.is_set():
            self._queue(topic, key)

    def _queue(self, topic: str, key: str | None) -> None:
        self._own_process()
        with self._lock:
            self._pending.add(f"{self.origin}:{topic}:{key or ''}")
            if len(self._pending) > MAX_PENDING:  # a flood: one wake-up per topic says as much
                topics = {m.split(":", 2)[1] for m in self._pending}
                self._pending = {f"{self.origin}:{t}:" for t in topics}
            if self._sender is None:
                self._sender = threading.Thread(target=self._send_loop, name="pg-notify-sender", daemon=True)
                self._sender.start()
                # A short-lived process (a CLI command) sends what it committed before it exits.
                atexit.register(self.close)
        self._send_wake.set()

    def _send_loop(self) -> None:
        delay = BACKOFF_START
        conn: psycopg.Connection[Any] | None = None
        while True:
            self._send_wake.wait()
            self._send_wake.clear()
            closing = self._closed.is_set()  # then: send what is queued once, and stop
            with self._lock:
                batch, self._pending = self._pending, set()
            if batch:
                try:
                    if conn is None or conn.closed:
                        conn = _connect(self._conninfo)
                    conn.execute("SELECT pg_notify(%s, m) FROM unnest(%s::text[]) AS m",
                                 (self.channel, sorted(batch)))
                    delay = BACKOFF_START
                except psycopg.Error as exc:
                    log.warning("could not send %d signal(s) to other processes (%s)%s", len(batch),
                                str(exc).strip() or type(exc).__name__,
                                "" if closing else f"; retrying in {delay:.2f} s")
                    _close_quietly(conn)
                    conn = None
                    if not closing:
                        with self._lock:
                            self._pending |= batch
                        self._closed.wait(delay)
                        delay = min(delay * 2, BACKOFF_MAX)
                        self._send_wake.set()
                        continue
            if closing:
                break
        _close_quietly(conn)

    # -- listening --------------------------------------------------------------------------

    def listen(self, deliver: Deliver) -> None:
        """Start handing other processes' messages to ``deliver`` (once per process; later calls
        do nothing). The first waits until ``LISTEN`` is in place (at most a few seconds), so
        nothing sent after it returns is missed."""
        if self._closed.is_set():
            return
        self._own_process()
        with self._lock:
            if self._listener is not None:
                return
            self._deliver = deliver
            self._listener = threading.Thread(target=self._listen_loop, name="pg-notify-listener", daemon=True)
            self._listener.start()
        if not self._listening.wait(LISTEN_READY_SECONDS):
            log.warning("not yet listening for other processes' signals (is PostgreSQL reachable?); "
                        "waiters re-read on their timers until it is")

    def _listen_loop(self) -> None:
        delay, reconnect = BACKOFF_START, False
        while not self._closed.is_set():
            try:
                with _connect(self._conninfo) as conn:
                    self._listen_conn = conn
                    conn.execute(f"LISTEN {self.channel}")
                    self._listening.set()
                    delay = BACKOFF_START
                    if reconnect:
                        self._hand_over(None, None)  # what was sent meanwhile is lost: re-read
                    for note in conn.notifies():  # blocks on the socket until a message or an error
                        if self._closed.is_set():
                            return
                        self._received(note.payload)
            except psycopg.Error as exc:
                if self._closed.is_set():
                    return
                log.warning("lost the connection that hears other processes' signals (%s); reconnecting in %.2f s",
                            str(exc).strip() or type(exc).__name__, delay)
            finally:
                self._listen_conn = None
            reconnect = True
            self._closed.wait(delay)
            delay = min(delay * 2, BACKOFF_MAX)

    def _received(self, payload: str) -> None:
        origin, sep, rest = payload.partition(":")
        topic, sep2, key = rest.partition(":")
        if not (sep and sep2 and topic) or origin == self.origin:
            return  # not ours to read, or this process's own (delivered at once when sent)
        self._hand_over(topic, key or None)

    def _hand_over(self, topic: str | None, key: str | None) -> None:
        deliver = self._deliver
        if deliver is None:
            return
        try:
            deliver(topic, key)
        except Exception:  # a broken listener must not stop the thread that hears every other
            log.exception("delivering signal %s:%s failed", topic, key)

    # -- closing ----------------------------------------------------------------------------

    def close(self) -> None:
        """Send what is queued, then stop both threads and close their connections."""
        if self._closed.is_set():
            return
        self._closed.set()
        atexit.unregister(self.close)
        if self._pid != os.getpid():
            return  # the parent's threads; nothing of ours runs
        if self._listen_conn is not None:
            # The listener blocks in notifies(); a message of our own (skipped like any other)
            # wakes it to see it is closed.
            self._queue("closed", None)
        self._send_wake.set()
        for thread in (self._sender, self._listener):
            if thread is not None and thread is not threading.current_thread():
                thread.join(timeout=5.0)


def _close_quietly(conn: psycopg.Connection[Any] | None) -> None:
    if conn is not None:
        try:
            conn.close()
        except Exception:  # noqa: BLE001 - it is being dropped anyway
            log.debug("closing a signal connection failed", exc_info=True)
