"""tus and storage faults end requests cleanly (issue 10, item 5).

An over-long PATCH is answered at once, a storage failure mid-body ends the request with a clear
5xx and the upload stays resumable, SIGTERM ends slow uploads and long-polls within
``shutdown_timeout``, and a full disk (a real 16 MiB tmpfs mounted as the data directory) answers
507 ``ResourceUnavailable.InsufficientStorage`` for uploads and database writes, keeps only bytes
written whole, and recovers when space returns.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import signal
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import httpx
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from openvod.config import Settings
from openvod.services import apps
from openvod.services.context import build_context
from openvod.storage.local import LocalStorage
from tests.conftest import SECRET_ID, SECRET_KEY, ServerProc, make_server
from tests.disks import fill, tmpfs
from tests.tus import OCTET, TUS, create, head, patch

MiB = 1 << 20
INSUFFICIENT = "ResourceUnavailable.InsufficientStorage"


# -- a raw HTTP/1.1 client: httpx sends the whole body before it reads a reply ------------------------
def _open(base: str) -> socket.socket:
    host, port = base.removeprefix("http://").split(":")
    sock = socket.create_connection((host, int(port)), timeout=10)
    return sock


def _request_head(method: str, url: str, headers: dict[str, str]) -> bytes:
    path = "/" + url.split("/", 3)[3]
    lines = [f"{method} {path} HTTP/1.1", "Host: test", *(f"{k}: {v}" for k, v in headers.items())]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def _read_response(sock: socket.socket, timeout: float) -> tuple[int, dict[str, str], bytes]:
    sock.settimeout(timeout)
    data = b""
    while b"\r\n\r\n" not in data:
        piece = sock.recv(65536)
        assert piece, f"connection closed before a reply: {data!r}"
        data += piece
    head_raw, _, body = data.partition(b"\r\n\r\n")
    status_line, *header_lines = head_raw.decode("latin-1").split("\r\n")
    headers = {k.strip().lower(): v.strip() for k, _, v in (h.partition(":") for h in header_lines)}
    want = int(headers.get("content-length", "0"))
    while len(body) < want:
        piece = sock.recv(65536)
        if not piece:
            break
        body += piece
    return int(status_line.split()[1]), headers, body


def _code(body: bytes) -> str:
    return str(json.loads(body)["error"]["code"])


def _new_upload(c: httpx.Client, length: int) -> str:
    r = create(c, length, filename="clip.bin")
    assert r.status_code == 201, r.text
    return str(r.headers["Location"])


# -- over-long PATCH ---------------------------------------------------------------------------------
def test_content_length_past_the_remaining_length_is_refused_before_reading(server: ServerProc) -> None:
    data = os.urandom(1000)
    with server.client() as c:
        url = _new_upload(c, len(data))
        assert patch(c, url, 0, data[:100]).status_code == 204
        with _open(server.url) as sock:
            headers = {**TUS, **OCTET, "Upload-Offset": "100", "Content-Length": str(10**12)}
            sock.sendall(_request_head("PATCH", url, headers) + b"x" * 1000)
            start = time.monotonic()
            status, reply_headers, body = _read_response(sock, timeout=2.0)
            elapsed = time.monotonic() - start
        assert status == 413 and _code(body) == "InvalidParameter.UploadLengthExceeded", body
        assert "900 bytes" in json.loads(body)["error"]["message"]
        assert reply_headers.get("connection") == "close"
        assert elapsed < 2.0
        assert head(c, url).headers["Upload-Offset"] == "100"
        done = patch(c, url, 100, data[100:])
        assert done.status_code == 204 and done.headers["Upload-Offset"] == "1000"
        assert done.headers.get("OpenVOD-File-Id")


def test_chunked_body_running_past_the_remaining_length_is_cut_off(server: ServerProc) -> None:
    data = os.urandom(3 * MiB)
    with server.client() as c:
        url = _new_upload(c, len(data))
        with _open(server.url) as sock:
            headers = {**TUS, **OCTET, "Upload-Offset": "0", "Transfer-Encoding": "chunked"}
            sock.sendall(_request_head("PATCH", url, headers))

            def send() -> None:  # 4 MiB in 64 KiB chunks, one MiB past the end, and no end chunk
                try:
                    for _ in range(4 * 16):
                        piece = os.urandom(64 * 1024)
                        sock.sendall(b"%x\r\n" % len(piece) + piece + b"\r\n")
                except OSError:
                    pass  # the server stopped reading and closed: expected once it has answered

            sender = threading.Thread(target=send, daemon=True)
            start = time.monotonic()
            sender.start()
            # The body never ends: the reply must not wait for it. (Read while sending, or the
            # reset of the closed connection could overtake the reply.)
            status, _headers, body = _read_response(sock, timeout=2.0)
            elapsed = time.monotonic() - start
            sender.join(timeout=5)
        assert status == 413 and _code(body) == "InvalidParameter.UploadLengthExceeded", body
        assert elapsed < 2.0
        assert head(c, url).headers["Upload-Offset"] == "0"  # nothing of the refused PATCH counts
        done = patch(c, url, 0, data)
        assert done.status_code == 204 and done.headers["Upload-Offset"] == str(len(data))
        media = c.get(f"/v1/media/{done.headers['OpenVOD-File-Id']}").json()
        assert media["source"]["size"] == len(data)


# -- a storage error mid-body ------------------------------------------------------------------------
class _FailingFile:
    """The file under a tus append writer, failing ``write`` with ``OSError(EIO)`` once past
    ``fail_at`` bytes; everything else is the real file."""

    def __init__(self, f: Any, storage: _FailingStorage) -> None:
        self._f = f
        self._storage = storage

    def write(self, data: Any) -> int:
        if not self._storage.failed and self._f.tell() + len(data) > self._storage.fail_at:
            self._storage.failed = True
            n = int(self._f.write(data[: len(data) // 2]))  # a partial write, then the error
            assert n > 0
            raise OSError(errno.EIO, "Input/output error")
        return int(self._f.write(data))

    def __getattr__(self, name: str) -> Any:
        return getattr(self._f, name)


class _FailingStorage(LocalStorage):
    """A STUB for one fault: real local storage whose append file fails one write with
    ``OSError(EIO)`` when the upload passes ``fail_at`` bytes (an I/O error can't be provoked on
    a real disk in a test). The error goes through the real translation in storage/local.py."""

    fail_at = 2 * MiB + 1
    failed = False

    def open_append(self, handle: str) -> Any:
        writer = super().open_append(handle)
        writer._f = _FailingFile(writer._f, self)  # type: ignore[assignment]
        return writer


@pytest.fixture()
def app_client(tmp_path: Path) -> Iterator[tuple[httpx.Client, _FailingStorage]]:
    from starlette.testclient import TestClient

    from openvod.api.app import create_app

    ctx = build_context(Settings(data_dir=tmp_path / "data", workers=0))
    storage = _FailingStorage(tmp_path / "data" / "objects")
    ctx.storage = storage
    apps.ensure_default_app(ctx.db, SECRET_ID, SECRET_KEY)
    with TestClient(create_app(ctx)) as client:
        client.auth = (SECRET_ID, SECRET_KEY)
        yield client, storage
    ctx.db.dispose()


def test_storage_error_mid_body_is_a_clear_5xx_and_the_upload_resumes(
    app_client: tuple[httpx.Client, _FailingStorage],
) -> None:
    c, storage = app_client
    data = os.urandom(5 * MiB)
    url = _new_upload(c, len(data))
    start = time.monotonic()
    r = patch(c, url, 0, data)
    assert time.monotonic() - start < 2.0
    assert r.status_code == 503, r.text
    assert r.json()["error"]["code"] == "InternalError.Storage"
    assert "could not write upload data: Input/output error" in r.json()["error"]["message"]
    assert storage.failed
    # The whole blocks written before the fault are kept; the failed block is not.
    offset = int(head(c, url).headers["Upload-Offset"])
    assert 0 < offset <= storage.fail_at and offset % MiB == 0
    done = patch(c, url, offset, data[offset:])
    assert done.status_code == 204, done.text
    media = c.get(f"/v1/media/{done.headers['OpenVOD-File-Id']}").json()
    assert media["source"]["size"] == len(data)
    assert media["metadata"]["Md5"] == hashlib.md5(data).hexdigest()


# -- graceful shutdown -------------------------------------------------------------------------------
@pytest.mark.slow
def test_sigterm_ends_a_slow_patch_and_a_long_poll_within_the_shutdown_timeout(tmp_path: Path) -> None:
    srv = make_server(tmp_path, {"OPENVOD_SHUTDOWN_TIMEOUT": "2", "OPENVOD_PULL_WAIT_SECONDS": "60",
                                 "OPENVOD_WORKERS": "0"})
    try:
        with srv.client() as c:
            url = _new_upload(c, 10 * MiB)
        stop = threading.Event()
        sock = _open(srv.url)
        sock.sendall(_request_head("PATCH", url, {**TUS, **OCTET, "Upload-Offset": "0",
                                                  "Content-Length": str(10 * MiB)}) + b"a" * (2 * MiB))

        def trickle() -> None:  # a slow client: a byte every 100 ms, for ever
            while not stop.wait(0.1):
                try:
                    sock.sendall(b"a")
                except OSError:
                    return

        slow = threading.Thread(target=trickle, daemon=True)
        slow.start()
        poll: dict[str, Any] = {}

        def long_poll() -> None:
            try:
                poll["r"] = httpx.get(f"{srv.url}/v1/events", params={"wait": 60}, auth=srv.auth, timeout=90)
            except httpx.HTTPError as exc:
                poll["error"] = exc

        poller = threading.Thread(target=long_poll, daemon=True)
        poller.start()
        time.sleep(1.0)  # both requests are in flight
        assert srv.proc is not None
        start = time.monotonic()
        srv.proc.send_signal(signal.SIGTERM)
        srv.proc.wait(timeout=10)
        elapsed = time.monotonic() - start
        stop.set()
        sock.close()
        poller.join(timeout=10)
        assert not poller.is_alive()
        assert elapsed < 2 + 2.5, f"the server took {elapsed:.1f}s to stop"
        assert "r" in poll or "error" in poll
        log = srv.log.read_text()
        assert "Traceback" not in log, log

        srv.start()  # the interrupted upload resumes from what was kept
        with srv.client() as c:
            offset = int(head(c, url).headers["Upload-Offset"])
            assert 0 <= offset <= 2 * MiB + 100
            done = patch(c, url, offset, b"a" * (10 * MiB - offset))
            assert done.status_code == 204 and done.headers["Upload-Offset"] == str(10 * MiB)
    finally:
        srv.stop()


# -- a full disk -------------------------------------------------------------------------------------
@pytest.fixture()
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A real 16 MiB tmpfs: the data directory of the server under test."""
    with tmpfs(tmp_path / "disk", "16m") as mnt:
        yield mnt


