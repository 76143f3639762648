"""Subtitles: ``PUT|GET|DELETE /v1/media/{FileId}/subtitles[/{language}]`` (WebVTT or SRT told apart
by content, SRT converted, BCP-47 tags, 1 MiB), served as ``text/vtt`` with nosniff, and carried
as ``SUBTITLES`` renditions of the HLS master playlist (RFC 8216, read with the ``m3u8`` package)."""

from __future__ import annotations

from pathlib import Path

import httpx
import m3u8
import pytest

from tests.integration.playback.conftest import Playback

SRT = (b"1\r\n00:00:00,500 --> 00:00:04,000\r\nHello from SRT\r\n\r\n"
       b"2\r\n00:00:04,500 --> 00:00:05,900\r\n<i>Second</i> cue\r\n")
VTT = b"WEBVTT\n\n00:00:00.000 --> 00:00:05.000\nBonjour\n"


@pytest.fixture(scope="module")
def hls_media(pb: Playback, clip6: Path, ladder: Path) -> str:
    fid = pb.private.upload(pb.server, clip6.read_bytes(), "subs.mp4")
    pb.private.lib.put_tree(fid, "hls", ladder, role="AdaptiveDynamicStreaming", main="master.m3u8", definition=10)
    return fid


def test_upload_list_serve_replace_delete(pb: Playback, hls_media: str) -> None:
    with pb.server.client() as c:
        base = f"/v1/media/{hls_media}/subtitles"
        r = c.put(f"{base}/EN-us", content=SRT, params={"label": "English (US)"})
        assert r.status_code == 200, r.text
        en = r.json()
        assert (en["language"], en["label"]) == ("en-US", "English (US)") and "signature=" in en["url"]
        served = httpx.get(en["url"], timeout=30)
        assert served.headers["content-type"].startswith("text/vtt")
        assert served.headers["x-content-type-options"] == "nosniff"
        assert served.text.startswith("WEBVTT\n") and "00:00:00.500 --> 00:00:04.000\nHello from SRT" in served.text
        assert c.put(f"{base}/fr", content=VTT).json()["label"] == "Français"  # the language's own name
        assert [(i["language"], i["label"]) for i in c.get(base).json()["items"]] == [
            ("en-US", "English (US)"), ("fr", "Français")]
        c.put(f"{base}/fr", content=VTT.replace(b"Bonjour", b"Salut"), params={"label": "FR"})
        items = c.get(base).json()["items"]
        assert [i["label"] for i in items] == ["English (US)", "FR"]
        assert "Salut" in httpx.get(items[1]["url"], timeout=30).text
        assert c.delete(f"{base}/fr").status_code == 204
        assert [i["language"] for i in c.get(base).json()["items"]] == ["en-US"]
        r = c.delete(f"{base}/fr")
        assert r.status_code == 404 and r.json()["error"]["code"] == "ResourceNotFound.Subtitle"


@pytest.mark.parametrize(("language", "body", "status", "code"), [
    ("en_US", VTT, 400, "InvalidParameter.Language"),
    ("en--us", VTT, 400, "InvalidParameter.Language"),
    ("de", b"just some text\n", 400, "InvalidParameter.SubtitleFormat"),
    ("de", b"WEBVTT\n\nno cues here\n", 400, "InvalidParameter.SubtitleFormat"),
    ("de", b"\xff\xfe1\n", 400, "InvalidParameter.SubtitleEncoding"),
    ("de", b"WEBVTT\n\n" + b"x" * (1024 * 1024), 413, "InvalidParameter.TooLarge"),  # request_max_body, also 1 MiB
])
def test_refused(pb: Playback, hls_media: str, language: str, body: bytes, status: int, code: str) -> None:
    with pb.server.client() as c:
        r = c.put(f"/v1/media/{hls_media}/subtitles/{language}", content=body)
        assert r.status_code == status and r.json()["error"]["code"] == code, r.text
    r = httpx.put(f"{pb.url}/v1/media/{hls_media}/subtitles/de", content=VTT, timeout=30)
    assert r.status_code == 401


def test_master_playlist_carries_subtitle_renditions(pb: Playback, clip6: Path, ladder: Path) -> None:
    hls_media = pb.private.upload(pb.server, clip6.read_bytes(), "renditions.mp4")
    pb.private.lib.put_tree(hls_media, "hls", ladder, role="AdaptiveDynamicStreaming", main="master.m3u8",
                            definition=10)
    with pb.server.client() as c:
        assert c.put(f"/v1/media/{hls_media}/subtitles/en", content=SRT).status_code == 200
        assert c.put(f"/v1/media/{hls_media}/subtitles/pt-BR", content=VTT, params={"label": "Português"}
                     ).status_code == 200
        master_url = c.get(f"/v1/media/{hls_media}").json()["outputs"]["adaptive_streams"][0]["url"]
    master = m3u8.loads(httpx.get(master_url, timeout=30).text, uri=master_url)
    assert master.is_variant and master.playlists
    assert {p.stream_info.subtitles for p in master.playlists} == {"subs"}  # every variant names the group
    subs = [m for m in master.media if m.type == "SUBTITLES"]
    assert [(m.group_id, m.language, m.name) for m in subs] == [
        ("subs", "en", "English"), ("subs", "pt-BR", "Português")]
    for rendition in subs:
        assert "signature=" in rendition.uri  # a private app: signed like every other URI
        media_pl = m3u8.loads(httpx.get(rendition.uri, timeout=30).text, uri=rendition.uri)
        assert media_pl.is_endlist and len(media_pl.segments) == 1
        seg = media_pl.segments[0]
        assert 5.9 <= seg.duration <= 6.5 and media_pl.target_duration >= seg.duration  # the clip's 6 s
        vtt = httpx.get(seg.absolute_uri, timeout=30)
        assert vtt.status_code == 200 and vtt.headers["content-type"].startswith("text/vtt")
        assert vtt.text.startswith("WEBVTT")
