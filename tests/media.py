"""Generators of small test media, made with the pip-installed FFmpeg (imageio-ffmpeg).

Every generator takes the output path first, writes the file and returns the path. They run FFmpeg
with argument lists and a timeout, and use the ``ultrafast`` x264 preset so a whole test session
spends a few seconds, not minutes, making media. Default sizes are small where callers do not care.

    clip = make_clip(tmp_path / "a.mp4", seconds=2, width=320, height=240)
    audio = make_audio(tmp_path / "a.m4a", seconds=3)
    half = truncate(clip, tmp_path / "half.mp4", 0.5)
    junk = make_garbage(tmp_path / "junk.mp4", 64 * 1024)
"""

from __future__ import annotations

import random
import subprocess
from pathlib import Path

import imageio_ffmpeg

__all__ = ["make_audio", "make_clip", "make_garbage", "truncate"]

GENERATE_TIMEOUT = 120.0


def _ffmpeg(args: list[str]) -> None:
    argv = [imageio_ffmpeg.get_ffmpeg_exe(), "-nostdin", "-hide_banner", "-loglevel", "error", "-y", *args]
    result = subprocess.run(argv, capture_output=True, timeout=GENERATE_TIMEOUT, check=False)
    if result.returncode != 0:
        tail = result.stderr.decode(errors="replace")[-2000:]
        raise RuntimeError(f"test media generation failed ({result.returncode}): {argv}\n{tail}")


def make_clip(
    path: Path,
    *,
    seconds: float = 10,
    width: int = 1280,
    height: int = 720,
    fps: int = 25,
    vcodec: str = "libx264",
    audio: bool = True,
    pix_fmt: str = "yuv420p",
    rotate: int | None = None,
    vfr: bool = False,
    faststart: bool = False,
) -> Path:
    """A ``testsrc2`` video (``testsrc`` for odd sizes) (plus a 1 kHz ``sine`` mono AAC track when ``audio``).

    ``rotate`` is the clockwise turn a player must apply, i.e. the legacy ``rotate`` tag phones
    write; it is stored as a display matrix (``-display_rotation`` takes counter-clockwise degrees,
    hence the sign flip). ``vfr`` drops two of every five frames in the second half and keeps the
    gaps in the timestamps, so the average frame rate is below ``fps``. ``faststart`` puts the
    ``moov`` box before the media data (matters for :func:`truncate`).
    """
    args: list[str] = []
    if rotate is not None:
        # -noautorotate: otherwise FFmpeg turns the pixels upright and drops the matrix.
        args += ["-noautorotate", "-display_rotation", str(-rotate)]
    # testsrc2 renders yuv420p and so rounds odd sizes down; testsrc renders rgb24 at any size.
    source = "testsrc" if width % 2 or height % 2 else "testsrc2"
    args += ["-f", "lavfi", "-i", f"{source}=size={width}x{height}:rate={fps}:duration={seconds}"]
    if audio:
        args += ["-f", "lavfi", "-i", f"sine=frequency=1000:sample_rate=44100:duration={seconds}"]
    if vfr:
        half = int(seconds * fps / 2)
        args += ["-vf", f"select='lt(n\\,{half})+lt(mod(n\\,5)\\,3)'", "-fps_mode", "vfr"]
    args += ["-c:v", vcodec, "-pix_fmt", pix_fmt]
    if vcodec == "libx264":
        args += ["-preset", "ultrafast"]
    if audio:
        args += ["-c:a", "aac", "-b:a", "64k"]
    if faststart:
        args += ["-movflags", "+faststart"]
    args.append(str(path))
    _ffmpeg(args)
    return path


def make_audio(path: Path, seconds: float = 3, *, codec: str = "aac") -> Path:
    """An audio-only file: a 440 Hz ``sine`` tone, 44.1 kHz mono, container from the suffix."""
    _ffmpeg(
        [
            "-f", "lavfi", "-i", f"sine=frequency=440:sample_rate=44100:duration={seconds}",
            "-c:a", codec, "-b:a", "64k", str(path),
        ]
    )  # fmt: skip
    return path


def truncate(src: Path, dst: Path, fraction: float) -> Path:
    """Copy the first ``fraction`` of ``src``'s bytes to ``dst`` (an interrupted upload)."""
    if not 0 <= fraction <= 1:
        raise ValueError(f"fraction must be within [0, 1], got {fraction}")
    data = src.read_bytes()
    dst.write_bytes(data[: int(len(data) * fraction)])
    return dst


def make_garbage(path: Path, size: int = 64 * 1024, *, seed: int = 1234) -> Path:
    """``size`` deterministic pseudo-random bytes: something no demuxer should accept."""
    path.write_bytes(random.Random(seed).randbytes(size))
    return path
