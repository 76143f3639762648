"""Processing templates and task flows in Tencent VOD's model (API 3.0, 2018-07-17). No I/O.

    params = validate_params("AnimatedGraphics", {"Fps": 10, "Width": 480})
    # {"Format": "gif", "Width": 480, "Height": 0, "ResolutionAdaptive": "open", "Fps": 10, "Quality": 75}
    steps = expand_steps({"TranscodeTaskSet": [{"Definition": 100030}],
                          "CoverBySnapshotTaskSet": [{"Definition": 10, "PositionType": "Time",
                                                      "PositionValue": 1.5}]})
    [(s.kind, s.definition, s.params) for s in steps]
    # [(Transcode, 100030, {}), (CoverBySnapshot, 10, {"PositionType": "Time", "PositionValue": 1.5})]

**Parameters** use the field names of the SDK request models (``Create<Kind>TemplateRequest``,
``VideoTemplateInfo``, ``AudioTemplateInfo``, ``AdaptiveStreamTemplate``, ``MediaProcessTaskInput``;
see ``spec/captures/tencent-fields.txt`` and the SDKs' model docs). Values are checked against the
ranges those docs give; defaults are filled in, so stored params say exactly what will be made.
Choice values are matched case-insensitively and stored in Tencent's spelling. Errors carry
Tencent's codes (the VOD SDK's ``errorcodes.py``): ``InvalidParameterValue.<Field>`` for a bad value
(nested fields use Tencent's flat names: ``VideoCodec``, ``VideoBitrate``, ``AudioCodec``,
``AudioBitrate``, ``AudioSampleRate``), ``MissingParameter`` for a required field left out and
``UnknownParameter`` for a field OpenVOD does not know or does not support (watermarks, DRM other
than SimpleAES, TESHD, ...). Settings made moot are dropped, not refused: a ``VideoTemplate`` when
``RemoveVideo`` is 1 or the container holds audio only, ``SegmentType`` outside HLS.

**System templates** (``Type`` ``Preset``) are defined here with Tencent's own Definitions, from
VOD's "预置参数模板" page (cloud.tencent.com/document/product/266/33476; English copy
tencentcloud.com/document/product/266/33932; the MPS screenshot-template page 862/77168 agrees):

- Transcode 100010/20/30/40/70/80 (MP4) and 100210/20/30/40/70/80 (HLS): H.264 at 25 fps with
  the short side 360/540/720/1080/1440/2160 and 400/1000/1800/2500/3000/6000 kbps; AAC 44.1 kHz
  stereo at 64 (360p, 540p), 128 (720p, 1080p) or 160 kbps (2K, 4K). Audio only: 1100/1110/1120/
  1130/1140 (M4A, AAC 24/48/96/192/256 kbps) and 1010/1020 (MP3 128/320 kbps). Left out: the
  remux templates 875/876 (stream copy, not expressible in these params), TESHD 1008x0 and the
  historical 10/20/30... transcodes.
- AnimatedGraphics 20000 (GIF) and 20001 (WebP): source size, 2 fps (as Tencent's table says).
- SnapshotByTimeOffset 10 (also what CoverBySnapshot uses): JPG, source size, stretch.
- SampleSnapshot 10: JPG, source size, one picture every 10 percent, stretch.
- ImageSprite 10: JPG tiles of 142x80, 10 rows x 10 columns, one tile every 10 seconds.
- AdaptiveDynamicStreaming 10 (HLS), 12 (HLS, SimpleAES) and 20 (MPEG-DASH): six H.264 rungs at
  24 fps, short side 240/480/720/1080/1440/2160 at 256/512/512/1024/3072/6144 kbps, AAC 48 kbps
  44.1 kHz stereo; 10 and 12 skip rungs above the source's resolution, 20 does not.

Some system values (24 kbps audio, 320 kbps MP3, 80 px tiles) lie outside what apps may ask for
in their own templates; system templates are checked with wider limits. App templates get
Definitions from :data:`USER_DEFINITION_BASE` up, so they never collide with Tencent's numbers.

**Task flows** (``MediaProcessTask``): see :func:`normalize_task`. :func:`expand_steps` gives the
steps in a fixed order, which is also the order of ``MediaProcessResultSet``: the sets in the order
``MediaProcessTaskInput`` declares them (:data:`TASK_SETS`: Transcode, AnimatedGraphic,
SnapshotByTimeOffset, SampleSnapshot, ImageSprite, CoverBySnapshot, AdaptiveDynamicStreaming),
whatever the key order of the request, and within a set the list order.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from openvod.errors import InvalidParameter

__all__ = [
    "MAX_STEPS", "MAX_TIME_POINTS", "TASK_SETS", "USER_DEFINITION_BASE", "StepKind", "StepSpec", "SystemTemplate",
    "SYSTEM_TEMPLATES", "TemplateKind", "TimePoint", "expand_steps", "merge_params", "normalize_task",
    "parse_kind", "template_refs", "time_points", "validate_comment", "validate_definition", "validate_name",
    "validate_params", "validate_procedure_name",
]

USER_DEFINITION_BASE = 1_000_000
"""The first Definition given to an app's own template (per kind: the highest in use + 1)."""
MAX_STEPS = 50
"""Most steps one ``MediaProcessTask`` may expand to."""
MAX_TIME_POINTS = 100
"""Most time points one ``SnapshotByTimeOffsetTaskSet`` item may list."""
MAX_NAME, MAX_COMMENT, MAX_PROCEDURE_NAME = 64, 256, 20
_MAX_DEFINITION = 2**53