def test_full_disk_answers_507_keeps_whole_blocks_and_recovers(tmp_path: Path, small_disk: Path) -> None:
    srv = make_server(tmp_path, {"OPENVOD_DATA_DIR": str(small_disk / "data"), "OPENVOD_WORKERS": "0"})
    try:
        data = os.urandom(12 * MiB)
        filler = small_disk / "filler"
        s3 = boto3.client("s3", endpoint_url=f"{srv.url}/s3", region_name="us-east-1",
                          aws_access_key_id=srv.secret_id, aws_secret_access_key=srv.secret_key,
                          config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 1}))
        s3.create_bucket(Bucket="full")
        with srv.client() as c:
            url = _new_upload(c, len(data))
            with open(filler, "wb") as f:  # leave ~7 MiB free for the 12 MiB upload
                f.write(b"\0" * (8 * MiB))
            start = time.monotonic()
            r = patch(c, url, 0, data)
            assert time.monotonic() - start < 5.0
            assert r.status_code == 507 and r.json()["error"]["code"] == INSUFFICIENT, r.text
            assert "no space left" in r.json()["error"]["message"]
            offset = int(head(c, url).headers["Upload-Offset"])
            staging = small_disk / "data" / "objects" / ".staging"
            staged = [p for p in staging.iterdir() if p.name.startswith("append-")]
            assert len(staged) == 1 and staged[0].stat().st_size == offset  # durable = reported
            assert 0 < offset < len(data) and offset % MiB == 0
            assert not (small_disk / "data" / "objects" / "vod").exists() or not any(
                p.is_file() for p in (small_disk / "data" / "objects" / "vod").rglob("*"))
            assert c.get("/v1/media").json()["items"] == []

            # The database on the full disk: a clear 507, not a 500, and nothing half-written.
            fill(small_disk / "filler2")
            preset = {"name": "full-disk", "params": {"f": "mp4", "VIDEO": {"vcodec": "h264", "width": 320}}}
            r = c.post("/v1/presets", json=preset)
            assert r.status_code == 507 and r.json()["error"]["code"] == INSUFFICIENT, r.text
            assert "database" in r.json()["error"]["message"]
            # The S3 gateway's PUT: S3's own 507 InsufficientStorage, and no half-written object.
            with pytest.raises(ClientError) as put:
                s3.put_object(Bucket="full", Key="big.bin", Body=os.urandom(2 * MiB))
            assert put.value.response["Error"]["Code"] == "InsufficientStorage"
            assert put.value.response["ResponseMetadata"]["HTTPStatusCode"] == 507
            assert s3.list_objects_v2(Bucket="full").get("KeyCount") == 0

            # Space returns: the same upload resumes from its offset and completes.
            filler.unlink()
            (small_disk / "filler2").unlink()
            assert c.get("/v1/presets/full-disk").status_code == 404
            assert c.post("/v1/presets", json=preset).status_code == 201
            done = patch(c, url, offset, data[offset:])
            assert done.status_code == 204, done.text
            media = c.get(f"/v1/media/{done.headers['OpenVOD-File-Id']}").json()
            assert media["source"]["size"] == len(data)
            assert media["metadata"]["Md5"] == hashlib.md5(data).hexdigest()
        assert "Traceback" not in srv.log.read_text()
    finally:
        srv.stop()
