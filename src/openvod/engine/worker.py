"""A worker process of the local executor: runs one step at a time, as told by the scheduler.

Protocol over a duplex pipe: the scheduler sends ``("run", step_id, owner)`` or ``("stop",)``;
the worker answers ``("done", step_id)`` after it has written the step's result to the database.
Cancellation arrives as SIGUSR1 (and, for remote cancels, through the heartbeat's view of the
database). The worker dies with its parent (PR_SET_PDEATHSIG), so a killed server leaves no
orphan working; its leases then expire and the steps are retried.
"""

from __future__ import annotations

import ctypes
import logging
import re
import shutil
import signal
import threading
from multiprocessing.connection import Connection
from typing import Any

from openvod.config import Settings
from openvod.engine import queue
from openvod.engine.jobs import JobContext, load_all
from openvod.errors import FFmpegFailed, FFmpegTimeout, OpenVODError, StorageError
from openvod.media.ffmpeg import Cancelled
from openvod.services.context import Context, build_context

__all__ = ["die_with_parent", "run_step", "worker_main"]

log = logging.getLogger("openvod.worker")

RETRYABLE = (StorageError, FFmpegTimeout)
PR_SET_PDEATHSIG = 1


def die_with_parent(sig: int = signal.SIGKILL) -> None:
    """Ask Linux to send ``sig`` to this process when its parent exits."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, int(sig), 0, 0, 0)
    except (OSError, AttributeError):
        log.warning("PR_SET_PDEATHSIG unavailable; orphans are left to lease expiry")


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


def run_step(ctx: Context, step_id: int, owner: str) -> None:
    """Run one leased step to its end and record the outcome (never raises for job errors)."""
    global _current_cancel
    from openvod.db.models import TaskStep

    settings = ctx.settings
    with ctx.db.session() as s:
        st = s.get(TaskStep, step_id)
        if st is None or st.lease_owner != owner:
            return
        kind, task_id, app_id, data, attempt = st.kind, st.task_id, st.app_id, dict(st.input), st.attempts
    cancel = threading.Event()
    _current_cancel = cancel
    stop_hb = threading.Event()

    def heartbeat() -> None:
        while not stop_hb.wait(settings.heartbeat_seconds):
            try:
                ours, cancel_requested = queue.renew(ctx.db, step_id, owner, settings.lease_seconds)
            except Exception:  # a DB hiccup: keep going, the lease has slack
                log.exception("heartbeat for step %s failed", step_id)
                continue
            if not ours or cancel_requested:
                cancel.set()

    hb = threading.Thread(target=heartbeat, name=f"heartbeat-{step_id}", daemon=True)
    hb.start()
    workdir = settings.data_dir / "work" / f"{step_id}-{attempt}"
    workdir.mkdir(parents=True, exist_ok=True)
    job = JobContext(ctx=ctx, app_id=app_id, task_id=task_id, step_id=step_id, input=data, cancel=cancel,
                     progress=lambda p: queue.set_progress(ctx.db, step_id, owner, p), workdir=workdir,
                     timeout=settings.job_timeout)
    try:
        jobs = load_all()
        if kind not in jobs:
            raise OpenVODError(f"no job type {kind!r} in this worker", code="InternalError.UnknownJob")
        output = jobs[kind](job)
    except Cancelled as exc:
        queue.fail_step(ctx.db, step_id, owner, code=exc.code, message="the task was cancelled", retryable=False,
                        max_attempts=settings.max_attempts)
    except OpenVODError as exc:
        detail, message = None, exc.message
        if isinstance(exc, FFmpegFailed):
            # Operators get argv and the stderr tail; users get FFmpeg's last word, without paths.
            detail = f"argv: {' '.join(exc.argv)}\nexit code: {exc.returncode}\n{exc.stderr_tail}"
            last = (exc.stderr_tail.strip().splitlines() or ["no error output"])[-1]
            message = f"FFmpeg could not process the input: {last}"
        queue.fail_step(ctx.db, step_id, owner, code=exc.code, message=_scrub(message, ctx, app_id), detail=detail,
                        retryable=isinstance(exc, RETRYABLE), max_attempts=settings.max_attempts)
    except Exception as exc:  # a bug in a job: fail the step with a clean message, keep the worker
        log.exception("step %s (%s) crashed", step_id, kind)
        queue.fail_step(ctx.db, step_id, owner, code="InternalError.Job",
                        message=f"the {kind} job failed unexpectedly ({type(exc).__name__}); see the server log",
                        retryable=True, max_attempts=settings.max_attempts)
    else:
        queue.finish_step(ctx.db, step_id, owner, output)
    finally:
        stop_hb.set()
        hb.join(timeout=5)
        _current_cancel = None
        shutil.rmtree(workdir, ignore_errors=True)


def worker_main(conn: Connection, settings_data: dict[str, Any]) -> None:
    """Entry point of a worker process."""
    die_with_parent()
    signal.signal(signal.SIGUSR1, _on_cancel_signal)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the server, which stops us
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    ctx = build_context(Settings.model_validate(settings_data), migrate=False)
    load_all()
    while True:
        try:
            msg = conn.recv()
        except EOFError:
            return
        if msg[0] == "stop":
            return
        _, step_id, owner = msg
        run_step(ctx, step_id, owner)
        conn.send(("done", step_id))
