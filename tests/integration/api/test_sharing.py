"""Per-media sharing: ``PUT /v1/media/{FileId}/sharing`` makes one media public or private whatever
its app's setting (or follows it again), and its URLs, player page and files honour it at once."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import make_app_server
from tests.servers import InProcessServer
from tests.tus import upload_bytes


@pytest.fixture(scope="module")
def srv(tmp_path_factory: pytest.TempPathFactory) -> Iterator[InProcessServer]:
    server = make_app_server(tmp_path_factory.mktemp("sharing"), {"OPENVOD_WORKERS": "0",
                                                                  "OPENVOD_AUTO_COVER": "false"})
    yield server
    server.stop()


def _plain(url: str) -> str:
    return url.split("?")[0]


def _open(url: str) -> int:
    return httpx.get(_plain(url), timeout=30).status_code  # without its signature


def _sharing(c: httpx.Client, fid: str, public: bool | None) -> dict[str, Any]:
    r = c.put(f"/v1/media/{fid}/sharing", json={"public": public})
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


def test_one_media_public_in_a_private_app(srv: InProcessServer, small_clip: Path) -> None:
    with srv.client() as c:
        shared, other = (upload_bytes(c, small_clip.read_bytes(), n) for n in ("shared.mp4", "other.mp4"))
        m = c.get(f"/v1/media/{shared}").json()
        assert (m["public"], m["sharing"]) == (False, "app") and "signature=" in m["source"]["url"]
        m = _sharing(c, shared, True)
        assert (m["public"], m["sharing"]) == (True, "public")
        assert "?" not in m["source"]["url"] and "?" not in m["play_url"]
        assert _open(m["source"]["url"]) == 200 and _open(m["play_url"]) == 200
        listed = {x["file_id"]: x for x in c.get("/v1/media").json()["items"]}
        assert (listed[shared]["public"], listed[shared]["sharing"]) == (True, "public")
        o = listed[other]  # the app stays private: its other media too
        assert (o["public"], o["sharing"]) == (False, "app") and _open(o["source"]["url"]) == 403
        assert _open(o["play_url"]) == 403
        m = _sharing(c, shared, None)  # back to the app's setting: unsigned URLs stop working
        assert (m["public"], m["sharing"]) == (False, "app") and "signature=" in m["source"]["url"]
        assert _open(m["source"]["url"]) == 403 and httpx.get(m["source"]["url"], timeout=30).status_code == 200


def test_one_media_private_in_a_public_app(srv: InProcessServer, small_clip: Path) -> None:
    with srv.client() as c:
        fid = upload_bytes(c, small_clip.read_bytes(), "secret.mp4")
        assert c.put("/v1/app/playback", json={"private": False}).status_code == 200
        try:
            m = c.get(f"/v1/media/{fid}").json()
            assert (m["public"], m["sharing"]) == (True, "app") and _open(m["source"]["url"]) == 200
            m = _sharing(c, fid, False)
            assert (m["public"], m["sharing"]) == (False, "private")
            assert "signature=" in m["source"]["url"] and "signature=" in m["play_url"]
            assert _open(m["source"]["url"]) == 403 and _open(m["play_url"]) == 403
            assert httpx.get(m["play_url"], timeout=30).status_code == 200
        finally:
            assert c.put("/v1/app/playback", json={"private": True}).status_code == 200


def test_sharing_errors(srv: InProcessServer) -> None:
    with srv.client() as c:
        r = c.put("/v1/media/1234567890/sharing", json={"public": True})
        assert r.status_code == 404 and r.json()["error"]["code"] == "ResourceNotFound.Media"
        for body in ({"public": "yes"}, {}, {"public": True, "extra": 1}):
            assert c.put("/v1/media/1234567890/sharing", json=body).status_code == 400, body
    assert httpx.put(f"{srv.url}/v1/media/1234567890/sharing", json={"public": True}, timeout=30).status_code == 401
