"""A worker process of the local executor: runs one step at a time, as told by the scheduler.

Protocol over a duplex pipe: the scheduler sends ``("run", claim)`` (a :class:`queue.Claim`) or
``("stop",)``; the worker answers ``("done", step_id, next_claim)`` after it has written the
step's result to the database. In that same transaction the worker, being free, leases the next
runnable step for itself (``next_claim``, or None when the queue is empty) and runs it at once,
so a busy queue costs no round trip through the scheduler. Lease owners start with the prefix the
scheduler gave the worker, so its leases can be found if it dies. Cancellation arrives as SIGUSR1
(and, for remote cancels, through the heartbeat's view of the database). The worker dies with its
parent (PR_SET_PDEATHSIG), so a killed server leaves no orphan working; its leases then expire and
the steps are retried.
"""

from __future__ import annotations

import logging
import re
import shutil
import signal
import threading
import uuid
from collections.abc import Callable
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from openvod.config import Settings
from openvod.engine import hooks, queue
from openvod.engine.jobs import JobContext, load_all
from openvod.errors import FFmpegFailed, FFmpegTimeout, InsufficientStorage, OpenVODError, StorageError
from openvod.media.ffmpeg import Cancelled
from openvod.media.process import die_with_parent
from openvod.runtime import Context
from openvod.storage.disk import disk_error

__all__ = ["Heartbeat", "run_step", "worker_main"]

log = logging.getLogger("openvod.worker")

RETRYABLE = (StorageError, FFmpegTimeout)


_current_cancel: threading.Event | None = None


def _on_cancel_signal(_signum: int, _frame: Any) -> None:
    if _current_cancel is not None:
        _current_cancel.set()


def _scrub(message: str, ctx: Context, app_id: str) -> str:
    """Users see storage paths as /bucket/key, never the server's file system."""
    root = re.escape(str(ctx.settings.data_dir.resolve()))
    message = re.sub(root + r"/objects/([^/\s]+)/" + re.escape(app_id) + "/", r"/\1/", message)
    message = re.sub(root + r"/work/[^/\s]+/(out/)?", "", message)
    return re.sub(root + "/?", "", message)


class Heartbeat:
    """Renews the lease of the step this process runs, every ``heartbeat_seconds``, and sets the
    step's cancel event once the lease is lost or a cancel was requested. One thread for the life
    of the worker: starting and joining one per step would cost more than a short step."""

    def __init__(self, ctx: Context) -> None:
        self._ctx = ctx
        self._lock = threading.Lock()
        self._current: tuple[int, str, threading.Event] | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="heartbeat", daemon=True)
        self._thread.start()

    def watch(self, step_id: int, owner: str, cancel: threading.Event) -> None:
        with self._lock:
            self._current = (step_id, owner, cancel)

    def clear(self) -> None:
        with self._lock:
            self._current = None

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def _run(self) -> None:
        settings = self._ctx.settings
        while not self._stop.wait(settings.heartbeat_seconds):
            with self._lock:
                current = self._current
            if current is None:
                continue
            step_id, owner, cancel = current
            try:
                ours, cancel_requested = queue.renew(self._ctx.db, step_id, owner, settings.lease_seconds)
            except Exception:  # a DB hiccup: keep going, the lease has slack
                log.exception("heartbeat for step %s failed", step_id)
                continue
            if not ours or cancel_requested:
                cancel.set()  # of that step: if it has just ended, nothing listens any more


LOW_SPACE = 16 * 1024 * 1024  # free bytes under which a failed encode is put down to a full disk
_SCRATCH_FULL = ("the worker's scratch disk is full, so FFmpeg could not write its output; the step is "
                 "retried once the operator frees space")


def _scratch_full(workdir: Path) -> bool:
    try:
        return shutil.disk_usage(workdir).free < LOW_SPACE
    except OSError:
        return False


