"""The web console in a real browser (Debian's chromium driven by Playwright): sign-in (key pair
and console password), session cookie and CSRF, upload with a task flow, library covers, the
media page's player and scrub previews, resuming an upload after a reload, the live task list."""

from __future__ import annotations

import os
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, BrowserContext, Frame, Page, expect

from tests.conftest import ServerProc, make_server
from tests.integration.console.conftest import NO_SIDEWAYS_SCROLL, assert_labelled, open_page, shot, sign_in, watch
from tests.media import make_clip
from tests.tus import upload_bytes

pytestmark = pytest.mark.slow  # browser tests (chromium through Playwright)

PASSWORD = "console-password-for-tests"
FLOW = "console-flow"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProc]:
    srv = make_server(
        tmp_path_factory.mktemp("console"), {"OPENVOD_WORKERS": "1", "OPENVOD_CONSOLE_PASSWORD": PASSWORD}
    )
    with srv.client() as c:
        sprite = c.post(
            "/v1/templates/ImageSprite",
            json={
                "params": {
                    "SampleType": "Time",
                    "SampleInterval": 1,
                    "RowCount": 3,
                    "ColumnCount": 3,
                    "Width": 256,
                    "Height": 144,
                }
            },
        )
        assert sprite.status_code == 201, sprite.text
        r = c.post(
            "/v1/procedures",
            json={
                "name": FLOW,
                "media_process_task": {
                    "TranscodeTaskSet": [{"Definition": 100010}],
                    "CoverBySnapshotTaskSet": [{"Definition": 10, "PositionType": "Time", "PositionValue": 1}],
                    "AnimatedGraphicTaskSet": [{"Definition": 20000, "StartTimeOffset": 0, "EndTimeOffset": 2}],
                    "ImageSpriteTaskSet": [{"Definition": sprite.json()["definition"]}],
                },
            },
        )
        assert r.status_code == 201, r.text
    yield srv
    srv.stop()


def _tasks_of(server: ServerProc, file_id: str) -> list[dict[str, Any]]:
    r = httpx.get(f"{server.url}/v1/tasks", params={"file_id": file_id}, auth=server.auth, timeout=30)
    assert r.status_code == 200, r.text
    return list(r.json()["items"])


def _wait_state(server: ServerProc, task_id: str) -> dict[str, Any]:
    r = httpx.get(f"{server.url}/v1/tasks/{task_id}/wait", params={"timeout": 60}, auth=server.auth, timeout=90)
    assert r.status_code == 200, r.text
    return dict(r.json())


def test_sign_in_session_cookie_and_csrf(browser: Browser, server: ServerProc) -> None:
    errors: list[str] = []
    context = browser.new_context(viewport={"width": 1024, "height": 768})
    page = watch(context.new_page(), errors)
    sign_in(page, server, "wrong-key")
    expect(page.locator("#signin-error")).to_contain_text("Sign-in failed")
    # The first screen says where a key pair comes from.
    hint = page.locator("#signin-hint")
    expect(hint).to_contain_text("when it first starts")
    expect(hint).to_contain_text("openvod keys create")
    expect(page.locator("#signin-form")).to_have_attribute("aria-describedby", "signin-hint")
    shot(page, "console-signin.png")
    sign_in(page, server, server.auth[1])
    expect(page.get_by_role("heading", name="Dashboard")).to_be_visible()
    cookies = {c["name"]: c for c in context.cookies()}
    assert cookies["openvod_session"]["httpOnly"] and cookies["openvod_session"]["sameSite"] == "Strict"
    assert not cookies["openvod_csrf"]["httpOnly"]

    # A state-changing call with the cookie but without the CSRF header is refused; with it, it passes.
    jar = {"openvod_session": cookies["openvod_session"]["value"]}
    body = {"name": "csrf-flow", "media_process_task": {"CoverBySnapshotTaskSet": [
        {"Definition": 10, "PositionType": "Time", "PositionValue": 0}]}}
    r = httpx.post(f"{server.url}/v1/procedures", json=body, cookies=jar, timeout=30)
    assert r.status_code == 403 and r.json()["error"]["code"] == "AuthFailure.CSRFTokenMismatch", r.text
    r = httpx.post(
        f"{server.url}/v1/procedures",
        json=body,
        timeout=30,
        cookies=jar,
        headers={"X-CSRF-Token": cookies["openvod_csrf"]["value"]},
    )
    assert r.status_code == 201, r.text
    assert httpx.get(f"{server.url}/v1/media", cookies=jar, timeout=30).status_code == 200
    assert httpx.get(f"{server.url}/v1/media", timeout=30).status_code == 401

    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("heading", name="Sign in to OpenVOD")).to_be_visible()
    assert httpx.get(f"{server.url}/console/session", timeout=30).status_code == 401

    # The console password (set in config) signs in as the default app; a wrong one is refused.
    page.get_by_label("Console password").fill("not-the-password")
    page.get_by_role("button", name="Sign in with password").click()
    expect(page.locator("#password-error")).to_contain_text("the console password is wrong")
    page.get_by_label("Console password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in with password").click()
    expect(page.get_by_role("heading", name="Dashboard")).to_be_visible()
    assert not errors, errors
    context.close()