class TemplateKind(StrEnum):
    TRANSCODE = "Transcode"
    ANIMATED_GRAPHICS = "AnimatedGraphics"
    SNAPSHOT_BY_TIME_OFFSET = "SnapshotByTimeOffset"
    SAMPLE_SNAPSHOT = "SampleSnapshot"
    IMAGE_SPRITE = "ImageSprite"
    ADAPTIVE_DYNAMIC_STREAMING = "AdaptiveDynamicStreaming"


class StepKind(StrEnum):
    """A step of a task flow, named as ``MediaProcessTaskResult.Type`` names it."""

    TRANSCODE = "Transcode"
    ANIMATED_GRAPHICS = "AnimatedGraphics"
    SNAPSHOT_BY_TIME_OFFSET = "SnapshotByTimeOffset"
    SAMPLE_SNAPSHOT = "SampleSnapshot"
    IMAGE_SPRITES = "ImageSprites"
    COVER_BY_SNAPSHOT = "CoverBySnapshot"
    ADAPTIVE_DYNAMIC_STREAMING = "AdaptiveDynamicStreaming"

    @property
    def template_kind(self) -> TemplateKind:
        """The kind of template the step's Definition names (a cover is a time-point snapshot)."""
        if self is StepKind.IMAGE_SPRITES:
            return TemplateKind.IMAGE_SPRITE
        if self is StepKind.COVER_BY_SNAPSHOT:
            return TemplateKind.SNAPSHOT_BY_TIME_OFFSET
        return TemplateKind(self.value)


TASK_SETS: tuple[tuple[str, StepKind], ...] = (
    ("TranscodeTaskSet", StepKind.TRANSCODE),
    ("AnimatedGraphicTaskSet", StepKind.ANIMATED_GRAPHICS),
    ("SnapshotByTimeOffsetTaskSet", StepKind.SNAPSHOT_BY_TIME_OFFSET),
    ("SampleSnapshotTaskSet", StepKind.SAMPLE_SNAPSHOT),
    ("ImageSpriteTaskSet", StepKind.IMAGE_SPRITES),
    ("CoverBySnapshotTaskSet", StepKind.COVER_BY_SNAPSHOT),
    ("AdaptiveDynamicStreamingTaskSet", StepKind.ADAPTIVE_DYNAMIC_STREAMING),
)
"""``MediaProcessTaskInput``'s sets in declaration order: the order steps run and results list."""


# --- errors and one validated JSON object ------------------------------------------------------


def _bad(code: str, message: str) -> InvalidParameter:
    return InvalidParameter(message, code=f"InvalidParameterValue.{code}")


def _type_name(value: Any) -> str:
    names = {dict: "an object", list: "a list", str: "a string", bool: "a boolean"}
    return names.get(type(value), type(value).__name__)


def _number_text(n: float) -> str:
    return str(int(n)) if float(n).is_integer() else str(n)


def _number(where: str, code: str, value: Any, lo: float, hi: float) -> float:
    """A finite number in [lo, hi]; whole values come back as ``int`` so JSON shows ``75``, not ``75.0``."""
    # ints are compared as ints: a huge JSON integer must not reach float() (OverflowError)
    if isinstance(value, bool) or not isinstance(value, int | float) or (
            isinstance(value, float) and not math.isfinite(value)):
        raise _bad(code, f"{where} must be a number, got {value!r}")
    if not lo <= value <= hi:
        raise _bad(code, f"{where} must be from {_number_text(lo)} to {_number_text(hi)}, got {value!r}")
    return int(value) if isinstance(value, int) or value.is_integer() else value


