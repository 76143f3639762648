"""Child processes in their own process group, and how to stop them for certain.

Both the FFmpeg runner and the probe worker start children here so a stop always reaches the whole
tree (``start_new_session=True`` makes the child a group leader; ``os.killpg`` signals the group)
and always ends with a reap, so no zombie or orphaned encoder outlives its caller. On Linux the
child is also SIGKILLed when the thread that started it dies (``PR_SET_PDEATHSIG``): a worker
killed mid-job takes its FFmpeg along instead of leaving it to encode on.

Resource limits (:class:`Rlimits`) are set here too, in the child between fork and exec, so they
hold from the first instruction of FFmpeg or the probe worker: ``RLIMIT_AS`` bounds its memory,
``RLIMIT_CPU`` its CPU seconds (SIGXCPU, then SIGKILL a second later), and ``RLIMIT_CORE`` 0 keeps
a crash on crafted input from writing a core file.

:func:`die_with_parent` is the same ``PR_SET_PDEATHSIG`` request made by a process for itself
(the executor's worker processes use it), so the Linux call lives in this one module.
"""

from __future__ import annotations

import ctypes
import os
import resource
import signal
import subprocess
from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["PR_SET_PDEATHSIG", "STOP_GRACE", "Rlimits", "die_with_parent", "spawn", "stop_group"]

STOP_GRACE = 2.0
"""Seconds a child gets to exit after SIGTERM before the group is sent SIGKILL."""
PR_SET_PDEATHSIG = 1
"""``prctl`` option: the signal the kernel sends a process when the thread that started it dies."""


@dataclass(frozen=True)
class Rlimits:
    """Limits for one child. ``None`` leaves a limit as inherited."""

    memory_bytes: int | None = None
    cpu_seconds: int | None = None

    def pairs(self) -> tuple[tuple[int, tuple[int, int]], ...]:
        """``(resource, (soft, hard))`` for ``resource.setrlimit``, core dumps always off."""
        out = [(resource.RLIMIT_CORE, (0, 0))]
        if self.memory_bytes is not None:
            out.append(_within(resource.RLIMIT_AS, self.memory_bytes, self.memory_bytes))
        if self.cpu_seconds is not None:
            # The soft limit sends SIGXCPU; the hard one, a second later, SIGKILL.
            out.append(_within(resource.RLIMIT_CPU, self.cpu_seconds, self.cpu_seconds + 1))
        return tuple(out)


def _within(which: int, soft: int, hard: int) -> tuple[int, tuple[int, int]]:
    # An unprivileged process cannot raise its hard limit: stay under the inherited one.
    inherited = resource.getrlimit(which)[1]
    if inherited != resource.RLIM_INFINITY:
        soft, hard = min(soft, inherited), min(hard, inherited)
    return which, (soft, hard)


def _resolve_prctl() -> Callable[..., int] | None:
    try:
        prctl: Callable[..., int] = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None
    return prctl


_PRCTL = _resolve_prctl()


def die_with_parent(sig: int = signal.SIGKILL) -> bool:
    """Ask Linux to send ``sig`` to this process when its parent exits. Returns False where
    ``prctl`` is unavailable (not Linux), so the caller can say what it falls back on."""
    if _PRCTL is None:
        return False
    return _PRCTL(PR_SET_PDEATHSIG, int(sig), 0, 0, 0) == 0


def _preexec(limits: Rlimits | None) -> Callable[[], None]:
    # Everything is resolved here, in the parent: between fork and exec the child only makes
    # the pre-resolved prctl call and setrlimit calls with pre-built tuples, nothing that locks.
    prctl, sigkill = _PRCTL, int(signal.SIGKILL)
    pairs = limits.pairs() if limits is not None else ()
    setrlimit = resource.setrlimit

    def child_setup() -> None:
        if prctl is not None:
            prctl(PR_SET_PDEATHSIG, sigkill, 0, 0, 0)
        for which, values in pairs:
            setrlimit(which, values)

    return child_setup


def spawn(argv: list[str], *, limits: Rlimits | None = None) -> subprocess.Popen[bytes]:
    """Start ``argv`` (no shell) in a new session with stdin closed and stdout/stderr piped,
    dying with its parent and under ``limits``."""
    return subprocess.Popen(
        argv,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
        preexec_fn=_preexec(limits),  # noqa: PLW1509 - pre-resolved prctl/setrlimit calls, nothing that locks
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
