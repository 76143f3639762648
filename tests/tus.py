"""A minimal raw tus driver for protocol-level tests (the product's own client is openvod.client)."""

from __future__ import annotations

import base64
import hashlib
from pathlib import Path

import httpx

TUS = {"Tus-Resumable": "1.0.0"}
OCTET = {"Content-Type": "application/offset+octet-stream"}


def metadata(**kv: str) -> str:
    return ",".join(f"{k} {base64.b64encode(v.encode()).decode()}" for k, v in kv.items())


def create(c: httpx.Client, length: int, headers: dict[str, str] | None = None, **meta: str) -> httpx.Response:
    h = {**TUS, "Upload-Length": str(length), "Upload-Metadata": metadata(**meta), **(headers or {})}
    return c.post("/v1/uploads", headers=h)


def patch(c: httpx.Client, url: str, offset: int, data: bytes, *, checksum: str | None = None) -> httpx.Response:
    h = {**TUS, **OCTET, "Upload-Offset": str(offset)}
    if checksum:
        h["Upload-Checksum"] = f"sha1 {base64.b64encode(hashlib.sha1(data).digest()).decode()}"
    return c.patch(url, content=data, headers=h)


def head(c: httpx.Client, url: str) -> httpx.Response:
    return c.head(url, headers=TUS)


def sha1_file(path: Path) -> str:
    h = hashlib.sha1()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def upload_bytes(c: httpx.Client, data: bytes, filename: str, chunk: int = 1 << 20, **meta: str) -> str:
    """Upload ``data`` in ``chunk``-sized PATCHes; returns the FileId."""
    r = create(c, len(data), None, filename=filename, **meta)
    assert r.status_code == 201, r.text
    url = r.headers["Location"]
    offset = 0
    while offset < len(data):
        r = patch(c, url, offset, data[offset:offset + chunk], checksum="sha1")
        assert r.status_code == 204, r.text
        offset = int(r.headers["Upload-Offset"])
    return r.headers["OpenVOD-File-Id"]
