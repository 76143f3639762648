"""Probe media files: ffprobe-compatible JSON, and the Tencent VOD ``MetaData`` made from it.

    info = probe(Path("/data/in/clip.mp4"), timeout=60)
    info["format"]["duration"]              # "10.000000", as ffprobe prints it
    meta = metadata_summary(info, size=stat.st_size, md5=digest)
    meta["Width"], meta["Rotate"]           # 1280, 90

No ffprobe binary ships with imageio-ffmpeg, so the probe uses PyAV (see
:mod:`openvod.media._avprobe` for the output and its few differences from ffprobe).

Isolation: PyAV runs in a child process (``python -m openvod.media._avprobe PATH``), not in a
thread or a ``multiprocessing`` pool. libav parses untrusted bytes; a crafted or corrupt file can
hang it (a thread cannot be stopped) or crash it (a segfault would take the server down, or break
a pool). A plain child in its own process group can be killed and reaped on timeout like FFmpeg,
a crash is just an exit status, and the server process never loads libav at all. The cost is an
interpreter start per probe (~0.2-0.5 s), small beside an upload.

Bounds (:class:`~openvod.media.inputs.MediaLimits`): the worker opens only single-file formats
(an HLS playlist or ffconcat list naming other files is refused with
``InvalidParameter.UnsupportedContainer`` before anything it names is read), refuses frames above
``max_pixels`` before decoding one (``InvalidParameter.FrameTooLarge``), and runs under
``RLIMIT_AS`` = ``probe_memory_mb`` and ``RLIMIT_CPU`` = the timeout in CPU seconds
(``LimitExceeded.MediaResources`` when either is hit).
"""

from __future__ import annotations

import json
import math
import signal
import subprocess
import sys
from fractions import Fraction
from pathlib import Path
from typing import Any

from openvod.errors import InvalidParameter, ProbeFailed
from openvod.media.inputs import LIMIT_EXCEEDED_CODE, MediaLimits
from openvod.media.process import Rlimits, spawn, stop_group

__all__ = ["EXIT_OUT_OF_MEMORY", "EXIT_REJECTED", "PROBE_TIMEOUT", "metadata_summary", "probe"]

PROBE_TIMEOUT = 60.0
"""Default seconds a probe may take before its worker is killed."""

EXIT_REJECTED = 3
"""Worker exit status for input it rejects; it then prints ``{"error": message, "code": code}``."""

EXIT_OUT_OF_MEMORY = 4
"""Worker exit status when it ran out of its address space (``probe_memory_mb``)."""

_STDERR_TAIL_CHARS = 2000


def _worker_argv(path: Path, limits: MediaLimits, own_output: bool) -> list[str]:
    flags = ["--own-output"] if own_output else []
    return [sys.executable, "-m", "openvod.media._avprobe", "--max-pixels", str(limits.max_pixels), *flags,
            "--", str(path)]


def _exit_description(returncode: int) -> str:
    if returncode < 0:
        try:
            return f"killed by {signal.Signals(-returncode).name}"
        except ValueError:
            return f"killed by signal {-returncode}"
    return f"exit status {returncode}"


def probe(
    path: Path, *, timeout: float = PROBE_TIMEOUT, limits: MediaLimits | None = None, own_output: bool = False
) -> dict[str, Any]:
    """``{"streams": [...], "format": {...}}`` for ``path``, as ``ffprobe -show_streams -show_format``.

    Raises :class:`~openvod.errors.ProbeFailed` whose message starts with ``"not a media file"``
    or ``"truncated or corrupt"`` for unusable input, and names the file and the reason; also when
    the file is missing, the probe takes longer than ``timeout`` seconds (the worker is killed and
    reaped), or libav crashes on it. Its code is ``InvalidParameter.UnsupportedContainer`` for a
    reference format (HLS, DASH, ffconcat, image sequence...), ``InvalidParameter.FrameTooLarge``
    above ``limits.max_pixels``, ``LimitExceeded.MediaResources`` when the worker hits its memory
    or CPU limit. ``own_output`` admits an HLS playlist OpenVOD wrote (its segments beside it).
    """
    if timeout <= 0:
        raise InvalidParameter(f"probe timeout must be positive, got {timeout}")
    if not path.is_file():
        raise ProbeFailed(f"cannot probe {path}: no such file")
    limits = limits or MediaLimits()
    cpu_seconds = math.ceil(timeout) + 1
    rlimits = Rlimits(memory_bytes=limits.probe_memory_bytes, cpu_seconds=cpu_seconds)
    with spawn(_worker_argv(path, limits, own_output), limits=rlimits) as proc:
        try:
            stdout, stderr = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired as exc:
            reason = f"probing took longer than {timeout:g}s"
            raise ProbeFailed(f"truncated or corrupt: {path} ({reason})") from exc
        finally:
            stop_group(proc)  # kills and reaps a worker still running; a no-op once it has exited
    if proc.returncode in (0, EXIT_REJECTED):
        try:
            result = json.loads(stdout)
        except ValueError as exc:
            raise ProbeFailed(f"cannot probe {path}: the probe worker printed invalid JSON") from exc
        if proc.returncode == EXIT_REJECTED:
            raise ProbeFailed(str(result["error"]), code=result.get("code"))
        if not isinstance(result, dict):
            raise ProbeFailed(f"cannot probe {path}: the probe worker printed {type(result).__name__}")
        return result
    if proc.returncode == EXIT_OUT_OF_MEMORY:
        raise ProbeFailed(
            f"cannot probe {path}: it needs more than the probe's {limits.probe_memory_mb} MB "
            "(setting probe_memory_mb)",
            code=LIMIT_EXCEEDED_CODE,
        )
    if proc.returncode == -signal.SIGXCPU:  # only RLIMIT_CPU sends it
        raise ProbeFailed(
            f"cannot probe {path}: it needs more than {cpu_seconds} CPU seconds (setting probe_timeout)",
            code=LIMIT_EXCEEDED_CODE,
        )
    tail = stderr.decode("utf-8", errors="replace")[-_STDERR_TAIL_CHARS:].strip()
    raise ProbeFailed(
        f"truncated or corrupt: {path} (the probe worker died, {_exit_description(proc.returncode)})"
        + (f"; stderr: {tail}" if tail else "")
    )