def test_upload_with_flow_then_library_cover_and_media_player(page: Page, server: ServerProc, tmp_path: Path) -> None:
    clip = make_clip(tmp_path / "console-clip.mp4", seconds=6, width=640, height=360)
    page.get_by_role("link", name="Upload").click()
    page.get_by_label("Task flow after upload").select_option(FLOW)
    page.get_by_label("Files", exact=True).set_input_files(str(clip))
    row = page.locator("li.upload", has_text="console-clip.mp4")
    expect(row.locator(".pct")).to_have_text("100%", timeout=30_000)
    expect(row).to_have_attribute("data-state", "done")
    expect(row.get_by_role("progressbar")).to_have_attribute("value", "100")
    shot(page, "console-upload.png")

    media = httpx.get(f"{server.url}/v1/media", params={"name": "console-clip"}, auth=server.auth, timeout=30)
    [item] = media.json()["items"]
    file_id = item["file_id"]
    [task] = _tasks_of(server, file_id)
    assert task["procedure"] == FLOW

    # In the library at once (the flow is still running: its transcode takes seconds); its cover
    # appears without a reload when the flow finishes.
    page.get_by_role("link", name="Library").click()
    fresh = page.locator("li.card", has_text="console-clip.mp4")
    expect(fresh).to_be_visible()
    expect(fresh.locator("img.thumb")).to_have_attribute("src", re.compile("cover"), timeout=60_000)
    assert _wait_state(server, task["task_id"])["state"] == "succ"

    # Two more media, with covers, so the library has company (and search has something to skip).
    with server.client() as c:
        for i, (w, h) in enumerate([(480, 270), (320, 240)]):
            other = make_clip(tmp_path / f"other-{i}.mp4", seconds=2, width=w, height=h)
            fid = upload_bytes(c, other.read_bytes(), f"sample-{i + 1}.mp4")
            r = c.post(f"/v1/media/{fid}/process", json={"media_process_task": {
                "CoverBySnapshotTaskSet": [{"Definition": 10, "PositionType": "Time", "PositionValue": 1}],
                "AnimatedGraphicTaskSet": [{"Definition": 20000, "StartTimeOffset": 0, "EndTimeOffset": 1}]}})
            assert r.status_code == 201, r.text
            assert _wait_state(server, r.json()["task_id"])["state"] == "succ"

    # The library shows the cover, and the animated preview while the pointer is on the card.
    page.get_by_role("link", name="Library").click()
    expect(page.locator("li.card")).to_have_count(3)
    page.get_by_label("Search by name").fill("console-")
    page.get_by_role("button", name="Search").click()
    expect(page.locator("li.card")).to_have_count(1)
    page.get_by_label("Search by name").fill("")
    page.get_by_label("Class").fill("7")
    page.get_by_role("button", name="Search").click()
    expect(page.get_by_text("No media.")).to_be_visible()
    page.get_by_label("Class").fill("")
    page.get_by_label("Created from").fill(time.strftime("%Y-%m-%d", time.gmtime()))
    page.get_by_role("button", name="Search").click()
    expect(page.locator("li.card")).to_have_count(3)
    card = page.locator("li.card", has_text="console-clip.mp4")
    thumb = card.locator("img.thumb")
    expect(thumb).to_have_attribute("src", re.compile("cover"), timeout=10_000)
    page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=thumb.element_handle())
    still = thumb.get_attribute("src")
    card.hover()
    expect(thumb).not_to_have_attribute("src", still or "")
    assert ".gif" in (thumb.get_attribute("src") or "")
    page.mouse.move(0, 0)
    expect(thumb).to_have_attribute("src", still or "")
    shot(page, "console-library.png", docs=True)

    # The media page: metadata, outputs, per-step history, and the player.
    card.get_by_role("link", name="console-clip.mp4").click()
    expect(page.get_by_role("table", name="Metadata")).to_contain_text("640×360")
    expect(page.get_by_role("table", name="Video stream 1")).to_contain_text("h264")
    history = page.locator(f'details.history[data-task-id="{task["task_id"]}"]')
    expect(history).to_have_attribute("data-state", "succ")
    expect(history.locator("tr[data-status=SUCCESS]")).to_have_count(4)
    frame = _player_frame(page)
    frame.wait_for_function("() => document.getElementById('player').dataset.engine === 'mp4'")
    assert "cover" in (frame.get_attribute("#video", "poster") or "")
    frame.click("#play")
    frame.wait_for_function("() => document.getElementById('video').currentTime > 1", timeout=30_000)
    frame.wait_for_function("() => Number(document.getElementById('player').dataset.sprites) > 0")
    seek = frame.locator("#seek")
    seek.scroll_into_view_if_needed()
    box = seek.bounding_box()
    assert box is not None
    page.mouse.move(box["x"] + box["width"] * 0.6, box["y"] + box["height"] / 2)
    expect(frame.locator("#preview")).to_be_visible()
    assert "sheet" in frame.evaluate("document.getElementById('thumb').style.backgroundImage")
    shot(page, "console-media.png", docs=True)

    # Run the flow again from the page: a second history entry appears and finishes, live.
    page.get_by_label("Task flow", exact=True).select_option(FLOW)
    page.get_by_role("button", name="Run flow").click()
    expect(page.locator("details.history")).to_have_count(2, timeout=10_000)
    expect(page.locator("details.history").first).to_have_attribute("data-state", "succ", timeout=60_000)


