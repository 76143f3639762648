"""AnimatedGraphics: a stretch of video as an animated GIF or WebP, in one FFmpeg run.

    spec = AnimatedGraphicsSpec(format="gif", width=320, fps=10, start=2, end=6)
    plan = build_animated(spec, src, SourceInfo.from_probe(probe(src)), out_dir)
    run_ffmpeg(plan.args, timeout=600, duration=plan.duration)
    plan.outputs.path, plan.outputs.width, plan.outputs.height, plan.outputs.frames

The time range is clamped to the media (see :func:`clip_range`). The source's rotation is applied
(FFmpeg turns the picture upright while decoding) and sizes derive from the upright frame. A GIF
gets its own 256-colour palette from the same decode (``split`` into ``palettegen`` with
``stats_mode=diff`` and ``paletteuse`` with ordered ``bayer`` dithering, which compresses better
than error diffusion and does not crawl between frames); WebP is encoded by ``libwebp_anim``. Both
loop forever. GIF sides may be odd; WebP sides are even.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from openvod.errors import InvalidParameter
from openvod.media.common import Plan, check_side, check_stem, displayed_size, num, path_arg, target_size
from openvod.media.inputs import MediaInput, input_args
from openvod.media.transcode import SourceInfo

__all__ = [
    "DEFAULT_CLIP_SECONDS",
    "AnimatedGraphicsSpec",
    "AnimatedOutput",
    "animated_output",
    "build_animated",
    "clip_range",
]

DEFAULT_CLIP_SECONDS = 5.0
"""Length of the clip when the spec gives no end."""
MAX_FPS = 30
JOB = "AnimatedGraphics"

_GIF_GRAPH = ("split[pa][pb];[pa]palettegen=stats_mode=diff[pal];"
              "[pb][pal]paletteuse=dither=bayer:bayer_scale=5:diff_mode=rectangle")


@dataclass(frozen=True)
class AnimatedGraphicsSpec:
    """What to make. ``width``/``height`` 0 keep the aspect ratio from the other (both 0: source
    size). ``start``/``end`` are seconds into the source; ``end`` ``None`` or 0 means ``start`` +
    :data:`DEFAULT_CLIP_SECONDS`. ``quality`` (1-100) applies to WebP only. ``resolution_adaptive``
    makes ``width`` the long side and ``height`` the short one (Tencent's ``ResolutionAdaptive``)."""

    format: Literal["gif", "webp"] = "gif"
    width: int = 0
    height: int = 0
    fps: int = 10
    start: float = 0.0
    end: float | None = None
    quality: int = 75
    resolution_adaptive: bool = False

    def __post_init__(self) -> None:
        if self.format not in ("gif", "webp"):
            raise InvalidParameter(f"animated graphics format must be gif or webp, got {self.format!r}",
                                   code="InvalidParameter.Format")
        check_side("width", self.width, code="InvalidParameter.Width")
        check_side("height", self.height, code="InvalidParameter.Height")
        if not isinstance(self.fps, int) or isinstance(self.fps, bool) or not 1 <= self.fps <= MAX_FPS:
            raise InvalidParameter(f"fps must be 1-{MAX_FPS}, got {self.fps!r}", code="InvalidParameter.Fps")
        if not math.isfinite(self.start) or self.start < 0:
            raise InvalidParameter(f"start must be a number of seconds >= 0, got {self.start!r}",
                                   code="InvalidParameter.StartTimeOffset")
        if self.end is not None and self.end != 0:
            if not math.isfinite(self.end) or self.end <= self.start:
                raise InvalidParameter(f"end ({self.end!r}) must be after start ({self.start!r}), or 0 for "
                                       f"start + {DEFAULT_CLIP_SECONDS:g} s", code="InvalidParameter.EndTimeOffset")
        if not 1 <= self.quality <= 100:
            raise InvalidParameter(f"quality must be 1-100, got {self.quality!r}", code="InvalidParameter.Quality")


@dataclass(frozen=True)
class AnimatedOutput:
    """The file a plan writes; ``frames`` is the expected frame count (``fps`` x the clip length)."""

    path: Path
    width: int
    height: int
    fps: int
    start: float
    end: float
    frames: int


def clip_range(spec: AnimatedGraphicsSpec, duration: float | None) -> tuple[float, float]:
    """``(start, end)`` seconds actually used: a start past the media (or leaving less than one
    frame of it) moves to ``duration - 1`` (at least 0), an end past it moves to ``duration``."""
    start = spec.start
    end = spec.end or start + DEFAULT_CLIP_SECONDS
    if duration is not None:
        if start > duration - 1 / spec.fps:
            start = max(0.0, duration - 1.0)
        end = min(end, duration)
    return start, end


def animated_output(spec: AnimatedGraphicsSpec, input_path: MediaInput, source: SourceInfo, out_dir: Path, *,
                    stem: str = "animated") -> AnimatedOutput:
    """What :func:`build_animated` will write, without building the arguments."""
    check_stem(stem)
    src = displayed_size(source, JOB, input_path)
    width, height = target_size(src, spec.width, spec.height, even=spec.format == "webp",
                                adaptive=spec.resolution_adaptive)
    start, end = clip_range(spec, source.duration)
    return AnimatedOutput(
        path=out_dir / f"{stem}.{spec.format}",
        width=width,
        height=height,
        fps=spec.fps,
        start=start,
        end=end,
        frames=max(1, round((end - start) * spec.fps)),
    )


def build_animated(spec: AnimatedGraphicsSpec, input_path: MediaInput, source: SourceInfo, out_dir: Path, *,
                   stem: str = "animated") -> Plan[AnimatedOutput]:
    """The FFmpeg run making ``out_dir/<stem>.gif`` (or ``.webp``).

    Raises :class:`~openvod.errors.MediaError` ``FailedOperation.NoVideo`` for audio-only input.
    """
    out = animated_output(spec, input_path, source, out_dir, stem=stem)
    length = out.end - out.start
    chain = f"[0:V:0]fps={spec.fps},scale={out.width}:{out.height}:flags=lanczos,setsar=1"
    if spec.format == "gif":
        graph = f"{chain},{_GIF_GRAPH}[out]"
        codec = ["-c:v", "gif", "-loop", "0", "-f", "gif"]
    else:
        graph = f"{chain},format=yuv420p[out]"
        codec = ["-c:v", "libwebp_anim", "-quality", str(spec.quality), "-compression_level", "4",
                 "-loop", "0", "-f", "webp"]
    # Input-side -ss/-t: decoding starts at the keyframe before start and stops reading at the end.
    args = ["-ss", num(out.start), "-t", num(length), *input_args(input_path),
            "-filter_complex", graph, "-map", "[out]", "-an", *codec, path_arg(out.path)]
    return Plan(args=args, outputs=out, duration=length)
