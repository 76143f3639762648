"""Pull upload: the server fetches a URL, behind an SSRF guard."""

from __future__ import annotations

import functools
import http.server
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import ServerProc, make_app_server


@pytest.fixture()
def media_site(small_clip: Path) -> Iterator[str]:
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(small_clip.parent))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    t = threading.Thread(target=httpd.serve_forever, daemon=True)
    t.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/{small_clip.name}"
    httpd.shutdown()


def test_pull_refuses_loopback_by_default(server: ServerProc, media_site: str) -> None:
    with server.client() as c:
        r = c.post("/v1/media/pull", json={"url": media_site})
        assert r.status_code == 400 and r.json()["error"]["code"] == "InvalidParameter.UrlForbidden"
        r = c.post("/v1/media/pull", json={"url": "http://169.254.169.254/latest/meta-data/"})
        assert r.status_code == 400 and r.json()["error"]["code"] == "InvalidParameter.UrlForbidden"
        r = c.post("/v1/media/pull", json={"url": "file:///etc/passwd"})
        assert r.status_code == 400 and r.json()["error"]["code"] == "InvalidParameter.Url"


def test_pull_allowed_private_ingests(tmp_path: Path, media_site: str) -> None:
    srv = make_app_server(tmp_path, {"OPENVOD_PULL_ALLOW_PRIVATE": "1"})
    try:
        with srv.client() as c:
            r = c.post("/v1/media/pull", json={"url": media_site, "class_id": 2})
            assert r.status_code == 201, r.text
            m = r.json()
            assert m["name"] == "small.mp4" and m["class_id"] == 2 and m["metadata"]["Width"] == 320
            # link-local stays refused even when private addresses are allowed
            r = c.post("/v1/media/pull", json={"url": "http://169.254.169.254/"})
            assert r.json()["error"]["code"] == "InvalidParameter.UrlForbidden"
    finally:
        srv.stop()
