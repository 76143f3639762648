"""Run FFmpeg: an argument list in, progress out through a callback, failures with their evidence.

This module knows FFmpeg and nothing of jobs, tasks or storage. Callers build the argument list
(never a shell string) and pass a timeout; progress arrives as a percentage through an injected
callback, and every failure carries what an operator needs to act on it::

    run_ffmpeg(
        ["-i", str(src), "-c:v", "libx264", str(dst)],
        timeout=3600,
        duration=probe_duration,
        on_progress=lambda pct: task.report(pct),
        cancel=stop_event,
    )

Raises :class:`~openvod.errors.FFmpegFailed` (argv, exit code, stderr tail),
:class:`~openvod.errors.FFmpegTimeout`, or :class:`~openvod.errors.Cancelled`.

Inputs that come from users are written with :func:`openvod.media.inputs.input_args` (single-file
formats, ``file`` protocol, a pixel cap); ``limits`` sets that cap and the child's address space.
"""

from __future__ import annotations

import logging
import shlex
import shutil
import subprocess
import threading
import time
from collections import deque
from collections.abc import Callable
from enum import Enum
from typing import IO

import imageio_ffmpeg

from openvod.errors import Cancelled, FFmpegFailed, FFmpegTimeout, InvalidParameter, MediaError
from openvod.media.inputs import MediaLimits, apply_limits
from openvod.media.process import STOP_GRACE, Rlimits, spawn, stop_group

__all__ = [
    "PROGRESS_INTERVAL",
    "STDERR_TAIL_LINES",
    "Cancelled",
    "ProgressCallback",
    "ffmpeg_path",
    "run_ffmpeg",
]

log = logging.getLogger(__name__)

ProgressCallback = Callable[[float], None]

STDERR_TAIL_LINES = 20
"""How many of FFmpeg's last stderr lines a failure keeps."""

PROGRESS_INTERVAL = 1.0
"""Minimum seconds between two progress callbacks (the final 100 is always reported)."""

_CANCEL_POLL = 0.1  # how quickly a set cancel event is noticed
CANCEL_GRACE = 0.3  # seconds a cancelled FFmpeg gets between SIGTERM and SIGKILL
_LINE_LIMIT = 8192  # a "line" longer than this is split, so a newline-free stream cannot grow memory
# -nostats keeps the stderr tail for diagnostics; progress comes from -progress on stdout instead.
_GLOBAL_ARGS = ["-nostdin", "-hide_banner", "-y", "-nostats", "-progress", "pipe:1"]


def ffmpeg_path(configured: str | None = None) -> str:
    """The FFmpeg executable to run.

    ``configured`` (a path, or a name looked up on ``PATH``) wins when it names an executable file;
    otherwise the build bundled with ``imageio-ffmpeg`` is used, so ``pip install`` is enough.
    """
    if configured:
        found = shutil.which(configured)
        if found is not None:
            return found
        log.warning("configured ffmpeg %r is not an executable file; using the bundled build", configured)
    return str(imageio_ffmpeg.get_ffmpeg_exe())


