"""Still images from a video: at given time offsets, sampled evenly, or one cover.

    spec = SnapshotByTimeOffsetSpec(offsets=(ms_to_s(1500), 3.0), format="jpg", width=320)
    plan = build_snapshots_by_offset(spec, src, SourceInfo.from_probe(probe(src)), out_dir)
    run_ffmpeg(plan.args, timeout=600, duration=plan.duration)
    [img.path for img in plan.outputs.images]     # in the order of spec.offsets

Every image is the first frame at or after its offset; an offset past the last frame gets the
last frame (a cover at 10 s of a 0.5 s clip is its last frame). Images are upright (the source's
rotation is applied) and have even sides. Each job is one FFmpeg process that either seeks once
per offset or decodes the input once, whichever costs less (see
:func:`openvod.media.common.frames_at`): a few snapshots of a long film seek, a sample every
second decodes once. ``strategy`` forces one.

SampleSnapshot takes images at ``0, I, 2I, ...`` before the end: ``I`` seconds (``Time``) or ``I``
percent of the duration (``Percent``), so ``ceil(duration / I)`` or ``ceil(100 / I)`` images.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from openvod.errors import InvalidParameter
from openvod.media.common import (
    Fill,
    Image,
    ImageFormat,
    Plan,
    Strategy,
    ceil_count,
    check_fill,
    check_image_format,
    check_side,
    check_stem,
    clamp,
    displayed_size,
    fit_filters,
    frame_path,
    frames_at,
    image_codec_args,
    known_duration,
    ms_to_s,
    target_size,
)
from openvod.media.inputs import MediaInput
from openvod.media.transcode import SourceInfo

__all__ = [
    "MAX_OFFSETS",
    "CoverBySnapshotSpec",
    "SampleSnapshotSpec",
    "SnapshotByTimeOffsetSpec",
    "SnapshotOutputs",
    "build_cover",
    "build_sample_snapshots",
    "build_snapshots_by_offset",
    "ms_to_s",
    "sample_offsets",
]

MAX_OFFSETS = 500
"""Most offsets one SnapshotByTimeOffset job may ask for."""
MAX_SAMPLES = 10_000

def _check_image(fmt: str, width: int, height: int, fill: str) -> None:
    check_image_format(fmt)
    check_side("width", width, code="InvalidParameter.Width")
    check_side("height", height, code="InvalidParameter.Height")
    check_fill(fill)


def _check_seconds(value: float, what: str, code: str) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) or value < 0:
        raise InvalidParameter(f"{what} must be a number of seconds >= 0, got {value!r}", code=code)


@dataclass(frozen=True)
class SnapshotByTimeOffsetSpec:
    """Images at ``offsets`` (seconds; :func:`ms_to_s` converts Tencent's milliseconds). ``width``/
    ``height`` 0 keep the aspect ratio from the other; with both set, ``fill="black"`` fits the
    picture inside and letter-boxes, ``"stretch"`` scales to exactly that size.
    ``resolution_adaptive`` makes ``width`` the long side and ``height`` the short one (Tencent's
    ``ResolutionAdaptive``); the other image specs take the same four size fields."""

    offsets: tuple[float, ...]
    format: ImageFormat = "jpg"
    width: int = 0
    height: int = 0
    fill: Fill = "black"
    resolution_adaptive: bool = False

    def __post_init__(self) -> None:
        if not self.offsets:
            raise InvalidParameter("give at least one time offset", code="InvalidParameter.TimeOffset")
        if len(self.offsets) > MAX_OFFSETS:
            raise InvalidParameter(f"at most {MAX_OFFSETS} time offsets, got {len(self.offsets)}",
                                   code="InvalidParameter.TimeOffset")
        object.__setattr__(self, "offsets", tuple(self.offsets))  # a list is taken too, stored as a tuple
        for offset in self.offsets:
            _check_seconds(offset, "a time offset", "InvalidParameter.TimeOffset")
        _check_image(self.format, self.width, self.height, self.fill)


@dataclass(frozen=True)
class SampleSnapshotSpec:
    """Images every ``interval`` seconds (``Time``) or percent of the duration (``Percent``)."""

    sample_type: Literal["Time", "Percent"] = "Percent"
    interval: float = 10.0
    format: ImageFormat = "jpg"
    width: int = 0
    height: int = 0
    fill: Fill = "black"
    resolution_adaptive: bool = False

    def __post_init__(self) -> None:
        if self.sample_type not in ("Time", "Percent"):
            raise InvalidParameter(f"sample type must be Time or Percent, got {self.sample_type!r}",
                                   code="InvalidParameter.SampleType")
        top = 100 if self.sample_type == "Percent" else 86_400
        if (isinstance(self.interval, bool) or not isinstance(self.interval, int | float)
                or not math.isfinite(self.interval) or not 0 < self.interval <= top):
            unit = "percent" if self.sample_type == "Percent" else "seconds"
            raise InvalidParameter(f"sample interval must be above 0 and at most {top} {unit}, got {self.interval!r}",
                                   code="InvalidParameter.SampleInterval")
        _check_image(self.format, self.width, self.height, self.fill)


@dataclass(frozen=True)
class CoverBySnapshotSpec:
    """One image at ``position`` seconds (``Time``) or percent of the duration (``Percent``)."""

    position_type: Literal["Time", "Percent"] = "Time"
    position: float = 0.0
    format: ImageFormat = "jpg"
    width: int = 0
    height: int = 0
    fill: Fill = "black"
    resolution_adaptive: bool = False

    def __post_init__(self) -> None:
        if self.position_type not in ("Time", "Percent"):
            raise InvalidParameter(f"position type must be Time or Percent, got {self.position_type!r}",
                                   code="InvalidParameter.PositionType")
        _check_seconds(self.position, "the cover position", "InvalidParameter.PositionValue")
        if self.position_type == "Percent" and self.position > 100:
            raise InvalidParameter(f"a cover position in percent must be 0-100, got {self.position!r}",
                                   code="InvalidParameter.PositionValue")
        _check_image(self.format, self.width, self.height, self.fill)


@dataclass(frozen=True)
class SnapshotOutputs:
    """The images a plan writes, in the order asked for; equal offsets share one file."""

    images: tuple[Image, ...]
    width: int
    height: int

    @property
    def count(self) -> int:
        return len(self.images)

    @property
    def files(self) -> list[Path]:
        """Distinct files written, in order."""
        return list(dict.fromkeys(img.path for img in self.images))


def sample_offsets(spec: SampleSnapshotSpec, duration: float) -> list[float]:
    """The source times (seconds) a SampleSnapshot takes images at."""
    step = duration * spec.interval / 100 if spec.sample_type == "Percent" else float(spec.interval)
    count = ceil_count(100, spec.interval) if spec.sample_type == "Percent" else ceil_count(duration, step)
    if count > MAX_SAMPLES:
        raise InvalidParameter(f"a sample every {spec.interval:g} {'%' if spec.sample_type == 'Percent' else 's'} "
                               f"makes {count} images; at most {MAX_SAMPLES}", code="InvalidParameter.SampleInterval")
    return [k * step for k in range(count)]


_Spec = SnapshotByTimeOffsetSpec | SampleSnapshotSpec | CoverBySnapshotSpec


def _snapshots(spec: _Spec, offsets: Sequence[float], job: str, input_path: MediaInput, source: SourceInfo,
               out_dir: Path, stem: str, strategy: Strategy, *, single: bool = False) -> Plan[SnapshotOutputs]:
    check_stem(stem)
    src = displayed_size(source, job, input_path)
    size = target_size(src, spec.width, spec.height, adaptive=spec.resolution_adaptive)
    duration = source.duration
    clamped = [clamp(t, duration) for t in offsets]
    targets = sorted(set(clamped))
    index = {t: i for i, t in enumerate(targets)}
    name = f"{stem}.{spec.format}" if single else f"{stem}_%d.{spec.format}"
    images = tuple(Image(path=frame_path(out_dir, name, index[t]), width=size[0], height=size[1], offset=t)
                   for t in clamped)
    args = frames_at(input_path, targets, duration, fit_filters(size, fill=spec.fill), out_dir, name,
                     codec_args=image_codec_args(spec.format), strategy=strategy)
    return Plan(args=args, outputs=SnapshotOutputs(images=images, width=size[0], height=size[1]),
                duration=targets[-1] or None)


def build_snapshots_by_offset(spec: SnapshotByTimeOffsetSpec, input_path: MediaInput, source: SourceInfo, out_dir: Path,
                              *, stem: str = "snapshot", strategy: Strategy = "auto") -> Plan[SnapshotOutputs]:
    """The FFmpeg run writing ``out_dir/<stem>_<n>.<format>``, one file per distinct offset.

    Raises :class:`~openvod.errors.MediaError` ``FailedOperation.NoVideo`` for audio-only input.
    """
    return _snapshots(spec, spec.offsets, "SnapshotByTimeOffset", input_path, source, out_dir, stem, strategy)


def build_sample_snapshots(spec: SampleSnapshotSpec, input_path: MediaInput, source: SourceInfo, out_dir: Path,
                           *, stem: str = "sample", strategy: Strategy = "auto") -> Plan[SnapshotOutputs]:
    """The FFmpeg run writing ``out_dir/<stem>_<n>.<format>`` at :func:`sample_offsets`.

    Needs the source duration (:class:`~openvod.errors.MediaError` ``FailedOperation.NoDuration``).
    """
    job = "SampleSnapshot"
    displayed_size(source, job, input_path)
    duration = known_duration(source, job, input_path)
    return _snapshots(spec, sample_offsets(spec, duration), job, input_path, source, out_dir, stem, strategy)


def build_cover(spec: CoverBySnapshotSpec, input_path: MediaInput, source: SourceInfo, out_dir: Path,
                *, stem: str = "cover", strategy: Strategy = "auto") -> Plan[Image]:
    """The FFmpeg run writing ``out_dir/<stem>.<format>``, the cover image.

    ``Percent`` needs the source duration (``FailedOperation.NoDuration``).
    """
    job = "CoverBySnapshot"
    displayed_size(source, job, input_path)
    if spec.position_type == "Percent":
        offset = known_duration(source, job, input_path) * spec.position / 100
    else:
        offset = float(spec.position)
    plan = _snapshots(spec, [offset], job, input_path, source, out_dir, stem, strategy, single=True)
    return Plan(args=plan.args, outputs=plan.outputs.images[0], duration=plan.duration)