class _Obj:
    """A JSON object under validation: reads fields by Tencent name, names them by path in errors."""

    def __init__(self, where: str, raw: Any, allowed: tuple[str, ...], code: str) -> None:
        if not isinstance(raw, Mapping):
            raise _bad(code, f"{where} must be an object, got {_type_name(raw)}")
        self.where = where
        self.raw = {str(k): v for k, v in raw.items() if v is not None}  # SDKs send unset fields as null
        unknown = sorted(k for k in self.raw if k not in allowed)
        if unknown:
            raise InvalidParameter(f"{where} has unknown or unsupported parameter {unknown[0]!r}; "
                                   f"supported: {', '.join(allowed)}", code="UnknownParameter")

    def path(self, name: str) -> str:
        return f"{self.where}.{name}"

    def has(self, name: str) -> bool:
        return name in self.raw

    def required(self, name: str) -> Any:
        if name not in self.raw:
            raise InvalidParameter(f"{self.path(name)} is required", code="MissingParameter")
        return self.raw[name]

    def _get(self, name: str, default: Any) -> Any:
        return self.raw[name] if name in self.raw else self.required(name) if default is None else default

    def number(self, name: str, default: float | None, lo: float, hi: float, code: str | None = None) -> float:
        return _number(self.path(name), code or name, self._get(name, default), lo, hi)

    def whole(self, name: str, default: int | None, lo: int, hi: int, code: str | None = None,
              *, zero: bool = False) -> int:
        """A whole number in [lo, hi]; with ``zero`` also 0 (Tencent's "0 and [lo, hi]")."""
        value = self._get(name, default)
        whole = (isinstance(value, int) and not isinstance(value, bool)) or (
            isinstance(value, float) and value.is_integer())
        n = int(value) if whole else None
        if n is None or not (lo <= n <= hi or (zero and n == 0)):
            span = f"0 or {lo} to {hi}" if zero else f"{lo} to {hi}"
            raise _bad(code or name, f"{self.path(name)} must be a whole number, {span}, got {value!r}")
        return n

    def flag(self, name: str) -> int:
        return self.one_of_ints(name, 0, (0, 1))

    def one_of_ints(self, name: str, default: int, choices: tuple[int, ...], code: str | None = None) -> int:
        value = self.raw.get(name, default)
        if isinstance(value, bool) or not isinstance(value, int | float) or value not in choices:
            raise _bad(code or name, f"{self.path(name)} must be one of {', '.join(map(str, choices))}, "
                                     f"got {value!r}")
        return int(value)

    def choice(self, name: str, default: str | None, choices: tuple[str, ...], code: str | None = None) -> str:
        value = self.raw.get(name, "")
        if value == "" and default is not None:
            return default
        if value == "":
            self.required(name)
        found = next((c for c in choices if isinstance(value, str) and c.lower() == value.strip().lower()), None)
        if found is None:
            raise _bad(code or name, f"{self.path(name)} must be one of {', '.join(c for c in choices if c)}, "
                                     f"got {value!r}")
        return found

    def items(self, name: str, code: str, most: int) -> list[Any]:
        value = self.raw.get(name, [])
        if not isinstance(value, list):
            raise _bad(code, f"{self.path(name)} must be a list, got {_type_name(value)}")
        if len(value) > most:
            raise _bad(code, f"{self.path(name)} may list at most {most} items, got {len(value)}")
        return value


# --- template kinds ----------------------------------------------------------------------------


@dataclass(frozen=True)
class _Limits:
    min_side: int
    audio_kbps: tuple[int, int]


_USER = _Limits(min_side=128, audio_kbps=(26, 256))
_SYSTEM = _Limits(min_side=16, audio_kbps=(8, 320))

_ADAPTIVE = ("open", "close")
_FILL = ("stretch", "black", "white", "gauss")
_PICTURE = ("jpg", "png", "webp")
_AUDIO_ONLY = ("mp3", "flac", "ogg", "m4a", "wav")
_VIDEO_CODECS = {"mp4": ("libx264", "libx265", "av1"), "flv": ("libx264",), "hls": ("libx264", "libx265")}
_AUDIO_CODECS = {
    "mp4": ("libfdk_aac", "libmp3lame", "mp2"), "flv": ("libfdk_aac", "libmp3lame", "mp2"),
    "hls": ("libfdk_aac", "libmp3lame"), "mp3": ("libmp3lame",), "m4a": ("libfdk_aac", "libmp3lame", "ac3"),
    "flac": ("flac",), "ogg": ("flac",), "wav": ("pcm16",),
}
_VIDEO_KEYS = ("Codec", "Fps", "Bitrate", "ResolutionAdaptive", "Width", "Height", "FillType", "Vcrf", "Gop")


def _frame(o: _Obj, lim: _Limits, hi: int) -> dict[str, Any]:
    """Width/Height (0 keeps the source's, or follows the other side) and ResolutionAdaptive."""
    return {
        "Width": o.whole("Width", 0, lim.min_side, hi, zero=True),
        "Height": o.whole("Height", 0, lim.min_side, hi, zero=True),
        "ResolutionAdaptive": o.choice("ResolutionAdaptive", "open", _ADAPTIVE),
    }


def _sampling(o: _Obj) -> dict[str, Any]:
    kind = o.choice("SampleType", None, ("Percent", "Time"))
    top = 100 if kind == "Percent" else 86_400
    return {"SampleType": kind, "SampleInterval": o.whole("SampleInterval", None, 1, top)}


def _video(where: str, raw: Any, codecs: tuple[str, ...], lim: _Limits) -> dict[str, Any]:
    o = _Obj(where, raw, _VIDEO_KEYS, where.rsplit(".", 1)[-1])
    return {
        "Codec": o.choice("Codec", codecs[0], codecs, "VideoCodec"),
        "Fps": o.whole("Fps", 0, 0, 100),  # 0: the source's frame rate
        "Bitrate": o.whole("Bitrate", 0, 128, 100_000, "VideoBitrate", zero=True),  # kbps; 0: chosen for you
        **_frame(o, lim, 8192),
        "FillType": o.choice("FillType", "black", _FILL),
        "Vcrf": o.whole("Vcrf", 0, 1, 51, zero=True),  # 0: rate control by Bitrate
        "Gop": o.whole("Gop", 0, 1, 100_000, zero=True),  # frames; 0: chosen for you
    }