def _player_frame(page: Page) -> Frame:
    handle = page.locator("iframe.player-frame").element_handle()
    assert handle is not None
    frame = handle.content_frame()
    assert frame is not None
    frame.wait_for_load_state()
    return frame


def test_reload_mid_upload_resumes(page: Page, context: BrowserContext, server: ServerProc, tmp_path: Path) -> None:
    big = tmp_path / "resume-me.bin"
    big.write_bytes(bytes(range(256)) * (24 * 1024 * 1024 // 256))  # 24 MiB: several chunks
    cdp = context.new_cdp_session(page)
    cdp.send("Network.enable")
    # ~6 MiB/s upstream, so "about half way" lasts long enough to catch.
    cdp.send(
        "Network.emulateNetworkConditions",
        {"offline": False, "latency": 0, "downloadThroughput": -1, "uploadThroughput": 6 * 1024 * 1024},
    )
    page.get_by_role("link", name="Upload").click()
    page.get_by_label("Files", exact=True).set_input_files(str(big))
    row = page.locator("li.upload", has_text="resume-me.bin")
    bar = "(document.querySelector('li.upload progress') || {}).value"
    page.wait_for_function(f"() => {bar} >= 15", timeout=30_000)
    # Pause: the bytes stop (the server's offset holds still); Resume carries on from there.
    row.get_by_role("button", name="Pause").click()
    expect(row.get_by_role("button", name="Resume")).to_be_visible()
    url = page.evaluate("Object.values(localStorage).map(v => JSON.parse(v).uploadUrl).find(Boolean)")
    paused_at = int(httpx.head(url, headers={"Tus-Resumable": "1.0.0"}, timeout=30).headers["Upload-Offset"])
    page.wait_for_timeout(1000)  # deliberately idle: nothing may arrive while paused
    assert int(httpx.head(url, headers={"Tus-Resumable": "1.0.0"}, timeout=30).headers["Upload-Offset"]) == paused_at
    row.get_by_role("button", name="Resume").click()
    page.wait_for_function(f"() => {bar} >= 40", timeout=30_000)
    stored = page.evaluate(
        "Object.keys(localStorage).filter(k => k.startsWith('tus::')).map(k => JSON.parse(localStorage[k]).uploadUrl)"
    )
    assert len(stored) == 1
    page.reload()
    expect(page.get_by_role("heading", name="Upload", exact=True)).to_be_visible()
    expect(page.locator("#pending-title")).to_be_visible()
    expect(page.get_by_role("list", name="Unfinished uploads")).to_contain_text("resume-me.bin")
    shot(page, "console-upload-resume.png")
    head = httpx.head(stored[0], headers={"Tus-Resumable": "1.0.0"}, timeout=30)
    offset = int(head.headers["Upload-Offset"])
    assert 0 < offset < big.stat().st_size

    page.get_by_label("Files", exact=True).set_input_files(str(big))
    row = page.get_by_role("list", name="Uploads", exact=True).locator("li", has_text="resume-me.bin")
    expect(row).to_have_attribute("data-resumed", stored[0])
    expect(row).to_have_attribute("data-state", "done", timeout=60_000)
    first = int(row.get_attribute("data-first-percent") or "0")
    assert first >= offset * 100 // big.stat().st_size - 1, "the upload started over instead of resuming"
    found = httpx.get(f"{server.url}/v1/media", params={"name": "resume-me"}, auth=server.auth, timeout=30).json()
    [item] = found["items"]
    assert item["source"]["size"] == big.stat().st_size
    assert page.evaluate("Object.keys(localStorage).filter(k => k.startsWith('tus::')).length") == 0


def test_tasks_page_live_progress_and_cancel(page: Page, server: ServerProc) -> None:
    with server.client() as c:
        fid = upload_bytes(c, b"\x00\x00\x00\x18ftypmp42" + os.urandom(5000), "broken.mp4")
        broken = c.post("/v1/tasks", json={"preset": "system-360p-h264", "sources": [{"file_id": fid}]})
        assert broken.status_code == 201, broken.text
        failed = _wait_state(server, broken.json()["task_id"])
        assert failed["state"] == "fail"
        running = c.post("/v1/tasks", json={"kind": "noop", "sleep": 8}).json()["task_id"]
        queued = c.post("/v1/tasks", json={"kind": "noop", "sleep": 1}).json()["task_id"]
        later = c.post("/v1/tasks", json={"kind": "noop", "sleep": 0}).json()["task_id"]
    page.get_by_role("link", name="Tasks").click()
    row = page.locator(f'tr[data-task-id="{running}"]')
    expect(row).to_have_attribute("data-state", "exec", timeout=10_000)
    # Rows are redrawn on each change: read the bar afresh each time.
    value = "tid => Number(document.querySelector(`tr[data-task-id='${tid}'] progress`)?.value || 0)"
    page.wait_for_function(f"tid => ({value})(tid) >= 20", arg=running, timeout=10_000)
    low = page.evaluate(f"tid => ({value})(tid)", running)
    page.wait_for_function(f"([tid, low]) => ({value})(tid) > low", arg=[running, low], timeout=10_000)
    expect(row.locator(".eta")).to_contain_text("left")
    q = page.locator(f'tr[data-task-id="{queued}"]')
    expect(q.locator(".queue")).to_have_text("0")
    lt = page.locator(f'tr[data-task-id="{later}"]')
    expect(lt.locator(".queue")).to_have_text("1")
    lt.get_by_role("button", name=f"Move task {later} to top").click()
    expect(lt.locator(".queue")).to_have_text("0")
    expect(q.locator(".queue")).to_have_text("1")
    shot(page, "console-tasks.png")
    q.get_by_role("button", name="Cancel").click()
    expect(q).to_have_attribute("data-state", "canceled", timeout=10_000)
    assert httpx.get(f"{server.url}/v1/tasks/{queued}", auth=server.auth, timeout=30).json()["state"] == "canceled"
    # A failed task shows its error code and message.
    bad = page.locator(f'tr[data-task-id="{failed["task_id"]}"]')
    expect(bad).to_have_attribute("data-state", "fail")
    expect(bad.locator("td.error")).to_contain_text(failed["error"]["message"][:60])
    # The state filter narrows the live list.
    page.get_by_label("State").select_option("canceled")
    expect(page.locator("tbody tr")).to_have_count(1)
    expect(page.locator(f'tr[data-task-id="{queued}"]')).to_be_visible()
    page.get_by_label("State").select_option("")
    expect(row).to_have_attribute("data-state", "succ", timeout=20_000)


def test_phone_width_has_no_sideways_scroll(browser: Browser, server: ServerProc) -> None:
    context = browser.new_context(viewport={"width": 375, "height": 740}, is_mobile=True, has_touch=True)
    page = context.new_page()
    sign_in(page, server, server.auth[1])
    expect(page.get_by_role("heading", name="Dashboard")).to_be_visible()
    # The bar is one line: the nav folds behind Menu, which opens it and closes on a choice.
    bar = page.locator("header.bar")
    assert (bar.bounding_box() or {"height": 999})["height"] < 56
    expect(page.get_by_role("link", name="Library")).to_be_hidden()
    menu = page.get_by_role("button", name="Menu")
    expect(menu).to_have_attribute("aria-expanded", "false")
    for name, heading in [("Dashboard", "Dashboard"), ("Library", "Library"), ("Upload", "Upload"),
                          ("Tasks", "Tasks"), ("Presets & flows", "Presets & flows"), ("Events", "Events")]:
        open_page(page, name)
        expect(menu).to_have_attribute("aria-expanded", "false")
        expect(page.get_by_role("heading", name=heading, exact=True)).to_be_visible()
        if name not in ("Dashboard", "Library", "Upload"):
            expect(page.locator("tbody tr").first).to_be_visible()  # the page's data has arrived
        if name == "Dashboard":
            expect(page.locator(".dashboard")).to_have_attribute("aria-busy", "false")
        assert page.evaluate(NO_SIDEWAYS_SCROLL), name
        assert_labelled(page)
    menu.click()
    expect(page.get_by_role("link", name="Library")).to_be_visible()
    shot(page, "console-phone-menu.png")
    menu.click()
    # The media page too (the first media's).
    open_page(page, "Library")
    page.locator("li.card a.name").first.click()
    expect(page.get_by_role("heading", name="Metadata")).to_be_visible()
    expect(page.get_by_role("list", name="Subtitles")).to_be_visible()
    assert page.evaluate(NO_SIDEWAYS_SCROLL), "media page"
    assert_labelled(page)
    shot(page, "console-phone-media.png")
    open_page(page, "Library")
    expect(page.locator("li.card").first).to_be_visible()
    shot(page, "console-phone-library.png")
    context.close()


def test_media_page_reruns_a_failed_step_and_deletes(page: Page, server: ServerProc) -> None:
    with server.client() as c:
        fid = upload_bytes(c, b"\x00\x00\x00\x18ftypmp42" + os.urandom(4000), "cannot-decode.mp4")
        r = c.post(f"/v1/media/{fid}/process", json={"media_process_task": {
            "CoverBySnapshotTaskSet": [{"Definition": 10, "PositionType": "Time", "PositionValue": 1}]}})
        assert r.status_code == 201, r.text
        task_id = r.json()["task_id"]
        first = _wait_state(server, task_id)
    assert first["state"] == "fail" and first["finished_at"]
    page.goto(f"{server.url}/#/media/{fid}")
    history = page.locator(f'details.history[data-task-id="{task_id}"]')
    step = history.locator("tr[data-step='0']")
    expect(step).to_have_attribute("data-status", "FAIL")
    expect(step.locator("td.error")).not_to_be_empty()

    def finishes() -> int:  # ProcedureStateChanged is recorded each time the task finishes
        r = httpx.get(f"{server.url}/v1/events/recent", params={"type": "ProcedureStateChanged", "limit": 100},
                      auth=server.auth, timeout=30)
        return sum(1 for e in r.json()["items"] if e["payload"]["TaskId"] == task_id)

    assert finishes() == 1
    step.get_by_role("button", name="Run step 1 (CoverBySnapshot) again").click()

    deadline = time.monotonic() + 30
    while finishes() < 2:
        assert time.monotonic() < deadline, ("the step did not run again",
                                             page.locator("p[role=alert]").all_text_contents())
        time.sleep(0.2)
    expect(step).to_have_attribute("data-status", "FAIL")  # it can't decode this time either

    # Select it in the library and delete it.
    page.get_by_role("link", name="Library").click()
    card = page.locator("li.card", has_text="cannot-decode.mp4")
    page.on("dialog", lambda d: d.accept())
    card.get_by_role("checkbox").check()
    page.get_by_role("button", name="Delete selected").click()
    expect(card).to_have_count(0)
    assert httpx.get(f"{server.url}/v1/media/{fid}", auth=server.auth, timeout=30).status_code == 404


def test_drop_several_files(page: Page, server: ServerProc) -> None:
    page.get_by_role("link", name="Upload").click()
    drop = page.get_by_role("button", name="Drop video files here, or press Enter to choose files")
    files = page.evaluate_handle("""() => {
        const dt = new DataTransfer();
        for (const name of ["dropped-a.txt", "dropped-b.txt"]) {
            dt.items.add(new File([new Uint8Array(300 * 1024).fill(7)], name, { type: "text/plain" }));
        }
        return dt;
    }""")
    drop.dispatch_event("dragover", {"dataTransfer": files})
    expect(drop).to_have_class(re.compile(r"\bover\b"))
    drop.dispatch_event("drop", {"dataTransfer": files})
    uploads = page.get_by_role("list", name="Uploads", exact=True)
    for name in ("dropped-a.txt", "dropped-b.txt"):
        expect(uploads.locator("li", has_text=name)).to_have_attribute("data-state", "done", timeout=30_000)
        r = httpx.get(f"{server.url}/v1/media", params={"name": name}, auth=server.auth, timeout=30)
        assert [m["source"]["size"] for m in r.json()["items"]] == [300 * 1024]
