"""Uploads authorised by a Tencent-format client upload signature."""

from __future__ import annotations

import base64
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from sqlalchemy import text

from openvod.client.signing import sign_upload
from openvod.domain.signature import build_signature
from tests.conftest import ServerProc, server_database
from tests.tus import OCTET, TUS, metadata


def _upload(server: ServerProc, sig: str, data: bytes = b"\x00" * 100, *, via: str = "header") -> httpx.Response:
    h = {**TUS, **OCTET, "Upload-Length": str(len(data))}
    meta = {"filename": "signed.mp4"}
    if via == "header":
        h["X-VOD-Signature"] = sig
    else:
        meta["signature"] = sig
    h["Upload-Metadata"] = metadata(**meta)
    return httpx.post(f"{server.url}/v1/uploads", content=data, headers=h, timeout=30)


def _code(r: httpx.Response) -> str:
    return str(r.json()["error"]["code"])


def _cli(server: ServerProc, *args: str) -> str:
    out = subprocess.run([sys.executable, "-m", "openvod", *args, "--data-dir", str(server.data_dir), "--json"],
                         env=server.env, capture_output=True, text=True, timeout=60, check=True)
    return out.stdout


def test_valid_signature_carries_options(server: ServerProc, small_clip: Path) -> None:
    with server.client() as c:
        c.post("/v1/procedures", json={"name": "cover-gif", "media_process_task": {
            "CoverBySnapshotTaskSet": [{"Definition": 10, "PositionType": "Time", "PositionValue": 0}]}})
    sig = sign_upload(server.secret_id, server.secret_key, procedure="cover-gif", class_id=7,
                      source_context="src-ctx", session_context="sess-ctx", task_priority=5)
    r = _upload(server, sig, small_clip.read_bytes())
    assert r.status_code == 201, r.text
    file_id = r.headers["OpenVOD-File-Id"]
    with server.client() as c:
        m = c.get(f"/v1/media/{file_id}").json()
    assert m["class_id"] == 7 and m["procedure"] == "cover-gif"
    assert m["source_context"] == "src-ctx" and m["session_context"] == "sess-ctx" and m["task_priority"] == 5
    # ... and onto its NewFileUpload event in the outbox
    db = server_database(server)
    try:
        with db.session() as s:
            rows = s.execute(text("SELECT CAST(payload AS TEXT) FROM event WHERE type='NewFileUpload'")).all()
    finally:
        db.dispose()
    assert any(file_id in p and "src-ctx" in p and "cover-gif" in p for (p,) in rows)


def test_unknown_procedure_is_refused_before_any_bytes(server: ServerProc) -> None:
    r = _upload(server, sign_upload(server.secret_id, server.secret_key, procedure="no-such-flow"))
    assert r.status_code == 404 and _code(r) == "InvalidParameter.ProcedureNameNotExist"


def test_signature_in_upload_metadata(server: ServerProc) -> None:
    sig = sign_upload(server.secret_id, server.secret_key)
    assert _upload(server, sig, via="metadata").status_code == 201


def test_expired(server: ServerProc) -> None:
    sig = build_signature(server.secret_id, server.secret_key, now=int(time.time()) - 7200, expire_in=3600,
                          random=1)
    r = _upload(server, sig)
    assert r.status_code == 401 and _code(r) == "AuthFailure.SignatureExpire"


def test_tampered(server: ServerProc) -> None:
    raw = bytearray(base64.b64decode(sign_upload(server.secret_id, server.secret_key, class_id=1)))
    i = raw.index(b"classId=1")
    raw[i + 8] = ord("2")  # classId=2: the signer never said that
    r = _upload(server, base64.b64encode(bytes(raw)).decode())
    assert r.status_code == 401 and _code(r) == "AuthFailure.SignatureFailure"


def test_wrong_key(server: ServerProc) -> None:
    r = _upload(server, sign_upload(server.secret_id, "not-the-secret"))
    assert r.status_code == 401 and _code(r) == "AuthFailure.SignatureFailure"


def test_unknown_secret_id(server: ServerProc) -> None:
    r = _upload(server, sign_upload("AKIDdoesnotexist", server.secret_key))
    assert r.status_code == 401 and _code(r) == "AuthFailure.SecretIdNotFound"


def test_disabled_key(server: ServerProc) -> None:
    import json

    key = json.loads(_cli(server, "keys", "create"))
    assert _upload(server, sign_upload(key["secret_id"], key["secret_key"])).status_code == 201
    _cli(server, "keys", "disable", key["secret_id"])
    r = _upload(server, sign_upload(key["secret_id"], key["secret_key"]))
    assert r.status_code == 401 and _code(r) == "AuthFailure.SecretIdDisabled"
    # and Basic auth with it is refused too
    r = httpx.get(f"{server.url}/v1/media", auth=(key["secret_id"], key["secret_key"]))
    assert r.status_code == 401 and _code(r) == "AuthFailure.SecretIdDisabled"


def test_validity_over_90_days(server: ServerProc) -> None:
    now = int(time.time())
    original = (f"secretId={server.secret_id}&currentTimeStamp={now}&expireTime={now + 90 * 86400 + 1}"
                f"&random=42").encode()
    import hashlib
    import hmac

    mac = hmac.new(server.secret_key.encode(), original, hashlib.sha1).digest()
    r = _upload(server, base64.b64encode(mac + original).decode())
    assert r.status_code == 401 and _code(r) == "AuthFailure.SignatureValidityTooLong"


def test_malformed(server: ServerProc) -> None:
    r = _upload(server, "not base64 at all!!")
    assert r.status_code == 400 and _code(r) == "InvalidParameter.Signature"


@pytest.mark.slow
def test_one_time_signature_refused_on_reuse_even_after_restart(fresh_server: ServerProc) -> None:
    sig = sign_upload(fresh_server.secret_id, fresh_server.secret_key, one_time=True)
    assert _upload(fresh_server, sig).status_code == 201
    r = _upload(fresh_server, sig)
    assert r.status_code == 401 and _code(r) == "AuthFailure.SignatureReused"
    fresh_server.restart(crash=True)
    r = _upload(fresh_server, sig)
    assert r.status_code == 401 and _code(r) == "AuthFailure.SignatureReused"
    # a multi-use signature may be used again
    multi = sign_upload(fresh_server.secret_id, fresh_server.secret_key)
    assert _upload(fresh_server, multi).status_code == 201
    assert _upload(fresh_server, multi).status_code == 201


@pytest.mark.parametrize("codes", [None])
def test_every_refusal_has_its_own_code(codes: None) -> None:
    from openvod.domain import signature as s

    all_codes = [s.CODE_INVALID, s.CODE_MISMATCH, s.CODE_EXPIRED, s.CODE_VALIDITY_TOO_LONG, s.CODE_UNKNOWN_KEY,
                 s.CODE_DISABLED_KEY, s.CODE_REUSED]
    assert len(set(all_codes)) == len(all_codes)
