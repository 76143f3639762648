"""Subtitle files without a server: BCP-47 tags, SRT → WebVTT, and the master playlist renditions."""

from __future__ import annotations

import m3u8
import pytest

from openvod.domain.subtitles import add_subtitle_renditions, subtitle_playlist, to_webvtt, validate_language
from openvod.errors import InvalidParameter


@pytest.mark.parametrize(("tag", "canonical"), [
    ("en", "en"), ("EN-us", "en-US"), ("zh-hans-cn", "zh-Hans-CN"), ("es-419", "es-419"),
    ("de-CH-1901", "de-CH-1901"), ("en-x-Custom", "en-x-custom"), ("yue", "yue")])
def test_language_tags(tag: str, canonical: str) -> None:
    assert validate_language(tag) == canonical


@pytest.mark.parametrize("tag", ["", "e", "en_US", "en-", "-en", "toolonglanguage", "en--us", "ü", "en US", "x" * 36])
def test_bad_language_tags(tag: str) -> None:
    with pytest.raises(InvalidParameter) as err:
        validate_language(tag)
    assert err.value.code == "InvalidParameter.Language"


def test_srt_becomes_webvtt() -> None:
    srt = "\ufeff1\r\n00:00:01,5 --> 00:01:02,250 X1:10\r\nA --> B\r\n\r\n2\r\n1:00:00,000 --> 1:00:01,000\r\nEnd"
    assert to_webvtt(srt.encode()) == ("WEBVTT\n\n1\n00:00:01.500 --> 00:01:02.250 X1:10\nA -> B\n\n"
                                       "2\n01:00:00.000 --> 01:00:01.000\nEnd\n")
    vtt = b"WEBVTT - a title\n\n00:01.000 --> 00:02.000\nHi"
    assert to_webvtt(vtt) == vtt.decode() + "\n"  # WebVTT is kept as it is


def test_renditions_on_every_variant() -> None:
    master = ('#EXTM3U\n#EXT-X-VERSION:6\n#EXT-X-STREAM-INF:BANDWIDTH=800000,RESOLUTION=640x360\n360.m3u8\n'
              '#EXT-X-STREAM-INF:BANDWIDTH=400000,RESOLUTION=426x240\n240.m3u8\n')
    out = add_subtitle_renditions(master, [("en", 'Eng"lish', "https://x/en.m3u8"), ("fr", "", "https://x/fr.m3u8")])
    parsed = m3u8.loads(out)
    assert [(m.type, m.group_id, m.language, m.name, m.uri) for m in parsed.media] == [
        ("SUBTITLES", "subs", "en", "Eng'lish", "https://x/en.m3u8"), ("SUBTITLES", "subs", "fr", "fr",
                                                                       "https://x/fr.m3u8")]
    assert [p.stream_info.subtitles for p in parsed.playlists] == ["subs", "subs"]
    assert add_subtitle_renditions(out, [("de", "Deutsch", "https://x/de.m3u8")]) == out  # already has some
    assert add_subtitle_renditions(master, []) == master
    media = m3u8.loads(subtitle_playlist("en.vtt", 12.2))
    assert media.is_endlist and media.target_duration == 13 and [s.uri for s in media.segments] == ["en.vtt"]