class _ProgressParser:
    """Turns ``-progress`` key=value lines into a monotonic, clamped, rate-limited percentage."""

    def __init__(
        self,
        duration: float | None,
        on_progress: ProgressCallback | None,
        *,
        interval: float = PROGRESS_INTERVAL,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._duration = duration if duration is not None and duration > 0 else None
        self._on_progress = on_progress
        self._interval = interval
        self._clock = clock
        self._out_us: int | None = None
        self._reported = -1.0
        self._reported_at: float | None = None
        self.error: BaseException | None = None

    def feed(self, line: str) -> None:
        key, _, value = line.strip().partition("=")
        if key == "out_time_us":
            try:
                self._out_us = int(value)
            except ValueError:
                pass  # "N/A" before the first frame is out
        elif key == "progress":
            # "progress=end" is printed even when FFmpeg fails, so 100 waits for a zero exit.
            if self._duration is not None and self._out_us is not None:
                percent = self._out_us / 1e6 / self._duration * 100
                self._report(min(100.0, max(0.0, percent)), force=False)

    def finish(self) -> None:
        """Report 100 unless it has been reported already."""
        self._report(100.0, force=True)

    def _report(self, percent: float, *, force: bool) -> None:
        if self._on_progress is None or self.error is not None or percent <= self._reported:
            return
        now = self._clock()
        if not force and self._reported_at is not None and now - self._reported_at < self._interval:
            return
        self._reported, self._reported_at = percent, now
        try:
            self._on_progress(percent)
        except Exception as exc:  # noqa: BLE001 - kept and re-raised in the caller's thread
            self.error = exc


def _pump_progress(stream: IO[bytes], parser: _ProgressParser) -> None:
    for raw in iter(lambda: stream.readline(_LINE_LIMIT), b""):
        parser.feed(raw.decode("utf-8", errors="replace"))


def _drain_stderr(stream: IO[bytes], tail: deque[str]) -> None:
    # Always read to EOF: a full stderr pipe would block FFmpeg forever.
    for raw in iter(lambda: stream.readline(_LINE_LIMIT), b""):
        line = raw.decode("utf-8", errors="replace").rstrip()
        if line:
            tail.append(line)


class _Outcome(Enum):
    EXITED = "exited"
    TIMED_OUT = "timed out"
    CANCELLED = "cancelled"


def _wait(proc: subprocess.Popen[bytes], deadline: float, cancel: threading.Event | None) -> _Outcome:
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return _Outcome.TIMED_OUT
        if cancel is not None and cancel.is_set():
            return _Outcome.CANCELLED
        # A threading.Event cannot be waited on together with a process, so a cancel is polled.
        step = remaining if cancel is None else min(remaining, _CANCEL_POLL)
        try:
            proc.wait(timeout=step)
        except subprocess.TimeoutExpired:
            continue
        return _Outcome.EXITED


def _show(argv: list[str]) -> str:
    return shlex.join(argv)


def run_ffmpeg(
    args: list[str],
    *,
    timeout: float,
    ffmpeg: str | None = None,
    on_progress: ProgressCallback | None = None,
    duration: float | None = None,
    cancel: threading.Event | None = None,
    limits: MediaLimits | None = None,
    stderr_lines: int = STDERR_TAIL_LINES,
) -> str:
    """Run ``ffmpeg <global options> *args`` to completion; return the last ``stderr_lines``
    lines of its stderr (what filters that report at the end print there, e.g. ``loudnorm``'s
    JSON: see :mod:`openvod.media.loudness`).

    ``args`` are everything after the executable (inputs, filters, outputs). ``ffmpeg`` is the
    executable (see :func:`ffmpeg_path`; the bundled build when ``None``). ``duration`` is the
    expected output duration in seconds; with it ``on_progress`` receives percentages in 0-100,
    non-decreasing, at most every :data:`PROGRESS_INTERVAL` seconds, and always a final 100 on
    success. The callback runs on a reader thread (the final 100 on the caller's thread); if it
    raises, it is not called again and its exception is re-raised here once FFmpeg has finished.

    On ``timeout`` seconds or a set ``cancel`` event the FFmpeg process group gets SIGTERM, then
    SIGKILL after a grace period, and is reaped before :class:`~openvod.errors.FFmpegTimeout` or
    :class:`Cancelled` is raised. A non-zero exit raises :class:`~openvod.errors.FFmpegFailed`
    with the argv, exit code and the last :data:`STDERR_TAIL_LINES` lines of stderr.

    ``limits`` (default :class:`~openvod.media.inputs.MediaLimits` ``()``) caps FFmpeg's address
    space (``RLIMIT_AS``) and sets the ``-max_pixels`` of inputs made by ``input_args``.
    """
    if not args:
        raise InvalidParameter("run_ffmpeg needs arguments (inputs and outputs)")
    if timeout <= 0:
        raise InvalidParameter(f"ffmpeg timeout must be positive, got {timeout}")
    limits = limits or MediaLimits()
    argv = [ffmpeg or ffmpeg_path(), *_GLOBAL_ARGS, *apply_limits(args, limits)]
    if cancel is not None and cancel.is_set():
        raise Cancelled(f"ffmpeg was cancelled before it started: {_show(argv)}")

    started = time.monotonic()
    try:
        proc = spawn(argv, limits=Rlimits(memory_bytes=limits.ffmpeg_memory_bytes))
    except OSError as exc:
        raise MediaError(f"cannot start ffmpeg {argv[0]!r}: {exc}") from exc
    assert proc.stdout is not None and proc.stderr is not None  # both piped by spawn()
    tail: deque[str] = deque(maxlen=max(STDERR_TAIL_LINES, stderr_lines))
    parser = _ProgressParser(duration, on_progress)
    readers = [
        threading.Thread(target=_pump_progress, args=(proc.stdout, parser), daemon=True),
        threading.Thread(target=_drain_stderr, args=(proc.stderr, tail), daemon=True),
    ]
    for reader in readers:
        reader.start()
    outcome = _Outcome.EXITED
    try:
        outcome = _wait(proc, started + timeout, cancel)
    finally:
        # Also reached on KeyboardInterrupt and the like: never leave an encoder running. A
        # cancelled run's output is thrown away, so it gets little grace: x264 flushing its
        # lookahead on SIGTERM can take seconds on a busy machine, and a cancel must land fast.
        stop_group(proc, grace=CANCEL_GRACE if outcome is _Outcome.CANCELLED else STOP_GRACE)
        for reader in readers:
            reader.join(timeout=STOP_GRACE)
        proc.stdout.close()
        proc.stderr.close()

    elapsed = time.monotonic() - started
    stderr_tail = "\n".join(list(tail)[-STDERR_TAIL_LINES:])
    if outcome is _Outcome.CANCELLED:
        raise Cancelled(f"ffmpeg was cancelled after {elapsed:.1f}s: {_show(argv)}")
    if outcome is _Outcome.TIMED_OUT:
        raise FFmpegTimeout(
            f"ffmpeg did not finish within {timeout:g}s and was killed: {_show(argv)}\n"
            f"last stderr lines:\n{stderr_tail}"
        )
    if proc.returncode != 0:
        reason = tail[-1] if tail else "no output on stderr"
        raise FFmpegFailed(
            f"ffmpeg exited with code {proc.returncode}: {reason}",
            argv=argv,
            returncode=proc.returncode,
            stderr_tail=stderr_tail,
        )
    if parser.error is not None:
        raise parser.error
    parser.finish()
    if parser.error is not None:
        raise parser.error
    return "\n".join(list(tail)[-stderr_lines:]) if stderr_lines > 0 else ""
