"""tus 1.0.0 MUSTs that real clients rely on (issue 12, part 3): HEAD echoes Upload-Metadata,
terminating a finished upload is 204 (tus-js-client's ``abort(true)``), X-HTTP-Method-Override on
POST, 412 with Tus-Version, Upload-Length together with Upload-Defer-Length refused; and GET on the
upload URL, which serves a finished upload's bytes as every stored object is served."""

from __future__ import annotations

import base64
from collections.abc import Iterator

import httpx
import pytest

from tests.conftest import make_app_server
from tests.servers import InProcessServer
from tests.tus import OCTET, TUS, metadata


@pytest.fixture(scope="module")
def srv(tmp_path_factory: pytest.TempPathFactory) -> Iterator[InProcessServer]:
    server = make_app_server(tmp_path_factory.mktemp("tusproto"), {"OPENVOD_WORKERS": "0"})
    yield server
    server.stop()


def _create(c: httpx.Client, length: int = 10, **meta: str) -> str:
    r = c.post("/v1/uploads", headers={**TUS, "Upload-Length": str(length), "Upload-Metadata": metadata(**meta)})
    assert r.status_code == 201, r.text
    return str(r.headers["Location"])


def test_head_returns_upload_metadata_as_created(srv: InProcessServer) -> None:
    with srv.client() as c:
        sent = f"{metadata(filename='clip 1.mp4', note='ünï')},empty"  # a key without a value too
        r = c.post("/v1/uploads", headers={**TUS, "Upload-Length": "10", "Upload-Metadata": sent})
        r = c.head(r.headers["Location"], headers=TUS)
        assert r.status_code == 200
        pairs = dict((p.split(" ") + [""])[:2] for p in r.headers["Upload-Metadata"].split(","))
        assert r.headers["Upload-Metadata"].endswith(",empty")
        assert {k: base64.b64decode(v).decode() for k, v in pairs.items()} == {
            "filename": "clip 1.mp4", "note": "ünï", "empty": ""}


def test_terminating_a_finished_upload_is_204_and_keeps_the_media(srv: InProcessServer) -> None:
    with srv.client() as c:
        url = _create(c, 5, filename="x.bin")
        r = c.patch(url, content=b"12345", headers={**TUS, **OCTET, "Upload-Offset": "0"})
        assert r.status_code == 204
        file_id = r.headers["OpenVOD-File-Id"]
        r = c.delete(url, headers=TUS)
        assert r.status_code == 204, r.text
        assert c.get(f"/v1/media/{file_id}").status_code == 200


def test_x_http_method_override(srv: InProcessServer) -> None:
    with srv.client() as c:
        url = _create(c, 6, filename="o.bin")
        r = c.post(url, content=b"abc", headers={**TUS, **OCTET, "Upload-Offset": "0",
                                                   "X-HTTP-Method-Override": "PATCH"})
        assert r.status_code == 204 and r.headers["Upload-Offset"] == "3"
        r = c.post(url, headers={**TUS, "X-HTTP-Method-Override": "HEAD"})
        assert r.status_code == 200 and r.headers["Upload-Offset"] == "3"
        assert c.post(url, headers={**TUS, "X-HTTP-Method-Override": "DELETE"}).status_code == 204
        assert c.head(url, headers=TUS).status_code == 404
        r = c.post(url, headers=TUS)
        assert r.status_code == 405 and r.json()["error"]["code"] == "UnsupportedOperation.Method"


@pytest.mark.parametrize("version", ["0.2.2", "2.0.0", ""])
def test_wrong_tus_resumable_is_412_with_tus_version(srv: InProcessServer, version: str) -> None:
    with srv.client() as c:
        url = _create(c, filename="v.bin")
        r = c.head(url, headers={"Tus-Resumable": version})
        assert r.status_code == 412
        assert r.headers["Tus-Version"] == "1.0.0"
        r = c.post("/v1/uploads", headers={"Tus-Resumable": version, "Upload-Length": "1"})
        assert r.status_code == 412 and r.headers["Tus-Version"] == "1.0.0"


