"""Transcoding presets: the Kingsoft offline ``param`` schema, validated into a :class:`TranscodeSpec`.

    spec = parse_params({"f": "mp4", "AUDIO": {"acodec": "aac", "ar": "44100", "ab": "64k"},
                         "VIDEO": {"vr": 25, "vb": "500k", "vcodec": "h264", "width": 640, "height": 360}})
    spec.video.bitrate      # 500000
    spec_to_params(spec)    # the canonical JSON that is stored and shown back

Numbers may be given as strings (``"44100"``, ``"64k"``, ``"25"``), as the Kingsoft seed does.
Everything that cannot be encoded as asked is refused with ``InvalidParameter.PresetParam`` and a
message naming the setting: unknown keys, values out of range, a codec its container cannot hold,
``copy`` with settings that need a re-encode, and ``vn`` + ``an`` together. Settings made moot by
the container are dropped rather than refused only where the schema says so: audio in ``gif``, and
a missing ``VIDEO`` section for the audio-only containers ``mp3``/``m4a``/``aac``.

Size rules: ``width``/``height`` of 0 or absent keep the aspect ratio from the other one (both
absent keep the source size). With both given, ``as=1`` fits the picture inside the box (even
dimensions) and ``as=0`` (the default) scales to exactly that size.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from enum import StrEnum
from fractions import Fraction
from typing import Any

from openvod.errors import InvalidParameter

__all__ = [
    "DEFAULT_PRESET_TYPE", "MAX_DESCRIPTION", "PARAM_CODE", "PRESET_CODE", "PRESET_TYPES", "SYSTEM_PREFIX",
    "X264_PRESETS", "AudioCodec", "AudioSpec", "Container", "TranscodeSpec", "VideoCodec", "VideoSpec",
    "normalize_params", "params_object", "parse_params", "spec_to_params", "validate_description",
    "validate_preset_name", "validate_preset_type",
]

PARAM_CODE = "InvalidParameter.PresetParam"
PRESET_CODE = "InvalidParameter.Preset"
DEFAULT_PRESET_TYPE = "avop"
PRESET_TYPES = ("avop",)
"""Kingsoft's audio/video operation presets; the only type the seed (and OpenVOD) uses."""
SYSTEM_PREFIX = "system-"
"""Names with this prefix belong to built-in presets; apps cannot create them."""
MAX_DESCRIPTION = 1024
X264_PRESETS = ("ultrafast", "superfast", "veryfast", "faster", "fast", "medium", "slow", "slower", "veryslow")


class Container(StrEnum):
    MP4 = "mp4"
    FLV = "flv"
    TS = "ts"
    HLS = "hls"
    WEBM = "webm"
    MKV = "mkv"
    MP3 = "mp3"
    M4A = "m4a"
    AAC = "aac"
    GIF = "gif"

    @property
    def audio_only(self) -> bool:
        return self in (Container.MP3, Container.M4A, Container.AAC)

    @property
    def extension(self) -> str:
        """The output file's suffix, dot included (``.m3u8`` for the HLS playlist)."""
        return ".m3u8" if self is Container.HLS else f".{self.value}"


class VideoCodec(StrEnum):
    H264 = "h264"
    H265 = "h265"
    VP9 = "vp9"
    AV1 = "av1"
    GIF = "gif"
    COPY = "copy"


class AudioCodec(StrEnum):
    AAC = "aac"
    MP3 = "mp3"
    OPUS = "opus"
    VORBIS = "vorbis"
    COPY = "copy"


@dataclass(frozen=True)
class VideoSpec:
    codec: VideoCodec
    width: int | None = None  # None: derived from the other side, or the source's
    height: int | None = None
    keep_aspect: bool = False  # with both sides: fit inside the box instead of stretching to it
    fps: float | None = None
    bitrate: int | None = None  # bits per second
    crf: int | None = None
    preset: str | None = None  # an x264 speed name; mapped to each encoder's own scale
    rotate: int = 0  # clockwise degrees, after the source's own display rotation


@dataclass(frozen=True)
class AudioSpec:
    codec: AudioCodec
    bitrate: int | None = None  # bits per second
    sample_rate: int | None = None
    channels: int | None = None


@dataclass(frozen=True)
class TranscodeSpec:
    """What to make: a container and its streams. ``None`` means the stream is left out."""

    container: Container
    video: VideoSpec | None
    audio: AudioSpec | None


