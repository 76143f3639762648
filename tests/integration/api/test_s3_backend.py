"""The whole server on the ``s3`` storage backend (moto's S3 server as the stand-in)."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import ServerProc, make_server
from tests.s3server import moto_server
from tests.tus import create, head, patch


@pytest.fixture()
def s3_server(tmp_path: Path) -> Iterator[ServerProc]:
    with moto_server() as endpoint:
        srv = make_server(tmp_path, {
            "OPENVOD_STORAGE": "s3", "OPENVOD_S3_ENDPOINT_URL": endpoint,
            "OPENVOD_S3_ACCESS_KEY": "test", "OPENVOD_S3_SECRET_KEY": "test",
            "OPENVOD_S3_PART_SIZE": str(5 * 1024 * 1024),
        })
        try:
            yield srv
        finally:
            srv.stop()


@pytest.mark.slow
def test_upload_resumes_across_crash_on_s3(s3_server: ServerProc, tmp_path: Path) -> None:
    from tests.media import make_clip

    clip = make_clip(tmp_path / "s3clip.mp4", seconds=6, width=1280, height=720)
    data = clip.read_bytes()
    cut = len(data) // 2
    with s3_server.client() as c:
        url = create(c, len(data), filename="s3clip.mp4").headers["Location"]
        assert patch(c, url, 0, data[:cut], checksum="sha1").status_code == 204
    s3_server.restart(crash=True)
    with s3_server.client() as c:
        assert head(c, url).headers["Upload-Offset"] == str(cut)
        r = patch(c, url, cut, data[cut:], checksum="sha1")
        assert r.status_code == 204
        m = c.get(f"/v1/media/{r.headers['OpenVOD-File-Id']}").json()
        assert m["metadata"]["Width"] == 1280 and abs(m["metadata"]["Duration"] - 6) < 0.2
        got = c.get(f"/v1/objects/{m['source']['bucket']}/{m['source']['key']}").content
        assert hashlib.sha1(got).digest() == hashlib.sha1(data).digest()
    # the source URL is a presigned S3 URL, fetchable as returned
    assert m["source"]["url"].startswith("http://127.0.0.1:")
    assert httpx.get(m["source"]["url"]).content == data
