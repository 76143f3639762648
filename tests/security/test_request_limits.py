"""Issue 10 item 3: an unauthenticated request costs only its headers; bodies and collection
parameters are bounded (api/limits.py, api/compat/tencent/common.py)."""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from openvod.auth.tc3 import sign
from tests.conftest import SECRET_ID, SECRET_KEY, ServerProc, make_server

MB = 1024 * 1024
TC_HEADERS = {"X-TC-Action": "DescribeMediaInfos", "X-TC-Version": "2018-07-17",
              "Authorization": "TC3-HMAC-SHA256 junk", "Content-Type": "application/json"}


def rss(srv: ServerProc) -> int:
    """The server process's resident set, in bytes (/proc/<pid>/status VmRSS)."""
    assert srv.proc is not None
    for line in Path(f"/proc/{srv.proc.pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS")


def chunks(total: int, size: int = MB) -> Iterator[bytes]:
    block = b"x" * size
    sent = 0
    while sent < total:
        yield block
        sent += size


@pytest.fixture(scope="module")
def limits_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProc]:
    srv = make_server(tmp_path_factory.mktemp("limits"), {"OPENVOD_WORKERS": "0"})
    yield srv
    srv.stop()


def _tc3_headers(srv: ServerProc, action: str, body: bytes) -> dict[str, str]:
    ts = int(time.time())
    date = datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d")
    headers = {"content-type": "application/json", "host": f"127.0.0.1:{srv.port}"}
    sig = sign(SECRET_KEY, method="POST", query="", headers=headers, signed_headers=["content-type", "host"],
               payload_hash=hashlib.sha256(body).hexdigest(), timestamp=ts, date=date)
    return {"Content-Type": "application/json", "X-TC-Action": action, "X-TC-Version": "2018-07-17",
            "X-TC-Timestamp": str(ts), "Authorization": f"TC3-HMAC-SHA256 Credential={SECRET_ID}/{date}/vod/"
            f"tc3_request, SignedHeaders=content-type;host, Signature={sig}"}


def test_unauthenticated_tencent_collection_query_costs_only_headers(limits_server: ServerProc) -> None:
    srv = limits_server
    before = rss(srv)
    started = time.monotonic()
    r = httpx.get(f"{srv.url}/?FileIds.50000000=x", headers=TC_HEADERS, timeout=30)
    elapsed = time.monotonic() - started
    growth = rss(srv) - before
    assert r.status_code == 200
    assert r.json()["Response"]["Error"]["Code"].startswith("AuthFailure"), r.text
    assert elapsed < 2.0
    assert growth < 32 * MB, f"RSS grew by {growth / MB:.1f} MB"


@pytest.mark.parametrize("chunked", [True, False], ids=["chunked", "content-length"])
def test_unauthenticated_300mb_body_is_refused_unread(limits_server: ServerProc, chunked: bool) -> None:
    srv = limits_server
    total = 300 * MB
    headers = {"Content-Type": "application/json"}
    if not chunked:
        headers["Content-Length"] = str(total)
    before = rss(srv)
    started = time.monotonic()
    with httpx.Client(timeout=30) as c:
        r = c.post(f"{srv.url}/v1/presets", content=chunks(total), headers=headers)
    elapsed = time.monotonic() - started
    growth = rss(srv) - before
    # chunked: refused by the credentials check before a byte is read; declared: by its size
    want = (401, "AuthFailure.MissingCredentials") if chunked else (413, "InvalidParameter.TooLarge")
    assert (r.status_code, r.json()["error"]["code"]) == want, r.text
    assert elapsed < 5.0, f"answered after {elapsed:.1f} s"
    assert growth < 32 * MB, f"RSS grew by {growth / MB:.1f} MB"


def test_wrong_credentials_refused_before_the_body(limits_server: ServerProc) -> None:
    srv = limits_server
    with httpx.Client(timeout=30) as c:
        r = c.post(f"{srv.url}/v1/presets", content=chunks(50 * MB), auth=(SECRET_ID, "wrong-secret-key"),
                   headers={"Content-Type": "application/json"})
    assert r.status_code == 401, r.text
    assert r.json()["error"]["code"].startswith("AuthFailure")


