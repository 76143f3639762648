"""The embed page ``/embed/{FileId}`` and ``POST /v1/media/{FileId}/embed-url``: a public media's
stable unsigned URL, a private one's signed and expiring URL, the ``<iframe>`` snippet, framing
allowed from any origin there and only there; and, in Chromium, the snippet pasted into a page of
another origin plays in a 640×360 frame with its controls inside it and its subtitles as a text track
(a <track> with MP4, the master playlist's SUBTITLES rendition with hls.js)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from openvod.services.playback import play_url
from tests.browser import launch_chromium
from tests.conftest import free_port
from tests.integration.playback.conftest import Playback, save_artifact

SRT = b"1\n00:00:00,000 --> 00:00:05,500\nHello from the embed\n"


@pytest.fixture(scope="module")
def private_media(pb: Playback, clip6: Path) -> str:
    return pb.private.upload(pb.server, clip6.read_bytes(), "embedded.mp4")


def _embed(pb: Playback, auth: tuple[str, str], fid: str, **body: int) -> dict[str, str]:
    r = httpx.post(f"{pb.url}/v1/media/{fid}/embed-url", json=body, auth=auth, timeout=30)
    assert r.status_code == 200, r.text
    out: dict[str, str] = r.json()
    return out


def test_private_media_embeds_with_a_signed_expiring_url(pb: Playback, private_media: str) -> None:
    before = time.time()
    e = _embed(pb, pb.private.auth, private_media, ttl=600)
    assert e["url"].startswith(f"{pb.url}/embed/{private_media}?expires=") and "signature=" in e["url"]
    assert before + 599 <= datetime.fromisoformat(e["expires_at"]).timestamp() <= time.time() + 601
    assert e["iframe"].startswith(f'<iframe src="{e["url"].replace("&", "&amp;")}" width="640" height="360"')
    assert 'allow="fullscreen' in e["iframe"] and e["iframe"].endswith("></iframe>")
    r = httpx.get(e["url"], timeout=30)
    assert r.status_code == 200 and '<body class="embed">' in r.text
    csp = r.headers["content-security-policy"]
    assert "frame-ancestors *" in csp and "script-src 'self'" in csp and "x-frame-options" not in r.headers
    unsigned = httpx.get(f"{pb.url}/embed/{private_media}", timeout=30)
    assert unsigned.status_code == 403 and unsigned.json()["error"]["code"] == "AuthFailure.SignatureFailure"
    q = {k: v[0] for k, v in parse_qs(urlsplit(e["url"]).query).items()}
    assert httpx.get(f"{pb.url}/embed/{private_media}", params={**q, "expires": int(q["expires"]) + 1},
                     timeout=30).status_code == 403
    # A play page's signature is not an embed page's, nor the other way round.
    page_q = parse_qs(urlsplit(play_url(pb.ctx, pb.private.app_id, private_media)).query)
    assert httpx.get(f"{pb.url}/embed/{private_media}", params={k: v[0] for k, v in page_q.items()},
                     timeout=30).status_code == 403
    assert httpx.get(f"{pb.url}/play/{private_media}", params=q, timeout=30).status_code == 403
    default = _embed(pb, pb.private.auth, private_media)  # ttl: playback_url_ttl (24 h)
    assert datetime.fromisoformat(default["expires_at"]).timestamp() >= time.time() + 86000
    for ttl in (59, 30 * 86400 + 1):
        r = httpx.post(f"{pb.url}/v1/media/{private_media}/embed-url", json={"ttl": ttl}, auth=pb.private.auth,
                       timeout=30)
        assert r.status_code == 400, r.text


def test_public_media_has_a_stable_unsigned_embed_url(pb: Playback, clip6: Path) -> None:
    fid = pb.public.upload(pb.server, clip6.read_bytes(), "public.mp4")
    e = _embed(pb, pb.public.auth, fid, ttl=600)
    assert e == _embed(pb, pb.public.auth, fid) and e["url"] == f"{pb.url}/embed/{fid}" and e["expires_at"] is None
    assert httpx.get(e["url"], timeout=30).status_code == 200
    r = httpx.put(f"{pb.url}/v1/media/{fid}/sharing", json={"public": False}, auth=pb.public.auth, timeout=30)
    assert r.status_code == 200 and r.json()["sharing"] == "private"
    assert httpx.get(e["url"], timeout=30).status_code == 403  # made private: the unsigned URL stops
    assert "signature=" in _embed(pb, pb.public.auth, fid)["url"]


def test_only_the_embed_page_may_be_framed_by_others(pb: Playback, private_media: str) -> None:
    page = httpx.get(play_url(pb.ctx, pb.private.app_id, private_media), timeout=30)
    assert "frame-ancestors 'self'" in page.headers["content-security-policy"]
    console = httpx.get(f"{pb.url}/", headers={"Accept": "text/html"}, timeout=30)
    assert "frame-ancestors 'none'" in console.headers["content-security-policy"]


@pytest.fixture()
def partner_site() -> Iterator[tuple[str, dict[str, bytes]]]:
    """A site on another origin (``localhost``, another port) serving the pages the test gives it."""
    pages: dict[str, bytes] = {}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - http.server's name
            body = pages.get(self.path)
            self.send_response(200 if body else 404)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.end_headers()
            self.wfile.write(body or b"")

        def log_message(self, *_args: object) -> None:
            return

    site = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
    thread = threading.Thread(target=site.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://localhost:{site.server_port}", pages
    finally:
        site.shutdown()
        site.server_close()


@pytest.mark.slow
def test_embed_code_plays_on_another_origin_with_subtitles(pb: Playback, private_media: str, clip6: Path,
                                                           ladder: Path,
                                                           partner_site: tuple[str, dict[str, bytes]]) -> None:
    origin, pages = partner_site
    r = httpx.put(f"{pb.url}/v1/media/{private_media}/subtitles/en", content=SRT, auth=pb.private.auth, timeout=30)
    assert r.status_code == 200, r.text
    snippet = _embed(pb, pb.private.auth, private_media, ttl=600)["iframe"]
    hls_media = pb.private.upload(pb.server, clip6.read_bytes(), "hls-embedded.mp4")
    pb.private.lib.put_tree(hls_media, "hls", ladder, role="AdaptiveDynamicStreaming", main="master.m3u8",
                            definition=10)
    r = httpx.put(f"{pb.url}/v1/media/{hls_media}/subtitles/en", content=SRT, auth=pb.private.auth, timeout=30)
    assert r.status_code == 200, r.text
    hls_snippet = _embed(pb, pb.private.auth, hls_media, ttl=600)["iframe"]
    pages["/post.html"] = (f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Partner</title>'
                           f'</head><body><h1>A partner\'s article</h1>{snippet}<p>After the video.</p>'
                           '</body></html>').encode()
    with launch_chromium() as browser:
        page = browser.new_page(viewport={"width": 1024, "height": 768})
        page.goto(f"{origin}/post.html")
        box = page.locator("iframe").bounding_box()
        assert box is not None and (box["width"], box["height"]) == (640, 360)
        frame = page.frame_locator("iframe")
        frame.locator("#controls").wait_for(state="visible")
        inside = frame.locator("body").evaluate("""() => {
            const rect = (id) => document.getElementById(id).getBoundingClientRect();
            const within = (r) => r.left >= 0 && r.top >= 0 && r.right <= innerWidth && r.bottom <= innerHeight
                                  && r.width > 0 && r.height > 0;
            return {size: [innerWidth, innerHeight], video: within(rect("video")),
                    controls: ["controls", "play", "seek", "mute", "captions", "fullscreen"].every(
                        (id) => within(rect(id))),
                    scroll: document.documentElement.scrollHeight <= innerHeight};
        }""")
        assert inside == {"size": [640, 360], "video": True, "controls": True, "scroll": True}
        frame.locator("#mute").click()
        frame.locator("#play").click()
        frame.locator("#video").evaluate("v => new Promise((ok, no) => { const t = setTimeout(() => no("
                                         "new Error('no progress: ' + v.currentTime)), 20000);"
                                         " const f = () => v.currentTime > 0.5 ? (clearTimeout(t), ok()) :"
                                         " setTimeout(f, 100); f(); })")
        assert frame.locator("#player").get_attribute("data-engine") == "mp4"
        frame.locator("#captions").select_option("0")
        cue = frame.locator("#video").evaluate("""v => new Promise((ok, no) => {
            const t = setTimeout(() => no(new Error("no cue")), 15000);
            const f = () => {
                const track = v.textTracks[0];
                if (track && track.mode === "showing" && track.cues && track.cues.length) {
                    clearTimeout(t);
                    ok({language: track.language, label: track.label, text: track.cues[0].text});
                } else { setTimeout(f, 100); }
            };
            f();
        })""")
        assert cue == {"language": "en", "label": "English", "text": "Hello from the embed"}
        save_artifact("embed-partner-page.png", page.screenshot())
        # The same with HLS: hls.js finds the subtitles as the master playlist's renditions.
        pages["/hls.html"] = f'<!doctype html><html lang="en"><title>HLS</title>{hls_snippet}</html>'.encode()
        page.goto(f"{origin}/hls.html")
        frame = page.frame_locator("iframe")
        frame.locator("#captions").wait_for(state="visible")
        assert frame.locator("#player").get_attribute("data-engine") == "hls.js"
        frame.locator("#captions").select_option("0")
        frame.locator("#mute").click()
        frame.locator("#play").click()
        cue = frame.locator("#video").evaluate("""v => new Promise((ok, no) => {
            const t = setTimeout(() => no(new Error("no cue")), 20000);
            const f = () => {
                const track = Array.from(v.textTracks).find((x) => x.mode === "showing");
                if (track && track.cues && track.cues.length) {
                    clearTimeout(t);
                    ok({language: track.language, text: track.cues[0].text});
                } else { setTimeout(f, 100); }
            };
            f();
        })""")
        assert cue == {"language": "en", "text": "Hello from the embed"}
        page.close()
