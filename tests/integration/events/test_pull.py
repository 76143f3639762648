"""Pulling events: long-poll, batches of 16, confirm, redelivery of unconfirmed events, isolation."""

from __future__ import annotations

import threading
import time
from typing import Any

import httpx
import pytest

from tests.conftest import ServerProc
from tests.integration.events.conftest import new_app
from tests.tus import upload_bytes


def pull(c: httpx.Client, wait: float = 0) -> list[dict[str, Any]]:
    r = c.get("/v1/events", params={"wait": wait})
    assert r.status_code == 200, r.text
    items: list[dict[str, Any]] = r.json()["items"]
    return items


def confirm(c: httpx.Client, handles: list[str]) -> int:
    r = c.post("/v1/events/confirm", json={"handles": handles})
    assert r.status_code == 200, r.text
    return int(r.json()["confirmed"])


@pytest.mark.slow
def test_pull_returns_at_once_then_waits_out_the_timeout(events_server: ServerProc) -> None:
    with new_app(events_server) as c:
        file_id = upload_bytes(c, b"not a video" * 10, "a.bin")
        t0 = time.monotonic()
        items = pull(c, wait=5)
        assert time.monotonic() - t0 < 1.0
        assert len(items) == 1
        item = items[0]
        assert item["type"] == "NewFileUpload" and item["payload"]["FileId"] == file_id
        assert item["event_handle"] == f"{item['event_id']}.1"
        assert set(item) == {"event_handle", "event_id", "type", "created_at", "payload"}
        assert confirm(c, [item["event_handle"]]) == 1

        t0 = time.monotonic()
        assert pull(c, wait=2) == []
        assert 2.0 <= time.monotonic() - t0 <= 3.5


def test_long_poll_wakes_when_an_event_is_recorded(events_server: ServerProc) -> None:
    with new_app(events_server) as c:
        got: list[Any] = []
        poller = threading.Thread(target=lambda: got.append((pull(c, wait=5), time.monotonic())))
        poller.start()
        time.sleep(0.5)  # let the poll start waiting
        file_id = upload_bytes(c, b"x" * 100, "wake.bin")
        uploaded = time.monotonic()
        poller.join(10)
        items, returned = got[0]
        assert [i["payload"]["FileId"] for i in items] == [file_id]
        assert returned - uploaded < 0.5  # woken by the commit, not by the timeout


def test_at_most_16_oldest_first_and_confirm_removes(events_server: ServerProc) -> None:
    with new_app(events_server) as c:
        ids = [upload_bytes(c, b"y" * 50, f"f{i}.bin") for i in range(10)]
        for file_id in ids:
            assert c.delete(f"/v1/media/{file_id}").status_code == 200
        first = pull(c)
        assert len(first) == 16
        assert [i["event_id"] for i in first] == sorted(i["event_id"] for i in first)
        assert [i["payload"]["FileId"] for i in first[:10]] == ids
        assert {i["type"] for i in first[10:]} == {"FileDeleted"}
        rest = pull(c)  # the first 16 are hidden until confirmed or the window ends
        assert len(rest) == 4 and {i["event_id"] for i in rest}.isdisjoint(i["event_id"] for i in first)
        assert confirm(c, [i["event_handle"] for i in first + rest]) == 20
        assert pull(c) == []
        # confirming again is harmless; malformed handles are ignored
        assert confirm(c, [first[0]["event_handle"], "garbage", "ev123.x"]) == 1


@pytest.mark.slow
def test_unconfirmed_event_comes_back_and_only_its_app_can_confirm_it(events_server: ServerProc) -> None:
    # the server runs with OPENVOD_PULL_REDELIVER_SECONDS=2
    with new_app(events_server, "a") as a, new_app(events_server, "b") as b:
        upload_bytes(a, b"z" * 10, "again.bin")
        assert pull(b) == []
        (first,) = pull(a)
        assert pull(a) == []  # hidden while the consumer works on it
        assert confirm(b, [first["event_handle"]]) == 0  # B cannot confirm A's event
        t0 = time.monotonic()
        (again,) = pull(a, wait=5)
        assert time.monotonic() - t0 < 3.5
        assert again["event_id"] == first["event_id"]
        assert again["event_handle"] == f"{first['event_id']}.2" != first["event_handle"]
        assert pull(b) == []
        # a stale handle still confirms: the consumer did process the event
        assert confirm(a, [first["event_handle"]]) == 1
        time.sleep(2.2)  # past the window: a confirmed event stays away
        assert pull(a) == []


def test_bad_requests(events_server: ServerProc) -> None:
    with events_server.client() as c:
        assert c.get("/v1/events", params={"wait": 61}).json()["error"]["code"] == "InvalidParameter"
        assert c.post("/v1/events/confirm", json={"handles": []}).status_code == 400
        assert c.post("/v1/events/confirm", json={"handles": ["h"] * 101}).status_code == 400
    assert httpx.get(f"{events_server.url}/v1/events").status_code == 401