def _audio(where: str, raw: Any, codecs: tuple[str, ...], lim: _Limits, *, audio_only: bool) -> dict[str, Any]:
    o = _Obj(where, raw, ("Codec", "Bitrate", "SampleRate", "AudioChannel"), where.rsplit(".", 1)[-1])
    codec = o.choice("Codec", codecs[0], codecs, "AudioCodec")
    rates = (16000, 32000, 44100, 48000) if codec == "pcm16" else (32000, 44100, 48000)
    channels = (0, 1, 2) if audio_only else (0, 1, 2, 6)  # 0: as the source; 6 (5.1) not in audio files
    lo, hi = lim.audio_kbps
    return {
        "Codec": codec,
        "Bitrate": o.whole("Bitrate", 0, lo, hi, "AudioBitrate", zero=True),  # kbps; 0: chosen for you
        "SampleRate": o.one_of_ints("SampleRate", 44100, rates, "AudioSampleRate"),
        "AudioChannel": o.one_of_ints("AudioChannel", 2, channels),
    }


def _transcode(raw: Any, lim: _Limits) -> dict[str, Any]:
    keys = ("Container", "RemoveVideo", "RemoveAudio", "VideoTemplate", "AudioTemplate", "SegmentType")
    o = _Obj("Transcode", raw, keys, "Transcode")
    container = o.choice("Container", None, (*_VIDEO_CODECS, *_AUDIO_ONLY))
    audio_only = container in _AUDIO_ONLY
    remove_video = 1 if audio_only else o.flag("RemoveVideo")
    remove_audio = o.flag("RemoveAudio")
    if remove_video and remove_audio:
        why = f"Container {container} holds audio only" if audio_only else "RemoveVideo is 1"
        raise _bad("RemoveAudio", f"Transcode.RemoveAudio is 1 and {why}: nothing would be left to encode")
    out: dict[str, Any] = {"Container": container, "RemoveVideo": remove_video, "RemoveAudio": remove_audio}
    if not remove_video:
        out["VideoTemplate"] = _video("Transcode.VideoTemplate", o.required("VideoTemplate"),
                                      _VIDEO_CODECS[container], lim)
    if not remove_audio:
        out["AudioTemplate"] = _audio("Transcode.AudioTemplate", o.required("AudioTemplate"),
                                      _AUDIO_CODECS[container], lim, audio_only=audio_only)
    if container == "hls":
        out["SegmentType"] = o.choice("SegmentType", "ts", ("ts", "fmp4"))
    return out


def _animated_graphics(raw: Any, lim: _Limits) -> dict[str, Any]:
    keys = ("Format", "Width", "Height", "ResolutionAdaptive", "Fps", "Quality")
    o = _Obj("AnimatedGraphics", raw, keys, "AnimatedGraphics")
    return {
        "Format": o.choice("Format", "gif", ("gif", "webp")),
        **_frame(o, lim, 4096),
        "Fps": o.whole("Fps", None, 1, 30),
        "Quality": o.number("Quality", 75, 1, 100),
    }


def _snapshot_by_time_offset(raw: Any, lim: _Limits) -> dict[str, Any]:
    keys = ("Format", "Width", "Height", "ResolutionAdaptive", "FillType")
    o = _Obj("SnapshotByTimeOffset", raw, keys, "SnapshotByTimeOffset")
    return {"Format": o.choice("Format", "jpg", _PICTURE), **_frame(o, lim, 4096),
            "FillType": o.choice("FillType", "black", _FILL)}


def _sample_snapshot(raw: Any, lim: _Limits) -> dict[str, Any]:
    keys = ("SampleType", "SampleInterval", "Format", "Width", "Height", "ResolutionAdaptive", "FillType")
    o = _Obj("SampleSnapshot", raw, keys, "SampleSnapshot")
    return {**_sampling(o), "Format": o.choice("Format", "jpg", _PICTURE), **_frame(o, lim, 4096),
            "FillType": o.choice("FillType", "black", _FILL)}


def _image_sprite(raw: Any, lim: _Limits) -> dict[str, Any]:
    keys = ("SampleType", "SampleInterval", "RowCount", "ColumnCount", "Format", "Width", "Height",
            "ResolutionAdaptive", "FillType")
    o = _Obj("ImageSprite", raw, keys, "ImageSprite")
    rows, columns = o.whole("RowCount", None, 1, 100), o.whole("ColumnCount", None, 1, 100)
    if rows * columns > 100:
        raise _bad("RowCount", f"ImageSprite.RowCount x ColumnCount may be at most 100 tiles per sprite, "
                               f"got {rows} x {columns}")
    return {**_sampling(o), "RowCount": rows, "ColumnCount": columns, "Format": o.choice("Format", "jpg", _PICTURE),
            **_frame(o, lim, 4096), "FillType": o.choice("FillType", "black", ("stretch", "black"))}


