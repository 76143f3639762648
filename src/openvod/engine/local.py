"""The ``local`` executor: a pool of worker processes inside ``openvod serve`` and the scheduler
thread that leases steps to them.

The scheduler blocks on one ``multiprocessing.connection.wait`` over the workers' pipes, their
process sentinels and a wake pipe (poked when a task is created, topped or cancelled), with a
timeout of one second for lease housekeeping — it never spins. Steps are handed out only when a
worker is free, so the queue order in the database is the order work starts: the scheduler leases
steps to idle workers, and a worker that finishes a step leases its next one itself, in the
transaction that records the result (see ``worker``); its ``done`` message tells the scheduler
which step it holds now.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import shutil
import signal
import socket
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing.connection import Connection, wait
from multiprocessing.process import BaseProcess

from sqlalchemy import select

from openvod.db.models import TaskStep
from openvod.domain.tasks import TaskState
from openvod.engine import queue
from openvod.engine.executor import ContextFactory, ExecutorHealth
from openvod.engine.worker import worker_main
from openvod.runtime import Context, Topic

__all__ = ["LocalExecutor"]

log = logging.getLogger("openvod.engine")

CANCEL_CHECK_SECONDS = 0.25
NOTIFY_SECONDS = 0.05


@dataclass
class _Worker:
    proc: BaseProcess
    conn: Connection
    lease_prefix: str  # every lease of this worker process has an owner starting with it
    step_id: int | None = None
    owner: str | None = None
    cancel_sent: bool = False


class LocalExecutor:
    """The ``local`` :class:`~openvod.engine.executor.Executor`: ``slots`` worker processes, each
    building its context with ``build_context``."""

    def __init__(self, ctx: Context, slots: int, build_context: ContextFactory) -> None:
        self.ctx = ctx
        self.slots = slots
        self._build_context = build_context
        self._unsubscribe: Callable[[], None] | None = None
        self.host = socket.gethostname()
        self.prefix = f"{self.host}:{os.getpid()}:"
        self._mp = multiprocessing.get_context("spawn")
        self._workers: list[_Worker] = []
        self._wake_r, self._wake_w = os.pipe()
        os.set_blocking(self._wake_w, False)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="scheduler", daemon=True)
        self._last_expiry = 0.0
        self._spawned = 0
        self._poked = True  # woken through the wake pipe
        self._last_cancel_check = 0.0
        self._notify_due = False
        self._last_notify = 0.0

    # -- lifecycle ---------------------------------------------------------------------------
    def start(self) -> None:
        shutil.rmtree(self.ctx.settings.data_dir / "work", ignore_errors=True)
        self._recover_dead_owners()
        for _ in range(self.slots):
            self._workers.append(self._spawn())
        self._unsubscribe = self.ctx.signals.subscribe(Topic.WORK, lambda _key: self.wake())
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        """Stop taking work; put running steps back in the queue (no attempt counted)."""
        self._stop.set()
        if self._unsubscribe is not None:
            self._unsubscribe()
        self.wake()
        self._thread.join(timeout=timeout)
        for w in self._workers:
            if w.step_id is None:
                try:
                    w.conn.send(("stop",))
                except (OSError, BrokenPipeError):
                    pass
            else:
                w.proc.kill()  # the job's ffmpeg dies with it (PDEATHSIG)
        for w in self._workers:
            w.proc.join(timeout=5)
            if not w.proc.is_alive():
                # Not only w.step_id: the worker may have leased its next step and died before
                # the scheduler read its message.
                queue.requeue_leases(self.ctx.db, w.lease_prefix)
        self._workers.clear()

    def wake(self) -> None:
        try:
            os.write(self._wake_w, b"x")
        except BlockingIOError:
            pass  # already poked

    def health(self) -> ExecutorHealth:
        workers = list(self._workers)
        return ExecutorHealth(kind="local", running=self._thread.is_alive() and not self._stop.is_set(),
                              workers=self.slots, alive=sum(w.proc.is_alive() for w in workers),
                              busy=sum(w.step_id is not None for w in workers))

    # -- internals ---------------------------------------------------------------------------
    def _spawn(self) -> _Worker:
        self._spawned += 1
        lease_prefix = f"{self.prefix}{self._spawned}-"
        parent, child = self._mp.Pipe()
        proc = self._mp.Process(target=worker_main, name="openvod-worker", daemon=True,
                                args=(child, self.ctx.settings.model_dump(), lease_prefix, self._build_context))
        proc.start()
        child.close()
        return _Worker(proc=proc, conn=parent, lease_prefix=lease_prefix)

    def _recover_dead_owners(self) -> None:
        """Leases held by processes of this host that no longer exist go back at once."""
        n = queue.recover_dead_owners(self.ctx.db, self.ctx.settings.max_attempts, self.host)
        if n:
            log.info("recovered %d step(s) left running by dead processes", n)

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                self._tick()
            except Exception:  # keep scheduling; the next tick retries
                log.exception("scheduler tick failed")
                time.sleep(1.0)
            handles: list[object] = [self._wake_r]
            for w in self._workers:
                handles += [w.conn, w.proc.sentinel]
            timeout = 1.0
            if self._notify_due:
                timeout = max(0.0, self._last_notify + NOTIFY_SECONDS - time.monotonic())
            ready = wait(handles, timeout=timeout)  # type: ignore[arg-type]
            self._poked = self._wake_r in ready
            if self._poked:
                os.read(self._wake_r, 4096)

    def _tick(self) -> None:
        settings = self.ctx.settings
        changed = False
        for i, w in enumerate(self._workers):
            while w.conn.poll():
                try:
                    msg = w.conn.recv()
                except (EOFError, OSError):
                    break
                if msg[0] == "done":
                    nxt: queue.Claim | None = msg[2]
                    w.step_id, w.owner = (nxt.step_id, nxt.owner) if nxt is not None else (None, None)
                    w.cancel_sent = False
                    changed = True
            if not w.proc.is_alive():
                code = w.proc.exitcode
                how = f"killed by signal {-code}" if code is not None and code < 0 else f"exit code {code}"
                if w.step_id is not None and w.owner is not None:
                    queue.release(self.ctx.db, w.step_id, w.owner, reason=f"the worker process died ({how})",
                                  max_attempts=settings.max_attempts)
                    for leftover in (settings.data_dir / "work").glob(f"{w.step_id}-*"):
                        shutil.rmtree(leftover, ignore_errors=True)
                # A step it leased for itself and died before telling us about.
                queue.expire_leases(self.ctx.db, settings.max_attempts, owner_prefix=w.lease_prefix)
                w.conn.close()
                self._workers[i] = self._spawn()
                changed = True
        self._notify(changed)
        self._send_cancels()
        now = time.monotonic()
        if now - self._last_expiry > min(5.0, settings.lease_seconds / 2):
            self._last_expiry = now
            n = queue.expire_leases(self.ctx.db, settings.max_attempts)
            if n:
                log.warning("%d step(s) had expired leases and were put back", n)
        idle = [w for w in self._workers if w.step_id is None and w.proc.is_alive()]
        if self._stop.is_set() or not idle:
            return
        owners = [f"{w.lease_prefix}{uuid.uuid4().hex[:12]}" for w in idle]
        for w, c in zip(idle, queue.claim(self.ctx.db, owners, settings.lease_seconds,
                                                  max_running=settings.app_max_running_steps), strict=False):
            w.step_id, w.owner = c.step_id, c.owner
            w.conn.send(("run", c))

    def _notify(self, changed: bool) -> None:
        # Every long-poll re-reads on a notification, and a draining queue finishes hundreds of
        # steps a second: the first change is told at once, later ones at most every
        # NOTIFY_SECONDS (the loop's wait ends in time for the one that is due).
        self._notify_due = self._notify_due or changed
        now = time.monotonic()
        if self._notify_due and now - self._last_notify >= NOTIFY_SECONDS:
            self._notify_due, self._last_notify = False, now
            self.ctx.signals.task_changed()

    def _send_cancels(self) -> None:
        # A cancel made through this process pokes the wake pipe. Otherwise a look every
        # CANCEL_CHECK_SECONDS (the loop wakes at least every second) suffices: for cancels made
        # elsewhere, and for one that hit a step a worker had leased for itself before telling
        # us. Not on every "done": that would be a query per step while a queue drains.
        now = time.monotonic()
        if not self._poked and now - self._last_cancel_check < CANCEL_CHECK_SECONDS:
            return
        self._last_cancel_check = now
        busy = {w.step_id: w for w in self._workers if w.step_id is not None and not w.cancel_sent}
        if not busy:
            return
        # Only a step still leased to the owner we know: a worker that has just finished it may
        # be running its next step already, which the signal must not reach.
        with self.ctx.db.engine.connect() as conn:
            doomed = conn.execute(select(TaskStep.id, TaskStep.lease_owner).where(
                TaskStep.id.in_(busy), TaskStep.cancel_requested.is_(True), TaskStep.state == TaskState.EXEC)).all()
        for step_id, lease_owner in doomed:
            w = busy[step_id]
            if lease_owner == w.owner and w.proc.pid is not None:
                os.kill(w.proc.pid, signal.SIGUSR1)
                w.cancel_sent = True
