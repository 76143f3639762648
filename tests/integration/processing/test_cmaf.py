"""AdaptiveDynamicStreaming as DASH and CMAF, H.265/AV1 rungs and publishing early, end to end:
a real server, real FFmpeg, the manifests fetched by their (signed) URLs and played in Chromium
through the player page."""

from __future__ import annotations

import re
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import httpx
import pytest
from playwright.sync_api import Browser, Page
from sqlalchemy import text

from tests.browser import launch_chromium
from tests.conftest import Server, make_app_server, server_database
from tests.integration.processing.test_processing import detail, fetch, result
from tests.media import make_clip
from tests.tus import upload_bytes

NS = {"d": "urn:mpeg:dash:schema:mpd:2011"}
VIDEO = "document.getElementById('video')"


@pytest.fixture(scope="module")
def srv(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    s = make_app_server(tmp_path_factory.mktemp("cmaf"), {"OPENVOD_WORKERS": "1"})
    yield s
    s.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with launch_chromium() as b:
        yield b


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_clip(tmp_path_factory.mktemp("cmaf-clip") / "clip.mp4", seconds=4, width=320, height=240)


def template(c: httpx.Client, fmt: str, rungs: list[tuple[int, int, str]]) -> int:
    r = c.post("/v1/templates/AdaptiveDynamicStreaming", json={"params": {
        "Format": fmt, "StreamInfos": [{"Video": {"Height": h, "Bitrate": kbps, "Codec": codec}, "Audio": {}}
                                       for h, kbps, codec in rungs]}})
    assert r.status_code == 201, r.text
    return int(r.json()["definition"])


def start(c: httpx.Client, fid: str, definition: int, **item: Any) -> str:
    r = c.post(f"/v1/media/{fid}/process", json={"media_process_task": {
        "AdaptiveDynamicStreamingTaskSet": [{"Definition": definition, **item}]}})
    assert r.status_code == 201, r.text
    return str(r.json()["task_id"])


def finished(c: httpx.Client, task_id: str, timeout: float = 240) -> dict[str, Any]:
    item = result(detail(c, task_id, timeout), 0)
    assert item["Status"] == "SUCCESS", item
    return dict(item["Output"])


def key_of(url: str) -> str:
    """The object key a /files URL names."""
    return unquote(urlsplit(url).path).split("/files/vod/", 1)[1]


def hls_files(master_url: str) -> tuple[list[str], set[str]]:
    """(variant CODECS, keys of every init and media segment) of an HLS ladder, by its URLs."""
    master = fetch(master_url).decode()
    codecs = re.findall(r'CODECS="([^"]*)"', master)
    playlists = [line for line in master.splitlines() if line.startswith("http")]
    playlists += re.findall(r'#EXT-X-MEDIA:TYPE=AUDIO[^\n]*URI="([^"]*)"', master)
    keys: set[str] = set()
    for url in playlists:
        body = fetch(url).decode()
        keys.update(key_of(u) for u in re.findall(r'#EXT-X-MAP:URI="([^"]*)"', body))
        keys.update(key_of(line) for line in body.splitlines() if line.startswith("http"))
    return codecs, keys


def dash_files(mpd_url: str) -> tuple[float, list[float], set[str], list[str]]:
    """(mediaPresentationDuration, seconds of each Representation, keys it names, codecs)."""
    root = ET.fromstring(fetch(mpd_url))
    m = re.fullmatch(r"PT([\d.]+)S", root.attrib["mediaPresentationDuration"])
    assert m, root.attrib
    seconds, keys, codecs = [], set(), []
    for rep in root.iterfind("d:Period/d:AdaptationSet/d:Representation", NS):
        seg = rep.find("d:SegmentList", NS)
        init = seg.find("d:Initialization", NS) if seg is not None else None
        assert seg is not None and init is not None
        urls = [init.attrib["sourceURL"], *(u.attrib["media"] for u in seg.iterfind("d:SegmentURL", NS))]
        assert all("signature=" in u for u in urls)  # signed one by one: the app is private
        for u in urls:
            assert httpx.head(u, timeout=30).status_code == 200, u
        keys.update(key_of(u) for u in urls)
        ticks = sum(int(s.attrib["d"]) * (1 + int(s.attrib.get("r", 0)))
                    for s in seg.iterfind("d:SegmentTimeline/d:S", NS))
        seconds.append(ticks / int(seg.attrib["timescale"]))
        codecs.append(rep.attrib.get("codecs", ""))
    return float(m[1]), seconds, keys, codecs


def stored_keys(srv: Server, fid: str) -> list[tuple[str, str]]:
    db = server_database(srv)
    try:
        with db.session() as s:
            rows = s.execute(text("SELECT key, role FROM object WHERE media_id=:f AND key LIKE :k"),
                             {"f": fid, "k": "%/AdaptiveDynamicStreaming/%"})
            return [(str(k), str(r)) for k, r in rows]
    finally:
        db.dispose()


def play(browser: Browser, url: str, engine: str, past: float = 1.0) -> Page:
    page = browser.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(url)
    page.wait_for_function("e => document.getElementById('player').dataset.engine === e", arg=engine)
    page.click("#play")
    page.wait_for_function(f"s => {VIDEO}.currentTime > s", arg=past, timeout=60_000)
    assert not errors, errors
    return page


def test_cmaf_one_set_of_segments_for_hls_and_dash(srv: Server, clip: Path, browser: Browser) -> None:
    with srv.client() as c:
        fid = upload_bytes(c, clip.read_bytes(), "cmaf.mp4")
        definition = template(c, "CMAF", [(240, 400, "libx264"), (128, 150, "libx264")])
        out = finished(c, start(c, fid, definition))
        assert out["Package"] == "HLS" and out["Url"].split("?")[0].endswith("/master.m3u8")
        assert out["DashUrl"].split("?")[0].endswith("/manifest.mpd")
        codecs, hls_keys = hls_files(out["Url"])
        duration, seconds, mpd_keys, mpd_codecs = dash_files(out["DashUrl"])
        assert hls_keys == mpd_keys and len(mpd_keys) == 3 * 2  # 2 rungs + audio: init + one 4 s segment
        assert abs(duration - 4) < 0.1 and all(abs(s - 4) < 0.1 for s in seconds), seconds
        assert mpd_codecs[:2] == [c.split(",")[0] for c in codecs] and mpd_codecs[2] == "mp4a.40.2"
        # one copy stored: every segment once, the two manifests beside them
        stored = stored_keys(srv, fid)
        keys = [k for k, _ in stored]
        assert len(keys) == len(set(keys))
        assert {k for k in keys if not k.endswith((".m3u8", ".mpd"))} == mpd_keys
        mains = sorted(k.rsplit("/", 1)[1] for k, role in stored if role == "AdaptiveDynamicStreaming")
        assert mains == ["manifest.mpd", "master.m3u8"]
        assert out["Size"] > 10_000  # every file of both manifests, each counted once
        streams = c.get(f"/v1/media/{fid}").json()
        packages = sorted(o["format"] for o in streams["outputs"]["adaptive_streams"])
        assert packages == ["DASH", "HLS"]
        mpd = httpx.get(out["DashUrl"], timeout=30)
        assert mpd.headers["content-type"].startswith("application/dash+xml")
        play_url = streams["play_url"]
    page = play(browser, play_url, "hls.js")  # an HLS master plays through hls.js ...
    page.close()
    page = play(browser, play_url + ("&" if "?" in play_url else "?") + "engine=dash", "shaka")  # ... its MPD too
    assert page.evaluate("document.getElementById('quality').options.length") == 3  # Auto + 2 rungs
    page.close()


def test_dash_plays_through_the_player_page(srv: Server, clip: Path, browser: Browser) -> None:
    with srv.client() as c:
        fid = upload_bytes(c, clip.read_bytes(), "dash.mp4")
        definition = template(c, "MPEG-DASH", [(240, 400, "libx264"), (128, 150, "libx264")])
        out = finished(c, start(c, fid, definition))
        assert out["Package"] == "DASH" and out["Url"].split("?")[0].endswith("/manifest.mpd")
        assert "DashUrl" not in out
        duration, seconds, keys, _ = dash_files(out["Url"])
        assert abs(duration - 4) < 0.1 and len(seconds) == 3
        assert not [k for k, _ in stored_keys(srv, fid) if k.endswith(".m3u8")]  # DASH alone: no playlists
        play_url = c.get(f"/v1/media/{fid}").json()["play_url"]
    page = play(browser, play_url, "shaka", past=2.0)
    assert page.evaluate(f"{VIDEO}.videoHeight") in (128, 240)
    page.close()


def test_h265_and_av1_rungs_play_where_chromium_decodes_them(srv: Server, browser: Browser, tmp_path: Path) -> None:
    clip = make_clip(tmp_path / "codecs.mp4", seconds=8, width=320, height=240)
    with srv.client() as c:
        fid = upload_bytes(c, clip.read_bytes(), "codecs.mp4")
        definition = template(c, "HLS", [(240, 400, "libx264"), (180, 300, "libx265"), (128, 200, "av1")])
        out = finished(c, start(c, fid, definition))
        codecs, _ = hls_files(out["Url"])
        play_url = c.get(f"/v1/media/{fid}").json()["play_url"]
    video = [entry.split(",")[0] for entry in codecs]
    assert re.fullmatch(r"avc1\.[0-9a-fA-F]{6}", video[0]) and video[1].startswith("hvc1.") \
        and video[2].startswith("av01."), codecs
    page = browser.new_page()
    page.goto(play_url)
    page.wait_for_function("() => document.getElementById('player').dataset.engine === 'hls.js'")
    supported = [page.evaluate("c => MediaSource.isTypeSupported('video/mp4; codecs=\"' + c + '\"')", v)
                 for v in video]
    assert supported[0] and supported[2], f"this Chromium decodes neither H.264 nor AV1 in fMP4: {supported}"
    heights = [h for h, ok in zip((240, 180, 128), supported, strict=True) if ok]
    page.wait_for_function("n => document.getElementById('quality').options.length === n", arg=len(heights) + 1)
    # hls.js offers exactly the rungs this browser can decode, and each of them plays
    options = page.evaluate("[...document.getElementById('quality').options].slice(1)"
                            ".map(o => [o.value, o.textContent])")
    assert sorted(label for _, label in options) == sorted(f"{h}p" for h in heights)
    page.click("#play")
    for value, label in options:
        height = int(label.removesuffix("p"))
        page.select_option("#quality", value)
        page.evaluate(f"{VIDEO}.currentTime = 0; {VIDEO}.play()")  # from the start, in this rung
        # hls.js flushes and refills the buffer for the new rung while the seek is under way; on a
        # busy machine the 8 s clip can reach its end on the old rung's frames first. Play it again
        # from the start then (the condition is unchanged: this rung's picture, time advancing).
        page.wait_for_function(f"""h => {{
            const v = {VIDEO};
            if (v.ended) {{ v.currentTime = 0; v.play(); }}
            return v.videoHeight === h && v.currentTime > 0.5 && !v.ended;
        }}""", arg=height, timeout=30_000, polling=250)
    page.close()


def test_publish_early_plays_before_the_ladder_is_done(srv: Server, browser: Browser, tmp_path: Path) -> None:
    source = make_clip(tmp_path / "long.mp4", seconds=16, width=1280, height=720)
    with srv.client() as c:
        fid = upload_bytes(c, source.read_bytes(), "long.mp4")
        definition = template(c, "CMAF", [(720, 2500, "libx264"), (480, 1000, "libx264"), (240, 300, "libx264")])
        task_id = start(c, fid, definition, PublishEarly=1)
        deadline = time.monotonic() + 120
        while not c.get(f"/v1/media/{fid}").json()["outputs"]["adaptive_streams"]:
            assert time.monotonic() < deadline, "the lowest rung was never published"
            time.sleep(0.2)
        early = c.get(f"/v1/media/{fid}").json()
        hls_url = next(o["url"] for o in early["outputs"]["adaptive_streams"] if o["format"] == "HLS")
        assert fetch(hls_url).decode().count("#EXT-X-STREAM-INF") == 1  # the lowest rung, ready first
        assert c.get(f"/v1/tasks/{task_id}/detail").json()["Status"] == "PROCESSING"
        page = play(browser, early["play_url"], "hls.js", past=0.2)
        assert page.evaluate(f"{VIDEO}.videoHeight") == 240
        # playback has started; the ladder task is still running
        assert c.get(f"/v1/tasks/{task_id}/detail").json()["Status"] == "PROCESSING"
        assert page.evaluate("document.getElementById('quality').options.length") in (1, 2)  # 1 rung: no menu
        page.close()
        out = finished(c, task_id)
        codecs, hls_keys = hls_files(out["Url"])
        assert len(codecs) == 3 and all(entry.endswith(",mp4a.40.2") for entry in codecs)
        assert [r["Height"] for r in out["Rungs"]] == [720, 480, 240]
        _, seconds, mpd_keys, _ = dash_files(out["DashUrl"])
        assert len(seconds) == 4 and mpd_keys == hls_keys  # still one set of segments
        stored = [k for k, _ in stored_keys(srv, fid)]
        assert len(stored) == len(set(stored))
        assert len(c.get(f"/v1/media/{fid}").json()["outputs"]["adaptive_streams"]) == 2
        assert hls_url.split("?")[0] == out["Url"].split("?")[0]  # the same master, now complete
