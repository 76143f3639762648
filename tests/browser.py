"""Debian's chromium (``scripts/install-browser``) driven by Playwright, for the browser tests
(the player page and the web console). Playwright never downloads a browser of its own here."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from playwright.sync_api import Browser, sync_playwright

ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run",
                 "--autoplay-policy=no-user-gesture-required"]


def chromium_path() -> str:
    """Where chromium is; its absence fails the test (install it, never skip)."""
    path = shutil.which("chromium") or ("/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None)
    if path is None:
        pytest.fail("chromium is not installed: run scripts/install-browser (the browser tests need it)")
    return path


@contextmanager
def launch_chromium() -> Iterator[Browser]:
    """A headless chromium for one test module (one Playwright runs at a time)."""
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()
