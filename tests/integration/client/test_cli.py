"""The ``openvod`` command line (``python -m openvod``) against a real server, as a user runs it."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import httpx
import pytest

from openvod.client import Client
from tests.conftest import ServerProc
from tests.tus import sha1_file

pytestmark = pytest.mark.slow  # each test runs `openvod` commands as subprocesses


def run(
    server: ServerProc, tmp_path: Path, *args: str, keys: bool = True, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPENVOD_")}
    env.update(OPENVOD_SERVER=server.url, HOME=str(tmp_path / "home"))  # resume store under HOME
    if keys:
        env.update(OPENVOD_SECRET_ID=server.secret_id, OPENVOD_SECRET_KEY=server.secret_key)
    return subprocess.run(
        [sys.executable, "-m", "openvod", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def ok_json(result: subprocess.CompletedProcess[str]) -> Any:
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    return json.loads(result.stdout)  # stdout holds the JSON and nothing else


def failed(result: subprocess.CompletedProcess[str], code_prefix: str) -> None:
    assert result.returncode == 1, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    assert result.stderr.startswith(f"error: {code_prefix}"), result.stderr
    assert result.stdout == ""


def test_upload_json(server: ServerProc, tmp_path: Path, clip: Path) -> None:
    (item,) = ok_json(run(server, tmp_path, "upload", str(clip), "--json"))
    assert item["name"] == "clip.mp4"
    assert item["size"] == clip.stat().st_size
    assert item["metadata"]["Duration"] == pytest.approx(10, abs=0.2)
    assert (item["metadata"]["Width"], item["metadata"]["Height"]) == (1280, 720)
    with server.client() as http:
        body = http.get(f"/v1/objects/{item['bucket']}/{item['key']}")
        assert body.status_code == 200
        assert hashlib.sha1(body.content).hexdigest() == sha1_file(clip)
        assert http.get(f"/v1/media/{item['file_id']}").json()["file_id"] == item["file_id"]


def test_upload_several_with_global_json_and_progress_on_stderr(
    server: ServerProc, tmp_path: Path, clip: Path, small_clip: Path
) -> None:
    result = run(server, tmp_path, "--json", "upload", str(small_clip), str(clip), "--class-id", "0")
    items = ok_json(result)
    assert [i["name"] for i in items] == ["small.mp4", "clip.mp4"]
    assert len({i["file_id"] for i in items}) == 2
    assert "clip.mp4" in result.stderr  # the progress bars


def test_upload_human_output(server: ServerProc, tmp_path: Path, small_clip: Path) -> None:
    result = run(server, tmp_path, "upload", str(small_clip))
    assert result.returncode == 0, result.stderr
    assert result.stdout == ""  # not a terminal: people-output goes to stderr
    assert "small.mp4" in result.stderr and "320x240" in result.stderr


def test_media_ls_show_rm(server: ServerProc, tmp_path: Path, small_clip: Path) -> None:
    first, second = ok_json(run(server, tmp_path, "upload", str(small_clip), str(small_clip), "--json"))

    listing = ok_json(run(server, tmp_path, "media", "ls", "--name", "small", "--limit", "1", "--json"))
    assert [m["file_id"] for m in listing["items"]] == [second["file_id"]]
    assert listing["next_marker"]
    everything = ok_json(run(server, tmp_path, "--json", "media", "ls", "--name", "small", "--limit", "1", "--all"))
    ids = [m["file_id"] for m in everything["items"]]
    assert ids.index(second["file_id"]) < ids.index(first["file_id"])
    assert everything["next_marker"] is None

    shown = ok_json(run(server, tmp_path, "media", "show", first["file_id"], "--json"))
    assert shown["file_id"] == first["file_id"] and shown["source"]["key"] == first["key"]
    human = run(server, tmp_path, "media", "show", first["file_id"])
    assert human.returncode == 0 and first["file_id"] in human.stderr

    removed = ok_json(run(server, tmp_path, "media", "rm", first["file_id"], "--parts", "source", "--json"))
    assert removed == {"file_id": first["file_id"], "deleted": ["source"]}
    removed = ok_json(run(server, tmp_path, "media", "rm", second["file_id"], "--json"))
    assert removed["file_id"] == second["file_id"] and "source" in removed["deleted"]
    failed(run(server, tmp_path, "media", "show", second["file_id"], "--json"), "ResourceNotFound")


def test_errors_are_one_line(server: ServerProc, tmp_path: Path) -> None:
    failed(run(server, tmp_path, "media", "show", "999999999"), "ResourceNotFound")
    failed(run(server, tmp_path, "--secret-key", "wrong", "media", "ls"), "AuthFailure")
    failed(run(server, tmp_path, "--server", "http://127.0.0.1:9", "media", "ls"), "ClientError.Network")
    failed(run(server, tmp_path, "sign-upload", keys=False), "InvalidParameter")


def _decode_signature(signature: str, secret_key: str) -> dict[str, str]:
    raw = base64.b64decode(signature)
    digest, original = raw[:20], raw[20:]
    assert hmac.compare_digest(digest, hmac.new(secret_key.encode(), original, hashlib.sha1).digest())
    return {k: v[0] for k, v in parse_qs(original.decode()).items()}


def test_sign_upload(server: ServerProc, tmp_path: Path, small_clip: Path) -> None:
    args = ["sign-upload", "--expire-in", "600", "--class-id", "0", "--one-time", "--json"]
    signature = ok_json(run(server, tmp_path, *args))["signature"]
    fields = _decode_signature(signature, server.secret_key)
    assert fields["secretId"] == server.secret_id
    assert int(fields["expireTime"]) - int(fields["currentTimeStamp"]) == 600
    assert fields["oneTimeValid"] == "1"

    plain = run(server, tmp_path, "sign-upload")
    assert plain.returncode == 0, plain.stderr
    _decode_signature(plain.stdout.strip(), server.secret_key)

    # The signature alone is enough to upload, once.
    (item,) = ok_json(run(server, tmp_path, "upload", str(small_clip), "--signature", signature, "--json", keys=False))
    with Client(server.url, *server.auth) as client:
        assert client.media(item["file_id"]).name == "small.mp4"
    again = run(server, tmp_path, "upload", str(small_clip), "--signature", signature, "--json", keys=False)
    assert again.returncode == 1 and "error: AuthFailure" in again.stderr
    assert json.loads(again.stdout) == []


def test_uploads_through_signed_url_can_be_fetched(server: ServerProc, tmp_path: Path, small_clip: Path) -> None:
    (item,) = ok_json(run(server, tmp_path, "upload", str(small_clip), "--json"))
    response = httpx.get(item["url"], timeout=30)  # a signed URL needs no credentials
    assert response.status_code == 200
    assert response.content == small_clip.read_bytes()
