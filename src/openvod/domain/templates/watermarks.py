"""Watermark templates (Tencent's ``CreateWatermarkTemplate``) and ``WatermarkSet`` task items. No I/O.

    params = validate_watermark({"Type": "text", "XPos": "5%", "YPos": "10px",
                                 "TextTemplate": {"FontType": "arial.ttf", "FontSize": "24px"}})
    # {"Type": "text", "CoordinateOrigin": "TopLeft", "XPos": "5%", "YPos": "10px",
    #  "TextTemplate": {"FontType": "arial.ttf", "FontSize": "24px", "FontColor": "0xFFFFFF", "FontAlpha": 1}}
    image, params = take_image(validate_watermark({"Type": "image", "ImageTemplate": {"ImageContent": b64}}))

Field names are those of the SDK's ``CreateWatermarkTemplateRequest``, ``ImageWatermarkInput`` and
``TextWatermarkTemplateInput``. ``Type`` is ``image`` or ``text``; ``svg`` (and ``SvgTemplate``)
is ``UnknownParameter``: OpenVOD does not render SVG (an SVG is a document that may load what it
names). Positions and sizes are ``"<n>%"`` (of the video frame's width or height) or ``"<n>px"``.

An image is PNG or JPEG (checked by its first bytes, as :mod:`openvod.domain.covers` does), at
most :data:`MAX_IMAGE_BYTES`. :func:`validate_watermark` keeps it as canonical base64 under
``ImageTemplate.ImageContent``; the service stores it as an object and keeps only its key
(:data:`IMAGE_KEY`), which no request may set. ``RepeatType`` is stored and echoed, but a still
image shows for the whole watermark window whatever it says (it matters for animations only).
Fonts: both of Tencent's (``arial.ttf``, ``simkai.ttf``) are drawn with the DejaVu Sans OpenVOD
ships; it has no CJK glyphs.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from openvod.domain.templates._fields import JsonObject, bad_value, type_name
from openvod.domain.templates.names import validate_definition
from openvod.errors import InvalidParameter

__all__ = [
    "IMAGE_KEY", "IMAGE_TYPES", "MAX_IMAGE_BYTES", "MAX_TEXT", "MAX_WATERMARKS", "ORIGINS", "Length",
    "image_format", "merge_watermark", "parse_length", "take_image", "validate_watermark", "watermark_items",
]

MAX_IMAGE_BYTES = 2 * 1024 * 1024
"""Largest watermark image (decoded bytes)."""
MAX_TEXT = 100
"""Longest ``TextContent`` (characters), as Tencent's ``WatermarkInput`` says."""
MAX_WATERMARKS = 10
"""Most items of one task's ``WatermarkSet``."""
IMAGE_KEY = "ImageKey"
"""Where stored params keep the image object's (physical) key; never taken from a request."""
ORIGINS = ("TopLeft", "TopRight", "BottomLeft", "BottomRight")
FONTS = ("arial.ttf", "simkai.ttf")
REPEATS = ("once", "repeat_last_frame", "repeat")
# decoded-bytes signature -> format name (FFmpeg's single-image demuxer is "<name>_pipe")
IMAGE_TYPES: dict[bytes, Literal["png", "jpeg"]] = {b"\x89PNG\r\n\x1a\n": "png", b"\xff\xd8\xff": "jpeg"}

# ASCII digits, whole strings (fullmatch): \d takes any script's digits ("١٠px"), and $ a trailing newline.
_LENGTH = re.compile(r"([0-9]{1,5}(?:\.[0-9]{1,4})?)(%|px)")
_COLOR = re.compile(r"0x[0-9A-Fa-f]{6}")
_FONT_SIZE = re.compile(r"([0-9]{1,3})px")
_TOP_KEYS = ("Type", "CoordinateOrigin", "XPos", "YPos", "ImageTemplate", "TextTemplate")
_IMAGE_KEYS = ("ImageContent", "Width", "Height", "RepeatType", "Transparency")
_TEXT_KEYS = ("FontType", "FontSize", "FontColor", "FontAlpha")


@dataclass(frozen=True)
class Length:
    """A position or size: ``value`` pixels, or ``value`` percent of the frame's side."""

    value: float
    unit: Literal["%", "px"]

    def __str__(self) -> str:
        return f"{self.value:g}{self.unit}"


def parse_length(text: str) -> Length:
    """``"10%"`` or ``"100px"`` as a :class:`Length`; ``ValueError`` otherwise (validated values never fail)."""
    m = _LENGTH.fullmatch(text)
    if m is None:
        raise ValueError(f"not a length: {text!r}")
    return Length(float(m[1]), "%" if m[2] == "%" else "px")