def test_length_and_deferred_length_together_are_400(srv: InProcessServer) -> None:
    with srv.client() as c:
        r = c.post("/v1/uploads", headers={**TUS, "Upload-Length": "10", "Upload-Defer-Length": "1"})
        assert r.status_code == 400 and r.json()["error"]["code"] == "InvalidParameter.UploadLength"


def _finish(c: httpx.Client, data: bytes, **meta: str) -> str:
    url = _create(c, len(data), **meta)
    r = c.patch(url, content=data, headers={**TUS, **OCTET, "Upload-Offset": "0"})
    assert r.status_code == 204, r.text
    return url


def test_get_serves_a_finished_upload_and_409_before(srv: InProcessServer) -> None:
    """GET on the upload URL (tusd's download): the URL is the capability, as for HEAD."""
    with srv.client() as c:
        url = _create(c, 10, filename="g.mp4", filetype="video/mp4")
        r = httpx.get(url)
        assert r.status_code == 409 and r.json()["error"]["code"] == "FailedOperation.UploadNotFinished"
        c.patch(url, content=b"01234", headers={**TUS, **OCTET, "Upload-Offset": "0"})
        assert "5 of 10 bytes" in httpx.get(url).json()["error"]["message"]
        c.patch(url, content=b"56789", headers={**TUS, **OCTET, "Upload-Offset": "5"})
    r = httpx.get(url)  # no credentials, no Tus-Resumable
    assert r.status_code == 200 and r.content == b"0123456789"
    assert r.headers["Content-Type"] == "video/mp4" and r.headers["X-Content-Type-Options"] == "nosniff"
    assert "Content-Disposition" not in r.headers and "Content-Security-Policy" not in r.headers  # passive: inline
    assert "Accept" in r.headers["Vary"]
    r = httpx.get(url, headers={"Range": "bytes=2-4"})
    assert r.status_code == 206 and r.content == b"234" and r.headers["Content-Range"] == "bytes 2-4/10"
    assert httpx.get(url, headers={"Range": "bytes=10-"}).status_code == 416
    etag = httpx.get(url).headers["ETag"]
    assert httpx.get(url, headers={"If-None-Match": etag}).status_code == 304


def test_get_serves_active_types_as_sandboxed_attachments(srv: InProcessServer) -> None:
    with srv.client() as c:
        url = _finish(c, b"<script>alert(document.cookie)</script>", filename="x.html", filetype="text/html")
    r = httpx.get(url)
    assert r.status_code == 200 and r.headers["X-Content-Type-Options"] == "nosniff"
    assert r.headers["Content-Disposition"].startswith("attachment")
    assert r.headers["Content-Security-Policy"].startswith("sandbox")


def test_get_gives_the_state_as_json_to_who_asks_for_it(srv: InProcessServer) -> None:
    with srv.client() as c:
        url = _finish(c, b"abc", filename="s.bin")
    for accept, json_state in [
        ("application/json", True),
        ("application/json, */*;q=0.1", True),
        (None, False),
        ("*/*", False),
        ("application/json, text/plain, */*", False),  # axios
        ("text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8", False),  # a browser
        ("application/json;q=2", False),  # a malformed weight
    ]:
        r = httpx.get(url, headers={"Accept": accept} if accept else None)
        if json_state:
            assert r.json()["state"] == "done" and r.json()["offset"] == 3, accept
            assert r.headers["Cache-Control"] == "no-store"
        else:
            assert r.content == b"abc", accept


def test_get_after_the_media_is_deleted_is_404(srv: InProcessServer) -> None:
    with srv.client() as c:
        url = _finish(c, b"gone", filename="d.bin")
        file_id = c.head(url, headers=TUS).headers["OpenVOD-File-Id"]
        assert c.delete(f"/v1/media/{file_id}").status_code == 200
    r = httpx.get(url)
    assert r.status_code == 404 and r.json()["error"]["code"] == "ResourceNotFound.Object"