def _stream(where: str, raw: Any, lim: _Limits) -> dict[str, Any]:
    o = _Obj(where, raw, ("Video", "Audio", "RemoveAudio", "RemoveVideo"), "StreamInfos")
    remove_video, remove_audio = o.flag("RemoveVideo"), o.flag("RemoveAudio")
    if remove_video and remove_audio:
        raise _bad("RemoveAudio", f"{where}: RemoveVideo and RemoveAudio are both 1, nothing would be left")
    out: dict[str, Any] = {"RemoveVideo": remove_video, "RemoveAudio": remove_audio}
    if not remove_video:
        out["Video"] = _video(f"{where}.Video", o.required("Video"), ("libx264", "libx265"), lim)
    if not remove_audio:
        out["Audio"] = _audio(f"{where}.Audio", o.required("Audio"), ("libfdk_aac",), lim, audio_only=False)
    return out


def _adaptive_dynamic_streaming(raw: Any, lim: _Limits) -> dict[str, Any]:
    keys = ("Format", "StreamInfos", "DrmType", "DisableHigherVideoBitrate", "DisableHigherVideoResolution",
            "SegmentType")
    o = _Obj("AdaptiveDynamicStreaming", raw, keys, "AdaptiveDynamicStreaming")
    fmt = o.choice("Format", None, ("HLS", "MPEG-DASH"))
    if isinstance(o.raw.get("DrmType"), str) and o.raw["DrmType"].lower() in ("widevine", "fairplay"):
        raise _bad("DrmType", f"AdaptiveDynamicStreaming.DrmType {o.raw['DrmType']} needs a DRM licence service, "
                              "which OpenVOD does not have; use SimpleAES (HLS AES-128) or leave it empty")
    drm = o.choice("DrmType", "", ("", "SimpleAES"))
    if drm and fmt != "HLS":
        raise _bad("DrmType", f"AdaptiveDynamicStreaming.DrmType SimpleAES encrypts HLS only, not {fmt}")
    infos = o.items("StreamInfos", "StreamInfos", 10) if o.has("StreamInfos") else o.required("StreamInfos")
    if not infos:
        raise _bad("StreamInfos", "AdaptiveDynamicStreaming.StreamInfos must list 1 to 10 streams, got none")
    out: dict[str, Any] = {
        "Format": fmt,
        "StreamInfos": [_stream(f"AdaptiveDynamicStreaming.StreamInfos[{i}]", s, lim) for i, s in enumerate(infos)],
        "DrmType": drm,
        "DisableHigherVideoBitrate": o.flag("DisableHigherVideoBitrate"),
        "DisableHigherVideoResolution": o.flag("DisableHigherVideoResolution"),
    }
    if fmt == "HLS":
        out["SegmentType"] = o.choice("SegmentType", "ts", ("ts", "fmp4"))
    return out


_VALIDATORS: dict[TemplateKind, Callable[[Any, _Limits], dict[str, Any]]] = {
    TemplateKind.TRANSCODE: _transcode,
    TemplateKind.ANIMATED_GRAPHICS: _animated_graphics,
    TemplateKind.SNAPSHOT_BY_TIME_OFFSET: _snapshot_by_time_offset,
    TemplateKind.SAMPLE_SNAPSHOT: _sample_snapshot,
    TemplateKind.IMAGE_SPRITE: _image_sprite,
    TemplateKind.ADAPTIVE_DYNAMIC_STREAMING: _adaptive_dynamic_streaming,
}


def parse_kind(value: str) -> TemplateKind:
    """The :class:`TemplateKind` named ``value`` (any case); ``InvalidParameterValue.TemplateKind``."""
    for kind in TemplateKind:
        if isinstance(value, str) and value.strip().lower() == kind.value.lower():
            return kind
    raise _bad("TemplateKind", f"template kind must be one of {', '.join(TemplateKind)}, got {value!r}")


def validate_params(kind: TemplateKind | str, params: Any) -> dict[str, Any]:
    """The canonical params (every field, defaults filled in) of an app's template of ``kind``."""
    return _VALIDATORS[parse_kind(kind)](params, _USER)


def merge_params(kind: TemplateKind | str, current: Mapping[str, Any], changes: Any) -> dict[str, Any]:
    """``current`` with ``changes`` applied as Tencent's ``Modify<Kind>Template`` does, validated.

    Fields left out keep their value; nested objects (``VideoTemplate``, ``AudioTemplate``) merge one
    level down; lists (``StreamInfos``) are replaced whole.
    """
    kind = parse_kind(kind)
    if not isinstance(changes, Mapping):
        raise _bad(kind.value, f"{kind.value} changes must be an object, got {_type_name(changes)}")
    merged = dict(current)
    for key, value in changes.items():
        old = merged.get(key)
        merged[key] = {**old, **value} if isinstance(old, Mapping) and isinstance(value, Mapping) else value
    return _VALIDATORS[kind](merged, _USER)


