"""The console a new user meets (issue 15), in a real browser at 1280 px and 375 px: the dashboard
shows the API's numbers; the library sorts, switches to a list, marks a file that is not media
and keeps its filters' labels beside their fields; the media page edits details, shares with a
link or embed code, and takes subtitles — each change checked through the API."""

from __future__ import annotations

import html
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect

from tests.conftest import ServerProc
from tests.integration.console.conftest import (
    NO_SIDEWAYS_SCROLL,
    assert_labelled,
    open_page,
    shot,
    sign_in,
    watch,
)
from tests.media import make_clip
from tests.tus import upload_bytes

pytestmark = pytest.mark.slow  # browser tests (chromium through Playwright)

VTT = b"WEBVTT\n\n00:00:00.000 --> 00:00:01.500\nHello from the console\n"
SRT = b"1\n00:00:00,000 --> 00:00:01,500\nBonjour\n"


def _get(server: ServerProc, path: str, **params: Any) -> Any:
    r = httpx.get(f"{server.url}{path}", params=params, auth=server.auth, timeout=30)
    assert r.status_code == 200, r.text
    return r.json()


def _wait(server: ServerProc, task_id: str) -> dict[str, Any]:
    r = httpx.get(f"{server.url}/v1/tasks/{task_id}/wait", params={"timeout": 60}, auth=server.auth, timeout=90)
    assert r.status_code == 200, r.text
    return dict(r.json())


