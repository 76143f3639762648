"""Other processes' commits to a SQLite database, heard: the transport under
:class:`openvod.runtime.SharedSignals` when OpenVOD runs on SQLite.

SQLite has no ``NOTIFY``. What it has is ``PRAGMA data_version``: on one connection, the number
changes whenever *another* connection (of this process or any other) has committed since the last
time it was asked. A :class:`SqliteRelay` asks it on a connection of its own, a few times a second
(:data:`CHECK_SECONDS`), on one thread per process, and when it has changed delivers ``(None,
None)``, "anything may have changed": every waiter of the process re-reads once. So the work done
while nothing changes is one tiny query per interval per *process*, however many long-polls,
event pullers and console tabs are waiting (before, each of them re-read its own page every
second), and a change made elsewhere (the local executor's worker processes, a CLI command) is
seen within :data:`CHECK_SECONDS` rather than a second.

:meth:`SqliteRelay.send` does nothing: the commit it would announce is what the other processes'
relays see. The thread starts on the first :meth:`~SqliteRelay.listen` (a process that only
writes never starts one) and stops with :meth:`~SqliteRelay.close`; a forked child starts its own.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import threading
from collections.abc import Callable
from pathlib import Path

__all__ = ["CHECK_SECONDS", "SqliteRelay"]

log = logging.getLogger("openvod.signals.sqlite")

CHECK_SECONDS = 0.5
Deliver = Callable[[str | None, str | None], None]


class SqliteRelay:
    """Turns other connections' commits to the SQLite file at ``path`` into ``(None, None)``."""

    def __init__(self, path: Path, *, interval: float = CHECK_SECONDS) -> None:
        self.path = path
        self.interval = interval
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._pid = os.getpid()

    def send(self, topic: str, key: str | None) -> None:
        """Nothing to send: other processes see the commit itself."""

    def listen(self, deliver: Deliver) -> None:
        """Start watching (once per process; later calls do nothing)."""
        with self._lock:
            if self._pid != os.getpid():  # a forked child: the parent's thread does not run here
                self._pid, self._thread, self._stop = os.getpid(), None, threading.Event()
            if self._thread is not None or self._stop.is_set():
                return
            try:  # a plain connection (read-only ones cannot open a WAL database whose -shm is missing); it only reads
                conn = sqlite3.connect(self.path, check_same_thread=False, timeout=5)
                first = conn.execute("PRAGMA data_version").fetchone()[0]  # before returning: nothing after is missed
            except sqlite3.Error:
                log.warning("cannot watch %s for other processes' changes; waiters fall back to their timer",
                            self.path, exc_info=True)
                return
            self._thread = threading.Thread(target=self._watch, args=(conn, first, deliver), name="sqlite-watch",
                                            daemon=True)
            self._thread.start()

    def _watch(self, conn: sqlite3.Connection, seen: int, deliver: Deliver) -> None:
        try:
            while not self._stop.wait(self.interval):
                try:
                    now = conn.execute("PRAGMA data_version").fetchone()[0]
                except sqlite3.Error:  # busy or gone for a moment: the next round asks again
                    log.debug("PRAGMA data_version failed", exc_info=True)
                    continue
                if now != seen:
                    seen = now
                    try:
                        deliver(None, None)
                    except Exception:  # a listener's failure must not end the watch
                        log.exception("delivering a database change failed")
        finally:
            conn.close()

    def close(self) -> None:
        """Stop the thread (within one interval) and close its connection."""
        self._stop.set()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread() and self._pid == os.getpid():
            thread.join(timeout=5)
