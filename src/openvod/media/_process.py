"""Child processes in their own process group, and how to stop them for certain.

Both the FFmpeg runner and the probe worker start children here so a stop always reaches the whole
tree (``start_new_session=True`` makes the child a group leader; ``os.killpg`` signals the group)
and always ends with a reap, so no zombie or orphaned encoder outlives its caller. On Linux the
child is also SIGKILLed when the thread that started it dies (``PR_SET_PDEATHSIG``): a worker
killed mid-job takes its FFmpeg along instead of leaving it to encode on.
"""

from __future__ import annotations

import ctypes
import os
import signal
import subprocess
from collections.abc import Callable

__all__ = ["STOP_GRACE", "spawn", "stop_group"]

STOP_GRACE = 2.0
"""Seconds a child gets to exit after SIGTERM before the group is sent SIGKILL."""
_PR_SET_PDEATHSIG = 1


def _pdeathsig() -> Callable[[], None] | None:
    # Resolved once, here: between fork and exec the child only makes the one foreign call.
    try:
        prctl = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None

    def die_with_parent() -> None:
        prctl(_PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0)

    return die_with_parent


_DIE_WITH_PARENT = _pdeathsig()


def spawn(argv: list[str]) -> subprocess.Popen[bytes]:
    """Start ``argv`` (no shell) in a new session with stdin closed and stdout/stderr piped."""
    return subprocess.Popen(
        argv,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
        preexec_fn=_DIE_WITH_PARENT,  # noqa: PLW1509 - one pre-resolved prctl call, nothing that locks
    )


def _signal_group(proc: subprocess.Popen[bytes], sig: signal.Signals) -> None:
    try:
        # The child leads its own session, so its pid is the group id.
        os.killpg(proc.pid, sig)
    except ProcessLookupError:
        pass  # the whole group has already exited


def stop_group(proc: subprocess.Popen[bytes], *, grace: float = STOP_GRACE) -> None:
    """SIGTERM the child's process group, SIGKILL it after ``grace`` seconds, then reap the child.

    Safe to call on a child that has already exited. Returns once the child is reaped.
    """
    if proc.poll() is not None:
        # Already reaped: its pid (the group id) may now belong to someone else, so signal nothing.
        return
    _signal_group(proc, signal.SIGTERM)
    try:
        proc.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        _signal_group(proc, signal.SIGKILL)
        proc.wait()
