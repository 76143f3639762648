"""Template kinds and the params of each, checked as Tencent's ``Create<Kind>Template`` does.

    params = validate_params("AnimatedGraphics", {"Fps": 10, "Width": 480})
    # {"Format": "gif", "Width": 480, "Height": 0, "ResolutionAdaptive": "open", "Fps": 10, "Quality": 75}

Field names are those of the SDK request models (``Create<Kind>TemplateRequest``,
``VideoTemplateInfo``, ``AudioTemplateInfo``, ``AdaptiveStreamTemplate``; see
``spec/captures/tencent-fields.txt``). Values are checked against the ranges those docs give;
defaults are filled in, so stored params say exactly what will be made. Choice values are matched
case-insensitively and stored in Tencent's spelling. A bad value is
``InvalidParameterValue.<Field>`` (nested fields use Tencent's flat names: ``VideoCodec``,
``VideoBitrate``, ``AudioCodec``, ``AudioBitrate``, ``AudioSampleRate``); what OpenVOD does not
support (SVG watermarks, DRM other than SimpleAES, TESHD, ...) is ``UnknownParameter``. Settings made
moot are dropped, not refused: a ``VideoTemplate`` when ``RemoveVideo`` is 1 or the container
holds audio only, ``SegmentType`` outside HLS.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from openvod.domain.templates._fields import JsonObject, bad_value, type_name
from openvod.domain.templates.loudness import enhance_config, ladder_volume_balance
from openvod.domain.templates.per_title import per_title_params
from openvod.domain.templates.watermarks import merge_watermark, validate_watermark

__all__ = ["ADS_FORMATS", "ADS_VIDEO_CODECS", "AUDIO_ONLY_CONTAINERS", "TemplateKind", "merge_params", "parse_kind",
           "validate_params", "validate_system_params"]


class TemplateKind(StrEnum):
    """A kind of processing template, named as Tencent's ``Create<Kind>Template`` names it."""

    TRANSCODE = "Transcode"
    ANIMATED_GRAPHICS = "AnimatedGraphics"
    SNAPSHOT_BY_TIME_OFFSET = "SnapshotByTimeOffset"
    SAMPLE_SNAPSHOT = "SampleSnapshot"
    IMAGE_SPRITE = "ImageSprite"
    ADAPTIVE_DYNAMIC_STREAMING = "AdaptiveDynamicStreaming"
    WATERMARK = "Watermark"  # params: domain/templates/watermarks.py; no system ones


@dataclass(frozen=True)
class _Limits:
    min_side: int
    audio_kbps: tuple[int, int]


_USER = _Limits(min_side=128, audio_kbps=(26, 256))
_SYSTEM = _Limits(min_side=16, audio_kbps=(8, 320))

_ADAPTIVE = ("open", "close")
_FILL = ("stretch", "black", "white", "gauss")
_PICTURE = ("jpg", "png", "webp")
AUDIO_ONLY_CONTAINERS = ("mp3", "flac", "ogg", "m4a", "wav")
"""Transcode ``Container``s that hold audio only (Tencent's ``ContainerType`` ``PureAudio``)."""
_VIDEO_CODECS = {"mp4": ("libx264", "libx265", "av1"), "flv": ("libx264",), "hls": ("libx264", "libx265")}
_AUDIO_CODECS = {
    "mp4": ("libfdk_aac", "libmp3lame", "mp2"), "flv": ("libfdk_aac", "libmp3lame", "mp2"),
    "hls": ("libfdk_aac", "libmp3lame"), "mp3": ("libmp3lame",), "m4a": ("libfdk_aac", "libmp3lame", "ac3"),
    "flac": ("flac",), "ogg": ("flac",), "wav": ("pcm16",),
}
ADS_VIDEO_CODECS = ("libx264", "libx265", "av1")
"""Rung codecs of an AdaptiveDynamicStreaming template: H.264, H.265 (HEVC) and AV1 (SVT-AV1)."""
ADS_FORMATS = ("HLS", "MPEG-DASH", "CMAF")
"""AdaptiveDynamicStreaming ``Format``s: Tencent's ``HLS`` and ``MPEG-DASH``, and OpenVOD's ``CMAF``:
one set of fMP4 segments with both an HLS master playlist and a DASH MPD naming them."""
_VIDEO_KEYS = ("Codec", "Fps", "Bitrate", "ResolutionAdaptive", "Width", "Height", "FillType", "Vcrf", "Gop")


