"""Listing recent events: newest first, keyset paging, type filter, isolation, and no effect on pulling."""

from __future__ import annotations

from typing import Any

import httpx

from tests.conftest import ServerProc
from tests.integration.events.conftest import new_app
from tests.tus import upload_bytes


def recent(c: httpx.Client, **params: Any) -> dict[str, Any]:
    r = c.get("/v1/events/recent", params=params)
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


def test_newest_first_paged_filtered_and_isolated(events_server: ServerProc) -> None:
    with new_app(events_server) as c, new_app(events_server, "other") as other:
        ids = [upload_bytes(c, b"r" * 20, f"r{i}.bin") for i in range(3)]
        assert c.delete(f"/v1/media/{ids[0]}").status_code == 200

        page = recent(c)
        assert page["next_marker"] is None
        items = page["items"]
        assert [i["type"] for i in items] == ["FileDeleted", "NewFileUpload", "NewFileUpload", "NewFileUpload"]
        assert items[0]["payload"]["FileIdSet"] == [ids[0]]
        assert [i["payload"]["FileId"] for i in items[1:]] == list(reversed(ids))
        assert [i["event_id"] for i in items] == sorted((i["event_id"] for i in items), reverse=True)
        assert set(items[0]) == {"event_id", "type", "created_at", "payload", "pulls", "confirmed_at"}
        assert items[0]["created_at"].endswith("Z") and items[0]["pulls"] == 0 and items[0]["confirmed_at"] is None

        first = recent(c, limit=3)
        assert first["items"] == items[:3] and first["next_marker"] == items[2]["event_id"]
        last = recent(c, limit=3, marker=first["next_marker"])
        assert last == {"items": items[3:], "next_marker": None}
        # a full last page: the marker does not promise more than there is
        assert recent(c, limit=4)["next_marker"] is None

        uploads = recent(c, type="NewFileUpload")["items"]
        assert [i["event_id"] for i in uploads] == [i["event_id"] for i in items[1:]]
        assert recent(c, type="NoSuchType")["items"] == []
        assert recent(c, type="", marker="") == page  # empty parameters filter nothing

        assert recent(other) == {"items": [], "next_marker": None}
        # another app's marker pages through the caller's own events only
        assert recent(other, marker=items[0]["event_id"])["items"] == []


def test_listing_does_not_take_events_from_the_pull_consumer(events_server: ServerProc) -> None:
    with new_app(events_server) as c:
        file_id = upload_bytes(c, b"look" * 10, "look.bin")
        for _ in range(3):
            (seen,) = recent(c)["items"]
        assert seen["pulls"] == 0 and seen["confirmed_at"] is None

        pulled = c.get("/v1/events").json()["items"]
        assert [i["event_id"] for i in pulled] == [seen["event_id"]]
        assert pulled[0]["payload"]["FileId"] == file_id == seen["payload"]["FileId"]
        (after_pull,) = recent(c)["items"]
        assert after_pull["pulls"] == 1 and after_pull["confirmed_at"] is None

        r = c.post("/v1/events/confirm", json={"handles": [pulled[0]["event_handle"]]})
        assert r.status_code == 200 and r.json()["confirmed"] == 1
        (confirmed,) = recent(c)["items"]  # a confirmed event is still listed, with when
        assert confirmed["pulls"] == 1 and confirmed["confirmed_at"].endswith("Z")


def test_bad_parameters(events_server: ServerProc) -> None:
    with events_server.client() as c:
        bad: list[tuple[dict[str, str | int], str]] = [
            ({"limit": 0}, "InvalidParameter.Limit"),
            ({"limit": 101}, "InvalidParameter.Limit"),
            ({"limit": "many"}, "InvalidParameter"),
            ({"type": "no spaces"}, "InvalidParameter.EventType"),
            ({"type": "T" * 65}, "InvalidParameter.EventType"),
            ({"marker": "ev123"}, "InvalidParameter.Marker"),
            ({"marker": "x' OR 1=1 --"}, "InvalidParameter.Marker"),
        ]
        for params, code in bad:
            r = c.get("/v1/events/recent", params=params)
            assert r.status_code == 400 and r.json()["error"]["code"] == code, (params, r.text)
        assert "1-100" in c.get("/v1/events/recent", params={"limit": 0}).json()["error"]["message"]
        assert len(recent(c, limit=100)["items"]) <= 100
    assert httpx.get(f"{events_server.url}/v1/events/recent").status_code == 401
