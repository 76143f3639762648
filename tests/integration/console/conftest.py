"""Fixtures of the console tests: a server, Debian's chromium driven by Playwright, sign-in and
screenshots (saved under ``artifacts/``, which CI keeps)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect, sync_playwright

from tests.conftest import ServerProc, make_server

ARTIFACTS = Path(__file__).resolve().parents[3] / "artifacts"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--autoplay-policy=no-user-gesture-required",
]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProc]:
    srv = make_server(tmp_path_factory.mktemp("console"), {"OPENVOD_WORKERS": "1"})
    yield srv
    srv.stop()


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    path = shutil.which("chromium") or "/usr/bin/chromium"
    if not Path(path).exists():
        pytest.fail("chromium is not installed: run scripts/install-browser")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=path, args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            b.close()


@pytest.fixture
def context(browser: Browser) -> Iterator[BrowserContext]:
    ctx = browser.new_context(viewport={"width": 1024, "height": 768})
    yield ctx
    ctx.close()


@pytest.fixture
def page_errors() -> list[str]:
    return []


@pytest.fixture
def page(context: BrowserContext, server: ServerProc, page_errors: list[str]) -> Iterator[Page]:
    """A page of the console, signed in with the server's key; fails the test on a script error."""
    pg = context.new_page()
    pg.on("pageerror", lambda e: page_errors.append(str(e)))
    sign_in(pg, server, server.auth[1])
    expect(pg.get_by_role("heading", name="Library")).to_be_visible()
    yield pg
    assert not page_errors, page_errors


def sign_in(page: Page, server: ServerProc, key: str) -> None:
    page.goto(f"{server.url}/")
    page.get_by_label("SecretId").fill(server.auth[0])
    page.get_by_label("SecretKey").fill(key)
    page.get_by_role("button", name="Sign in").click()


def shot(page: Page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / name), full_page=True)