_CONTAINER_ALIASES = {"m3u8": "hls", "mpegts": "ts", "matroska": "mkv"}
_VCODEC_ALIASES = {"avc": "h264", "libx264": "h264", "hevc": "h265", "libx265": "h265", "libvpx-vp9": "vp9"}
_ACODEC_ALIASES = {"libmp3lame": "mp3", "libopus": "opus", "libvorbis": "vorbis"}

_H26X = (VideoCodec.H264, VideoCodec.H265)
_VIDEO_IN: dict[Container, tuple[VideoCodec, ...]] = {
    Container.MP4: (*_H26X, VideoCodec.VP9, VideoCodec.AV1),
    Container.FLV: _H26X,
    Container.TS: _H26X,
    Container.HLS: _H26X,
    Container.WEBM: (VideoCodec.VP9, VideoCodec.AV1),
    Container.MKV: (*_H26X, VideoCodec.VP9, VideoCodec.AV1),
    Container.GIF: (VideoCodec.GIF,),
}
_AUDIO_IN: dict[Container, tuple[AudioCodec, ...]] = {
    Container.MP4: (AudioCodec.AAC, AudioCodec.MP3, AudioCodec.OPUS),
    Container.FLV: (AudioCodec.AAC, AudioCodec.MP3),
    Container.TS: (AudioCodec.AAC, AudioCodec.MP3),
    Container.HLS: (AudioCodec.AAC, AudioCodec.MP3),
    Container.WEBM: (AudioCodec.OPUS, AudioCodec.VORBIS),
    Container.MKV: (AudioCodec.AAC, AudioCodec.MP3, AudioCodec.OPUS, AudioCodec.VORBIS),
    Container.MP3: (AudioCodec.MP3,),
    Container.M4A: (AudioCodec.AAC,),
    Container.AAC: (AudioCodec.AAC,),
}
_SAMPLE_RATES = (8000, 11025, 12000, 16000, 22050, 24000, 32000, 44100, 48000, 88200, 96000)
_CODEC_RATES = {
    AudioCodec.MP3: _SAMPLE_RATES[:9],
    AudioCodec.OPUS: (8000, 12000, 16000, 24000, 48000),
}
_TOP_KEYS = ("f", "AUDIO", "VIDEO")
_AUDIO_KEYS = ("acodec", "ab", "ar", "channels", "an")
_VIDEO_KEYS = ("vcodec", "width", "height", "as", "vr", "vb", "crf", "preset", "rotate", "vn")
_NEEDS_ENCODE = ("width", "height", "as", "vr", "vb", "crf", "preset", "rotate")
_NAME = re.compile(r"^[A-Za-z0-9_.-]{1,128}$")
_BITRATE = re.compile(r"^(\d+(?:\.\d+)?)\s*([kKmM]?)(?:bps)?$")
_WHOLE = re.compile(r"^[+-]?\d+$")
_NUMBER = re.compile(r"^\d+(?:\.\d+)?(?:/\d+)?$")
MAX_SIDE = 8192


def _bad(message: str) -> InvalidParameter:
    return InvalidParameter(message, code=PARAM_CODE)


def _one_of(values: tuple[str, ...]) -> str:
    return ", ".join(values)


# --- scalar parsers: each names the setting it reads -------------------------------------------


def _whole(where: str, value: Any, lo: int, hi: int, what: str) -> int:
    n: int | None = None
    if isinstance(value, int) and not isinstance(value, bool):
        n = value
    elif isinstance(value, float) and value.is_integer():
        n = int(value)
    elif isinstance(value, str) and _WHOLE.match(value.strip()):
        n = int(value.strip())
    if n is None:
        raise _bad(f"{where} must be {what}, got {value!r}")
    if not lo <= n <= hi:
        raise _bad(f"{where} must be {what} from {lo} to {hi}, got {value!r}")
    return n


def _flag(where: str, value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float | str) and str(value).strip() in ("0", "1", "0.0", "1.0"):
        return str(value).strip().startswith("1")
    raise _bad(f"{where} must be 0 or 1, got {value!r}")


def _format_bitrate(bps: int) -> str:
    return f"{bps // 1000}k" if bps % 1000 == 0 else str(bps)


def _bitrate(where: str, value: Any, lo: int, hi: int) -> int:
    amount: float | None = None
    if isinstance(value, int | float) and not isinstance(value, bool):
        amount = float(value)
    elif isinstance(value, str) and (m := _BITRATE.match(value.strip())):
        amount = float(m[1]) * {"": 1, "k": 1_000, "m": 1_000_000}[m[2].lower()]
    if amount is None:
        raise _bad(f"{where} must be a bitrate like 800k, got {value!r}")
    bps = round(amount)
    if not lo <= bps <= hi:
        raise _bad(
            f"{where} must be from {_format_bitrate(lo)} to {_format_bitrate(hi)} "
            f"(plain numbers are bits per second), got {value!r}"
        )
    return bps