def _frame(o: JsonObject, lim: _Limits, hi: int) -> dict[str, Any]:
    """Width/Height (0 keeps the source's, or follows the other side) and ResolutionAdaptive."""
    return {
        "Width": o.whole("Width", 0, lim.min_side, hi, zero=True),
        "Height": o.whole("Height", 0, lim.min_side, hi, zero=True),
        "ResolutionAdaptive": o.choice("ResolutionAdaptive", "open", _ADAPTIVE),
    }


def _sampling(o: JsonObject) -> dict[str, Any]:
    kind = o.choice("SampleType", None, ("Percent", "Time"))
    top = 100 if kind == "Percent" else 86_400
    return {"SampleType": kind, "SampleInterval": o.whole("SampleInterval", None, 1, top)}


def _video(where: str, raw: Any, codecs: tuple[str, ...], lim: _Limits) -> dict[str, Any]:
    o = JsonObject(where, raw, _VIDEO_KEYS, where.rsplit(".", 1)[-1])
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
    o = JsonObject(where, raw, ("Codec", "Bitrate", "SampleRate", "AudioChannel"), where.rsplit(".", 1)[-1])
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
    keys = ("Container", "RemoveVideo", "RemoveAudio", "VideoTemplate", "AudioTemplate", "SegmentType",
            "EnhanceConfig")
    o = JsonObject("Transcode", raw, keys, "Transcode")
    container = o.choice("Container", None, (*_VIDEO_CODECS, *AUDIO_ONLY_CONTAINERS))
    audio_only = container in AUDIO_ONLY_CONTAINERS
    remove_video = 1 if audio_only else o.flag("RemoveVideo")
    remove_audio = o.flag("RemoveAudio")
    if remove_video and remove_audio:
        why = f"Container {container} holds audio only" if audio_only else "RemoveVideo is 1"
        raise bad_value("RemoveAudio", f"Transcode.RemoveAudio is 1 and {why}: nothing would be left to encode")
    out: dict[str, Any] = {"Container": container, "RemoveVideo": remove_video, "RemoveAudio": remove_audio}
    if not remove_video:
        out["VideoTemplate"] = _video("Transcode.VideoTemplate", o.required("VideoTemplate"),
                                      _VIDEO_CODECS[container], lim)
    if not remove_audio:
        out["AudioTemplate"] = _audio("Transcode.AudioTemplate", o.required("AudioTemplate"),
                                      _AUDIO_CODECS[container], lim, audio_only=audio_only)
        if o.has("EnhanceConfig"):  # loudness normalisation: domain/templates/loudness.py
            out["EnhanceConfig"] = enhance_config("Transcode.EnhanceConfig", o.raw["EnhanceConfig"])
    if container == "hls":
        out["SegmentType"] = o.choice("SegmentType", "ts", ("ts", "fmp4"))
    return out


def _animated_graphics(raw: Any, lim: _Limits) -> dict[str, Any]:
    keys = ("Format", "Width", "Height", "ResolutionAdaptive", "Fps", "Quality")
    o = JsonObject("AnimatedGraphics", raw, keys, "AnimatedGraphics")
    return {
        "Format": o.choice("Format", "gif", ("gif", "webp")),
        **_frame(o, lim, 4096),
        "Fps": o.whole("Fps", None, 1, 30),
        "Quality": o.number("Quality", 75, 1, 100),
    }


def _snapshot_by_time_offset(raw: Any, lim: _Limits) -> dict[str, Any]:
    keys = ("Format", "Width", "Height", "ResolutionAdaptive", "FillType")
    o = JsonObject("SnapshotByTimeOffset", raw, keys, "SnapshotByTimeOffset")
    return {"Format": o.choice("Format", "jpg", _PICTURE), **_frame(o, lim, 4096),
            "FillType": o.choice("FillType", "black", _FILL)}