def _length(o: JsonObject, name: str, default: str, *, most_px: int, code: str | None = None,
            least_px: int = 0) -> str:
    value = o.raw.get(name, default)
    m = _LENGTH.fullmatch(value.strip()) if isinstance(value, str) else None
    n = float(m[1]) if m is not None else -1.0
    ok = m is not None and (n <= 100 if m[2] == "%" else n == 0 or least_px <= n <= most_px)
    if m is None or not ok:
        extra = f" or 0px, {least_px}px to {most_px}px" if least_px else f", 0px to {most_px}px"
        raise bad_value(code or name, f"{o.path(name)} must be a length: 0% to 100%{extra} "
                                      f"(like \"10%\" or \"100px\"), got {value!r}")
    return str(parse_length(value.strip()))


def image_format(data: bytes) -> Literal["png", "jpeg"] | None:
    """``png`` or ``jpeg`` when ``data`` starts with that format's signature, else ``None``."""
    return next((fmt for magic, fmt in IMAGE_TYPES.items() if data.startswith(magic)), None)


def _image_content(o: JsonObject) -> str:
    raw = o.required("ImageContent")
    where = o.path("ImageContent")
    if not isinstance(raw, str):
        raise bad_value("ImageContent", f"{where} must be base64 text, got {type_name(raw)}")
    if len(raw) > (MAX_IMAGE_BYTES * 4 // 3) + 8:
        raise bad_value("ImageContent", f"{where} is over {MAX_IMAGE_BYTES} bytes once decoded")
    try:
        data = base64.b64decode(raw.strip(), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise bad_value("ImageContent", f"{where} is not valid base64 ({exc})") from exc
    if not data or len(data) > MAX_IMAGE_BYTES:
        raise bad_value("ImageContent", f"{where} must be 1 to {MAX_IMAGE_BYTES} bytes once decoded, got {len(data)}")
    if image_format(data) is None:
        raise bad_value("ImageContent", f"{where} must be a PNG or JPEG image (its first bytes are {data[:8]!r}); "
                                        "GIF, SVG and other types are not supported")
    return base64.b64encode(data).decode("ascii")


def _image(where: str, raw: Any, *, stored: bool) -> dict[str, Any]:
    keys = (*_IMAGE_KEYS, IMAGE_KEY) if stored else _IMAGE_KEYS
    o = JsonObject(where, raw, keys, "ImageTemplate")
    out: dict[str, Any] = {}
    if stored and o.has(IMAGE_KEY) and not o.has("ImageContent"):
        out[IMAGE_KEY] = o.raw[IMAGE_KEY]
    else:
        out["ImageContent"] = _image_content(o)
    out |= {
        "Width": _length(o, "Width", "10%", most_px=4096, least_px=8),
        "Height": _length(o, "Height", "0px", most_px=4096, least_px=8),
        "RepeatType": o.choice("RepeatType", "repeat", REPEATS),
        "Transparency": o.whole("Transparency", 0, 0, 100),
    }
    if out["Width"] in ("0%", "0px"):
        raise bad_value("Width", f"{o.path('Width')} must be more than 0 (a Height of 0px keeps the image's aspect)")
    return out


def _text(where: str, raw: Any) -> dict[str, Any]:
    o = JsonObject(where, raw, _TEXT_KEYS, "TextTemplate")
    size = o.raw.get("FontSize", "16px")
    m = _FONT_SIZE.fullmatch(size.strip()) if isinstance(size, str) else None
    if m is None or not 1 <= int(m[1]) <= 500:
        raise bad_value("FontSize", f"{o.path('FontSize')} must look like \"16px\", 1px to 500px, got {size!r}")
    color = o.raw.get("FontColor", "0xFFFFFF")
    if not isinstance(color, str) or not _COLOR.fullmatch(color.strip()):
        raise bad_value("FontColor", f"{o.path('FontColor')} must look like \"0xRRGGBB\", got {color!r}")
    alpha = o.number("FontAlpha", 1, 0, 1)
    if alpha == 0:
        raise bad_value("FontAlpha", f"{o.path('FontAlpha')} must be more than 0 and at most 1 (0 is invisible)")
    return {"FontType": o.choice("FontType", "arial.ttf", FONTS), "FontSize": f"{int(m[1])}px",
            "FontColor": "0x" + color.strip()[2:].upper(), "FontAlpha": alpha}


def _refuse_svg(raw: Any) -> None:
    if isinstance(raw, Mapping) and (str(raw.get("Type", "")).strip().lower() == "svg" or raw.get("SvgTemplate")):
        raise InvalidParameter("Watermark Type svg (SvgTemplate) is not supported: OpenVOD draws image (PNG, JPEG) "
                               "and text watermarks only", code="UnknownParameter")


def _validate(raw: Any, *, stored: bool) -> dict[str, Any]:
    _refuse_svg(raw)
    o = JsonObject("Watermark", raw, _TOP_KEYS, "Watermark")
    kind = o.choice("Type", None, ("image", "text"))
    out: dict[str, Any] = {
        "Type": kind,
        "CoordinateOrigin": o.choice("CoordinateOrigin", "TopLeft", ORIGINS),
        "XPos": _length(o, "XPos", "0px", most_px=8192),
        "YPos": _length(o, "YPos", "0px", most_px=8192),
    }
    # The other kind's template is void (Tencent: "该字段无效"), so it is dropped, not refused.
    if kind == "image":
        out["ImageTemplate"] = _image("Watermark.ImageTemplate", o.required("ImageTemplate"), stored=stored)
    else:
        out["TextTemplate"] = _text("Watermark.TextTemplate", o.required("TextTemplate"))
    return out


def validate_watermark(raw: Any) -> dict[str, Any]:
    """The canonical params (every field, defaults filled in) of a watermark template created with ``raw``."""
    return _validate(raw, stored=False)


def merge_watermark(current: Mapping[str, Any], changes: Any) -> dict[str, Any]:
    """``current`` (stored params) with ``changes`` applied as ``ModifyWatermarkTemplate`` does, validated.

    ``Type`` cannot change; ``ImageTemplate``/``TextTemplate`` merge one level down (a new
    ``ImageContent`` replaces the stored image). The stored image key is never taken from ``changes``.
    """
    if not isinstance(changes, Mapping):
        raise bad_value("Watermark", f"Watermark changes must be an object, got {type_name(changes)}")
    _refuse_svg(changes)
    JsonObject("Watermark", changes, _TOP_KEYS[1:], "Watermark")  # unknown keys, Type included
    for name, keys in (("ImageTemplate", _IMAGE_KEYS), ("TextTemplate", _TEXT_KEYS)):
        if changes.get(name) is not None:
            JsonObject(f"Watermark.{name}", changes[name], keys, name)
    merged: dict[str, Any] = dict(current)
    for key, value in changes.items():
        if value is None:
            continue
        old = merged.get(key)
        if isinstance(old, Mapping) and isinstance(value, Mapping):
            value = {**{k: v for k, v in old.items() if not (k == IMAGE_KEY and "ImageContent" in value)}, **value}
        merged[key] = value
    kind = merged.get("Type")
    other = "TextTemplate" if kind == "image" else "ImageTemplate"
    if changes.get(other) is not None:
        raise bad_value(other, f"Watermark.{other} applies to {other[:-8].lower()} watermarks; "
                               f"this template's Type is {kind}")
    merged.pop(other, None)
    return _validate(merged, stored=True)


def take_image(params: Mapping[str, Any]) -> tuple[bytes | None, dict[str, Any]]:
    """The new image bytes of canonical ``params`` (``None`` when it has none) and the params
    without them, for the service to store the image and put its key under :data:`IMAGE_KEY`."""
    out = {**params}
    image = out.get("ImageTemplate")
    if not isinstance(image, Mapping) or "ImageContent" not in image:
        return None, out
    image = dict(image)
    data = base64.b64decode(image.pop("ImageContent"))
    out["ImageTemplate"] = image
    return data, out


def watermark_items(o: JsonObject) -> list[dict[str, Any]]:
    """A task item's ``WatermarkSet`` (``WatermarkInput``s), canonical; ``[]`` when absent.

    Each is ``{"Definition": int}`` with ``TextContent`` (1-100 characters, no control
    characters; for text watermarks) and ``StartTimeOffset``/``EndTimeOffset`` (seconds;
    negative counts back from the end) when given. ``SvgContent`` is ``UnknownParameter``.
    """
    out: list[dict[str, Any]] = []
    for i, raw in enumerate(o.items("WatermarkSet", "WatermarkSet", MAX_WATERMARKS)):
        where = f"{o.path('WatermarkSet')}[{i}]"
        if isinstance(raw, Mapping) and raw.get("SvgContent"):
            raise InvalidParameter(f"{where}.SvgContent: SVG watermarks are not supported", code="UnknownParameter")
        item = JsonObject(where, raw, ("Definition", "TextContent", "StartTimeOffset", "EndTimeOffset", "SvgContent"),
                          "WatermarkSet")
        entry: dict[str, Any] = {"Definition": validate_definition(item.required("Definition"),
                                                                   item.path("Definition"))}
        if item.has("TextContent"):
            text = item.raw["TextContent"]
            if not isinstance(text, str) or not 1 <= len(text) <= MAX_TEXT or any(
                    ord(c) < 32 or 0x7F <= ord(c) < 0xA0 for c in text):
                raise bad_value("TextContent", f"{item.path('TextContent')} must be 1 to {MAX_TEXT} characters "
                                               f"without control characters, got {text!r:.120}")
            entry["TextContent"] = text
        for name in ("StartTimeOffset", "EndTimeOffset"):
            if item.has(name):
                entry[name] = item.number(name, None, -86_400, 86_400)
        start, end = entry.get("StartTimeOffset", 0), entry.get("EndTimeOffset", 0)
        if start and end and (start > 0) == (end > 0) and end <= start:
            raise bad_value("EndTimeOffset", f"{item.path('EndTimeOffset')} {end} must come after StartTimeOffset "
                                             f"{start}")
        out.append(entry)
    return out