def test_authenticated_oversize_json_is_413(limits_server: ServerProc) -> None:
    srv = limits_server
    body = json.dumps({"name": "big", "type": "video", "params": {"pad": "x" * (2 * MB)}}).encode()
    r = httpx.post(f"{srv.url}/v1/presets", content=body, auth=srv.auth, timeout=30,
                   headers={"Content-Type": "application/json"})
    assert r.status_code == 413, r.text
    assert r.json()["error"]["code"] == "InvalidParameter.TooLarge"
    # chunked (no Content-Length): refused while streaming
    r = httpx.post(f"{srv.url}/v1/presets", content=chunks(4 * MB, 64 * 1024), auth=srv.auth, timeout=30,
                   headers={"Content-Type": "application/json"})
    assert r.status_code == 413, r.text
    assert srv.client().get("/healthz").status_code == 200


def test_deeply_nested_json_is_400(limits_server: ServerProc) -> None:
    srv = limits_server
    deep = '{"name": "deep", "type": "video", "params": {"a": ' + "[" * 1000 + "]" * 1000 + "}}"
    r = httpx.post(f"{srv.url}/v1/presets", content=deep, auth=srv.auth, timeout=30,
                   headers={"Content-Type": "application/json"})
    assert r.status_code == 400, r.text
    assert r.json()["error"]["code"] == "InvalidParameter.JSONDepth"
    # Tencent: the same refusal in its envelope
    body = ('{"FileIds": ' + "[" * 1000 + "]" * 1000 + "}").encode()
    r = httpx.post(f"{srv.url}/", content=body, headers=_tc3_headers(srv, "DescribeMediaInfos", body), timeout=30)
    assert r.json()["Response"]["Error"]["Code"] == "InvalidParameter.JSONDepth", r.text


def test_a_shallow_document_passes(limits_server: ServerProc) -> None:
    srv = limits_server
    params = {"f": "mp4", "VIDEO": {"vcodec": "h264", "width": 320, "height": 180}}
    r = httpx.post(f"{srv.url}/v1/presets", auth=srv.auth, timeout=30, json={"name": "limits-ok", "params": params})
    assert r.status_code in (200, 201), r.text


def test_tencent_file_ids_over_twenty_is_tencents_error(limits_server: ServerProc) -> None:
    srv = limits_server
    body = json.dumps({"FileIds": [f"f{i}" for i in range(21)]}).encode()
    r = httpx.post(f"{srv.url}/", content=body, headers=_tc3_headers(srv, "DescribeMediaInfos", body), timeout=30)
    assert r.status_code == 200
    assert r.json()["Response"]["Error"]["Code"] == "InvalidParameterValue.FileIds", r.text
    body = json.dumps({"FileIds": [f"f{i}" for i in range(20)]}).encode()
    r = httpx.post(f"{srv.url}/", content=body, headers=_tc3_headers(srv, "DescribeMediaInfos", body), timeout=30)
    assert "Error" not in r.json()["Response"], r.text
    assert len(r.json()["Response"]["NotExistFileIdSet"]) == 20


def test_tencent_body_over_ten_mb_refused_before_reading(limits_server: ServerProc) -> None:
    srv = limits_server
    headers = {**_tc3_headers(srv, "DescribeMediaInfos", b"{}"), "Content-Length": str(11 * MB)}
    with httpx.Client(timeout=30) as c:
        r = c.post(f"{srv.url}/", content=chunks(11 * MB), headers=headers)
    assert r.json()["Response"]["Error"]["Code"] == "RequestSizeLimitExceeded", r.text


def test_console_sign_in_takes_a_small_body_only(limits_server: ServerProc) -> None:
    srv = limits_server
    r = httpx.post(f"{srv.url}/console/session", content=b"SecretId=" + b"a" * (128 * 1024), timeout=30,
                   headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert r.status_code == 413, r.text
    assert r.json()["error"]["code"] == "InvalidParameter.TooLarge"


def test_kingsoft_body_refused_before_reading_without_a_known_key(limits_server: ServerProc) -> None:
    srv = limits_server
    now = datetime.now(UTC)
    headers = {"X-Action": "Preset", "X-Version": "2016-09-19", "X-Amz-Date": now.strftime("%Y%m%dT%H%M%SZ"),
               "Authorization": f"AWS4-HMAC-SHA256 Credential=AKIDnobody/{now:%Y%m%d}/cn-beijing-6/offline/"
               "aws4_request, SignedHeaders=host;x-action;x-amz-date, Signature=" + "0" * 64}
    with httpx.Client(timeout=30) as c:
        r = c.post(f"{srv.url}/", content=chunks(50 * MB), headers=headers)
    assert r.status_code == 403, r.text
    assert r.json()["Error"]["Code"] == "SignatureDoesNotMatch"
