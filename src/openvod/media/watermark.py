"""Watermarks drawn in the encode's own filter graph: an image ``overlay`` or a ``drawtext``.

    marks = (Watermark(ImageMark(Path("logo.png"), "png"), origin="TopRight", x=Length(10, "px")),
             Watermark(TextMark("© ACME"), origin="BottomLeft", y=Length(5, "%"), start=2.0))
    args = [*input_args(src), *watermark_inputs(marks, first_input=1)]
    chains, label = watermark_chains(marks, "[0:V:0]", first_input=1)
    graph = [*chains, f"{label}scale=1280:-2[v]"]            # then -filter_complex ";".join(graph)

The builders (:func:`~openvod.media.transcode.build_transcode_args`, the HLS ladder) put the
chains on the decoded picture, so a watermark costs no second decode. Positions and sizes follow
Tencent's ``CreateWatermarkTemplate``: ``x``/``y`` are from the ``origin`` corner of the frame to
the same corner of the watermark, in pixels or percent of the frame's width/height; an image's
``width`` in percent is of the frame's width (scaled against the frame itself, ``scale``'s
reference input), and a ``height`` of 0 keeps its aspect. ``start``/``end`` (seconds of the
output) bound when it shows.

An image input is opened only as what it is (``-f png_pipe``/``jpeg_pipe``, ``file`` protocol,
the pixel cap): its bytes were checked to be a PNG or JPEG when the template was made. Text is
drawn with DejaVu Sans (:data:`DEFAULT_FONT`, shipped in this package with its licence), with
``expansion=none`` so ``%{...}`` in a user's text is printed, not evaluated.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from openvod.domain.templates.watermarks import Length
from openvod.errors import InvalidParameter
from openvod.media.inputs import DEFAULT_MAX_PIXELS, PROTOCOL_WHITELIST

__all__ = ["DEFAULT_FONT", "ImageMark", "Length", "Origin", "TextMark", "Watermark", "watermark_chains",
           "watermark_inputs"]

DEFAULT_FONT = Path(__file__).parent / "fonts" / "DejaVuSans.ttf"
"""DejaVu Sans (Bitstream Vera licence: ``fonts/DejaVuSans.LICENSE``), the font of every text watermark."""
Origin = Literal["TopLeft", "TopRight", "BottomLeft", "BottomRight"]
_CODE = "InvalidParameter.Watermark"
_PX0 = Length(0, "px")


@dataclass(frozen=True)
class ImageMark:
    """A still PNG or JPEG at ``path``; ``opacity`` 1 is opaque (Tencent's ``Transparency`` 0)."""

    path: Path
    format: Literal["png", "jpeg"]
    width: Length = Length(10, "%")
    height: Length = _PX0
    opacity: float = 1.0


@dataclass(frozen=True)
class TextMark:
    """``text`` in ``font_size`` pixels, ``color`` ``RRGGBB`` at ``alpha`` (1 opaque)."""

    text: str
    font_size: int = 16
    color: str = "FFFFFF"
    alpha: float = 1.0
    font: Path = DEFAULT_FONT


@dataclass(frozen=True)
class Watermark:
    """One watermark: what (``mark``), where (``origin`` corner, ``x``/``y`` from it) and when."""

    mark: ImageMark | TextMark
    origin: Origin = "TopLeft"
    x: Length = _PX0
    y: Length = _PX0
    start: float | None = None
    end: float | None = None

    def __post_init__(self) -> None:
        for t in (self.start, self.end):
            if t is not None and not (math.isfinite(t) and t >= 0):
                raise InvalidParameter(f"a watermark's start and end must be seconds from 0, got {t!r}", code=_CODE)
        if self.start is not None and self.end is not None and self.end <= self.start:
            raise InvalidParameter(f"a watermark's end {self.end} must come after its start {self.start}", code=_CODE)
        m = self.mark
        if isinstance(m, ImageMark) and not 0 < m.opacity <= 1 or isinstance(m, TextMark) and not 0 < m.alpha <= 1:
            raise InvalidParameter("a watermark's opacity must be more than 0 and at most 1", code=_CODE)
        if isinstance(m, TextMark) and (not m.text or any(ord(c) < 32 for c in m.text)):
            raise InvalidParameter("a text watermark needs text without control characters", code=_CODE)


def watermark_inputs(marks: Sequence[Watermark], *, max_pixels: int = DEFAULT_MAX_PIXELS) -> list[str]:
    """The input arguments of the image watermarks in ``marks``, in order (text needs none). Put
    them after the inputs already numbered; the first is input ``first_input`` of :func:`watermark_chains`."""
    args: list[str] = []
    for w in marks:
        if isinstance(w.mark, ImageMark):
            args += ["-f", f"{w.mark.format}_pipe", "-max_pixels", str(max_pixels),
                     "-protocol_whitelist", PROTOCOL_WHITELIST, "-i", str(Path(w.mark.path).absolute())]
    return args


def _num(x: float) -> str:
    return f"{x:.6g}"


def _offset(v: Length, side: str) -> str:
    return _num(v.value) if v.unit == "px" else f"{side}*{_num(v.value / 100)}"


def _position(w: Watermark, frame_w: str, frame_h: str, mark_w: str, mark_h: str) -> str:
    """``x=..:y=..`` placing the watermark's ``origin`` corner at (x, y) from the frame's."""
    x, y = _offset(w.x, frame_w), _offset(w.y, frame_h)
    if w.origin.endswith("Right"):
        x = f"{frame_w}-{mark_w}-{x}"
    if w.origin.startswith("Bottom"):
        y = f"{frame_h}-{mark_h}-{y}"
    return f"x='{x}':y='{y}'"


def _enable(w: Watermark) -> str:
    if w.start is None and w.end is None:
        return ""
    if w.end is None:
        return f":enable='gte(t,{_num(w.start or 0)})'"
    return f":enable='between(t,{_num(w.start or 0)},{_num(w.end)})'"


def _escape(text: str) -> str:
    """``text`` as one drawtext option value inside a filter graph: escaped for the option parser
    (``\\ ' :``), then again for the graph parser (``\\ ' [ ] , ;``)."""
    value = "".join("\\" + c if c in "\\':" else c for c in text)
    return "".join("\\" + c if c in "\\'[],;" else c for c in value)


def _path_value(p: Path) -> str:
    return _escape(str(Path(p).absolute()))


def watermark_chains(marks: Sequence[Watermark], source: str, *, first_input: int,
                     name: str = "wm") -> tuple[list[str], str]:
    """Filter chains drawing ``marks`` (in order, later ones on top) on the pad ``source``
    (``"[0:V:0]"``, ``"[base]"``), and the label of the result. No marks: ``([], source)``.
    Image marks read inputs ``first_input``, ``first_input + 1``, ... (see :func:`watermark_inputs`);
    ``name`` prefixes the graph's own labels."""
    chains: list[str] = []
    current, image_input = source, first_input
    for i, w in enumerate(marks):
        out = f"[{name}{i}]"
        m = w.mark
        if isinstance(m, ImageMark):
            alpha = f",colorchannelmixer=aa={_num(m.opacity)}" if m.opacity < 1 else ""
            chains.append(f"[{image_input}:v]format=rgba{alpha}[{name}{i}img]")
            image_input += 1
            if m.width.unit == "%" or m.height.unit == "%":
                # sized against the frame it is drawn on: scale's second input is the reference (rw, rh)
                width = _offset(m.width, "rw") if m.width.value else "-1"
                height = _offset(m.height, "rh") if m.height.value else "-1"
                chains.append(f"{current}split[{name}{i}base][{name}{i}ref]")
                chains.append(f"[{name}{i}img][{name}{i}ref]scale=w='{width}':h='{height}'[{name}{i}sized]")
                current = f"[{name}{i}base]"
            else:
                width = _num(m.width.value) if m.width.value else "-1"
                height = _num(m.height.value) if m.height.value else "-1"
                chains.append(f"[{name}{i}img]scale=w={width}:h={height}[{name}{i}sized]")
            where = _position(w, "main_w", "main_h", "overlay_w", "overlay_h")
            chains.append(f"{current}[{name}{i}sized]overlay={where}:format=auto{_enable(w)}{out}")
        else:
            color = f"0x{m.color}@{_num(m.alpha)}"
            where = _position(w, "w", "h", "text_w", "text_h")
            chains.append(f"{current}drawtext=fontfile={_path_value(m.font)}:text={_escape(m.text)}:expansion=none"
                          f":fontsize={m.font_size}:fontcolor={color}:{where}{_enable(w)}{out}")
        current = out
    return chains, current
