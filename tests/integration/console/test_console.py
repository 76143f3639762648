"""The web console in a real browser (Debian's chromium driven by Playwright): sign-in, the
session cookie and CSRF, an upload through the page, the tasks page."""

from __future__ import annotations

from pathlib import Path

import httpx
from playwright.sync_api import Browser, expect

from tests.conftest import ServerProc
from tests.integration.console.conftest import shot, sign_in
from tests.media import make_clip


def test_console(browser: Browser, server: ServerProc, tmp_path: Path) -> None:
    errors: list[str] = []
    context = browser.new_context(viewport={"width": 1024, "height": 768})
    page = context.new_page()
    page.on("pageerror", lambda e: errors.append(str(e)))

    sign_in(page, server, "wrong-key")
    expect(page.locator("#signin-error")).to_contain_text("Sign-in failed")
    sign_in(page, server, server.auth[1])
    expect(page.get_by_role("heading", name="Library")).to_be_visible()
    cookies = {c["name"]: c for c in context.cookies()}
    assert cookies["openvod_session"]["httpOnly"] and cookies["openvod_session"]["sameSite"] == "Strict"
    assert not cookies["openvod_csrf"]["httpOnly"]

    # A state-changing call with the cookie but without the CSRF header is refused; with it, it passes.
    jar = {"openvod_session": cookies["openvod_session"]["value"]}
    body = {"name": "console-flow", "media_process_task": {}}
    r = httpx.post(f"{server.url}/v1/procedures", json=body, cookies=jar, timeout=30)
    assert r.status_code == 403 and r.json()["error"]["code"] == "AuthFailure.CSRFTokenMismatch", r.text
    assert httpx.get(f"{server.url}/v1/media", cookies=jar, timeout=30).status_code == 200
    r = httpx.get(f"{server.url}/v1/media", auth=server.auth, timeout=30)
    assert r.status_code == 200, r.text
    assert httpx.get(f"{server.url}/v1/media", timeout=30).status_code == 401

    # Upload a clip through the page's file input.
    clip = make_clip(tmp_path / "console-clip.mp4", seconds=2, width=320, height=240)
    page.get_by_role("link", name="Upload").click()
    page.get_by_label("Files", exact=True).set_input_files(str(clip))
    row = page.locator("li.upload", has_text="console-clip.mp4")
    expect(row.locator(".pct")).to_have_text("100%", timeout=30_000)
    expect(row).to_have_attribute("data-state", "done")
    shot(page, "console-upload.png")
    page.get_by_role("link", name="Library").click()
    card = page.locator("li.card", has_text="console-clip.mp4")
    expect(card).to_be_visible()
    shot(page, "console-library.png")
    card.get_by_role("link", name="console-clip.mp4").click()
    expect(page.get_by_role("table", name="Metadata")).to_be_visible()
    expect(page.get_by_role("link", name="Play")).to_be_visible()
    shot(page, "console-media.png")

    # The tasks page shows a running task, and cancels it.
    r = httpx.post(f"{server.url}/v1/tasks", json={"kind": "noop", "sleep": 5}, auth=server.auth, timeout=30)
    assert r.status_code == 201, r.text
    task_id = r.json()["task_id"]
    page.get_by_role("link", name="Tasks").click()
    task = page.locator(f'tr[data-task-id="{task_id}"]')
    expect(task).to_have_attribute("data-state", "exec", timeout=10_000)
    shot(page, "console-tasks.png")
    task.get_by_role("button", name="Cancel").click()
    expect(task).to_have_attribute("data-state", "canceled", timeout=10_000)
    assert httpx.get(f"{server.url}/v1/tasks/{task_id}", auth=server.auth, timeout=30).json()["state"] == "canceled"

    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("heading", name="Sign in to OpenVOD")).to_be_visible()
    assert not errors, errors
    context.close()