def run_step(ctx: Context, claim: queue.Claim, heartbeat: Heartbeat, next_owner: str | None = None, *,
             cancel_event: threading.Event | None = None) -> queue.Claim | None:
    """Run one leased step to its end and record the outcome (never raises for job errors).
    With ``next_owner``, lease the next runnable step in the same transaction and return it.
    ``cancel_event``: set by the caller to cancel the step (default: a new one, set by SIGUSR1
    and by the heartbeat)."""
    global _current_cancel
    settings = ctx.settings
    step_id, owner, app_id, kind = claim.step_id, claim.owner, claim.app_id, claim.kind
    cancel = cancel_event if cancel_event is not None else threading.Event()
    _current_cancel = cancel
    heartbeat.watch(step_id, owner, cancel)
    workdir = settings.data_dir / "work" / f"{step_id}-{claim.attempt}"
    job = JobContext(ctx=ctx, app_id=app_id, task_id=claim.task_id, step_id=step_id, input=dict(claim.input),
                     cancel=cancel, progress=lambda p: queue.set_progress(ctx.db, step_id, owner, p),
                     workdir=workdir, timeout=settings.job_timeout, hooks=hooks.current())
    result: dict[str, Any] | queue.Failure
    try:
        try:
            workdir.mkdir(parents=True, exist_ok=True)
            jobs = load_all()
            if kind not in jobs:
                raise OpenVODError(f"no job type {kind!r} in this worker", code="InternalError.UnknownJob")
            result = jobs[kind](job)
        except Cancelled as exc:
            result = queue.Failure(exc.code, "the task was cancelled")
        except OpenVODError as exc:
            detail, message = None, exc.message
            code, retryable = exc.code, isinstance(exc, RETRYABLE)
            if isinstance(exc, FFmpegFailed):
                # Operators get argv and the stderr tail; users get FFmpeg's last word, without paths.
                detail = f"argv: {' '.join(exc.argv)}\nexit code: {exc.returncode}\n{exc.stderr_tail}"
                last = (exc.stderr_tail.strip().splitlines() or ["no error output"])[-1]
                message = f"FFmpeg could not process the input: {last}"
                if _scratch_full(workdir):  # FFmpeg's own write failed for want of space
                    code, retryable, message = InsufficientStorage.default_code, True, _SCRATCH_FULL
            result = queue.Failure(code, _scrub(message, ctx, app_id), detail, retryable=retryable)
        except OSError as exc:  # the job's own file I/O (outputs, frames) on a full or failing disk
            failure = disk_error(exc, f"write the {kind} job's files in its scratch space")
            log.warning("step %s (%s): %s", step_id, kind, failure.message)
            result = queue.Failure(failure.code, failure.message, retryable=True)
        except Exception as exc:  # a bug in a job: fail the step with a clean message, keep the worker
            log.exception("step %s (%s) crashed", step_id, kind)
            result = queue.Failure("InternalError.Job",
                                   f"the {kind} job failed unexpectedly ({type(exc).__name__}); see the server log",
                                   retryable=True)
        _, nxt = queue.settle(ctx.db, step_id, owner, result, max_attempts=settings.max_attempts,
                              next_owner=next_owner, lease_seconds=settings.lease_seconds,
                              max_running=settings.app_max_running_steps)
        return nxt
    finally:
        heartbeat.clear()
        _current_cancel = None
        shutil.rmtree(workdir, ignore_errors=True)


def worker_main(conn: Connection, settings_data: dict[str, Any], lease_prefix: str,
                build_context: Callable[[Settings], Context]) -> None:
    """Entry point of a worker process; ``lease_prefix`` starts the owner of every lease it takes.
    ``build_context`` (a module-level function, as it crosses the spawn) is the wiring's: it
    makes the worker's context and installs the engine's hooks."""
    if not die_with_parent():
        log.warning("PR_SET_PDEATHSIG unavailable; orphans are left to lease expiry")
    signal.signal(signal.SIGUSR1, _on_cancel_signal)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the server, which stops us
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    ctx = build_context(Settings.model_validate(settings_data))
    load_all()
    heartbeat = Heartbeat(ctx)
    while True:
        try:
            msg = conn.recv()
        except EOFError:
            break
        if msg[0] == "stop":
            break
        claim: queue.Claim | None = msg[1]
        while claim is not None:
            nxt = run_step(ctx, claim, heartbeat, next_owner=f"{lease_prefix}{uuid.uuid4().hex[:12]}")
            conn.send(("done", claim.step_id, nxt))
            claim = nxt
    heartbeat.stop()
