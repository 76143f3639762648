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

__all__ = ["frame_rgb", "integrated_loudness", "make_audio", "make_clip", "make_flat_clip", "make_garbage",
           "make_image", "make_leveled_clip", "truncate"]

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


def make_flat_clip(path: Path, *, seconds: float = 2, width: int = 320, height: int = 240,
                   color: str = "0x204060", audio: bool = True) -> Path:
    """A video of one flat ``color`` (``0xRRGGBB``), H.264 (+ AAC ``sine`` when ``audio``): a
    background whose every pixel is known, for checking what a filter drew on it."""
    args = ["-f", "lavfi", "-i", f"color=c={color}:size={width}x{height}:rate=25:duration={seconds}"]
    if audio:
        args += ["-f", "lavfi", "-i", f"sine=frequency=1000:sample_rate=44100:duration={seconds}",
                 "-c:a", "aac", "-b:a", "64k"]
    _ffmpeg([*args, "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", str(path)])
    return path


def make_image(path: Path, *, width: int = 64, height: int = 32, color: str = "0xFF0000") -> Path:
    """A one-colour still image, its format from the suffix (``.png``, ``.jpg``)."""
    _ffmpeg(["-f", "lavfi", "-i", f"color=c={color}:size={width}x{height}", "-frames:v", "1", "-update", "1",
             str(path)])
    return path


def frame_rgb(path: Path | str, at: float, width: int, height: int) -> bytes:
    """The frame of ``path`` shown at ``at`` seconds, as ``width`` x ``height`` RGB24 bytes (row
    by row). Raises when the decoded frame is not that size."""
    argv = [imageio_ffmpeg.get_ffmpeg_exe(), "-nostdin", "-hide_banner", "-loglevel", "error", "-ss", f"{at:g}",
            "-i", str(path), "-frames:v", "1", "-f", "rawvideo", "-pix_fmt", "rgb24", "-"]
    result = subprocess.run(argv, capture_output=True, timeout=GENERATE_TIMEOUT, check=True)
    if len(result.stdout) != width * height * 3:
        raise RuntimeError(f"{path} at {at}s decoded to {len(result.stdout)} bytes, not {width}x{height} RGB")
    return result.stdout


_SOUNDS = {
    # A 1 kHz sine at full scale measures -3 LUFS per channel (BS.1770's calibration); FFmpeg's is at 1/8.
    "tone": "sine=frequency=1000:sample_rate=48000:duration={s}",
    "noise": "anoisesrc=color=pink:sample_rate=44100:amplitude=0.9:duration={s},aformat=channel_layouts=stereo",
    "silence": "anullsrc=r=48000:cl=stereo:d={s}",
}


def make_leveled_clip(path: Path, *, seconds: float = 6, sound: str = "tone", gain_db: float = 0.0,
                      width: int = 320, height: int = 240) -> Path:
    """A ``testsrc2`` clip whose AAC audio is ``sound`` (``tone``: 1 kHz at -21 LUFS before
    ``gain_db``; ``noise``: loud pink noise, about -16 LUFS; ``silence``) turned by ``gain_db``."""
    _ffmpeg(["-f", "lavfi", "-i", f"testsrc2=size={width}x{height}:rate=25:duration={seconds}",
             "-f", "lavfi", "-i", f"{_SOUNDS[sound].format(s=seconds)},volume={gain_db}dB",
             "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "aac", "-b:a", "128k",
             "-shortest", str(path)])
    return path


def integrated_loudness(path: Path) -> float:
    """The integrated loudness (LUFS) of ``path``'s first audio stream, by FFmpeg's ``ebur128``
    filter (not ``loudnorm``, which OpenVOD's code under test uses); -70 (its gate) for silence."""
    argv = [imageio_ffmpeg.get_ffmpeg_exe(), "-nostdin", "-hide_banner", "-nostats", "-i", str(path),
            "-map", "0:a:0", "-af", "ebur128=framelog=verbose", "-f", "null", "-"]
    result = subprocess.run(argv, capture_output=True, timeout=GENERATE_TIMEOUT, check=True)
    summary = result.stderr.decode(errors="replace").rsplit("Summary:", 1)[-1]
    value = summary.split("I:", 1)[1].split("LUFS", 1)[0].strip()
    return float(value)
