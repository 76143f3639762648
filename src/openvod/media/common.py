"""Pieces shared by the processing builders (animated graphics, snapshots, sprites, HLS ladder).

Each builder turns a validated spec, one input and its :class:`~openvod.media.transcode.SourceInfo`
into a :class:`Plan`: the arguments for :func:`~openvod.media.ffmpeg.run_ffmpeg` and a description
of the files that run leaves in the output directory. Sizes follow one rule (:func:`target_size`),
and frames are picked at time offsets by one of two strategies (:func:`frames_at`).
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Generic, Literal, TypeVar

from openvod.errors import InvalidParameter, MediaError
from openvod.media.inputs import MediaInput, input_args, input_name
from openvod.media.transcode import SourceInfo

__all__ = [
    "MAX_SIDE",
    "NO_DURATION_CODE",
    "NO_VIDEO_CODE",
    "Fill",
    "Image",
    "ImageFormat",
    "Plan",
    "Strategy",
    "ceil_count",
    "check_fill",
    "check_image_format",
    "check_side",
    "check_stem",
    "clamp",
    "displayed_size",
    "every_filters",
    "fit_filters",
    "frame_path",
    "frames_at",
    "image_codec_args",
    "known_duration",
    "ms_to_s",
    "num",
    "path_arg",
    "target_size",
]

NO_VIDEO_CODE = "FailedOperation.NoVideo"
NO_DURATION_CODE = "FailedOperation.NoDuration"
MAX_SIDE = 4096
"""Largest width or height an image output may ask for."""
MIN_SIDE = 16

ImageFormat = Literal["jpg", "png", "webp"]
Fill = Literal["black", "stretch"]
Strategy = Literal["auto", "seek", "decode"]
IMAGE_FORMATS: tuple[str, ...] = ("jpg", "png", "webp")
FILLS: tuple[str, ...] = ("black", "stretch")

OutputsT = TypeVar("OutputsT")

# A fast seek decodes from the keyframe before the offset: up to one GOP, which for typical
# uploads is 2-10 s. One seek is assumed to cost this many seconds of decoding.
_SEEK_COST_SECONDS = 10.0
# Every seeking input holds its own demuxer and decoder (~20-40 MB at 720p-1080p) until the run ends.
_MAX_SEEKS = 16
# A target within this many seconds of the end is reached from a seek this far back, so a
# container duration slightly longer than the video (audio priming, rounding) still finds frames.
_TAIL_SECONDS = 2.0
_IMAGE_CODECS: dict[str, list[str]] = {
    "jpg": ["-c:v", "mjpeg", "-q:v", "2"],
    "png": ["-c:v", "png"],
    "webp": ["-c:v", "libwebp", "-quality", "80"],
}
_STEM = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")


@dataclass(frozen=True)
class Plan(Generic[OutputsT]):
    """One FFmpeg run and the files it will leave behind.

    ``run_ffmpeg(plan.args, timeout=..., duration=plan.duration, on_progress=...)``; ``duration``
    is the output timeline progress is measured against, or ``None`` when it has none.
    """

    args: list[str]
    outputs: OutputsT
    duration: float | None = None


@dataclass(frozen=True)
class Image:
    """One image file a plan writes. ``offset`` is the source time (seconds) it shows, if any."""

    path: Path
    width: int
    height: int
    offset: float | None = None


def ms_to_s(ms: float) -> float:
    """Milliseconds (Tencent's ``TimeOffsetSet`` unit) to seconds."""
    return float(ms) / 1000.0


def num(x: float) -> str:
    """A number as FFmpeg options take it: plain decimal, microsecond precision, no exponent."""
    text = f"{x:.6f}".rstrip("0").rstrip(".")
    return "0" if text in ("", "-0") else text


def path_arg(p: Path) -> str:
    # Absolute paths start with "/", so FFmpeg reads no option ("-x") or protocol ("concat:") in them.
    return str(Path(p).absolute())


def check_side(name: str, value: int, *, code: str, limit: int = MAX_SIDE) -> None:
    """``value`` is 0 (derive it) or a size in [16, limit] pixels."""
    if not isinstance(value, int) or isinstance(value, bool) or not (value == 0 or MIN_SIDE <= value <= limit):
        raise InvalidParameter(f"{name} must be 0 (keep the aspect ratio) or {MIN_SIDE}-{limit}, got {value!r}",
                               code=code)


def image_codec_args(fmt: str) -> list[str]:
    """Encoder options for still images of ``fmt`` (jpg, png, webp)."""
    return list(_IMAGE_CODECS[fmt])


def check_fill(fill: str) -> None:
    if fill not in FILLS:
        raise InvalidParameter(f"fill must be one of {', '.join(FILLS)}, got {fill!r}",
                               code="InvalidParameter.FillType")


def check_image_format(fmt: str) -> None:
    if fmt not in IMAGE_FORMATS:
        raise InvalidParameter(f"image format must be one of {', '.join(IMAGE_FORMATS)}, got {fmt!r}",
                               code="InvalidParameter.Format")


def check_stem(stem: str) -> None:
    """Output names are plain: no directories, no FFmpeg ``%`` patterns."""
    if not _STEM.fullmatch(stem):
        raise InvalidParameter(f"output name must be 1-64 of [A-Za-z0-9_.-], got {stem!r}",
                               code="InvalidParameter.Name")


def displayed_size(source: SourceInfo, job: str, input_path: MediaInput) -> tuple[int, int]:
    """The source's upright frame size; :class:`MediaError` ``FailedOperation.NoVideo`` without video."""
    if not source.has_video:
        raise MediaError(f"{job} needs a video stream, but {input_name(input_path)} has none (audio only)",
                         code=NO_VIDEO_CODE)
    if not source.width or not source.height:
        raise MediaError(f"{job}: the frame size of {input_name(input_path)} is unknown; probe it again",
                         code=NO_VIDEO_CODE)
    return source.width, source.height


def known_duration(source: SourceInfo, job: str, input_path: MediaInput) -> float:
    if not source.duration or source.duration <= 0:
        raise MediaError(f"{job} needs the duration of {input_name(input_path)}, which its probe does not give",
                         code=NO_DURATION_CODE)
    return source.duration


def _even(x: float) -> int:
    return max(2, int(round(x / 2)) * 2)


def target_size(src: tuple[int, int], width: int, height: int, *, even: bool = True,
                adaptive: bool = False) -> tuple[int, int]:
    """Output size for a requested ``width``/``height`` (0 keeps the aspect ratio from the other;
    both 0 keep the source size). ``even`` rounds to even sides, which 4:2:0 encoders need.

    ``adaptive`` is Tencent's ``ResolutionAdaptive=open``: ``width`` is then the long side and
    ``height`` the short one, so a portrait source gets them the other way round.
    """
    sw, sh = src
    if adaptive and sh > sw:
        width, height = height, width
    if width and height:
        w, h = float(width), float(height)
    elif width:
        w, h = float(width), sh * width / sw
    elif height:
        w, h = sw * height / sh, float(height)
    else:
        w, h = float(sw), float(sh)
        if even:
            return max(2, sw - sw % 2), max(2, sh - sh % 2)  # drop the odd row/column, never upscale
    if even:
        # Requested sides are rounded down (never above what was asked), derived ones to nearest.
        return (
            (width - width % 2) if width else _even(w),
            (height - height % 2) if height else _even(h),
        )
    return max(1, round(w)), max(1, round(h))


def fit_filters(size: tuple[int, int], *, fill: str = "stretch") -> list[str]:
    """Scale to exactly ``size``; ``black`` keeps the aspect ratio and letter-boxes."""
    w, h = size
    if fill == "black":
        return [f"scale={w}:{h}:force_original_aspect_ratio=decrease:flags=bicubic",
                f"pad={w}:{h}:(ow-iw)/2:(oh-ih)/2:color=black", "setsar=1"]
    return [f"scale={w}:{h}:flags=bicubic", "setsar=1"]


def every_filters(interval: float, count: int) -> list[str]:
    """Keep the first frame at or after each of ``0, interval, 2*interval, ...``, ``count`` frames.

    ``selected_n`` is how many frames were kept so far, so the next target is ``selected_n *
    interval``: after a gap in a VFR stream the next frames catch up one target each, and the
    count stays exact. The last frame is cloned without end (``tpad``) so targets past it get it;
    ``trim`` ends the stream after ``count`` frames, which is what stops those clones (the select
    passes every frame past the last target, so trim always sees the frame that ends it).
    """
    return ["tpad=stop=-1:stop_mode=clone", f"select=gte(t\\,selected_n*{num(interval)})", f"trim=end_frame={count}"]


def _list_select(targets: Sequence[float]) -> list[str]:
    # A flat sum, no nesting: FFmpeg's expression parser takes long sums, not deep if() chains.
    terms = "+".join(f"gte(t\\,{num(t)})*eq(selected_n\\,{i})" for i, t in enumerate(targets))
    # Once every target has its frame, let frames through so trim sees one more and ends the
    # stream: a select that drops endless tpad clones spins the filter graph forever (it then
    # ignores SIGTERM too).
    done = len(targets)
    return [f"select={terms}+gte(selected_n\\,{done})", f"trim=end_frame={done}"]


def _step(targets: Sequence[float]) -> float | None:
    """The spacing of ``0, s, 2s, ...`` if ``targets`` are that (and more than one), else ``None``."""
    if len(targets) < 2 or targets[0] != 0:
        return None
    step = targets[1]
    if all(abs(t - k * step) < 1e-6 for k, t in enumerate(targets)):
        return step
    return None


def _choose(targets: Sequence[float], duration: float | None, strategy: Strategy) -> Literal["seek", "decode"]:
    if strategy != "auto":
        return strategy
    if duration is None:
        return "seek"
    # Seeking costs about a GOP of decoding per target; one pass costs the whole duration.
    sparse = len(targets) <= _MAX_SEEKS and len(targets) * _SEEK_COST_SECONDS < duration
    return "seek" if sparse else "decode"


def frame_path(out_dir: Path, name: str, i: int) -> Path:
    """The file :func:`frames_at` writes for target ``i`` (``name`` may hold one ``%d``)."""
    return out_dir / name.replace("%d", str(i))


def frames_at(
    input_path: MediaInput,
    targets: Sequence[float],
    duration: float | None,
    filters: Sequence[str],
    out_dir: Path,
    name: str,
    *,
    codec_args: Sequence[str],
    strategy: Strategy = "auto",
) -> list[str]:
    """FFmpeg arguments writing the first frame at or after each target (seconds, ascending,
    distinct, within ``[0, duration]``) through ``filters`` to :func:`frame_path` ``(out_dir, name, i)``.

    ``name`` holds ``%d`` (0, 1, ...) unless there is one target. A target past the last frame
    gets the last frame. ``seek`` opens the input once per target with a fast input seek (``-ss``
    before ``-i``: decoding starts at the keyframe before it), which wins for a few targets in
    long media; ``decode`` decodes the input once and selects (``-fps_mode vfr`` keeps only the
    selected frames), which wins for many or dense targets. Both are one FFmpeg process; ``auto``
    picks by the rough cost of each.
    """
    if len(targets) > 1 and "%d" not in name:
        raise InvalidParameter(f"{len(targets)} images need a %d in the file name, got {name!r}")
    if _choose(targets, duration, strategy) == "decode":
        # Evenly spaced targets from 0 (samples) get a short expression; a list expression grows
        # with the targets, and one argv string may hold at most 128 KiB on Linux.
        step = _step(targets)
        picks = every_filters(step, len(targets)) if step else ["tpad=stop=-1:stop_mode=clone", *_list_select(targets)]
        chain = [*picks, *filters]
        if len(targets) > 1:
            # image2 expands % anywhere in the path, so the directory's own % are escaped.
            sink = ["-start_number", "0", path_arg(Path(str(out_dir.absolute()).replace("%", "%%")) / name)]
        else:
            sink = ["-update", "1", path_arg(frame_path(out_dir, name, 0))]
        return [*input_args(input_path), "-map", "0:V:0", "-vf", ",".join(chain), "-fps_mode", "vfr",
                "-frames:v", str(len(targets)), *codec_args, "-f", "image2", *sink]
    inputs: list[str] = []
    outputs: list[str] = []
    graph: list[str] = []
    for i, target in enumerate(targets):
        start = target if duration is None else max(0.0, min(target, duration - _TAIL_SECONDS))
        # One decoder thread per input: many inputs share the machine, and each decodes a GOP at most.
        inputs += ["-threads", "1", "-ss", num(start), *input_args(input_path)]
        chain = ["tpad=stop=-1:stop_mode=clone", f"select=gte(t\\,{num(target - start)})", *filters]
        graph.append(f"[{i}:V:0]{','.join(chain)}[o{i}]")
        # -update 1 writes one image to exactly this path (no % expansion).
        outputs += ["-map", f"[o{i}]", "-frames:v", "1", *codec_args, "-f", "image2", "-update", "1",
                    path_arg(frame_path(out_dir, name, i))]
    return [*inputs, "-filter_complex", ";".join(graph), *outputs]


def clamp(t: float, duration: float | None) -> float:
    """``t`` within ``[0, duration]`` (``duration`` ``None`` leaves it as is)."""
    t = max(0.0, t)
    return t if duration is None else min(t, duration)


def ceil_count(total: float, step: float) -> int:
    """How many of ``0, step, 2*step, ...`` fall before ``total`` (at least 1)."""
    # The epsilon keeps 4.0 / 1.0 at 4 although float division may land just above it.
    return max(1, math.ceil(total / step - 1e-9))
