from __future__ import annotations

import os
import stat
import threading
import time
import uuid
from pathlib import Path

import imageio_ffmpeg
import pytest

from openvod.errors import FFmpegFailed, FFmpegTimeout, InvalidParameter, MediaError
from openvod.media import Cancelled, ffmpeg_path, run_ffmpeg
from openvod.media.ffmpeg import _ProgressParser

# An endless, real-time source: FFmpeg runs until it is stopped.
ENDLESS = ["-re", "-f", "lavfi", "-i", "testsrc2=size=160x120:rate=25"]


def _pids_with(marker: str) -> list[int]:
    """Live processes whose command line contains ``marker`` (zombies have an empty cmdline)."""
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if marker.encode() in (entry / "cmdline").read_bytes():
                    pids.append(int(entry.name))
            except OSError:
                continue  # exited while we looked
    return pids


def _running(pid: int) -> bool:
    """True if ``pid`` exists and is not a zombie."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def _null_output(marker: str) -> list[str]:
    # The marker only tags the command line so the test can find the process in /proc.
    return ["-metadata", f"comment={marker}", "-f", "null", "-"]


# --- ffmpeg_path ----------------------------------------------------------------------------------


def test_ffmpeg_path_defaults_to_bundled_build() -> None:
    assert ffmpeg_path() == imageio_ffmpeg.get_ffmpeg_exe()
    assert os.access(ffmpeg_path(), os.X_OK)


def test_ffmpeg_path_prefers_configured_executable(tmp_path: Path) -> None:
    exe = tmp_path / "ffmpeg"
    exe.write_text("#!/bin/sh\nexit 0\n")
    exe.chmod(exe.stat().st_mode | stat.S_IXUSR)

    assert ffmpeg_path(str(exe)) == str(exe)


def test_ffmpeg_path_falls_back_when_configured_is_unusable(tmp_path: Path) -> None:
    not_executable = tmp_path / "ffmpeg"
    not_executable.write_text("")

    assert ffmpeg_path(str(tmp_path / "missing")) == imageio_ffmpeg.get_ffmpeg_exe()
    assert ffmpeg_path(str(not_executable)) == imageio_ffmpeg.get_ffmpeg_exe()


# --- success and progress -------------------------------------------------------------------------


def test_progress_is_monotonic_rate_limited_and_reaches_100(small_clip: Path, tmp_path: Path) -> None:
    out = tmp_path / "out.mp4"
    reports: list[tuple[float, float]] = []

    # -re paces reading at real time, so the 2 s clip yields several progress blocks.
    run_ffmpeg(
        ["-re", "-i", str(small_clip), "-c:v", "libx264", "-preset", "ultrafast", "-c:a", "aac", str(out)],
        timeout=30,
        duration=2.0,
        on_progress=lambda pct: reports.append((time.monotonic(), pct)),
    )

    values = [pct for _, pct in reports]
    assert out.stat().st_size > 0
    assert len(values) >= 2, values
    assert values == sorted(values) and all(0 <= v <= 100 for v in values)
    assert values[-1] == 100
    gaps = [b - a for (a, _), (b, _) in zip(reports[:-2], reports[1:-1], strict=True)]
    assert all(gap >= 0.9 for gap in gaps), gaps  # at most ~once a second (the final 100 is exempt)


def test_without_duration_only_100_is_reported(small_clip: Path, tmp_path: Path) -> None:
    values: list[float] = []

    run_ffmpeg(["-i", str(small_clip), "-f", "null", "-"], timeout=30, on_progress=values.append)

    assert values == [100.0]


def test_callback_exception_is_reraised(small_clip: Path) -> None:
    def broken(pct: float) -> None:
        raise RuntimeError("progress sink is down")

    with pytest.raises(RuntimeError, match="progress sink is down"):
        run_ffmpeg(["-i", str(small_clip), "-f", "null", "-"], timeout=30, duration=2, on_progress=broken)


# --- failures -------------------------------------------------------------------------------------


def test_bad_argument_raises_with_argv_and_stderr_tail(small_clip: Path, tmp_path: Path) -> None:
    args = ["-i", str(small_clip), "-c:v", "no_such_encoder_xyz", str(tmp_path / "out.mp4")]

    with pytest.raises(FFmpegFailed) as exc:
        run_ffmpeg(args, timeout=30)

    err = exc.value
    assert err.returncode != 0
    assert err.argv[0] == imageio_ffmpeg.get_ffmpeg_exe()
    assert err.argv[-len(args) :] == args
    assert "-progress" in err.argv and "-nostdin" in err.argv
    assert "no_such_encoder_xyz" in err.stderr_tail
    assert len(err.stderr_tail.splitlines()) <= 20
    assert f"exited with code {err.returncode}" in err.message
    assert err.code == "FailedOperation.FFmpegFailed"


def test_missing_input_names_the_file(tmp_path: Path) -> None:
    missing = tmp_path / "nope.mp4"

    with pytest.raises(FFmpegFailed) as exc:
        run_ffmpeg(["-i", str(missing), "-f", "null", "-"], timeout=30)

    assert "nope.mp4" in exc.value.stderr_tail
    assert "No such file" in exc.value.stderr_tail


def test_unstartable_executable_is_a_media_error(tmp_path: Path) -> None:
    with pytest.raises(MediaError, match="cannot start ffmpeg"):
        run_ffmpeg(["-version"], timeout=10, ffmpeg=str(tmp_path / "no-ffmpeg-here"))


def test_invalid_parameters() -> None:
    with pytest.raises(InvalidParameter):
        run_ffmpeg([], timeout=10)
    with pytest.raises(InvalidParameter):
        run_ffmpeg(["-version"], timeout=0)


# --- timeout and cancel ---------------------------------------------------------------------------


def test_timeout_kills_and_reaps_ffmpeg() -> None:
    marker = f"openvod-timeout-{uuid.uuid4().hex}"
    seen: list[int] = []

    started = time.monotonic()
    with pytest.raises(FFmpegTimeout, match="did not finish within 1.5s") as exc:
        run_ffmpeg(
            [*ENDLESS, *_null_output(marker)],
            timeout=1.5,
            duration=3600,
            on_progress=lambda pct: seen.extend(_pids_with(marker)),
        )
    elapsed = time.monotonic() - started

    assert seen, "ffmpeg was never observed running"
    assert elapsed < 1.5 + 2 + 1  # timeout + grace + slack
    assert _pids_with(marker) == []
    assert not any(Path(f"/proc/{pid}").exists() for pid in seen)  # reaped: not even a zombie
    assert marker in exc.value.message  # argv


def test_sigterm_ignored_means_sigkill_for_the_whole_group(tmp_path: Path) -> None:
    # A stand-in "ffmpeg" that ignores SIGTERM and has a child of its own.
    pidfile = tmp_path / "pids"
    exe = tmp_path / "stubborn-ffmpeg"
    exe.write_text(f"#!/bin/sh\ntrap '' TERM\nsleep 300 &\necho $$ $! > {pidfile}\nwait\n")
    exe.chmod(0o755)

    started = time.monotonic()
    with pytest.raises(FFmpegTimeout):
        run_ffmpeg(["-i", "x"], timeout=0.5, ffmpeg=str(exe))
    elapsed = time.monotonic() - started

    assert 0.5 + 2 - 0.2 <= elapsed < 0.5 + 2 + 2  # waited out the grace, then killed
    leader, child = map(int, pidfile.read_text().split())
    assert not Path(f"/proc/{leader}").exists()
    deadline = time.monotonic() + 2  # the orphaned child is reaped by init, not by us
    while _running(child) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _running(child)


def test_cancel_stops_ffmpeg_within_two_seconds() -> None:
    marker = f"openvod-cancel-{uuid.uuid4().hex}"
    cancel = threading.Event()
    cancelled_at: list[float] = []

    def cancel_soon() -> None:
        time.sleep(0.5)
        cancelled_at.append(time.monotonic())
        cancel.set()

    threading.Thread(target=cancel_soon, daemon=True).start()
    with pytest.raises(Cancelled) as exc:
        run_ffmpeg([*ENDLESS, *_null_output(marker)], timeout=60, cancel=cancel)

    assert time.monotonic() - cancelled_at[0] < 2
    assert exc.value.code == "FailedOperation.Canceled"
    assert _pids_with(marker) == []


def test_cancel_set_before_start_runs_nothing() -> None:
    marker = f"openvod-precancel-{uuid.uuid4().hex}"
    cancel = threading.Event()
    cancel.set()

    with pytest.raises(Cancelled, match="before it started"):
        run_ffmpeg([*ENDLESS, *_null_output(marker)], timeout=60, cancel=cancel)


# --- the -progress parser -------------------------------------------------------------------------


class _Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def _block(parser: _ProgressParser, out_time_us: str) -> None:
    for line in (f"out_time_us={out_time_us}", "speed=1x", "progress=continue"):
        parser.feed(line + "\n")


def test_parser_clamps_ignores_na_and_rate_limits() -> None:
    clock, values = _Clock(), list[float]()
    parser = _ProgressParser(10.0, values.append, interval=1.0, clock=clock)

    _block(parser, "N/A")  # nothing known yet
    _block(parser, "-23220")  # FFmpeg can start slightly negative
    clock.now = 0.5
    _block(parser, "2000000")  # too soon after the last report
    clock.now = 1.5
    _block(parser, "2500000")
    clock.now = 2.0
    _block(parser, "3000000")  # too soon again
    clock.now = 3.0
    _block(parser, "1000000")  # going backwards is never reported
    clock.now = 4.0
    _block(parser, "99000000")  # past the expected duration
    parser.finish()

    assert values == [0.0, 25.0, 100.0]


def test_parser_progress_end_alone_does_not_report_100() -> None:
    values: list[float] = []
    parser = _ProgressParser(10.0, values.append)

    parser.feed("progress=end\n")  # also printed when FFmpeg fails

    assert values == []