def _fps(where: str, value: Any) -> float:
    rate: float | None = None
    if isinstance(value, int | float) and not isinstance(value, bool):
        rate = float(value)
    elif isinstance(value, str) and _NUMBER.match(value.strip()):
        try:
            rate = float(Fraction(value.strip()))
        except ZeroDivisionError:
            rate = None
    if rate is None:
        raise _bad(f"{where} must be a frame rate like 25 or 29.97, got {value!r}")
    if not 1 <= rate <= 120:
        raise _bad(f"{where} must be a frame rate from 1 to 120, got {value!r}")
    return float(round(rate, 3))


def _choice(where: str, value: Any, choices: tuple[str, ...], aliases: dict[str, str]) -> str:
    if not isinstance(value, str) or not value.strip():
        raise _bad(f"{where} must be one of {_one_of(choices)}, got {value!r}")
    name = value.strip().lower()
    name = aliases.get(name, name)
    if name not in choices:
        raise _bad(f"{where} must be one of {_one_of(choices)}, got {value!r}")
    return name


def _section(params: dict[str, Any], key: str, allowed: tuple[str, ...]) -> dict[str, Any]:
    value = params.get(key)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise _bad(f"{key} must be an object of settings, got {type(value).__name__}")
    unknown = sorted(str(k) for k in value if k not in allowed)
    if unknown:
        raise _bad(f"{key} has unknown setting(s) {', '.join(unknown)}; allowed: {_one_of(allowed)}")
    return {k: v for k, v in value.items() if v is not None}


# --- sections ----------------------------------------------------------------------------------


def _container(params: dict[str, Any]) -> Container:
    raw = params.get("f")
    if raw is None or raw == "":
        raise _bad(f"f (the output container) is required: one of {_one_of(tuple(Container))}")
    names = tuple(c.value for c in Container)
    return Container(_choice("f", raw.lstrip(".") if isinstance(raw, str) else raw, names, _CONTAINER_ALIASES))


def _removed(section: str, flag: str, v: dict[str, Any]) -> None:
    others = sorted(k for k in v if k != flag)
    if others:
        raise _bad(f"{section}.{flag}=1 removes the stream, so {section}.{others[0]} cannot be set")


def _video_codec(container: Container, v: dict[str, Any]) -> VideoCodec:
    if container is Container.GIF:
        if v.get("vcodec") not in (None, "", "gif"):
            raise _bad(f"f=gif encodes GIF frames; VIDEO.vcodec must be absent or gif, got {v['vcodec']!r}")
        return VideoCodec.GIF
    if v.get("vcodec") in (None, ""):
        return _VIDEO_IN[container][0]
    names = ("h264", "h265", "vp9", "av1", "copy")
    codec = VideoCodec(_choice("VIDEO.vcodec", v["vcodec"], names, _VCODEC_ALIASES))
    if codec is not VideoCodec.COPY and codec not in _VIDEO_IN[container]:
        allowed = _one_of(tuple(c.value for c in _VIDEO_IN[container]))
        raise _bad(f"VIDEO.vcodec {codec.value} cannot go into f={container.value}; it takes {allowed}")
    return codec


def _side(where: str, value: Any, codec: VideoCodec) -> int | None:
    n = _whole(where, value, 0, MAX_SIDE, "a whole number of pixels")
    if n == 0:
        return None
    if n < 16:
        raise _bad(f"{where} must be 0 (keep the aspect ratio) or at least 16 pixels, got {value!r}")
    if n % 2 and codec is not VideoCodec.GIF:
        raise _bad(f"{where} must be even for {codec.value} (4:2:0 chroma needs even sizes), got {value!r}")
    return n