def _sample_snapshot(raw: Any, lim: _Limits) -> dict[str, Any]:
    keys = ("SampleType", "SampleInterval", "Format", "Width", "Height", "ResolutionAdaptive", "FillType")
    o = JsonObject("SampleSnapshot", raw, keys, "SampleSnapshot")
    return {**_sampling(o), "Format": o.choice("Format", "jpg", _PICTURE), **_frame(o, lim, 4096),
            "FillType": o.choice("FillType", "black", _FILL)}


def _image_sprite(raw: Any, lim: _Limits) -> dict[str, Any]:
    keys = ("SampleType", "SampleInterval", "RowCount", "ColumnCount", "Format", "Width", "Height",
            "ResolutionAdaptive", "FillType")
    o = JsonObject("ImageSprite", raw, keys, "ImageSprite")
    rows, columns = o.whole("RowCount", None, 1, 100), o.whole("ColumnCount", None, 1, 100)
    if rows * columns > 100:
        raise bad_value("RowCount", f"ImageSprite.RowCount x ColumnCount may be at most 100 tiles per sprite, "
                                    f"got {rows} x {columns}")
    return {**_sampling(o), "RowCount": rows, "ColumnCount": columns, "Format": o.choice("Format", "jpg", _PICTURE),
            **_frame(o, lim, 4096), "FillType": o.choice("FillType", "black", ("stretch", "black"))}


def _stream(where: str, raw: Any, lim: _Limits) -> dict[str, Any]:
    o = JsonObject(where, raw, ("Video", "Audio", "RemoveAudio", "RemoveVideo", "EnhanceConfig"), "StreamInfos")
    remove_video, remove_audio = o.flag("RemoveVideo"), o.flag("RemoveAudio")
    if remove_video and remove_audio:
        raise bad_value("RemoveAudio", f"{where}: RemoveVideo and RemoveAudio are both 1, nothing would be left")
    out: dict[str, Any] = {"RemoveVideo": remove_video, "RemoveAudio": remove_audio}
    if not remove_video:
        out["Video"] = _video(f"{where}.Video", o.required("Video"), ADS_VIDEO_CODECS, lim)
    if not remove_audio:
        out["Audio"] = _audio(f"{where}.Audio", o.required("Audio"), ("libfdk_aac",), lim, audio_only=False)
        if o.has("EnhanceConfig"):  # loudness normalisation: domain/templates/loudness.py
            out["EnhanceConfig"] = enhance_config(f"{where}.EnhanceConfig", o.raw["EnhanceConfig"])
    return out


def _adaptive_dynamic_streaming(raw: Any, lim: _Limits) -> dict[str, Any]:
    keys = ("Format", "StreamInfos", "DrmType", "DisableHigherVideoBitrate", "DisableHigherVideoResolution",
            "SegmentType", "PerTitle")
    o = JsonObject("AdaptiveDynamicStreaming", raw, keys, "AdaptiveDynamicStreaming")
    fmt = o.choice("Format", None, ADS_FORMATS)
    if isinstance(o.raw.get("DrmType"), str) and o.raw["DrmType"].lower() in ("widevine", "fairplay"):
        raise bad_value("DrmType", f"AdaptiveDynamicStreaming.DrmType {o.raw['DrmType']} needs a DRM licence service, "
                                   "which OpenVOD does not have; use SimpleAES (HLS AES-128) or leave it empty")
    drm = o.choice("DrmType", "", ("", "SimpleAES"))
    if drm and fmt != "HLS":
        raise bad_value("DrmType", f"AdaptiveDynamicStreaming.DrmType SimpleAES encrypts HLS only, not {fmt}")
    infos = o.items("StreamInfos", "StreamInfos", 10) if o.has("StreamInfos") else o.required("StreamInfos")
    if not infos:
        raise bad_value("StreamInfos", "AdaptiveDynamicStreaming.StreamInfos must list 1 to 10 streams, got none")
    out: dict[str, Any] = {
        "Format": fmt,
        "StreamInfos": [_stream(f"AdaptiveDynamicStreaming.StreamInfos[{i}]", s, lim) for i, s in enumerate(infos)],
        "DrmType": drm,
        "DisableHigherVideoBitrate": o.flag("DisableHigherVideoBitrate"),
        "DisableHigherVideoResolution": o.flag("DisableHigherVideoResolution"),
    }
    ladder_volume_balance(out["StreamInfos"])  # one audio rendition: the streams must agree
    if o.has("PerTitle"):  # VMAF-picked bitrates: domain/templates/per_title.py
        out["PerTitle"] = per_title_params("AdaptiveDynamicStreaming.PerTitle", o.raw["PerTitle"], out["StreamInfos"])
    codecs = sorted({s["Video"]["Codec"] for s in out["StreamInfos"] if "Video" in s} - {"libx264"})
    if fmt == "HLS":
        # H.265 and AV1 travel in fMP4 only (RFC 8216 §3.3 lists no MPEG-TS mapping for them).
        out["SegmentType"] = o.choice("SegmentType", "fmp4" if codecs else "ts", ("ts", "fmp4"))
        if codecs and out["SegmentType"] == "ts":
            raise bad_value("SegmentType", f"AdaptiveDynamicStreaming.SegmentType ts carries H.264 only; "
                                           f"{' and '.join(codecs)} rungs need fmp4")
        if codecs and drm:
            raise bad_value("DrmType", f"AdaptiveDynamicStreaming.DrmType SimpleAES needs ts segments, which "
                                       f"carry H.264 only; {' and '.join(codecs)} rungs cannot be encrypted")
    return out