def validate_definition(value: Any, where: str = "Definition") -> int:
    """A template Definition: a whole number from 1 (``InvalidParameterValue.Definition``)."""
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= _MAX_DEFINITION:
        raise _bad("Definition", f"{where} must be a whole number from 1, got {value!r}")
    return value


def _text(value: Any, what: str, code: str, most: int) -> str:
    if not isinstance(value, str):
        raise _bad(code, f"{what} must be a string, got {_type_name(value)}")
    if len(value) > most:
        raise _bad(code, f"{what} must be at most {most} characters, got {len(value)}")
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in value):
        raise _bad(code, f"{what} must not contain control characters")
    return value


def validate_name(name: Any) -> str:
    """A template name: at most 64 characters (``InvalidParameterValue.Name``)."""
    return _text(name, "template Name", "Name", MAX_NAME)


def validate_comment(comment: Any) -> str:
    """A template or procedure comment: at most 256 characters (``InvalidParameterValue.Comment``)."""
    return _text(comment, "Comment", "Comment", MAX_COMMENT)


def validate_procedure_name(name: Any) -> str:
    """A task-flow name: 1-20 characters, any script, no '/', not '.' or '..' (no URL path can
    carry those) (``InvalidParameterValue.ProcedureName``)."""
    text = _text(name, "procedure Name", "ProcedureName", MAX_PROCEDURE_NAME)
    if not text.strip() or text != text.strip() or "/" in text or text in (".", ".."):
        raise _bad("ProcedureName", f"procedure Name must be 1-{MAX_PROCEDURE_NAME} characters without '/' or "
                                    f"surrounding spaces, and not '.' or '..', got {name!r}")
    return text


# --- system templates --------------------------------------------------------------------------


@dataclass(frozen=True)
class SystemTemplate:
    kind: TemplateKind
    definition: int
    name: str
    comment: str
    params: dict[str, Any]


def _rung(height: int, kbps: int, fps: int, audio_kbps: int) -> tuple[dict[str, Any], dict[str, Any]]:
    video = {"Codec": "libx264", "Fps": fps, "Bitrate": kbps, "Width": 0, "Height": height}
    return video, {"Codec": "libfdk_aac", "Bitrate": audio_kbps, "SampleRate": 44100, "AudioChannel": 2}


def _system_templates() -> dict[TemplateKind, dict[int, SystemTemplate]]:
    found: list[tuple[TemplateKind, int, str, str, dict[str, Any]]] = []
    rungs = (("FLU", 1, 360, 400, 64), ("SD", 2, 540, 1000, 64), ("HD", 3, 720, 1800, 128),
             ("FHD", 4, 1080, 2500, 128), ("2K", 7, 1440, 3000, 160), ("4K", 8, 2160, 6000, 160))
    for base, container in ((100_000, "mp4"), (100_200, "hls")):
        for label, n, height, kbps, akbps in rungs:
            video, audio = _rung(height, kbps, 25, akbps)
            found.append((TemplateKind.TRANSCODE, base + 10 * n, f"{label}-{container.upper()}",
                          f"{container.upper()}, H.264 {height}p {kbps} kbps 25 fps, AAC {akbps} kbps",
                          {"Container": container, "VideoTemplate": video, "AudioTemplate": audio}))
    audio_only = ((1100, "m4a", 24), (1110, "m4a", 48), (1120, "m4a", 96), (1130, "m4a", 192), (1140, "m4a", 256),
                  (1010, "mp3", 128), (1020, "mp3", 320))
    for definition, container, kbps in audio_only:
        codec = "libmp3lame" if container == "mp3" else "libfdk_aac"
        found.append((TemplateKind.TRANSCODE, definition, f"{container.upper()}-{kbps}k",
                      f"{container.upper()} audio only, {codec} {kbps} kbps 44.1 kHz stereo",
                      {"Container": container, "AudioTemplate": {"Codec": codec, "Bitrate": kbps}}))
    for definition, fmt in ((20000, "gif"), (20001, "webp")):
        found.append((TemplateKind.ANIMATED_GRAPHICS, definition, f"{fmt.upper()}-2fps",
                      f"{fmt.upper()}, source size, 2 fps", {"Format": fmt, "Fps": 2}))
    found.append((TemplateKind.SNAPSHOT_BY_TIME_OFFSET, 10, "JPG", "JPG, source size",
                  {"Format": "jpg", "FillType": "stretch"}))
    found.append((TemplateKind.SAMPLE_SNAPSHOT, 10, "JPG-10%", "JPG, source size, every 10 percent",
                  {"SampleType": "Percent", "SampleInterval": 10, "FillType": "stretch"}))
    found.append((TemplateKind.IMAGE_SPRITE, 10, "JPG-142x80-10x10", "JPG, 142x80 tiles, 10x10 per sprite, every 10 s",
                  {"SampleType": "Time", "SampleInterval": 10, "RowCount": 10, "ColumnCount": 10,
                   "Width": 142, "Height": 80}))
    ladder = [dict(zip(("Video", "Audio"), _rung(h, k, 24, 48), strict=True))
              for h, k in ((240, 256), (480, 512), (720, 512), (1080, 1024), (1440, 3072), (2160, 6144))]
    packages = ((10, "HLS", "", 1), (12, "HLS", "SimpleAES", 1), (20, "MPEG-DASH", "", 0))
    for definition, fmt, drm, skip_higher in packages:
        what = f"{fmt}{', SimpleAES' if drm else ''}, 6 H.264 rungs 240p-2160p"
        found.append((TemplateKind.ADAPTIVE_DYNAMIC_STREAMING, definition, f"{fmt}{'-' + drm if drm else ''}", what,
                      {"Format": fmt, "StreamInfos": ladder, "DrmType": drm,
                       "DisableHigherVideoResolution": skip_higher}))
    out: dict[TemplateKind, dict[int, SystemTemplate]] = {kind: {} for kind in TemplateKind}
    for kind, definition, name, comment, params in found:
        # Validated like any template, so a bad definition fails at import rather than in a task.
        out[kind][definition] = SystemTemplate(kind, definition, name, comment, _VALIDATORS[kind](params, _SYSTEM))
    return out


