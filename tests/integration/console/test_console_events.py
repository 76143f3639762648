"""The console's Events page in a real browser: the push callback form, a failed push seen with its
response code and next retry, redeliver, the recent events, and a narrow screen."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from tests.conftest import ServerProc, make_server
from tests.integration.console.conftest import shot
from tests.integration.events.conftest import Receiver, only_delivery, wait_until
from tests.tus import upload_bytes

pytestmark = pytest.mark.slow  # browser tests (chromium through Playwright)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProc]:
    # No workers: an upload then records exactly one event. Loopback receivers need no allowlist
    # entry (an empty callback_allowlist allows any host but link-local ones). A long backoff keeps
    # the failed delivery pending, with its next retry far enough away to see.
    srv = make_server(
        tmp_path_factory.mktemp("console-events"),
        {"OPENVOD_WORKERS": "0", "OPENVOD_PUSH_BACKOFF_BASE": "3600", "OPENVOD_PUSH_TIMEOUT": "2"},
    )
    yield srv
    srv.stop()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver(fail_first=1_000_000).start()  # answers 500 until the test says otherwise
    yield r
    r.stop()


def test_events_page(page: Page, server: ServerProc, receiver: Receiver) -> None:
    page.get_by_role("link", name="Events").click()
    expect(page.get_by_role("heading", name="Events", exact=True)).to_be_visible()
    callback = page.get_by_role("region", name="Push callback")
    expect(callback).to_contain_text("Not set")
    alert = callback.get_by_role("alert")

    # The server refuses bad targets and the page shows why.
    url, save = callback.get_by_label("Callback URL"), callback.get_by_role("button", name="Save callback")
    url.fill("http://169.254.169.254/latest/meta-data/")
    save.click()
    expect(alert).to_contain_text("callbacks may never target")
    url.fill("ftp://x/hook")
    save.click()
    expect(alert).to_contain_text("only http and https are allowed")
    url.fill(receiver.url)
    callback.get_by_label("Method").select_option("PUT")
    save.click()
    expect(callback).to_contain_text(f"Pushing to PUT {receiver.url}")
    expect(alert).to_be_empty()

    # An upload's event is pushed, the receiver answers 500, and the retry is scheduled.
    with server.client() as c:
        file_id = upload_bytes(c, b"events page" * 10, "events-page.bin")
        first: dict[str, Any] = wait_until(
            lambda: (d := only_delivery(c))["attempts"] >= 1 and d, what="the first push attempt"
        )
    assert first["state"] == "pending" and first["last_status"] == 500
    page.get_by_role("button", name="Refresh").click()
    row = page.locator(f'tr[data-delivery-id="{first["id"]}"]')
    expect(row).to_have_attribute("data-state", "pending")
    expect(row.locator("td.status")).to_have_text("500")
    expect(row.locator("td.last-error")).to_have_text("HTTP 500")
    expect(row.locator("td.next time")).to_have_attribute("datetime", first["next_attempt_at"])
    expect(row).to_contain_text(first["event_id"])
    row.get_by_text("1 attempt", exact=True).click()
    expect(row.locator("ol.log li")).to_contain_text(["HTTP 500"])
    shot(page, "console-events-retry.png")

    # Redeliver to a receiver that now accepts; the page follows the attempt without a Refresh.
    receiver.fail_first = 0
    redeliver = page.get_by_role(
        "button", name=f"Redeliver delivery {first['id']} (NewFileUpload {first['event_id']})", exact=True
    )
    redeliver.focus()
    page.keyboard.press("Enter")
    expect(row).to_have_attribute("data-state", "done", timeout=15_000)
    expect(row.locator("td.status")).to_have_text("200")
    expect(row.locator("td.next")).to_have_text("–")
    expect(row.locator("ol.log li")).to_have_count(2)  # the open log stayed open across reloads
    expect(redeliver).to_be_focused()  # and keyboard focus stayed on the button
    assert receiver.wait_for(2)[-1].headers["openvod-event-id"] == first["event_id"]

    # The event itself, with its payload folded.
    events = page.get_by_role("table", name="Recent events")
    event = events.locator(f'tr[data-event-id="{first["event_id"]}"]')
    expect(event).to_contain_text("NewFileUpload")
    expect(event).to_contain_text("not pulled")
    event.get_by_text("JSON", exact=True).click()
    expect(event.locator("pre")).to_contain_text(file_id)
    page.evaluate("for (const box of document.querySelectorAll('.scroll')) box.scrollLeft = 0")
    shot(page, "console-events.png")

    # Usable on a phone: the tables scroll inside their boxes, the page itself does not.
    page.set_viewport_size({"width": 390, "height": 844})
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    shot(page, "console-events-narrow.png")

    callback.get_by_role("button", name="Stop pushing").click()
    expect(callback).to_contain_text("Not set")
    with server.client() as c:
        assert c.get("/v1/app/callback").json()["url"] is None
