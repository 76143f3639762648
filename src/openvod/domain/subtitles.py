"""Subtitle files: language tags, and WebVTT or SRT text made into WebVTT. No I/O.

    tag = validate_language("pt-BR")                  # "pt-BR" (BCP-47, canonical case)
    vtt = to_webvtt(uploaded_bytes)                   # WebVTT text; SRT is converted
    playlist = subtitle_playlist("en.vtt", 12.5)      # an HLS media playlist of that one file

A file is told apart by its content, never its name: ``WEBVTT`` first is WebVTT, cues timed
``00:00:01,000 --> 00:00:02,000`` are SRT. Anything else is refused
(``InvalidParameter.SubtitleFormat``).
"""

from __future__ import annotations

import math
import re

from openvod.errors import InvalidParameter, PayloadTooLarge

__all__ = ["MAX_SUBTITLE_BYTES", "MAX_SUBTITLE_LABEL", "SUBTITLE_GROUP", "add_subtitle_renditions", "default_label",
           "subtitle_playlist", "to_webvtt", "validate_label", "validate_language"]

MAX_SUBTITLE_BYTES = 1024 * 1024
MAX_SUBTITLE_LABEL = 64
SUBTITLE_GROUP = "subs"  # the GROUP-ID of subtitle renditions in master playlists

# RFC 5646 ``langtag`` (no grandfathered or bare private-use tags): language[-extlang][-script]
# [-region]*(-variant)*(-extension)[-privateuse].
_LANGTAG = re.compile(
    r"^(?P<language>[a-z]{2,3}(?:-[a-z]{3}){0,3}|[a-z]{4,8})"
    r"(?:-(?P<script>[a-z]{4}))?"
    r"(?:-(?P<region>[a-z]{2}|[0-9]{3}))?"
    r"(?:-(?:[a-z0-9]{5,8}|[0-9][a-z0-9]{3}))*"
    r"(?:-[0-9a-wy-z](?:-[a-z0-9]{2,8})+)*"
    r"(?:-x(?:-[a-z0-9]{1,8})+)?$",
    re.IGNORECASE,
)
_NAMES = {"ar": "Arabic", "de": "Deutsch", "en": "English", "es": "Español", "fr": "Français", "hi": "हिन्दी",
          "it": "Italiano", "ja": "日本語", "ko": "한국어", "nl": "Nederlands", "pl": "Polski", "pt": "Português",
          "ru": "Русский", "tr": "Türkçe", "uk": "Українська", "zh": "中文"}

_SRT_TIME = r"(\d{1,3}):([0-5]\d):([0-5]\d)[,.](\d{1,3})"
_SRT_TIMING = re.compile(rf"^\s*{_SRT_TIME}\s*-->\s*{_SRT_TIME}(.*)$")
_VTT_HEADER = re.compile(r"^WEBVTT(?:[ \t].*)?$")


def validate_language(tag: str) -> str:
    """``tag`` if it is a well-formed BCP-47 language tag (at most 35 characters), in canonical case
    (``EN-us`` → ``en-US``); else ``InvalidParameter.Language``."""
    m = _LANGTAG.match(tag) if isinstance(tag, str) and len(tag) <= 35 and tag.isascii() else None
    if m is None:
        raise InvalidParameter(f"{tag[:40]!r} is not a BCP-47 language tag (e.g. en, pt-BR, zh-Hans)",
                               code="InvalidParameter.Language")
    parts = tag.split("-")
    out = [parts[0].lower()]
    for part in parts[1:]:
        if out[-1] == "x" or any(p == "x" for p in out):
            out.append(part.lower())
        elif len(part) == 4 and part.isalpha():
            out.append(part.title())
        elif len(part) == 2 and part.isalpha() or len(part) == 3 and part.isdigit():
            out.append(part.upper())
        else:
            out.append(part.lower())
    return "-".join(out)


def default_label(language: str) -> str:
    """A label for ``language`` when the uploader gave none: the language's own name, or the tag."""
    return _NAMES.get(language.split("-")[0], language)


def validate_label(label: str) -> str:
    label = label.strip()
    if not label or len(label) > MAX_SUBTITLE_LABEL or any(ord(c) < 0x20 for c in label):
        raise InvalidParameter(f"a subtitle label is 1-{MAX_SUBTITLE_LABEL} characters without control characters",
                               code="InvalidParameter.Label")
    return label