def _video(container: Container, v: dict[str, Any]) -> VideoSpec | None:
    vn = _flag("VIDEO.vn", v["vn"]) if "vn" in v else False
    if vn:
        if container is Container.GIF:
            raise _bad("f=gif is a picture format; VIDEO.vn=1 would leave nothing to encode")
        _removed("VIDEO", "vn", v)
        return None
    if container.audio_only:
        if v:
            raise _bad(f"f={container.value} holds audio only: remove VIDEO or set VIDEO.vn=1")
        return None
    codec = _video_codec(container, v)
    if codec is VideoCodec.COPY:
        for key in _NEEDS_ENCODE:
            if key in v:
                raise _bad(f"VIDEO.vcodec=copy keeps the stream as it is, so VIDEO.{key} cannot be set")
        return VideoSpec(codec)
    if codec is VideoCodec.GIF:
        for key in ("vb", "crf", "preset"):
            if key in v:
                raise _bad(f"VIDEO.{key} does not apply to f=gif (GIF has no bitrate or quality setting)")
    if "vb" in v and "crf" in v:
        raise _bad("VIDEO.vb and VIDEO.crf exclude each other: give a bitrate or a constant quality")
    preset = None
    if "preset" in v:
        preset = _choice("VIDEO.preset", v["preset"], X264_PRESETS, {})
    return VideoSpec(
        codec=codec,
        width=_side("VIDEO.width", v["width"], codec) if "width" in v else None,
        height=_side("VIDEO.height", v["height"], codec) if "height" in v else None,
        keep_aspect=_flag("VIDEO.as", v["as"]) if "as" in v else False,
        fps=_fps("VIDEO.vr", v["vr"]) if "vr" in v else None,
        bitrate=_bitrate("VIDEO.vb", v["vb"], 16_000, 200_000_000) if "vb" in v else None,
        crf=_whole("VIDEO.crf", v["crf"], 0, 51, "a quality") if "crf" in v else None,
        preset=preset,
        rotate=_rotation(v["rotate"]) if "rotate" in v else 0,
    )


def _rotation(value: Any) -> int:
    degrees = _whole("VIDEO.rotate", value, -270, 270, "a clockwise angle")
    if degrees % 90:
        raise _bad(f"VIDEO.rotate must be 0, 90, 180 or 270 (clockwise degrees), got {value!r}")
    return degrees % 360


def _audio_codec(container: Container, a: dict[str, Any]) -> AudioCodec:
    if a.get("acodec") in (None, ""):
        return _AUDIO_IN[container][0]
    names = tuple(c.value for c in AudioCodec)
    codec = AudioCodec(_choice("AUDIO.acodec", a["acodec"], names, _ACODEC_ALIASES))
    if codec is not AudioCodec.COPY and codec not in _AUDIO_IN[container]:
        allowed = _one_of(tuple(c.value for c in _AUDIO_IN[container]))
        raise _bad(f"AUDIO.acodec {codec.value} cannot go into f={container.value}; it takes {allowed}")
    return codec


def _audio(container: Container, a: dict[str, Any]) -> AudioSpec | None:
    if container is Container.GIF:
        return None  # GIF has no sound: the schema drops the audio rather than refusing
    if "an" in a and _flag("AUDIO.an", a["an"]):
        _removed("AUDIO", "an", a)
        return None
    codec = _audio_codec(container, a)
    if codec is AudioCodec.COPY:
        for key in ("ab", "ar", "channels"):
            if key in a:
                raise _bad(f"AUDIO.acodec=copy keeps the stream as it is, so AUDIO.{key} cannot be set")
        return AudioSpec(codec)
    rate = None
    if "ar" in a:
        rate = _whole("AUDIO.ar", a["ar"], 0, 1_000_000, "a sample rate in Hz")
        allowed = _CODEC_RATES.get(codec, _SAMPLE_RATES)
        if rate not in allowed:
            raise _bad(f"AUDIO.ar for {codec.value} must be one of {_one_of(tuple(map(str, allowed)))} Hz, "
                       f"got {a['ar']!r}")
    channels = _whole("AUDIO.channels", a["channels"], 1, 8, "a channel count") if "channels" in a else None
    if codec is AudioCodec.MP3 and channels is not None and channels > 2:
        raise _bad(f"AUDIO.channels for mp3 must be 1 or 2, got {a['channels']!r}")
    bitrate = _bitrate("AUDIO.ab", a["ab"], 8_000, 1_000_000) if "ab" in a else None
    return AudioSpec(codec=codec, bitrate=bitrate, sample_rate=rate, channels=channels)


# --- public API --------------------------------------------------------------------------------


def params_object(params: Any) -> dict[str, Any]:
    """``param`` as the JSON object it is (its JSON text parsed), values untouched: what a preset
    shows back "as saved". Raises ``InvalidParameter.PresetParam`` for anything but an object."""
    if isinstance(params, str):
        try:
            params = json.loads(params)
        except ValueError as exc:
            raise _bad(f"param is not valid JSON: {exc}") from exc
    if not isinstance(params, dict):
        raise _bad(f"param must be an object like {{\"f\": \"mp4\", ...}}, got {type(params).__name__}")
    return params