_VALIDATORS: dict[TemplateKind, Callable[[Any, _Limits], dict[str, Any]]] = {
    TemplateKind.TRANSCODE: _transcode,
    TemplateKind.ANIMATED_GRAPHICS: _animated_graphics,
    TemplateKind.SNAPSHOT_BY_TIME_OFFSET: _snapshot_by_time_offset,
    TemplateKind.SAMPLE_SNAPSHOT: _sample_snapshot,
    TemplateKind.IMAGE_SPRITE: _image_sprite,
    TemplateKind.ADAPTIVE_DYNAMIC_STREAMING: _adaptive_dynamic_streaming,
    TemplateKind.WATERMARK: lambda raw, lim: validate_watermark(raw),
}


def parse_kind(value: str) -> TemplateKind:
    """The :class:`TemplateKind` named ``value`` (any case); ``InvalidParameterValue.TemplateKind``."""
    for kind in TemplateKind:
        if isinstance(value, str) and value.strip().lower() == kind.value.lower():
            return kind
    raise bad_value("TemplateKind", f"template kind must be one of {', '.join(TemplateKind)}, got {value!r}")


def validate_params(kind: TemplateKind | str, params: Any) -> dict[str, Any]:
    """The canonical params (every field, defaults filled in) of an app's template of ``kind``."""
    return _VALIDATORS[parse_kind(kind)](params, _USER)


def merge_params(kind: TemplateKind | str, current: Mapping[str, Any], changes: Any) -> dict[str, Any]:
    """``current`` with ``changes`` applied as Tencent's ``Modify<Kind>Template`` does, validated.

    Fields left out keep their value; nested objects (``VideoTemplate``, ``AudioTemplate``) merge one
    level down; lists (``StreamInfos``) are replaced whole.
    """
    kind = parse_kind(kind)
    if kind is TemplateKind.WATERMARK:  # a stored image key must survive, and never come from changes
        return merge_watermark(current, changes)
    if not isinstance(changes, Mapping):
        raise bad_value(kind.value, f"{kind.value} changes must be an object, got {type_name(changes)}")
    merged = dict(current)
    for key, value in changes.items():
        old = merged.get(key)
        merged[key] = {**old, **value} if isinstance(old, Mapping) and isinstance(value, Mapping) else value
    return _VALIDATORS[kind](merged, _USER)


def validate_system_params(kind: TemplateKind, params: Any) -> dict[str, Any]:
    """The canonical params of a built-in template: checked as an app's are, within the wider limits
    some of Tencent's own templates need (24 kbps audio, 320 kbps MP3, 80 px tiles)."""
    return _VALIDATORS[kind](params, _SYSTEM)
