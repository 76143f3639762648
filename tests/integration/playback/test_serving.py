"""How outputs are served: byte ranges, content types, Cache-Control, ETag, CORS."""

from __future__ import annotations

import httpx
import pytest

from openvod.services import hls_keys
from openvod.services.playback import url_for
from tests.integration.playback.conftest import Playback

DATA = bytes(range(256)) * 40  # 10240 bytes
ORIGIN = {"Origin": "https://viewer.example"}


@pytest.fixture(scope="module")
def seg_url(pb: Playback) -> str:
    key = pb.private.lib.put("serving", "hls/seg_000.ts", DATA, role="AdaptiveDynamicStreaming.part")
    return url_for(pb.ctx, pb.private.app_id, "vod", key)


def test_whole_object(seg_url: str) -> None:
    r = httpx.get(seg_url, timeout=30)
    assert r.status_code == 200
    assert r.content == DATA
    assert r.headers["accept-ranges"] == "bytes"
    assert r.headers["content-length"] == str(len(DATA))


@pytest.mark.parametrize(("header", "start", "end"), [
    ("bytes=0-99", 0, 99),
    ("bytes=100-", 100, len(DATA) - 1),
    ("bytes=-300", len(DATA) - 300, len(DATA) - 1),   # suffix: the last 300 bytes
    ("bytes=10000-99999", 10000, len(DATA) - 1),      # end past the object: clamped
])  # fmt: skip
def test_range(seg_url: str, header: str, start: int, end: int) -> None:
    r = httpx.get(seg_url, headers={"Range": header}, timeout=30)
    assert r.status_code == 206
    assert r.headers["content-range"] == f"bytes {start}-{end}/{len(DATA)}"
    assert r.headers["content-length"] == str(end - start + 1)
    assert r.content == DATA[start:end + 1]


@pytest.mark.parametrize("header", ["bytes=10240-", "bytes=99999-100000", "bytes=-0"])
def test_unsatisfiable_range_is_416(seg_url: str, header: str) -> None:
    r = httpx.get(seg_url, headers={"Range": header}, timeout=30)
    assert r.status_code == 416
    assert r.headers["content-range"] == f"bytes */{len(DATA)}"


def test_head(seg_url: str) -> None:
    r = httpx.head(seg_url, timeout=30)
    assert r.status_code == 200
    assert r.headers["content-length"] == str(len(DATA))
    assert r.headers["content-type"] == "video/mp2t"
    assert r.content == b""


def test_head_of_a_rewritten_playlist(pb: Playback) -> None:
    key = pb.private.lib.put("serving", "hls/index.m3u8", b"#EXTM3U\n#EXTINF:2,\nseg_000.ts\n",
                             role="AdaptiveDynamicStreaming")
    url = url_for(pb.ctx, pb.private.app_id, "vod", key)
    head, get = httpx.head(url, timeout=30), httpx.get(url, timeout=30)
    assert head.status_code == 200 and head.content == b""
    assert head.headers["content-type"] == "application/vnd.apple.mpegurl"
    assert int(head.headers["content-length"]) == len(get.content)
    # The body names signed URLs whose expiry moves a window at a time: stable between.
    statuses = [httpx.get(url, headers={"If-None-Match": httpx.get(url, timeout=30).headers["etag"]},
                          timeout=30).status_code for _ in range(2)]
    assert 304 in statuses


def test_etag_and_conditional_get(seg_url: str) -> None:
    etag = httpx.get(seg_url, timeout=30).headers["etag"]
    assert etag.startswith('"') and len(etag) > 2
    r = httpx.get(seg_url, headers={"If-None-Match": etag}, timeout=30)
    assert r.status_code == 304
    assert r.content == b""


@pytest.mark.parametrize(("name", "ctype"), [
    ("a/index.m3u8", "application/vnd.apple.mpegurl"),
    ("a/seg.ts", "video/mp2t"),
    ("a/seg.m4s", "video/iso.segment"),
    ("a/init.mp4", "video/mp4"),
    ("a/out.mp4", "video/mp4"),
    ("a/sprites.vtt", "text/vtt"),
    ("a/cover.jpg", "image/jpeg"),
    ("a/shot.png", "image/png"),
    ("a/shot.webp", "image/webp"),
    ("a/anim.gif", "image/gif"),
])  # fmt: skip
@pytest.mark.parametrize("public", [False, True])
def test_content_type_and_cache_control(pb: Playback, name: str, ctype: str, public: bool) -> None:
    tenant = pb.public if public else pb.private
    body = b"#EXTM3U\n" if name.endswith(".m3u8") else b"WEBVTT\n" if name.endswith(".vtt") else b"\x00" * 64
    key = tenant.lib.put("types", name, body, role="Transcode")
    r = httpx.get(url_for(pb.ctx, tenant.app_id, "vod", key), timeout=30)
    assert r.status_code == 200
    assert r.headers["content-type"].split(";")[0] == ctype
    scope = "public" if public else "private"
    document = name.endswith((".m3u8", ".vtt"))  # rewritten per request, so cached briefly
    assert r.headers["cache-control"] == f"{scope}, max-age={5 if document else 86400}"
    assert r.headers["etag"]


def test_cors_on_playback_routes(pb: Playback, seg_url: str) -> None:
    playlist = pb.private.lib.put("cors", "index.m3u8", b"#EXTM3U\n#EXTINF:2,\nseg.ts\n#EXT-X-ENDLIST\n",
                                  role="AdaptiveDynamicStreaming")
    key_id, _ = hls_keys.create_key(pb.ctx, pb.private.app_id, "cors")
    urls = [seg_url, url_for(pb.ctx, pb.private.app_id, "vod", playlist),
            hls_keys.key_uri(pb.ctx, pb.private.app_id, key_id)]
    for url in urls:
        r = httpx.get(url, headers={**ORIGIN, "Range": "bytes=0-3"}, timeout=30)
        assert r.status_code in (200, 206), url
        assert r.headers["access-control-allow-origin"] == "*"
        exposed = {h.strip().lower() for h in r.headers["access-control-expose-headers"].split(",")}
        assert {"content-range", "accept-ranges", "content-length", "etag"} <= exposed
        # The preflight a player's ranged XHR/fetch triggers.
        pre = httpx.options(url, headers={**ORIGIN, "Access-Control-Request-Method": "GET",
                                          "Access-Control-Request-Headers": "range"}, timeout=30)
        assert pre.status_code == 200
        assert pre.headers["access-control-allow-origin"] == "*"
        assert "range" in pre.headers["access-control-allow-headers"].lower()
    # Errors carry CORS too, so a player can read why it was refused.
    refused = httpx.get(seg_url.split("?")[0], headers=ORIGIN, timeout=30)
    assert refused.status_code == 403
    assert refused.headers["access-control-allow-origin"] == "*"