def _float(value: Any) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return 0.0


def _int(value: Any) -> int:
    return int(_float(value))


def _fps(stream: dict[str, Any]) -> int:
    for key in ("avg_frame_rate", "r_frame_rate"):
        num, _, den = str(stream.get(key, "0/0")).partition("/")
        if _int(num) > 0 and _int(den) > 0:
            return round(Fraction(_int(num), _int(den)))
    return 0


def _rotate(stream: dict[str, Any]) -> int:
    """Clockwise degrees a player turns the picture (the legacy ``rotate`` tag), 0/90/180/270.

    The Display Matrix ``rotation`` is counter-clockwise (ffprobe shows -90 for a phone's portrait
    video, whose legacy tag was 90), hence the negation; odd angles snap to the nearest quarter turn.
    """
    for side_data in stream.get("side_data_list", []):
        if side_data.get("side_data_type") == "Display Matrix":
            return round(-_float(side_data.get("rotation")) / 90) * 90 % 360
    return round(_float(stream.get("tags", {}).get("rotate")) / 90) * 90 % 360


def _duration(stream: dict[str, Any], fallback: float) -> float:
    return _float(stream.get("duration")) or fallback


def metadata_summary(probe_json: dict[str, Any], *, size: int, md5: str | None) -> dict[str, Any]:
    """Tencent VOD's ``MediaMetaData`` for a file, from :func:`probe`'s output.

    Width/Height are the largest *stored* video dimensions (before any display rotation, which is
    reported separately as ``Rotate``). ``Bitrate`` is the sum of the video and audio stream
    bitrates, per Tencent's definition, or the container's bitrate when streams do not state one.
    Cover art (an ``attached_pic`` video stream) is not video: an MP3 with a cover has no
    ``VideoStreamSet`` entries and Width 0. ``Md5`` is ``""`` when not computed.
    """
    fmt: dict[str, Any] = probe_json.get("format", {})
    streams: list[dict[str, Any]] = probe_json.get("streams", [])
    duration = _float(fmt.get("duration")) or max((_float(s.get("duration")) for s in streams), default=0.0)
    videos = [
        s
        for s in streams
        if s.get("codec_type") == "video" and not s.get("disposition", {}).get("attached_pic")
    ]
    audios = [s for s in streams if s.get("codec_type") == "audio"]
    video_set = []
    for stream in videos:
        item: dict[str, Any] = {
            "Bitrate": _int(stream.get("bit_rate")),
            "Height": _int(stream.get("height")),
            "Width": _int(stream.get("width")),
            "Codec": stream.get("codec_name", ""),
            "Fps": _fps(stream),
        }
        if stream.get("codec_name") == "hevc" and stream.get("codec_tag_string"):
            item["CodecTag"] = stream["codec_tag_string"]  # Tencent sets it for HEVC only
        video_set.append(item)
    audio_set = [
        {
            "Bitrate": _int(stream.get("bit_rate")),
            "SamplingRate": _int(stream.get("sample_rate")),
            "Codec": stream.get("codec_name", ""),
            "Channel": _int(stream.get("channels")),
        }
        for stream in audios
    ]
    stream_bitrate = sum(item["Bitrate"] for item in [*video_set, *audio_set])
    return {
        "Size": size,
        "Container": fmt.get("format_name", ""),
        "Bitrate": stream_bitrate or _int(fmt.get("bit_rate")),
        "Height": max((item["Height"] for item in video_set), default=0),
        "Width": max((item["Width"] for item in video_set), default=0),
        "Duration": duration,
        "Rotate": _rotate(videos[0]) if videos else 0,
        "VideoStreamSet": video_set,
        "AudioStreamSet": audio_set,
        "VideoDuration": max((_duration(s, duration) for s in videos), default=0.0),
        "AudioDuration": max((_duration(s, duration) for s in audios), default=0.0),
        "Md5": md5 or "",
    }