@pytest.fixture(scope="module")
def library(server: ServerProc, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """Three clips of different lengths and sizes, a text file, one processed cover and one failed
    transcode: name -> FileId. Every task has finished when the tests start."""
    tmp = tmp_path_factory.mktemp("first-hour")
    ids: dict[str, str] = {}
    with server.client() as c:
        for name, seconds, (w, h) in [("bravo.mp4", 1, (320, 180)), ("alpha.mp4", 3, (640, 360)),
                                      ("charlie.mp4", 2, (160, 90))]:
            clip = make_clip(tmp / name, seconds=seconds, width=w, height=h)
            ids[name] = upload_bytes(c, clip.read_bytes(), name)
        ids["notes.txt"] = upload_bytes(c, b"not a video at all\n" * 50, "notes.txt")
        cover = c.post(f"/v1/media/{ids['alpha.mp4']}/process", json={"media_process_task": {
            "CoverBySnapshotTaskSet": [{"Definition": 10, "PositionType": "Time", "PositionValue": 1}]}})
        assert cover.status_code == 201, cover.text
        broken = upload_bytes(c, b"\x00\x00\x00\x18ftypmp42" + os.urandom(3000), "broken.mp4")
        ids["broken.mp4"] = broken
        bad = c.post("/v1/tasks", json={"preset": "system-360p-h264", "sources": [{"file_id": broken}]})
        assert bad.status_code == 201, bad.text
    assert _wait(server, cover.json()["task_id"])["state"] == "succ"
    assert _wait(server, bad.json()["task_id"])["state"] == "fail"
    return ids


@pytest.fixture(scope="module")
def desk(browser: Browser, server: ServerProc, library: dict[str, str]) -> Iterator[Page]:
    """One signed-in page at 1280 px for the module (clipboard allowed, for "Copy embed code")."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=server.url)
    errors: list[str] = []
    page = watch(context.new_page(), errors)
    sign_in(page, server, server.auth[1])
    expect(page.get_by_role("heading", name="Dashboard")).to_be_visible()
    yield page
    context.close()
    assert not errors, errors


@pytest.fixture(scope="module")
def phone(browser: Browser, server: ServerProc, library: dict[str, str]) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 375, "height": 740}, is_mobile=True, has_touch=True)
    errors: list[str] = []
    page = watch(context.new_page(), errors)
    sign_in(page, server, server.auth[1])
    expect(page.get_by_role("heading", name="Dashboard")).to_be_visible()
    yield page
    context.close()
    assert not errors, errors


def _fits_and_labelled(page: Page, what: str) -> None:
    assert page.evaluate(NO_SIDEWAYS_SCROLL), f"{what}: the page scrolls sideways"
    assert_labelled(page)


def _dashboard_ready(page: Page) -> None:
    expect(page.get_by_role("heading", name="Dashboard")).to_be_visible()
    expect(page.locator(".dashboard")).to_have_attribute("aria-busy", "false")


def test_dashboard_shows_the_apis_numbers(desk: Page, phone: Page, server: ServerProc,
                                          library: dict[str, str]) -> None:
    desk.goto(f"{server.url}/#/library")
    open_page(desk, "Dashboard")
    _dashboard_ready(desk)
    stats = _get(server, "/v1/stats")
    # The stats agree with the rest of the API...
    media = _get(server, "/v1/media", limit=100)["items"]
    assert stats["media_count"] == len(media) == len(library)
    for state, n in stats["tasks_by_state"].items():
        assert _get(server, "/v1/tasks", state=state, limit=1)["total"] == n, state
    objects = _get(server, "/v1/objects", bucket="vod")["items"]
    assert stats["storage_bytes"] == sum(o["size"] for o in objects)
    assert stats["source_bytes"] == sum(m["source"]["size"] for m in media)
    # Today's steps are counted (their minutes may round to 0.00 on a fast machine: the clips are short).
    assert stats["days"][-1]["steps"] > 0 and stats["days"][-1]["date"] == stats["now"][:10]
    assert stats["encoding_minutes_week"] >= stats["encoding_minutes_today"] == stats["days"][-1]["minutes"] >= 0
    [failed] = _get(server, "/v1/tasks", state="fail")["items"]
    assert [f["task_id"] for f in stats["recent_failures"]] == [failed["task_id"]]

    # ...and the page shows them.
    tiles = desk.get_by_role("definition")
    expect(desk.locator('[data-stat="media_count"] .value')).to_have_text(str(stats["media_count"]))
    expect(desk.locator('[data-stat="storage_bytes"]')).to_have_attribute("data-value", str(stats["storage_bytes"]))
    for key in ("encoding_minutes_today", "encoding_minutes_week"):  # as numbers: JS writes 0, Python 0.0
        assert float(desk.locator(f'[data-stat="{key}"] .value').inner_text()) == stats[key], key
    expect(tiles).to_have_count(4)
    table = desk.get_by_role("table", name="Tasks by state")
    for state, n in stats["tasks_by_state"].items():
        expect(table.locator(f'tr[data-state="{state}"] td')).to_have_text(str(n))
    failure = desk.get_by_role("list", name="Recent failures").locator(f'li[data-task-id="{failed["task_id"]}"]')
    expect(failure).to_contain_text(f'{failed["error"]["code"]}: {failed["error"]["message"][:60]}')
    # The chart: an SVG drawn by the page, a bar per day with the API's minutes, named for screen readers.
    bars = desk.locator("svg.chart rect.bar-rect")
    expect(bars).to_have_count(7)
    assert [float(b.get_attribute("data-minutes") or "nan") for b in bars.all()] == [
        d["minutes"] for d in stats["days"]]
    expect(desk.get_by_role("img", name=re.compile(r"^Processing minutes per day"))).to_be_visible()
    assert_labelled(desk)
    shot(desk, "console-dashboard.png", docs=True)

    _dashboard_ready(phone)
    expect(phone.locator('[data-stat="media_count"] .value')).to_have_text(str(stats["media_count"]))
    _fits_and_labelled(phone, "dashboard")
    shot(phone, "console-phone-dashboard.png")


def _names(page: Page, selector: str) -> list[str]:
    return page.locator(selector).all_text_contents()


def test_library_sorts_lists_and_marks_non_media(desk: Page, phone: Page, server: ServerProc,
                                                 library: dict[str, str]) -> None:
    open_page(desk, "Library")
    cards = "li.card a.name"
    expect(desk.locator("li.card")).to_have_count(len(library))
    media = {m["name"]: m for m in _get(server, "/v1/media", limit=100)["items"]}
    stats = _get(server, "/v1/stats")
    expect(desk.locator("#lib-summary")).to_have_attribute("data-count", str(stats["media_count"]))
    expect(desk.locator("#lib-summary")).to_contain_text(f'{stats["media_count"]} media · ')

    # A card tells its duration, size and date.
    alpha = desk.locator("li.card", has_text="alpha.mp4")
    expect(alpha.locator(".dur")).to_have_text("0:03")
    assert alpha.locator(".size").inner_text().endswith("KiB")
    expect(alpha.locator("time.date")).to_have_attribute("datetime", media["alpha.mp4"]["created_at"])

    # The file the prober could not read is kept, with a badge; the others have none.
    assert media["notes.txt"]["media_type"] == "unknown" and media["notes.txt"]["probe_error"]
    expect(desk.locator("li.card", has_text="notes.txt").locator(".badge-unknown")).to_have_text("not a media file")
    unknown = sum(m["media_type"] == "unknown" for m in media.values())
    expect(desk.locator("ul.grid .badge-unknown")).to_have_count(unknown)

    def by(key: Any, desc: bool) -> list[str]:
        """Names in the API's order: by value then FileId; media without the value last."""
        valued = sorted((m for m in media.values() if key(m) is not None), key=lambda m: (key(m), m["file_id"]),
                        reverse=desc)
        valueless = sorted((m for m in media.values() if key(m) is None), key=lambda m: m["file_id"], reverse=desc)
        return [m["name"] for m in valued + valueless]

    def file_id(m: dict[str, Any]) -> str:
        return str(m["file_id"])

    def size(m: dict[str, Any]) -> int | None:
        return int(m["source"]["size"]) if m["source"] else None

    def duration(m: dict[str, Any]) -> float | None:
        return float((m["metadata"] or {}).get("Duration") or 0) or None

    orders = {"date-desc": by(file_id, True), "name": by(lambda m: m["name"], False), "size": by(size, True),
              "duration": by(duration, True), "date-asc": by(file_id, False)}
    assert orders["name"] == sorted(media) and orders["duration"][-2:] == sorted(
        ["notes.txt", "broken.mp4"], key=lambda n: media[n]["file_id"], reverse=True)  # no duration: last
    expect(desk.locator(cards)).to_have_text(orders["date-desc"])  # the API's order
    for option, expected in orders.items():
        desk.get_by_label("Sort by").select_option(option)
        expect(desk.locator(cards)).to_have_text(expected)

    # The server sorts the whole library, not the page shown: two media a page, every order is
    # the same across the pages Next walks through.
    desk.evaluate("localStorage.setItem('openvod.library.pageSize', '2')")
    desk.reload()
    prev, nxt = desk.get_by_role("button", name="Previous page"), desk.get_by_role("button", name="Next page")
    for option, expected in orders.items():
        desk.get_by_label("Sort by").select_option(option)  # date-desc: already, after the reload
        for start in range(0, len(expected), 2):
            expect(desk.locator(cards)).to_have_text(expected[start:start + 2])
            if start + 2 < len(expected):
                nxt.click()
        expect(nxt).to_be_disabled()
        prev.click()  # back: the marker of the page before
        expect(desk.locator(cards)).to_have_text(expected[start - 2:start])
    desk.evaluate("localStorage.removeItem('openvod.library.pageSize')")
    desk.reload()
    expect(desk.locator("li.card")).to_have_count(len(library))

    # The list view: a table in the same order; it is remembered.
    desk.get_by_label("Sort by").select_option("name")
    desk.get_by_role("button", name="List").click()
    expect(desk.get_by_role("button", name="List")).to_have_attribute("aria-pressed", "true")
    expect(desk.locator("ul.grid")).to_be_hidden()
    rows = desk.get_by_role("table", name="Media").locator("tbody tr")
    expect(rows).to_have_count(len(library))
    assert _names(desk, "table.lib-table a.name") == orders["name"]
    expect(rows.filter(has_text="notes.txt").locator(".badge-unknown")).to_be_visible()
    shot(desk, "console-library-list.png")
    desk.reload()
    expect(desk.get_by_role("table", name="Media").locator("tbody tr")).to_have_count(len(library))
    desk.get_by_role("button", name="Grid").click()
    expect(desk.locator("li.card").first).to_be_visible()

    # Prev/Next look disabled when they are (one page of media).
    prev = desk.get_by_role("button", name="Previous page")
    expect(prev).to_be_disabled()
    assert float(prev.evaluate("b => getComputedStyle(b).opacity")) < 0.6
    assert_labelled(desk)

    # The upload picker prefers audio and video.
    open_page(desk, "Upload")
    expect(desk.get_by_label("Files", exact=True)).to_have_attribute("accept", "video/*,audio/*")

    # At 375 px: each filter's label sits beside its field, and nothing scrolls sideways.
    open_page(phone, "Library")
    expect(phone.locator("li.card")).to_have_count(len(library))
    for label in ("Search by name", "Class", "Created from", "to", "Sort by"):
        lab = phone.locator("label", has_text=re.compile(f"^{label}$"))
        field = phone.get_by_label(label, exact=True)
        lb, fb = lab.bounding_box(), field.bounding_box()
        assert lb and fb, label
        assert lb["x"] + lb["width"] <= fb["x"] + 1, (label, lb, fb)  # to its left
        assert abs((lb["y"] + lb["height"] / 2) - (fb["y"] + fb["height"] / 2)) < fb["height"] / 2, (label, lb, fb)
    _fits_and_labelled(phone, "library")
    phone.get_by_role("button", name="List").click()
    expect(phone.get_by_role("table", name="Media")).to_be_visible()
    _fits_and_labelled(phone, "library list")


def test_media_page_edits_shares_and_takes_subtitles(desk: Page, phone: Page, server: ServerProc,
                                                     library: dict[str, str], tmp_path: Path) -> None:
    fid = library["charlie.mp4"]
    desk.goto(f"{server.url}/#/media/{fid}")
    expect(desk.get_by_role("heading", name="charlie.mp4", level=1)).to_be_visible()

    # Rename, describe, classify: saved through the API, shown at once.
    form = desk.get_by_role("form", name="Edit media details")
    form.get_by_label("Name").fill("charlie, renamed")
    form.get_by_label("Description").fill("made in the console")
    form.get_by_label("Class ID").fill("3")
    form.get_by_role("button", name="Save details").click()
    expect(desk.locator("#media-edit-status")).to_have_text("Saved.")
    expect(desk.get_by_role("heading", name="charlie, renamed", level=1)).to_be_visible()
    m = _get(server, f"/v1/media/{fid}")
    assert (m["name"], m["description"], m["class_id"]) == ("charlie, renamed", "made in the console", 3)

    # Download the original: the source's URL, fetched as it is.
    download = desk.get_by_role("link", name="Download original")
    expect(download).to_have_attribute("download", "charlie.mp4")  # the file's own name
    href = download.get_attribute("href") or ""
    assert httpx.get(href, timeout=30).content == httpx.get(m["source"]["url"], timeout=30).content

    # Private (the default): the embed code carries a signed URL with the lifetime chosen.
    switch = desk.get_by_role("switch", name="Public")
    expect(switch).not_to_be_checked()
    desk.get_by_label("Link lifetime").select_option("3600")
    with desk.expect_response(lambda r: r.url.endswith(f"/v1/media/{fid}/embed-url")) as made:
        desk.get_by_role("button", name="Copy embed code").click()
    assert made.value.request.post_data_json == {"ttl": 3600}
    embed = made.value.json()
    assert embed["expires_at"] and embed["iframe"].startswith("<iframe ")
    assert html.escape(embed["url"]) in embed["iframe"]
    expect(desk.locator("#share-status")).to_contain_text("Embed code copied.")
    assert desk.evaluate("navigator.clipboard.readText()") == embed["iframe"]
    expect(desk.get_by_label("Embed code")).to_have_value(embed["iframe"])
    assert httpx.get(embed["url"], timeout=30).status_code == 200

    # Public: the switch sets it, the API says so, and "Copy link" gives the stable URL.
    switch.check()
    expect(desk.locator("#media-sharing-mode")).to_contain_text("public")
    m = _get(server, f"/v1/media/{fid}")
    assert (m["public"], m["sharing"]) == (True, "public")
    expect(desk.get_by_label("Link lifetime")).to_be_hidden()
    desk.get_by_role("button", name="Copy link").click()
    expect(desk.locator("#share-status")).to_have_text("Link copied.")
    link = desk.evaluate("navigator.clipboard.readText()")
    assert link.startswith(server.url) and f"/embed/{fid}" in link and "signature" not in link, link
    switch.uncheck()
    expect(desk.locator("#media-sharing-mode")).to_contain_text("private")
    assert _get(server, f"/v1/media/{fid}")["public"] is False
    desk.get_by_role("button", name="Use the app's setting").click()
    expect(desk.locator("#media-sharing-mode")).to_contain_text("as the app")
    assert _get(server, f"/v1/media/{fid}")["sharing"] == "app"

    # Subtitles: WebVTT and SRT per language, listed, deletable; the API agrees.
    subs = desk.get_by_role("list", name="Subtitles")
    expect(subs).to_contain_text("No subtitles yet.")
    for lang, label, name, data in [("en", "English", "en.vtt", VTT), ("fr", "Français", "fr.srt", SRT)]:
        (tmp_path / name).write_bytes(data)
        add = desk.get_by_role("form", name="Add subtitles")
        add.get_by_label("Language").fill(lang)
        add.get_by_label("Label").fill(label)
        add.get_by_label("WebVTT or SRT file").set_input_files(str(tmp_path / name))
        add.get_by_role("button", name="Upload subtitles").click()
        expect(subs.locator(f'li[data-language="{lang}"]')).to_contain_text(f"{label} ({lang})")
    listed = _get(server, f"/v1/media/{fid}/subtitles")["items"]
    assert sorted((s["language"], s["label"]) for s in listed) == [("en", "English"), ("fr", "Français")]
    fr = next(s for s in listed if s["language"] == "fr")
    assert httpx.get(fr["url"], timeout=30).text.startswith("WEBVTT")  # SRT was converted
    assert_labelled(desk)
    shot(desk, "console-media-manage.png")
    subs.get_by_role("button", name="Delete the fr subtitles").click()
    expect(subs.locator('li[data-language="fr"]')).to_have_count(0)
    assert [s["language"] for s in _get(server, f"/v1/media/{fid}/subtitles")["items"]] == ["en"]

    # At 375 px the page fits.
    phone.goto(f"{server.url}/#/media/{fid}")
    expect(phone.get_by_role("list", name="Subtitles")).to_contain_text("English (en)")
    _fits_and_labelled(phone, "media page")

    # Delete: back to the library, and the API no longer has it.
    desk.once("dialog", lambda d: d.accept())
    desk.get_by_role("button", name="Delete media").click()
    expect(desk.get_by_role("heading", name="Library")).to_be_visible()
    assert httpx.get(f"{server.url}/v1/media/{fid}", auth=server.auth, timeout=30).status_code == 404
    expect(desk.locator(f'li.card[data-file-id="{fid}"]')).to_have_count(0)
