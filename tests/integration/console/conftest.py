"""Fixtures of the console tests: a server, Debian's chromium driven by Playwright, sign-in and
screenshots (saved under ``artifacts/``, which CI keeps; the README's pictures are also written to
``docs/img/`` when ``OPENVOD_DOCS_SCREENSHOTS=1``)."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from tests.browser import ARTIFACTS, launch_chromium
from tests.conftest import ServerProc, make_server


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProc]:
    srv = make_server(tmp_path_factory.mktemp("console"), {"OPENVOD_WORKERS": "1"})
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with launch_chromium() as b:
        yield b


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
    """A page of the console, signed in with the server's key; fails the test on a script error,
    a Content-Security-Policy violation, or a request to anywhere but the server."""
    pg = watch(context.new_page(), page_errors)
    requests: list[str] = []
    pg.on("request", lambda req: requests.append(req.url))
    sign_in(pg, server, server.auth[1])
    expect(pg.get_by_role("heading", name="Dashboard")).to_be_visible()  # the first page after sign-in
    yield pg
    assert not page_errors, page_errors
    foreign = [u for u in requests if not u.startswith((server.url + "/", "blob:", "data:"))]
    assert not foreign, f"the console fetched from elsewhere: {foreign}"


def watch(pg: Page, errors: list[str]) -> Page:
    """Record ``pg``'s script errors and CSP violations in ``errors``."""
    pg.on("pageerror", lambda e: errors.append(str(e)))
    pg.on("console", lambda m: errors.append(m.text) if "Content Security Policy" in m.text else None)
    return pg


def sign_in(page: Page, server: ServerProc, key: str) -> None:
    page.goto(f"{server.url}/")
    page.get_by_label("SecretId").fill(server.auth[0])
    page.get_by_label("SecretKey").fill(key)
    page.get_by_role("button", name="Sign in", exact=True).click()


DOCS_IMG = Path(__file__).resolve().parents[3] / "docs" / "img"


def shot(page: Page, name: str, *, docs: bool = False) -> None:
    """A full-page screenshot in ``artifacts/``; ``docs``: one of the README's pictures, copied to
    ``docs/img/`` too when ``OPENVOD_DOCS_SCREENSHOTS=1`` (run the test that takes it to refresh it)."""
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / name), full_page=True)
    if docs and os.environ.get("OPENVOD_DOCS_SCREENSHOTS") == "1":
        shutil.copyfile(ARTIFACTS / name, DOCS_IMG / name)


def open_page(page: Page, name: str) -> None:
    """Follow the console's nav link ``name``, through the Menu button where the nav is folded (a phone)."""
    menu = page.get_by_role("button", name="Menu")
    if menu.is_visible():
        menu.click()
    page.get_by_role("navigation", name="Console").get_by_role("link", name=name, exact=True).click()


NO_SIDEWAYS_SCROLL = "document.documentElement.scrollWidth <= document.documentElement.clientWidth"


UNLABELLED = """() => [...document.querySelectorAll('input, select, textarea, button')]
  .filter(e => e.offsetParent !== null && e.type !== 'hidden')
  .filter(e => !((e.labels && e.labels.length) || e.getAttribute('aria-label') ||
                 e.getAttribute('aria-labelledby') || (e.tagName === 'BUTTON' && e.textContent.trim())))
  .map(e => e.outerHTML.slice(0, 120))"""


def assert_labelled(page: Page) -> None:
    """Every visible control on the page has an accessible name (a label, aria-label or text)."""
    unlabelled = page.evaluate(UNLABELLED)
    assert not unlabelled, f"controls without an accessible name: {unlabelled}"
