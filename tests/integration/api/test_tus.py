"""The tus 1.0.0 server at /v1/uploads, driven at the protocol level."""

from __future__ import annotations

import hashlib
from pathlib import Path

import httpx
import pytest
from tusclient import client as tuspy

from tests.conftest import ServerProc
from tests.tus import OCTET, TUS, create, head, metadata, patch, sha1_file, upload_bytes


def test_options_advertises_extensions(server: ServerProc) -> None:
    r = httpx.options(f"{server.url}/v1/uploads")
    assert r.status_code == 204
    assert r.headers["Tus-Version"] == "1.0.0"
    for ext in ("creation", "creation-with-upload", "expiration", "checksum", "termination"):
        assert ext in r.headers["Tus-Extension"].split(",")
    assert set(r.headers["Tus-Checksum-Algorithm"].split(",")) == {"sha1", "md5"}


def test_chunked_upload_creates_probed_media(server: ServerProc, clip10: Path) -> None:
    data = clip10.read_bytes()
    with server.client() as c:
        r = create(c, len(data), filename="clip10.mp4", filetype="video/mp4")
        assert r.status_code == 201
        url = r.headers["Location"]
        assert url.startswith("http://127.0.0.1:")
        assert r.headers["Upload-Offset"] == "0" and "Upload-Expires" in r.headers
        half = len(data) // 2
        r = patch(c, url, 0, data[:half], checksum="sha1")
        assert r.status_code == 204 and r.headers["Upload-Offset"] == str(half)
        assert "OpenVOD-File-Id" not in r.headers
        r = patch(c, url, half, data[half:], checksum="sha1")
        assert r.status_code == 204
        file_id = r.headers["OpenVOD-File-Id"]
        # A finished upload still answers HEAD with its final offset and tells its FileId.
        h = head(c, url)
        assert h.status_code == 200
        assert h.headers["Upload-Offset"] == str(len(data)) and h.headers["OpenVOD-File-Id"] == file_id
        m = c.get(f"/v1/media/{file_id}").json()
        assert m["name"] == "clip10.mp4"
        meta = m["metadata"]
        assert abs(meta["Duration"] - 10) < 0.2 and meta["Width"] == 1280 and meta["Height"] == 720
        assert meta["Size"] == len(data) and meta["Md5"] == hashlib.md5(data).hexdigest()
        assert {s["codec_name"] for s in m["probe"]["streams"]} == {"h264", "aac"}
        assert m["probe"]["format"]["format_name"].startswith("mov")
        src = m["source"]
        got = c.get(f"/v1/objects/{src['bucket']}/{src['key']}").content
        assert hashlib.sha1(got).hexdigest() == hashlib.sha1(data).hexdigest()
        # the signed URL in the answer is fetchable as returned, without credentials
        assert httpx.get(src["url"]).content == data


def test_creation_with_upload_in_one_request(server: ServerProc, small_clip: Path) -> None:
    data = small_clip.read_bytes()
    with server.client() as c:
        h = {**TUS, **OCTET, "Upload-Length": str(len(data)), "Upload-Metadata": metadata(filename="one.mp4")}
        r = c.post("/v1/uploads", content=data, headers=h)
        assert r.status_code == 201, r.text
        assert r.headers["Upload-Offset"] == str(len(data))
        m = c.get(f"/v1/media/{r.headers['OpenVOD-File-Id']}").json()
        assert m["metadata"]["Width"] == 320


def test_checksum_mismatch_keeps_offset(server: ServerProc) -> None:
    with server.client() as c:
        url = create(c, 10, filename="x.bin").headers["Location"]
        r = c.patch(url, content=b"hello", headers={**TUS, **OCTET, "Upload-Offset": "0",
                                                     "Upload-Checksum": "sha1 " + "A" * 28})
        assert r.status_code == 460 and r.json()["error"]["code"] == "InvalidParameter.ChecksumMismatch"
        assert head(c, url).headers["Upload-Offset"] == "0"
        r = c.patch(url, content=b"hello", headers={**TUS, **OCTET, "Upload-Offset": "0",
                                                     "Upload-Checksum": "crc32 AAAA"})
        assert r.status_code == 400 and r.json()["error"]["code"] == "InvalidParameter.ChecksumAlgorithm"


def test_protocol_errors_have_codes(server: ServerProc) -> None:
    with server.client() as c:
        url = create(c, 10, filename="x.bin").headers["Location"]
        r = patch(c, url, 3, b"abc")
        assert r.status_code == 409 and r.json()["error"]["code"] == "FailedOperation.OffsetMismatch"
        r = c.patch(url, content=b"abc", headers={**OCTET, "Upload-Offset": "0"})
        assert r.status_code == 412
        r = c.patch(url, content=b"abc", headers={**TUS, "Upload-Offset": "0", "Content-Type": "text/plain"})
        assert r.status_code == 415
        r = patch(c, url, 0, b"x" * 11)
        assert r.status_code == 413 and r.json()["error"]["code"] == "InvalidParameter.UploadLengthExceeded"
        assert head(c, url).headers["Upload-Offset"] == "0"
        r = c.post("/v1/uploads", headers={**TUS})
        assert r.status_code == 400 and r.json()["error"]["code"] == "InvalidParameter.UploadLength"
        r = c.post("/v1/uploads", headers={**TUS, "Upload-Length": "10", "Upload-Metadata": "filename !!!"})
        assert r.status_code == 400 and r.json()["error"]["code"] == "InvalidParameter.Metadata"
        assert head(c, f"{server.url}/v1/uploads/up_nope").status_code == 404
    r = httpx.post(f"{server.url}/v1/uploads", headers={**TUS, "Upload-Length": "10"})
    assert r.status_code == 401 and r.json()["error"]["code"] == "AuthFailure.MissingCredentials"


