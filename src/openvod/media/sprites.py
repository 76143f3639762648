"""ImageSprites: small frames every few seconds, tiled into sheets, with a WebVTT index.

    spec = ImageSpritesSpec(interval=10, width=142, height=80, rows=10, columns=10)
    plan = build_sprites(spec, src, SourceInfo.from_probe(probe(src)), out_dir)
    run_ffmpeg(plan.args, timeout=3600, duration=plan.duration)
    plan.outputs.vtt_path.write_text(webvtt_for_sprites(plan.outputs))

Thumbnail ``i`` is the first frame at or after ``i * interval`` seconds, for every such time
before the end (``ceil(duration / interval)`` thumbnails), so the last one may be the last frame.
Thumbnails fill a sheet left to right, top to bottom (``tile=CxR``); a new sheet starts when one
is full, and the last sheet's unused cells stay black. Every sheet is ``columns * width`` by
``rows * height`` pixels. One FFmpeg run decodes the input once for all sheets.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

from openvod.errors import InvalidParameter
from openvod.media.common import (
    Fill,
    Image,
    ImageFormat,
    Plan,
    ceil_count,
    check_fill,
    check_image_format,
    check_side,
    check_stem,
    displayed_size,
    every_filters,
    fit_filters,
    image_codec_args,
    known_duration,
    path_arg,
    target_size,
)
from openvod.media.inputs import MediaInput, input_args
from openvod.media.transcode import SourceInfo

__all__ = [
    "MAX_SHEET_SIDE",
    "ImageSpritesSpec",
    "SpriteOutputs",
    "build_sprites",
    "sprite_outputs",
    "webvtt_for_sprites",
]

MAX_SHEET_SIDE = 16384
"""Largest sheet width or height (columns x cell width, rows x cell height)."""
MAX_GRID = 100
MAX_THUMBNAILS = 100_000
JOB = "ImageSprites"


@dataclass(frozen=True)
class ImageSpritesSpec:
    """A thumbnail every ``interval`` seconds, ``width`` x ``height`` each (0 keeps the aspect ratio
    from the other; with both set, ``fill="black"`` fits the picture inside and letter-boxes,
    ``"stretch"`` distorts it), ``columns`` x ``rows`` to a sheet. ``resolution_adaptive`` makes
    ``width`` the long side and ``height`` the short one (Tencent's ``ResolutionAdaptive``)."""

    interval: float = 10.0
    width: int = 142
    height: int = 80
    rows: int = 10
    columns: int = 10
    fill: Fill = "black"
    format: ImageFormat = "jpg"
    resolution_adaptive: bool = False

    def __post_init__(self) -> None:
        if (isinstance(self.interval, bool) or not isinstance(self.interval, int | float)
                or not math.isfinite(self.interval) or not 0 < self.interval <= 86_400):
            raise InvalidParameter(f"sprite interval must be above 0 and at most 86400 seconds, got {self.interval!r}",
                                   code="InvalidParameter.SampleInterval")
        check_side("width", self.width, code="InvalidParameter.Width")
        check_side("height", self.height, code="InvalidParameter.Height")
        for name, value, code in (("rows", self.rows, "InvalidParameter.RowCount"),
                                  ("columns", self.columns, "InvalidParameter.ColumnCount")):
            if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= MAX_GRID:
                raise InvalidParameter(f"{name} must be 1-{MAX_GRID}, got {value!r}", code=code)
        check_fill(self.fill)
        check_image_format(self.format)


@dataclass(frozen=True)
class SpriteOutputs:
    """The sheets a plan writes and where each thumbnail sits on them."""

    sheets: tuple[Image, ...]
    vtt_path: Path
    """Where the index belongs (not written by FFmpeg: write :func:`webvtt_for_sprites` there)."""
    cell_width: int
    cell_height: int
    columns: int
    rows: int
    interval: float
    count: int
    """Thumbnails in all sheets."""
    duration: float

    def cell(self, i: int) -> tuple[int, int, int, int, int]:
        """``(sheet, x, y, w, h)`` of thumbnail ``i``."""
        per_sheet = self.columns * self.rows
        sheet, k = divmod(i, per_sheet)
        row, col = divmod(k, self.columns)
        return sheet, col * self.cell_width, row * self.cell_height, self.cell_width, self.cell_height


def sprite_outputs(spec: ImageSpritesSpec, input_path: MediaInput, source: SourceInfo, out_dir: Path, *,
                   stem: str = "sheet") -> SpriteOutputs:
    """What :func:`build_sprites` will write, without building the arguments."""
    check_stem(stem)
    src = displayed_size(source, JOB, input_path)
    duration = known_duration(source, JOB, input_path)
    cell_w, cell_h = target_size(src, spec.width, spec.height, adaptive=spec.resolution_adaptive)
    sheet_w, sheet_h = cell_w * spec.columns, cell_h * spec.rows
    if sheet_w > MAX_SHEET_SIDE or sheet_h > MAX_SHEET_SIDE:
        raise InvalidParameter(f"sprite sheets would be {sheet_w}x{sheet_h}; at most {MAX_SHEET_SIDE} a side "
                               "(fewer rows/columns or smaller cells)", code="InvalidParameter.Size")
    count = ceil_count(duration, spec.interval)
    if count > MAX_THUMBNAILS:
        raise InvalidParameter(f"a thumbnail every {spec.interval:g} s of {duration:g} s makes {count}; "
                               f"at most {MAX_THUMBNAILS}", code="InvalidParameter.SampleInterval")
    sheets = math.ceil(count / (spec.columns * spec.rows))
    return SpriteOutputs(
        sheets=tuple(Image(path=out_dir / f"{stem}_{n}.{spec.format}", width=sheet_w, height=sheet_h)
                     for n in range(sheets)),
        vtt_path=out_dir / f"{stem}.vtt",
        cell_width=cell_w,
        cell_height=cell_h,
        columns=spec.columns,
        rows=spec.rows,
        interval=float(spec.interval),
        count=count,
        duration=duration,
    )


def build_sprites(spec: ImageSpritesSpec, input_path: MediaInput, source: SourceInfo, out_dir: Path, *,
                  stem: str = "sheet") -> Plan[SpriteOutputs]:
    """The FFmpeg run writing ``out_dir/<stem>_0.jpg``, ``<stem>_1.jpg``, ...

    Raises :class:`~openvod.errors.MediaError` ``FailedOperation.NoVideo`` for audio-only input
    and ``FailedOperation.NoDuration`` when the duration is unknown.
    """
    out = sprite_outputs(spec, input_path, source, out_dir, stem=stem)
    chain = [*every_filters(out.interval, out.count), *fit_filters((out.cell_width, out.cell_height), fill=spec.fill),
             f"tile={out.columns}x{out.rows}"]
    # image2 expands % anywhere in the path, so the directory's own % are escaped.
    pattern = Path(str(out_dir.absolute()).replace("%", "%%")) / f"{stem}_%d.{spec.format}"
    args = [*input_args(input_path), "-map", "0:V:0", "-vf", ",".join(chain), "-fps_mode", "vfr",
            *image_codec_args(spec.format), "-start_number", "0", "-f", "image2", path_arg(pattern)]
    return Plan(args=args, outputs=out, duration=out.duration)


def _timestamp(seconds: float) -> str:
    ms = round(seconds * 1000)
    hours, ms = divmod(ms, 3_600_000)
    minutes, ms = divmod(ms, 60_000)
    secs, ms = divmod(ms, 1000)
    return f"{hours:02d}:{minutes:02d}:{secs:02d}.{ms:03d}"


def webvtt_for_sprites(outputs: SpriteOutputs, *, url_prefix: str = "") -> str:
    """A WebVTT index: one cue per thumbnail, ``<url_prefix><sheet>#xywh=x,y,w,h``.

    Cues follow each other without gaps from 0 to the media's duration; ``url_prefix`` (e.g. a
    CDN directory ending in ``/``) goes before each sheet's file name.
    """
    lines = ["WEBVTT", ""]
    for i in range(outputs.count):
        start = i * outputs.interval
        end = min((i + 1) * outputs.interval, outputs.duration)
        sheet, x, y, w, h = outputs.cell(i)
        lines += [f"{_timestamp(start)} --> {_timestamp(end)}",
                  f"{url_prefix}{outputs.sheets[sheet].path.name}#xywh={x},{y},{w},{h}", ""]
    return "\n".join(lines)
