"""The native media library API: list/search/paging, modify, delete, errors, OpenAPI."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
from sqlalchemy import text

from tests.conftest import ServerProc, server_database
from tests.tus import upload_bytes


def test_search_filters_and_keyset_paging(server: ServerProc, small_clip: Path) -> None:
    data = small_clip.read_bytes()
    tag = f"pg{int(time.time() * 1000)}"
    with server.client() as c:
        ids = [upload_bytes(c, data, f"{tag}-{i}.mp4", class_id=str(3 if i % 2 else 4)) for i in range(5)]
        page = c.get("/v1/media", params={"name": tag.upper(), "limit": 2}).json()  # case-insensitive
        seen = [m["file_id"] for m in page["items"]]
        while page["next_marker"]:
            page = c.get("/v1/media", params={"name": tag, "limit": 2, "marker": page["next_marker"]}).json()
            seen += [m["file_id"] for m in page["items"]]
        assert seen == list(reversed(ids))  # newest first, each exactly once
        odd = c.get("/v1/media", params={"name": tag, "class_id": 3}).json()["items"]
        assert {m["file_id"] for m in odd} == {ids[1], ids[3]}
        future = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
        assert c.get("/v1/media", params={"name": tag, "created_from": future}).json()["items"] == []
        past = (datetime.now(UTC) - timedelta(hours=1)).isoformat()
        assert len(c.get("/v1/media", params={"name": tag, "created_from": past, "created_to": future})
                   .json()["items"]) == 5
        # LIKE wildcards in the search are literal
        assert c.get("/v1/media", params={"name": "%"}).json()["items"] == []
        d = c.post("/v1/media/describe", json={"file_ids": [ids[0], "nope"]}).json()
        assert [m["file_id"] for m in d["items"]] == [ids[0]] and d["not_found"] == ["nope"]


def test_modify(server: ServerProc, small_clip: Path) -> None:
    with server.client() as c:
        fid = upload_bytes(c, small_clip.read_bytes(), "before.mp4")
        exp = "2030-01-02T03:04:05Z"
        m = c.patch(f"/v1/media/{fid}", json={"name": "after", "description": "d", "class_id": 9,
                                               "expire_at": exp}).json()
        assert (m["name"], m["description"], m["class_id"], m["expire_at"]) == ("after", "d", 9, exp)
        r = c.patch(f"/v1/media/{fid}", json={"class_id": -1})
        assert r.status_code == 400 and r.json()["error"]["code"] == "InvalidParameter"
        r = c.patch(f"/v1/media/{fid}", json={"bogus": 1})
        assert r.status_code == 400


def test_delete_parts_then_whole(server: ServerProc, small_clip: Path) -> None:
    with server.client() as c:
        fid = upload_bytes(c, small_clip.read_bytes(), "del.mp4")
        src = c.get(f"/v1/media/{fid}").json()["source"]
        obj_url = f"/v1/objects/{src['bucket']}/{src['key']}"
        assert c.get(obj_url).status_code == 200
        r = c.delete(f"/v1/media/{fid}", params={"parts": "bogus"})
        assert r.status_code == 400 and r.json()["error"]["code"] == "InvalidParameter.DeleteParts"
        assert c.delete(f"/v1/media/{fid}", params={"parts": "source"}).json()["deleted"] == ["source"]
        assert c.get(obj_url).status_code == 404
        assert c.get(f"/v1/media/{fid}").status_code == 200  # the record stays
        assert c.delete(f"/v1/media/{fid}").status_code == 200
        assert c.get(f"/v1/media/{fid}").status_code == 404
    db = server_database(server)
    try:
        with db.session() as s:
            n = s.scalar(text("SELECT count(*) FROM event WHERE type='FileDeleted' AND CAST(payload AS TEXT) LIKE :p"),
                         {"p": f"%{fid}%"})
            assert n == 2
            assert s.scalar(text("SELECT count(*) FROM object WHERE media_id=:f"), {"f": fid}) == 0
    finally:
        db.dispose()


def test_errors_are_json_with_codes(server: ServerProc) -> None:
    with server.client() as c:
        r = c.get("/v1/media", params={"limit": 0})
        assert r.status_code == 400 and r.json()["error"]["code"] == "InvalidParameter"
        r = c.get("/v1/nothing-here")
        assert r.status_code == 404 and r.json()["error"]["code"] == "ResourceNotFound.Route"
        r = c.get("/v1/media/123")
        assert r.status_code == 404 and r.json()["error"]["code"] == "ResourceNotFound.Media"
        r = c.post("/v1/media/describe", content=b"{not json", headers={"Content-Type": "application/json"})
        assert r.status_code == 400 and "error" in r.json()
    r = httpx.get(f"{server.url}/v1/media", auth=("AKIDnobody", "x"))
    assert r.status_code == 401 and r.json()["error"]["code"] == "AuthFailure.SecretIdNotFound"
    r = httpx.get(f"{server.url}/v1/media", auth=(server.secret_id, "wrong"))
    assert r.status_code == 401 and r.json()["error"]["code"] == "AuthFailure.SignatureFailure"


def test_object_keys_with_traversal_are_refused(server: ServerProc) -> None:
    with server.client() as c:
        for raw in ["/v1/objects/vod/a/%2e%2e/%2e%2e/etc/passwd", "/v1/objects/vod/a%00b",
                    "/v1/objects/vod/a/%2e%2e%2fsecret"]:
            r = c.get(raw)
            assert r.status_code == 400, raw
            assert r.json()["error"]["code"] == "InvalidParameter.ObjectKey"
        r = c.get("/objects/vod/%2e%2e/x", params={"expires": "9999999999", "signature": "ab"})
        assert r.status_code == 400


def test_ranges_and_signed_urls(server: ServerProc, small_clip: Path) -> None:
    data = small_clip.read_bytes()
    with server.client() as c:
        src = c.get(f"/v1/media/{upload_bytes(c, data, 'r.mp4')}").json()["source"]
    url = src["url"]
    r = httpx.get(url, headers={"Range": "bytes=10-19"})
    assert r.status_code == 206 and r.content == data[10:20]
    assert r.headers["Content-Range"] == f"bytes 10-19/{len(data)}"
    assert httpx.get(url, headers={"Range": "bytes=-5"}).content == data[-5:]
    assert httpx.get(url, headers={"Range": f"bytes={len(data)}-"}).status_code == 416
    tampered = url.replace("signature=", "signature=0")
    assert httpx.get(tampered).status_code == 403
    expired = url.split("expires=")[0] + "expires=1000&" + url.split("&", 1)[1]
    assert httpx.get(expired).status_code == 403


def test_openapi_and_docs(server: ServerProc) -> None:
    spec = httpx.get(f"{server.url}/openapi.json").json()
    assert "/v1/media" in spec["paths"] and "/v1/uploads" in spec["paths"]
    assert httpx.get(f"{server.url}/docs").status_code == 200
