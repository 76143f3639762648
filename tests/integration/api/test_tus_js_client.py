"""tus-js-client, the tus reference client, in node against a real OpenVOD (issue 12, part 3).

The client is the version web/package-lock.json pins (the one the console vendors), installed into
``.cache/node`` by ``scripts/install-node-deps`` (``scripts/test`` runs it); its absence fails the
tests, never skips them. ``tus_js/driver.cjs`` drives the client one scenario per node process and
reports what it sent and saw; the assertions are here. A 50 MiB upload in 5 MiB chunks is
interrupted as a PATCH starts, resumed by a new process through the client's
``FileUrlStorage``, and its bytes are checked three ways: GET on the upload URL from node, GET from
here, and the stored object itself.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from openvod.services import apps
from openvod.services.media import physical
from tests.conftest import make_app_server
from tests.servers import InProcessServer
from tests.tus import TUS, head

ROOT = Path(__file__).resolve().parents[3]
DRIVER = Path(__file__).with_name("tus_js") / "driver.cjs"
NODE_MODULES = ROOT / ".cache" / "node" / "node_modules"
MIB = 1 << 20
CHUNK = 5 * MIB


@pytest.fixture(scope="module")
def srv(tmp_path_factory: pytest.TempPathFactory) -> Iterator[InProcessServer]:
    server = make_app_server(tmp_path_factory.mktemp("tusjs"), {"OPENVOD_WORKERS": "0"})
    yield server
    server.stop()


def _node() -> str:
    """node, with tus-js-client installed where the driver finds it; their absence fails the test."""
    node = shutil.which("node")
    if node is None or not (NODE_MODULES / "tus-js-client" / "package.json").is_file():
        pytest.fail("node or tus-js-client is missing: run scripts/install-node-deps (scripts/test does)")
    return node


def _drive(srv: InProcessServer, scenario: str, timeout: float = 60, **opts: Any) -> dict[str, Any]:
    """Run one driver scenario in a node process of its own; its JSON report."""
    auth = "Basic " + base64.b64encode(f"{srv.secret_id}:{srv.secret_key}".encode()).decode()
    args = {"endpoint": f"{srv.url}/v1/uploads", "auth": auth, **{k: str(v) if isinstance(v, Path) else v
                                                                    for k, v in opts.items()}}
    env = {**os.environ, "NODE_PATH": str(NODE_MODULES)}
    # run() kills and reaps node on timeout; the report is the last line of its stdout.
    done = subprocess.run([_node(), str(DRIVER), scenario, json.dumps(args)], env=env, capture_output=True,
                          timeout=timeout, check=False)
    if done.returncode != 0:
        pytest.fail(f"tus-js-client {scenario} exited {done.returncode}:\n{done.stderr.decode()[-3000:]}")
    report: dict[str, Any] = json.loads(done.stdout.decode().strip().splitlines()[-1])
    return report


def _random_file(path: Path, size: int) -> str:
    """``size`` random bytes at ``path``; their sha256."""
    data = os.urandom(size)
    path.write_bytes(data)
    return hashlib.sha256(data).hexdigest()


def _stored_sha256(srv: InProcessServer, url: str) -> str:
    """The sha256 of the object a finished upload stored, read from storage, not over HTTP (and
    the MD5 the server recorded for the media checked against it)."""
    with srv.client() as c:
        file_id = head(c, url).headers["OpenVOD-File-Id"]
        media = c.get(f"/v1/media/{file_id}").json()
    key = apps.lookup_key(srv.ctx.db, srv.secret_id)
    assert key is not None
    sha256, md5 = hashlib.sha256(), hashlib.md5()
    for block in srv.ctx.storage.open(*physical(key.app_id, media["source"]["bucket"], media["source"]["key"])):
        sha256.update(block)
        md5.update(block)
    assert media["metadata"]["Md5"] == md5.hexdigest()
    return sha256.hexdigest()


def _methods(requests: list[dict[str, Any]]) -> list[tuple[str, int | None, int | None]]:
    """(method, Upload-Offset sent, status) of each request the client made."""
    return [(r["method"], None if r["offset"] is None else int(r["offset"]), r.get("status")) for r in requests]


@pytest.mark.slow  # 3 to 6 s on two busy cores
def test_interrupted_50mib_upload_resumes_from_a_new_process(srv: InProcessServer, tmp_path: Path) -> None:
    size = 50 * MIB
    data = tmp_path / "big.bin"
    want = _random_file(data, size)
    store = tmp_path / "tus-urls.json"

    # 1. A first node process sends three whole 5 MiB PATCHes, then aborts the fourth as it starts.
    first = _drive(srv, "interrupt", file=data, store=store, chunkSize=CHUNK, abortAt=3 * CHUNK + 1)
    url = first["url"]
    sent = _methods(first["requests"])
    assert sent[0] == ("POST", None, 201)
    assert sent[1:4] == [("PATCH", 0, 204), ("PATCH", CHUNK, 204), ("PATCH", 2 * CHUNK, 204)]
    assert sent[4][:2] == ("PATCH", 3 * CHUNK) and len(sent) == 5  # cut off: no answer
    stored = json.loads(store.read_text())
    assert [v["uploadUrl"] for v in stored.values()] == [url]

    # The server kept the bytes that arrived: three chunks and what reached it of the fourth
    # (often all of it, from the socket buffers); no media yet.
    with srv.client() as c:
        r = head(c, url)
        offset = int(r.headers["Upload-Offset"])
        assert 3 * CHUNK <= offset <= 4 * CHUNK and "OpenVOD-File-Id" not in r.headers
        r = httpx.get(url)
        assert r.status_code == 409 and r.json()["error"]["code"] == "FailedOperation.UploadNotFinished"

    # 2. A new node process finds the upload through its URL storage and fingerprint, resumes it
    #    from the offset HEAD tells, and downloads it with GET on the upload URL.
    second = _drive(srv, "resume", file=data, store=store, chunkSize=CHUNK)
    assert second["previousUrl"] == url and second["url"] == url
    sent = _methods(second["requests"])
    assert sent[0] == ("HEAD", None, 200) and second["requests"][0]["answeredOffset"] == str(offset)
    patches = [s for s in sent[1:] if s[0] == "PATCH"]
    assert len(patches) == len(sent) - 1 and patches[0][1] == offset and all(s[2] == 204 for s in patches)
    assert [p[1] for p in patches] == list(range(offset, size, CHUNK))
    assert second["get"] == {"status": 200, "length": size, "sha256": want}
    assert json.loads(store.read_text()) == {}  # removeFingerprintOnSuccess: the URL is forgotten

    # 3. The bytes, checked here too: over GET with a range, and as stored.
    r = httpx.get(url, headers={"Range": f"bytes={size - 10}-"})
    assert r.status_code == 206 and r.content == data.read_bytes()[-10:]
    assert _stored_sha256(srv, url) == want


def test_creation_with_upload(srv: InProcessServer, tmp_path: Path) -> None:
    size = 12 * MIB
    data = tmp_path / "mid.bin"
    want = _random_file(data, size)
    report = _drive(srv, "create-with-upload", file=data, chunkSize=CHUNK)
    # The POST carries the first chunk (its 201 tells the offset), two PATCHes the rest.
    assert _methods(report["requests"]) == [("POST", None, 201), ("PATCH", CHUNK, 204), ("PATCH", 2 * CHUNK, 204)]
    assert report["requests"][0]["answeredOffset"] == str(CHUNK)
    r = httpx.get(report["url"])
    assert r.status_code == 200 and hashlib.sha256(r.content).hexdigest() == want
    assert _stored_sha256(srv, report["url"]) == want


def test_termination_then_head_is_404(srv: InProcessServer, tmp_path: Path) -> None:
    data = tmp_path / "small.bin"
    _random_file(data, 4 * MIB)
    report = _drive(srv, "terminate", file=data, chunkSize=MIB)
    # abort(true)'s DELETE (tus.Upload.terminate takes no hooks to log with: it throws unless 204).
    assert [s for s in _methods(report["requests"]) if s[0] == "DELETE"] == [("DELETE", None, 204)]
    for case in ("aborted", "terminated"):  # abort(true), and tus.Upload.terminate(url)
        url = report[case]["url"]
        assert report[case]["head"] == 404, case
        with srv.client() as c:
            assert c.head(url, headers=TUS).status_code == 404
            assert httpx.get(url).status_code == 404
