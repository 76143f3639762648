"""Chunk-parallel encoding plans: which transcodes are split into segments, and where. No I/O.

A transcode of a long source can be encoded as N video segments on any workers at once, its
audio once, and the pieces joined without re-encoding (``engine/jobs/chunked.py``). It is done
only where the join is, frame for frame, what one pass makes — decided from the probe stored at
upload (``media.probe`` JSON, ffprobe's shape)::

    plan = plan_chunks(probe_json, parse_params(preset.params), chunk_seconds=60)
    if plan is not None:
        for c in plan.chunks: ...        # frames [c.first, c.first + c.count), seek to c.seek

The conditions: one video stream (not cover art) at a constant frame rate (``r_frame_rate ==
avg_frame_rate``) that starts with the file, longer than ``chunk_seconds``; an MP4 or MKV output
encoding H.264 or H.265 at the source's frame rate. Chunk *i* starts at frame
``round(i * chunk_seconds * fps)``, so boundaries fall on frames, and the last runs to the end
(a tail shorter than :data:`MIN_TAIL` seconds joins the chunk before it).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from openvod.domain.presets import Container, TranscodeSpec, VideoCodec

__all__ = ["AUDIO_KIND", "CHUNK_KIND", "JOIN_KIND", "MIN_TAIL", "Chunk", "ChunkPlan", "chunk_prefix", "plan_chunks"]

CHUNK_KIND = "transcode_chunk"
AUDIO_KIND = "transcode_audio"
JOIN_KIND = "transcode_join"  # one of domain.tasks.JOIN_KINDS: its output is the task's

MIN_TAIL = 1.0
"""Seconds: a last chunk shorter than this (or than half a chunk) is encoded with the one before."""

_CONTAINERS = (Container.MP4, Container.MKV)
_CODECS = (VideoCodec.H264, VideoCodec.H265)


@dataclass(frozen=True)
class Chunk:
    index: int
    first: int  # the chunk's first frame, counted from the video's first
    count: int | None  # frames; None: to the end (the last chunk)
    seek: float | None  # seconds into the file to seek to (half a frame before ``first``); None: none


@dataclass(frozen=True)
class ChunkPlan:
    fps: Fraction
    duration: float  # of the video, in seconds
    chunks: tuple[Chunk, ...]
    audio: bool  # the source has audio and the preset keeps it: one step encodes it

    def durations(self) -> list[float | None]:
        """Each chunk's exact length in seconds (None for the last): where the join places the next."""
        return [float(c.count / self.fps) if c.count is not None else None for c in self.chunks]


def chunk_prefix(app_id: str, task_id: str) -> str:
    """The storage prefix (in the task's destination bucket) of a chunked task's intermediate
    files; nothing registers them as objects, and the join (or deleting the task) removes them."""
    return f"{app_id}/.tmp/chunks-{task_id}/"


def _rate(value: Any) -> Fraction | None:
    num, _, den = str(value or "").partition("/")
    try:
        rate = Fraction(int(num), int(den or 1))
    except (ValueError, ZeroDivisionError):
        return None
    return rate if rate > 0 else None


def _seconds(value: Any) -> float | None:
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        return None
    return seconds if math.isfinite(seconds) else None


def plan_chunks(probe: Mapping[str, Any], spec: TranscodeSpec, chunk_seconds: float) -> ChunkPlan | None:
    """How to encode the source ``probe`` describes in chunks of about ``chunk_seconds`` with
    ``spec``, or None when it should be one pass (off, too short, or the join would not be exact)."""
    v = spec.video
    if chunk_seconds <= 0 or spec.container not in _CONTAINERS or v is None or v.codec not in _CODECS:
        return None
    streams = probe.get("streams") or []
    videos = [s for s in streams
              if s.get("codec_type") == "video" and not (s.get("disposition") or {}).get("attached_pic")]
    if not videos:
        return None
    video, fmt = videos[0], probe.get("format") or {}
    fps = _rate(video.get("r_frame_rate"))
    if fps is None or fps != _rate(video.get("avg_frame_rate")):
        return None  # a variable frame rate: frame numbers are not times
    if v.fps is not None and not math.isclose(v.fps, float(fps), rel_tol=1e-9):
        return None  # the preset resamples the frame rate: the fps filter's choices span chunks
    # A video that starts later than the file (beyond half a frame) is placed by its offset in a
    # single pass; chunks start at 0. Rare; one pass keeps it exact.
    offset = (_seconds(video.get("start_time")) or 0.0) - (_seconds(fmt.get("start_time")) or 0.0)
    if abs(offset) >= 0.5 / fps:
        return None
    duration = _seconds(video.get("duration")) or _seconds(fmt.get("duration"))
    if duration is None or duration <= chunk_seconds:
        return None
    n = math.ceil(duration / chunk_seconds)
    if duration - (n - 1) * chunk_seconds < min(MIN_TAIL, chunk_seconds / 2):
        n -= 1
    if n < 2:
        return None
    step = Fraction(chunk_seconds).limit_denominator(1000) * fps  # frames per chunk, exactly
    firsts = [round(i * step) for i in range(n)]
    chunks = tuple(
        Chunk(index=i, first=first, count=(firsts[i + 1] - first) if i + 1 < n else None,
              seek=float(offset + (first - Fraction(1, 2)) / fps) if i else None)
        for i, first in enumerate(firsts))
    has_audio = any(s.get("codec_type") == "audio" for s in streams)
    return ChunkPlan(fps=fps, duration=duration, chunks=chunks, audio=has_audio and spec.audio is not None)
