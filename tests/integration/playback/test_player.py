"""The /play/{file_id} page: who may open it, what it contains, and that it plays in a real browser
(Debian's chromium driven by Playwright; ``scripts/install-browser`` installs it)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from playwright.sync_api import Browser, Page

from openvod.api.playback import player_json
from openvod.domain.urlsign import sign_object
from openvod.services import hls_keys
from openvod.services.playback import play_url, player_data
from tests.browser import launch_chromium
from tests.integration.playback.conftest import Playback, Tenant, save_artifact
from tests.integration.playback.outputs import Sprites, make_image, make_ladder

DATA_SCRIPT = re.compile(r'<script type="application/json" id="player-data">(.*?)</script>', re.S)
CODECS = {
    "h264_baseline": 'video/mp4; codecs="avc1.42E01E"',
    "h264_main": 'video/mp4; codecs="avc1.4D401E"',
    "aac": 'audio/mp4; codecs="mp4a.40.2"',
}


def _media(pb: Playback, tenant: Tenant, clip: Path, tmp: Path, *, ladder: Path | None, sprites: Sprites | None,
           name: str) -> str:
    file_id = tenant.upload(pb.server, clip.read_bytes(), name)
    lib = tenant.lib
    lib.put(file_id, "cover.jpg", make_image(tmp / f"{file_id}.jpg").read_bytes(), role="cover",
            info={"width": 320, "height": 180})
    if ladder is not None:
        lib.put_tree(file_id, "hls", ladder, role="AdaptiveDynamicStreaming", main="master.m3u8", definition=10)
    if sprites is not None:
        lib.put(file_id, "sprite/sheet_0.jpg", sprites.sheet.read_bytes(), role="ImageSprite.part", definition=10)
        lib.put(file_id, "sprite/sprites.vtt", sprites.vtt.read_bytes(), role="ImageSprite", definition=10,
                info={"vtt": True})
    return file_id


@pytest.fixture(scope="module")
def hls_media(pb: Playback, clip6: Path, ladder: Path, sprites: Sprites,
              tmp_path_factory: pytest.TempPathFactory) -> str:
    """A media file of the private app with an HLS ladder, a cover and sprites."""
    return _media(pb, pb.private, clip6, tmp_path_factory.mktemp("hlsmedia"), ladder=ladder, sprites=sprites,
                  name="Test pattern")


def _data_of(html: str) -> dict[str, Any]:
    m = DATA_SCRIPT.search(html)
    assert m, "no player data in the page"
    data: dict[str, Any] = json.loads(m.group(1))
    return data


# -- access and markup ------------------------------------------------------------------------
def test_private_page_needs_a_signed_url(pb: Playback, hls_media: str) -> None:
    r = httpx.get(f"{pb.url}/play/{hls_media}", timeout=30)
    assert r.status_code == 403
    assert r.json()["error"]["code"] == "AuthFailure.SignatureFailure"
    url = play_url(pb.ctx, pb.private.app_id, hls_media)
    assert url.startswith(f"{pb.url}/play/{hls_media}?expires=")
    r = httpx.get(url, timeout=30)
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/html")
    assert r.headers["cache-control"] == "private, no-store"
    assert "default-src 'self'" in r.headers["content-security-policy"]


@pytest.mark.parametrize("how", ["signature", "expires", "other-file", "expired"])
def test_bad_page_signatures_get_403(pb: Playback, hls_media: str, clip6: Path, how: str) -> None:
    url = play_url(pb.ctx, pb.private.app_id, hls_media)
    q = {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}
    path = f"/play/{hls_media}"
    if how == "signature":
        q["signature"] = q["signature"][::-1]
    elif how == "expires":
        q["expires"] = str(int(q["expires"]) + 1)
    elif how == "other-file":
        path = f"/play/{pb.private.upload(pb.server, clip6.read_bytes(), 'other.mp4')}"
    else:
        q = {k: v[0] for k, v in parse_qs(urlsplit(play_url(pb.ctx, pb.private.app_id, hls_media,
                                                                expires_in=-1)).query).items()}
    r = httpx.get(pb.url + path, params=q, timeout=30)
    assert r.status_code == 403
    assert r.json()["error"]["code"] == ("AuthFailure.SignatureExpire" if how == "expired"
                                         else "AuthFailure.SignatureFailure")


def test_object_signature_does_not_open_a_page(pb: Playback, hls_media: str) -> None:
    sig = sign_object(pb.ctx.url_secret, "GET", "play", hls_media, 2**40)
    assert httpx.get(f"{pb.url}/play/{hls_media}", params={"expires": 2**40, "signature": sig},
                     timeout=30).status_code == 403


def test_public_page_is_open(pb: Playback, clip6: Path, tmp_path: Path) -> None:
    file_id = _media(pb, pb.public, clip6, tmp_path, ladder=None, sprites=None, name="public.mp4")
    url = play_url(pb.ctx, pb.public.app_id, file_id)
    assert url == f"{pb.url}/play/{file_id}"
    r = httpx.get(url, timeout=30)
    assert r.status_code == 200
    data = _data_of(r.text)
    assert data["hls"] is None and "?" not in data["mp4"] and "?" not in data["poster"]


def test_missing_media(pb: Playback) -> None:
    assert httpx.get(f"{pb.url}/play/1234567890123456789", timeout=30).status_code == 403  # no oracle
    signed = play_url(pb.ctx, pb.private.app_id, "1234567890123456789")
    assert httpx.get(signed, timeout=30).status_code == 404


def test_page_markup(pb: Playback, hls_media: str) -> None:
    html = httpx.get(play_url(pb.ctx, pb.private.app_id, hls_media), timeout=30).text
    data = _data_of(html)
    expected = player_json(player_data(pb.ctx, pb.private.app_id, hls_media))
    assert data.keys() == expected.keys()
    assert data["name"] == "Test pattern"
    for key in ("hls", "poster", "sprites_vtt", "mp4"):
        assert data[key].split("?")[0] == expected[key].split("?")[0]
    assert '<html lang="en">' in html and 'name="viewport"' in html
    assert re.search(r'<video[^>]*\bposter="[^"]*/cover\.jpg\?expires=\d+&amp;signature=', html)
    assert re.search(r'<label[^>]*for="seek"', html) and re.search(r'<label[^>]*for="quality"', html)
    # Every resource the markup names is this server's own.
    assert set(re.findall(r'(?:src|href)="([^"]+)"', html)) == {
        "data:,", "../static/player.css", "../static/vendor/hls.min.js", "../static/player.js"}


def test_media_name_cannot_break_out_of_the_page(pb: Playback, clip6: Path) -> None:
    evil = '</script><script>alert(1)</script><b x="'
    file_id = pb.private.upload(pb.server, clip6.read_bytes(), "evil.mp4")
    with pb.server.client() as c:
        assert c.patch(f"/v1/media/{file_id}", json={"name": evil}).status_code == 200
    html = httpx.get(play_url(pb.ctx, pb.private.app_id, file_id), timeout=30).text
    assert "<script>alert(1)" not in html
    assert _data_of(html)["name"] == evil


def test_static_files(pb: Playback) -> None:
    hls = httpx.get(f"{pb.url}/static/vendor/hls.min.js", timeout=30)
    assert hls.status_code == 200 and "javascript" in hls.headers["content-type"]
    assert len(hls.content) > 100_000 and b"sourceMappingURL" not in hls.content
    assert httpx.get(f"{pb.url}/static/player.js", timeout=30).status_code == 200
    assert httpx.get(f"{pb.url}/static/player.css", timeout=30).headers["content-type"].startswith("text/css")
    assert httpx.get(f"{pb.url}/static/%2e%2e/__init__.py", timeout=30).status_code == 404
    assert httpx.get(f"{pb.url}/static/nope.js", timeout=30).status_code == 404


# -- in a real browser ------------------------------------------------------------------------
@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with launch_chromium() as b:
        yield b


class Watched:
    """A page with every request and script error it causes recorded."""

    def __init__(self, browser: Browser, **context: Any) -> None:
        self.page: Page = browser.new_page(**context)
        self.requests: list[str] = []
        self.errors: list[str] = []
        self.page.on("request", lambda req: self.requests.append(req.url))
        self.page.on("pageerror", lambda exc: self.errors.append(str(exc)))
        # CSP violations and failed loads show up as console errors.
        self.page.on("console", lambda msg: self.errors.append(msg.text) if msg.type == "error" else None)
        self.page.on("response", lambda r: self.errors.append(f"{r.status} {r.url}") if r.status >= 400 else None)

    def play_past(self, seconds: float) -> float:
        self.page.click("#play")
        self.page.wait_for_function("s => document.getElementById('video').currentTime > s", arg=seconds,
                                    timeout=30_000)
        return float(self.page.evaluate("document.getElementById('video').currentTime"))

    def assert_only_own_requests(self, base: str) -> None:
        foreign = [u for u in self.requests if not u.startswith((base + "/", "blob:", "data:"))]
        assert not foreign, f"the page fetched from elsewhere: {foreign}"
        assert not self.errors, self.errors


def test_browser_codec_support(browser: Browser, pb: Playback) -> None:
    """Debian's chromium is built with FFmpeg's H.264 and AAC decoders; hls.js needs them."""
    page = browser.new_page()
    page.goto(f"{pb.url}/healthz")
    support = {name: page.evaluate("t => MediaSource.isTypeSupported(t)", t) for name, t in CODECS.items()}
    save_artifact("playback-codecs.json", json.dumps({"browser": browser.version, **support}, indent=2).encode())
    page.close()
    assert all(support.values()), f"this Chromium ({browser.version}) lacks codecs the ladder uses: {support}"


def test_browser_plays_hls_with_scrub_previews(browser: Browser, pb: Playback, hls_media: str) -> None:
    w = Watched(browser, viewport={"width": 1024, "height": 768})
    page = w.page
    page.goto(play_url(pb.ctx, pb.private.app_id, hls_media))
    page.wait_for_function("() => document.getElementById('player').dataset.engine === 'hls.js'")
    poster = page.get_attribute("#video", "poster") or ""
    expected = player_json(player_data(pb.ctx, pb.private.app_id, hls_media))
    assert poster.split("?")[0] == expected["poster"].split("?")[0]
    assert "signature=" in poster
    assert w.play_past(1.0) > 1.0
    assert any("/hls/v0/seg_" in u or "/hls/v1/seg_" in u for u in w.requests)
    assert page.evaluate("document.getElementById('quality').options.length") == 3  # Auto + 2 rungs

    # Scrub preview: hover the middle of the seek bar, a sprite cell shows above it.
    page.wait_for_function("() => document.getElementById('player').dataset.sprites === '6'")
    box = page.locator("#seek").bounding_box()
    assert box is not None
    page.mouse.move(box["x"] + box["width"] * 0.5, box["y"] + box["height"] / 2)
    page.wait_for_selector("#preview", state="visible")
    style = page.evaluate("(() => { const s = document.getElementById('thumb').style; "
                          "return {bg: s.backgroundImage, pos: s.backgroundPosition}; })()")
    assert "/sprite/sheet_0.jpg?" in style["bg"] and "signature=" in style["bg"]
    assert style["pos"] == "0px -90px"  # the cue of second 3: column 0, row 1
    page.wait_for_function("() => performance.getEntriesByType('resource').some(e => e.name.includes('sheet_0'))")
    save_artifact("playback-player.png", page.screenshot())

    # Keyboard: K pauses, the right arrow seeks 5 s.
    page.focus("#video")
    page.keyboard.press("k")
    page.wait_for_function("() => document.getElementById('video').paused")
    before = page.evaluate("document.getElementById('video').currentTime")
    page.keyboard.press("ArrowRight")
    page.wait_for_function("t => document.getElementById('video').currentTime > t", arg=before + 2)
    w.assert_only_own_requests(pb.url)
    page.close()


def test_browser_plays_aes_encrypted_hls(browser: Browser, pb: Playback, clip6: Path,
                                         tmp_path: Path) -> None:
    tenant = pb.private
    file_id = tenant.upload(pb.server, clip6.read_bytes(), "encrypted.mp4")
    key_id, key = hls_keys.create_key(pb.ctx, tenant.app_id, file_id)
    (tmp_path / "k").write_bytes(key)
    (tmp_path / "info").write_text(f"{hls_keys.key_ref(key_id)}\n{tmp_path / 'k'}\n")
    ladder = make_ladder(tmp_path / "hls", key_info=tmp_path / "info")
    tenant.lib.put_tree(file_id, "hls", ladder, role="AdaptiveDynamicStreaming", main="master.m3u8")
    w = Watched(browser)
    w.page.goto(play_url(pb.ctx, tenant.app_id, file_id))
    assert w.play_past(1.0) > 1.0
    assert any(f"/keys/hls/{key_id}?" in u for u in w.requests)
    w.assert_only_own_requests(pb.url)
    w.page.close()


def test_browser_falls_back_to_mp4_at_phone_width(browser: Browser, pb: Playback, clip6: Path,
                                                  tmp_path: Path) -> None:
    file_id = _media(pb, pb.public, clip6, tmp_path, ladder=None, sprites=None, name="phone.mp4")
    w = Watched(browser, viewport={"width": 360, "height": 740}, is_mobile=True, has_touch=True)
    page = w.page
    page.goto(play_url(pb.ctx, pb.public.app_id, file_id))
    assert page.evaluate("document.getElementById('player').dataset.engine") == "mp4"
    assert page.evaluate("document.documentElement.scrollWidth") <= 360  # nothing wider than the phone
    for control in ("#play", "#seek", "#mute", "#fullscreen"):
        assert page.locator(control).is_visible()
    assert w.play_past(1.0) > 1.0
    save_artifact("playback-phone.png", page.screenshot())
    w.assert_only_own_requests(pb.url)
    page.close()


def test_ladder_generator_makes_two_rungs(tmp_path: Path) -> None:
    out = make_ladder(tmp_path / "l", seconds=2)
    master = (out / "master.m3u8").read_text()
    assert master.count("#EXT-X-STREAM-INF") == 2
    assert "avc1.4d" in master and "avc1.42" in master and "mp4a.40.2" in master  # Main, Baseline, AAC
