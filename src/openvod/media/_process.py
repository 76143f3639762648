"""Child processes in their own process group, and how to stop them for certain.

Both the FFmpeg runner and the probe worker start children here so a stop always reaches the whole
tree (``start_new_session=True`` makes the child a group leader; ``os.killpg`` signals the group)
and always ends with a reap, so no zombie or orphaned encoder outlives its caller.
"""

from __future__ import annotations

import os
import signal
import subprocess

__all__ = ["STOP_GRACE", "spawn", "stop_group"]

STOP_GRACE = 2.0
"""Seconds a child gets to exit after SIGTERM before the group is sent SIGKILL."""


def spawn(argv: list[str]) -> subprocess.Popen[bytes]:
    """Start ``argv`` (no shell) in a new session with stdin closed and stdout/stderr piped."""
    return subprocess.Popen(
        argv,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
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