SYSTEM_TEMPLATES: dict[TemplateKind, dict[int, SystemTemplate]] = _system_templates()
"""Built-in templates by kind and Definition (listed with ``Type`` ``Preset``)."""


# --- task flows (MediaProcessTask) -------------------------------------------------------------


@dataclass(frozen=True)
class StepSpec:
    """One step of a task flow: what to make (``kind`` + template ``definition``) and the step's
    own settings (``params``: the task item without ``Definition``, canonical)."""

    kind: StepKind
    definition: int
    params: dict[str, Any]

    @property
    def template_kind(self) -> TemplateKind:
        return self.kind.template_kind

    def input(self) -> dict[str, Any]:
        """The task item as Tencent echoes it in ``MediaProcessTaskResult.<X>Task.Input``."""
        return {"Definition": self.definition, **self.params}


@dataclass(frozen=True)
class TimePoint:
    """A snapshot time: ``seconds`` from the start, or ``percent`` of the duration."""

    seconds: float | None = None
    percent: float | None = None

    def at(self, duration: float) -> float:
        """Seconds from the start for a media file of ``duration`` seconds."""
        return self.seconds if self.seconds is not None else duration * (self.percent or 0.0) / 100.0


_TIME_POINT = re.compile(r"^(\d+(?:\.\d+)?)(s|%)$")


def _offsets(o: _Obj, *, required: bool) -> dict[str, Any]:
    out = {name: o.number(name, None, -86_400_000, 86_400_000) for name in ("StartTimeOffset", "EndTimeOffset")
           if required or o.has(name)}
    start, end = out.get("StartTimeOffset", 0), out.get("EndTimeOffset", 0)
    if start and end and (start > 0) == (end > 0) and end <= start:
        raise _bad("EndTimeOffset", f"{o.path('EndTimeOffset')} {end} must come after StartTimeOffset {start} "
                                    "(seconds; negative values count back from the end)")
    return out


def _snapshot_points(o: _Obj) -> dict[str, Any]:
    ext = o.items("ExtTimeOffsetSet", "ExtTimeOffsetSet", MAX_TIME_POINTS)
    legacy = o.items("TimeOffsetSet", "TimeOffsetSet", MAX_TIME_POINTS)
    if bool(ext) == bool(legacy):
        raise _bad("ExtTimeOffsetSet", f"{o.where} must list time points in ExtTimeOffsetSet (\"3.5s\", \"10%\") "
                                       "or, in milliseconds, in TimeOffsetSet; exactly one of them")
    if legacy:
        where = o.path("TimeOffsetSet")
        return {"TimeOffsetSet": [_number(f"{where}[{i}]", "TimeOffsetSet", v, 0, 86_400_000)
                                  for i, v in enumerate(legacy)]}
    points = []
    for value in ext:
        m = _TIME_POINT.match(value.strip()) if isinstance(value, str) else None
        if m is None or (m[2] == "%" and float(m[1]) > 100):
            raise _bad("ExtTimeOffsetSet", f"{o.path('ExtTimeOffsetSet')} items must look like \"3.5s\" (seconds) "
                                           f"or \"10%\" (of the duration, at most 100%), got {value!r}")
        points.append(value.strip())
    return {"ExtTimeOffsetSet": points}


def _cover(o: _Obj) -> dict[str, Any]:
    kind = o.choice("PositionType", None, ("Time", "Percent"))
    return {"PositionType": kind,
            "PositionValue": o.number("PositionValue", None, 0, 100 if kind == "Percent" else 86_400_000)}