def _text(data: bytes) -> str:
    if len(data) > MAX_SUBTITLE_BYTES:
        raise PayloadTooLarge(f"a subtitle file is at most {MAX_SUBTITLE_BYTES} bytes, this one is {len(data)}",
                              code="InvalidParameter.SubtitleSize")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidParameter(f"the subtitle file is not UTF-8 text (byte {exc.start} is not)",
                               code="InvalidParameter.SubtitleEncoding") from exc
    text = text.removeprefix("\ufeff").replace("\r\n", "\n").replace("\r", "\n")
    if "\x00" in text:
        raise InvalidParameter("the subtitle file contains NUL characters", code="InvalidParameter.SubtitleFormat")
    return text


def _stamp(h: str, m: str, s: str, ms: str) -> str:
    return f"{int(h):02d}:{m}:{s}.{ms.ljust(3, '0')}"


def _from_srt(text: str) -> str | None:
    out, cues = ["WEBVTT", ""], 0
    for line in text.split("\n"):
        m = _SRT_TIMING.match(line)
        if m:
            g = m.groups()
            out.append(f"{_stamp(*g[0:4])} --> {_stamp(*g[4:8])}{g[8].rstrip()}")
            cues += 1
        else:
            # "-->" is the cue-timing separator in WebVTT: in cue text it would start a new cue.
            out.append(line.replace("-->", "->").rstrip())
    return "\n".join(out).rstrip("\n") + "\n" if cues else None


def to_webvtt(data: bytes) -> str:
    """The WebVTT text of a WebVTT or SRT file (≤ 1 MiB, UTF-8), told apart by its content."""
    text = _text(data)
    first = text.split("\n", 1)[0]
    if _VTT_HEADER.match(first):
        if "-->" not in text:
            raise InvalidParameter("the WebVTT file has no cues", code="InvalidParameter.SubtitleFormat")
        return text if text.endswith("\n") else text + "\n"
    vtt = _from_srt(text)
    if vtt is None:
        raise InvalidParameter("the subtitle file is neither WebVTT (starting with WEBVTT) nor SRT (cues timed "
                               "00:00:01,000 --> 00:00:02,000)", code="InvalidParameter.SubtitleFormat")
    return vtt


def subtitle_playlist(vtt_uri: str, duration: float) -> str:
    """An HLS media playlist (RFC 8216 §4.3.3) whose one segment is the whole WebVTT file ``vtt_uri``,
    lasting ``duration`` seconds (the video's): what a master playlist's SUBTITLES rendition names."""
    seconds = max(duration, 0.001)
    return ("#EXTM3U\n#EXT-X-VERSION:3\n"
            f"#EXT-X-TARGETDURATION:{max(1, math.ceil(seconds))}\n#EXT-X-MEDIA-SEQUENCE:0\n"
            "#EXT-X-PLAYLIST-TYPE:VOD\n"
            f"#EXTINF:{seconds:.3f},\n{vtt_uri}\n#EXT-X-ENDLIST\n")


def _quoted(value: str) -> str:
    # An HLS quoted-string holds no double quote, CR or LF (RFC 8216 §4.2).
    return "".join("'" if c == '"' else c for c in value if c not in "\r\n")


def add_subtitle_renditions(master: str, subtitles: list[tuple[str, str, str]]) -> str:
    """Master playlist ``master`` with one ``#EXT-X-MEDIA:TYPE=SUBTITLES`` rendition per
    ``(language, label, media playlist URI)`` in group :data:`SUBTITLE_GROUP`, placed before the
    first variant, and ``SUBTITLES="subs"`` on every ``#EXT-X-STREAM-INF`` (RFC 8216 §4.3.4.1-2).
    A playlist that already names subtitle renditions is left as it is."""
    if not subtitles or "TYPE=SUBTITLES" in master or "SUBTITLES=" in master:
        return master
    renditions = [f'#EXT-X-MEDIA:TYPE=SUBTITLES,GROUP-ID="{SUBTITLE_GROUP}",NAME="{_quoted(label or language)}",'
                  f'LANGUAGE="{language}",DEFAULT=NO,AUTOSELECT=YES,FORCED=NO,URI="{_quoted(uri)}"'
                  for language, label, uri in subtitles]
    out: list[str] = []
    for line in master.splitlines():
        if line.startswith("#EXT-X-STREAM-INF:"):
            if renditions:
                out.extend(renditions)
                renditions = []
            line = f'{line},SUBTITLES="{SUBTITLE_GROUP}"'
        out.append(line)
    return "\n".join(out) + "\n"