def test_termination(server: ServerProc) -> None:
    with server.client() as c:
        url = create(c, 10, filename="x.bin").headers["Location"]
        assert patch(c, url, 0, b"12345").status_code == 204
        assert c.delete(url, headers=TUS).status_code == 204
        assert head(c, url).status_code == 404


def test_deferred_length(server: ServerProc, small_clip: Path) -> None:
    data = small_clip.read_bytes()
    with server.client() as c:
        r = c.post("/v1/uploads", headers={**TUS, "Upload-Defer-Length": "1",
                                           "Upload-Metadata": metadata(filename="d.mp4")})
        url = r.headers["Location"]
        assert patch(c, url, 0, data[:1000]).status_code == 204
        r = c.patch(url, content=data[1000:], headers={**TUS, **OCTET, "Upload-Offset": "1000",
                                                        "Upload-Length": str(len(data))})
        assert r.status_code == 204 and "OpenVOD-File-Id" in r.headers


def test_corrupt_file_becomes_media_with_probe_error(server: ServerProc) -> None:
    with server.client() as c:
        file_id = upload_bytes(c, b"this is not a video" * 1000, "notes.mp4")
        m = c.get(f"/v1/media/{file_id}").json()
        assert m["probe"] is None and m["probe_error"]
        assert m["metadata"]["Size"] == 19000
        # the server is fine afterwards
        assert c.get("/healthz").status_code == 200


@pytest.mark.slow
def test_interrupted_upload_resumes_after_server_restart(fresh_server: ServerProc, clip10: Path) -> None:
    data = clip10.read_bytes()
    half = len(data) // 2
    with fresh_server.client() as c:
        url = create(c, len(data), filename="resume.mp4").headers["Location"]
        assert patch(c, url, 0, data[:half]).status_code == 204
    fresh_server.restart(crash=True)  # SIGKILL, then start again on the same data dir
    with fresh_server.client() as c:
        r = head(c, url)
        assert r.status_code == 200 and r.headers["Upload-Offset"] == str(half)
        r = patch(c, url, half, data[half:], checksum="sha1")
        assert r.status_code == 204
        m = c.get(f"/v1/media/{r.headers['OpenVOD-File-Id']}").json()
        got = c.get(f"/v1/objects/{m['source']['bucket']}/{m['source']['key']}").content
    assert hashlib.sha1(got).hexdigest() == sha1_file(clip10)
    assert m["metadata"]["Md5"] == hashlib.md5(data).hexdigest()  # hashed from storage after the restart


def test_dropped_connection_mid_patch_keeps_received_bytes(server: ServerProc) -> None:
    """A client that dies mid-PATCH: the server keeps what arrived and HEAD says where to go on."""
    import socket

    body = b"z" * (3 << 20)
    with server.client() as c:
        url = create(c, len(body) * 2, filename="drop.bin").headers["Location"]
    path = url.split(str(server.port), 1)[1]
    auth = httpx.BasicAuth(*server.auth)._auth_header
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as s:
        s.sendall((f"PATCH {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: {auth}\r\n"
                   "Tus-Resumable: 1.0.0\r\nContent-Type: application/offset+octet-stream\r\n"
                   f"Upload-Offset: 0\r\nContent-Length: {len(body) * 2}\r\n\r\n").encode())
        s.sendall(body)
    with server.client() as c:
        for _ in range(50):  # the server notices the disconnect asynchronously
            offset = int(head(c, url).headers["Upload-Offset"])
            if offset == len(body):
                break
            import time

            time.sleep(0.1)
        assert offset == len(body)


def test_third_party_tus_client(server: ServerProc, small_clip: Path) -> None:
    """tuspy, an independent tus implementation, uploads to OpenVOD unchanged."""
    import base64

    auth = "Basic " + base64.b64encode(f"{server.secret_id}:{server.secret_key}".encode()).decode()
    tc = tuspy.TusClient(f"{server.url}/v1/uploads", headers={"Authorization": auth})
    uploader = tc.uploader(str(small_clip), chunk_size=64 * 1024, metadata={"filename": "tuspy.mp4"})
    uploader.upload()
    with server.client() as c:
        r = head(c, uploader.url)
        assert r.headers["Upload-Offset"] == str(small_clip.stat().st_size)
        m = c.get(f"/v1/media/{r.headers['OpenVOD-File-Id']}").json()
        assert m["name"] == "tuspy.mp4" and m["metadata"]["Height"] == 240


@pytest.mark.parametrize("size", [0])
def test_empty_upload(server: ServerProc, size: int) -> None:
    with server.client() as c:
        r = create(c, size, filename="empty.mp4")
        assert r.status_code == 201
        file_id = head(c, r.headers["Location"]).headers["OpenVOD-File-Id"]
        assert c.get(f"/v1/media/{file_id}").json()["probe_error"]