def parse_params(params: Any) -> TranscodeSpec:
    """Validate Kingsoft ``param`` JSON (a dict, or its JSON text) into a :class:`TranscodeSpec`.

    Raises :class:`~openvod.errors.InvalidParameter` with code ``InvalidParameter.PresetParam``
    and a message naming the offending setting.
    """
    params = params_object(params)
    unknown = sorted(str(k) for k in params if k not in _TOP_KEYS)
    if unknown:
        raise _bad(f"param has unknown key(s) {', '.join(unknown)}; allowed: {_one_of(_TOP_KEYS)}")
    container = _container(params)
    video = _video(container, _section(params, "VIDEO", _VIDEO_KEYS))
    audio = _audio(container, _section(params, "AUDIO", _AUDIO_KEYS))
    if video is None and audio is None:
        if container.audio_only:
            raise _bad(f"f={container.value} holds audio only, so AUDIO.an=1 would leave nothing to encode")
        raise _bad("VIDEO.vn=1 and AUDIO.an=1 together would leave nothing to encode")
    return TranscodeSpec(container=container, video=video, audio=audio)


def _video_params(v: VideoSpec) -> dict[str, Any]:
    fps = None if v.fps is None else int(v.fps) if v.fps.is_integer() else v.fps
    out = {
        "vcodec": v.codec.value, "width": v.width, "height": v.height, "as": 1 if v.keep_aspect else None,
        "vr": fps, "vb": _format_bitrate(v.bitrate) if v.bitrate else None, "crf": v.crf, "preset": v.preset,
        "rotate": v.rotate or None,
    }  # fmt: skip
    return {k: x for k, x in out.items() if x is not None}


def _audio_params(a: AudioSpec) -> dict[str, Any]:
    out = {"acodec": a.codec.value, "ab": _format_bitrate(a.bitrate) if a.bitrate else None,
           "ar": a.sample_rate, "channels": a.channels}
    return {k: x for k, x in out.items() if x is not None}


def spec_to_params(spec: TranscodeSpec) -> dict[str, Any]:
    """The canonical ``param`` JSON of ``spec``; ``parse_params`` of it gives ``spec`` back.

    Codecs are spelled out (defaults resolved), bitrates are strings like ``"500k"``, other numbers
    are numbers, and settings left at their defaults are omitted.
    """
    out: dict[str, Any] = {"f": spec.container.value}
    if spec.container is not Container.GIF:
        out["AUDIO"] = _audio_params(spec.audio) if spec.audio else {"an": 1}
    if not spec.container.audio_only:
        out["VIDEO"] = _video_params(spec.video) if spec.video else {"vn": 1}
    return out


def normalize_params(params: Any) -> dict[str, Any]:
    """Validate ``params`` and return their canonical JSON (see :func:`spec_to_params`)."""
    return spec_to_params(parse_params(params))


def validate_preset_name(name: Any) -> str:
    """Return ``name`` if it is 1-128 characters of ``A-Z a-z 0-9 _ . -`` (not ``.`` or ``..``,
    which no URL path can carry), else raise ``InvalidParameter.Preset``."""
    if not isinstance(name, str) or not _NAME.match(name):
        raise InvalidParameter(
            f"preset name must be 1-128 characters of A-Z, a-z, 0-9, '_', '.', '-', got {name!r}", code=PRESET_CODE
        )
    if name in (".", ".."):
        raise InvalidParameter(f"preset name cannot be {name!r}: no URL path can name it", code=PRESET_CODE)
    return name


def validate_preset_type(value: Any) -> str:
    """The preset type, lower-cased; ``None`` or ``""`` means :data:`DEFAULT_PRESET_TYPE`."""
    if value is None or value == "":
        return DEFAULT_PRESET_TYPE
    if not isinstance(value, str) or value.strip().lower() not in PRESET_TYPES:
        raise InvalidParameter(
            f"preset type must be {_one_of(PRESET_TYPES)} (audio/video transcoding), got {value!r}", code=PRESET_CODE
        )
    return value.strip().lower()


def validate_description(value: Any) -> str:
    """A preset description: text of at most :data:`MAX_DESCRIPTION` characters (``None`` is empty)."""
    if value is None:
        return ""
    if not isinstance(value, str):
        raise InvalidParameter(f"preset description must be text, got {type(value).__name__}", code=PRESET_CODE)
    if len(value) > MAX_DESCRIPTION:
        raise InvalidParameter(
            f"preset description must be at most {MAX_DESCRIPTION} characters, got {len(value)}", code=PRESET_CODE
        )
    if any(ord(c) < 0x20 and c not in "\t\n\r" for c in value):
        raise InvalidParameter("preset description must not contain control characters", code=PRESET_CODE)
    return value
