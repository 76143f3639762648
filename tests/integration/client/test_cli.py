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
    # The table is the command's output: stdout, one whole row per media (grep finds it); the
    # progress bar is on stderr.
    (row,) = [line for line in result.stdout.splitlines() if "small.mp4" in line]
    assert "320x240" in row
    assert "small.mp4" in result.stderr and "320x240" not in result.stderr


def test_upload_quiet_prints_only_file_ids(server: ServerProc, tmp_path: Path, small_clip: Path) -> None:
    result = run(server, tmp_path, "upload", str(small_clip), "--quiet")
    assert result.returncode == 0, result.stderr
    file_id = result.stdout.strip()  # FID=$(openvod upload clip.mp4 --quiet)
    assert result.stdout == f"{file_id}\n" and file_id.isdigit()
    assert result.stderr == ""  # no progress bar either
    with Client(server.url, *server.auth) as client:
        assert client.media(file_id).name == "small.mp4"
    two = run(server, tmp_path, "upload", str(small_clip), str(small_clip), "-q")
    assert len(two.stdout.split()) == 2 and all(i.isdigit() for i in two.stdout.split())


def test_upload_of_a_file_that_is_not_media_is_stored_with_a_warning(server: ServerProc, tmp_path: Path) -> None:
    notes = tmp_path / "notes.txt"
    notes.write_text("minutes of the meeting\n" * 50)
    result = run(server, tmp_path, "upload", str(notes), "--quiet")
    assert result.returncode == 0, result.stderr  # stored: it may be an attachment
    file_id = result.stdout.strip()
    assert result.stdout == f"{file_id}\n" and file_id.isdigit()  # --quiet: the warning goes to stderr only
    assert f"warning: notes.txt ({file_id}) was stored, but is not a media file" in result.stderr
    with Client(server.url, *server.auth) as client:
        assert client.media(file_id).probe_error


def test_media_ls_table_on_stdout_notes_on_stderr(server: ServerProc, tmp_path: Path, small_clip: Path) -> None:
    ok_json(run(server, tmp_path, "upload", str(small_clip), str(small_clip), "--json"))
    result = run(server, tmp_path, "media", "ls", "--name", "small", "--limit", "1")
    assert result.returncode == 0, result.stderr
    rows = [line for line in result.stdout.splitlines() if "small.mp4" in line]
    assert len(rows) == 1 and "320x240" in rows[0]  # `openvod media ls | grep small` works
    assert "more: openvod media ls --marker" in result.stderr and "more:" not in result.stdout


def test_media_show_keeps_urls_whole(server: ServerProc, tmp_path: Path, small_clip: Path) -> None:
    (item,) = ok_json(run(server, tmp_path, "upload", str(small_clip), "--json"))
    raw = ok_json(run(server, tmp_path, "media", "show", item["file_id"], "--json"))
    result = run(server, tmp_path, "media", "show", item["file_id"])
    assert result.returncode == 0, result.stderr
    assert "…" not in result.stdout
    lines = {k: v.strip() for k, _, v in (line.partition(" ") for line in result.stdout.splitlines())}
    assert lines["file_id"] == item["file_id"]
    assert lines["metadata.Width"] == "320"
    assert raw["source"]["url"] in result.stdout  # a signed URL of a few hundred characters, whole
    # A fresh signature each time: compare without the query.
    assert json.loads(lines["source"])["url"].split("?")[0] == raw["source"]["url"].split("?")[0]


def test_failed_upload_shows_no_full_bar(server: ServerProc, tmp_path: Path, small_clip: Path) -> None:
    signature = run(server, tmp_path, "sign-upload", "--one-time").stdout.strip()
    assert run(server, tmp_path, "upload", str(small_clip), "--signature", signature, keys=False).returncode == 0
    again = run(server, tmp_path, "upload", str(small_clip), "--signature", signature, keys=False)
    assert again.returncode == 1 and again.stdout == ""
    assert "error: AuthFailure" in again.stderr
    assert "100%" not in again.stderr


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
    assert human.returncode == 0 and first["file_id"] in human.stdout

    removed = ok_json(run(server, tmp_path, "media", "rm", first["file_id"], "--parts", "source", "--json"))
    assert removed == {"file_id": first["file_id"], "deleted": ["source"]}
    removed = ok_json(run(server, tmp_path, "media", "rm", second["file_id"], "--json"))
    assert removed["file_id"] == second["file_id"] and "source" in removed["deleted"]
    failed(run(server, tmp_path, "media", "show", second["file_id"], "--json"), "ResourceNotFound")


def test_errors_are_one_line_with_a_hint(server: ServerProc, tmp_path: Path) -> None:
    failed(run(server, tmp_path, "media", "show", "999999999"), "ResourceNotFound")
    assert "hint:" not in run(server, tmp_path, "media", "show", "999999999").stderr  # nothing to suggest

    wrong_key = run(server, tmp_path, "--secret-key", "wrong", "media", "ls")
    failed(wrong_key, "AuthFailure.SignatureFailure")  # the id is known: the key is what is wrong
    assert "hint: the SecretKey does not match the SecretId: check OPENVOD_SECRET_KEY" in wrong_key.stderr

    unknown = run(server, tmp_path, "--secret-id", "AKIDnobody", "media", "ls")
    failed(unknown, "AuthFailure.SecretIdNotFound")
    assert "check OPENVOD_SECRET_ID" in unknown.stderr and "OPENVOD_SERVER" in unknown.stderr

    for no_keys in (run(server, tmp_path, "media", "ls", keys=False), run(server, tmp_path, "sign-upload", keys=False)):
        assert no_keys.returncode == 1 and no_keys.stdout == "" and "Traceback" not in no_keys.stderr
        assert "hint: set OPENVOD_SECRET_ID and OPENVOD_SECRET_KEY" in no_keys.stderr
        assert "or pass --secret-id and --secret-key" in no_keys.stderr
    failed(run(server, tmp_path, "sign-upload", keys=False), "InvalidParameter.Credentials")
    failed(run(server, tmp_path, "media", "ls", keys=False), "AuthFailure.MissingCredentials")
    half = run(server, tmp_path, "--secret-id", server.secret_id, "media", "ls", keys=False)
    failed(half, "InvalidParameter.Credentials")
    assert "without its SecretKey" in half.stderr

    offline = run(server, tmp_path, "--server", "http://127.0.0.1:9", "media", "ls")
    failed(offline, "ClientError.Network")
    assert "hint: is the server running?" in offline.stderr


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