_ITEMS: dict[StepKind, tuple[tuple[str, ...], Callable[[_Obj], dict[str, Any]]]] = {
    StepKind.TRANSCODE: (("StartTimeOffset", "EndTimeOffset"), lambda o: _offsets(o, required=False)),
    StepKind.ANIMATED_GRAPHICS: (("StartTimeOffset", "EndTimeOffset"), lambda o: _offsets(o, required=True)),
    StepKind.SNAPSHOT_BY_TIME_OFFSET: (("ExtTimeOffsetSet", "TimeOffsetSet"), _snapshot_points),
    StepKind.SAMPLE_SNAPSHOT: ((), lambda o: {}),
    StepKind.IMAGE_SPRITES: ((), lambda o: {}),
    StepKind.COVER_BY_SNAPSHOT: (("PositionType", "PositionValue"), _cover),
    StepKind.ADAPTIVE_DYNAMIC_STREAMING: ((), lambda o: {}),
}
# Outputs of these are kept per Definition (MediaInfo lists one set per Definition), so a set may
# name a Definition once; animated images carry their own offsets and may repeat one.
_ONCE_PER_DEFINITION = {StepKind.TRANSCODE, StepKind.SNAPSHOT_BY_TIME_OFFSET, StepKind.SAMPLE_SNAPSHOT,
                        StepKind.IMAGE_SPRITES, StepKind.ADAPTIVE_DYNAMIC_STREAMING}


def normalize_task(task: Any) -> dict[str, Any]:
    """The canonical ``MediaProcessTask``: the non-empty sets of :data:`TASK_SETS`, in that order.

    Each item is ``{"Definition": int, ...step settings}``: Transcode takes optional
    ``StartTimeOffset``/``EndTimeOffset`` (seconds, negative counts back from the end),
    AnimatedGraphic requires both, SnapshotByTimeOffset takes ``ExtTimeOffsetSet`` (``"3.5s"``,
    ``"10%"``) or the older ``TimeOffsetSet`` (milliseconds), CoverBySnapshot takes
    ``PositionType`` Time|Percent and ``PositionValue``. At least one step, at most
    :data:`MAX_STEPS`, one cover, and a Definition at most once per set (animated images aside).
    Whether each Definition exists is the caller's to check (:func:`template_refs`).
    """
    o = _Obj("MediaProcessTask", task, tuple(name for name, _ in TASK_SETS), "MediaProcessTask")
    out: dict[str, Any] = {}
    for name, kind in TASK_SETS:
        allowed, rule = _ITEMS[kind]
        items: list[dict[str, Any]] = []
        for i, raw in enumerate(o.items(name, name, MAX_STEPS)):
            item = _Obj(f"MediaProcessTask.{name}[{i}]", raw, ("Definition", *allowed), name)
            definition = validate_definition(item.required("Definition"), item.path("Definition"))
            if kind in _ONCE_PER_DEFINITION and any(x["Definition"] == definition for x in items):
                raise _bad("Definition", f"{item.path('Definition')} {definition} is already in {name}: "
                                         "each Definition may appear once per set")
            items.append({"Definition": definition, **rule(item)})
        if kind is StepKind.COVER_BY_SNAPSHOT and len(items) > 1:
            raise _bad(name, f"MediaProcessTask.{name} may hold one item (a media file has one cover), "
                             f"got {len(items)}")
        if items:
            out[name] = items
    total = sum(len(v) for v in out.values())
    if total == 0:
        raise _bad("MediaProcessTask", "MediaProcessTask has no tasks: list at least one item in one of "
                                       + ", ".join(name for name, _ in TASK_SETS))
    if total > MAX_STEPS:
        raise _bad("MediaProcessTask", f"MediaProcessTask may hold at most {MAX_STEPS} tasks, got {total}")
    return out


def expand_steps(task: Any) -> list[StepSpec]:
    """The steps of ``task`` (validated by :func:`normalize_task`) in run and result order: the sets
    in :data:`TASK_SETS` order, each set in list order."""
    canonical = normalize_task(task)
    return [StepSpec(kind, item["Definition"], {k: v for k, v in item.items() if k != "Definition"})
            for name, kind in TASK_SETS for item in canonical.get(name, [])]


def template_refs(task: Mapping[str, Any]) -> list[tuple[TemplateKind, int]]:
    """Every (template kind, Definition) a canonical task (from :func:`normalize_task`, or as stored)
    names, once each, in step order. Does not validate: malformed items are skipped."""
    refs = [(kind.template_kind, item.get("Definition")) for name, kind in TASK_SETS
            for item in (task.get(name) or []) if isinstance(item, Mapping)]
    return list(dict.fromkeys((k, d) for k, d in refs if isinstance(d, int) and not isinstance(d, bool)))


def time_points(params: Mapping[str, Any]) -> list[TimePoint]:
    """The time points of a SnapshotByTimeOffset step's canonical ``params``, in order."""
    if "TimeOffsetSet" in params:
        return [TimePoint(seconds=float(ms) / 1000.0) for ms in params["TimeOffsetSet"]]
    points = []
    for text in params.get("ExtTimeOffsetSet", []):
        value = float(text[:-1])
        points.append(TimePoint(percent=value) if text.endswith("%") else TimePoint(seconds=value))
    return points
