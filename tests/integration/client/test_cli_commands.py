"""The ``openvod`` commands for what the API has beyond uploads: ``flows``, ``templates``,
``media edit/url/publish/unpublish``, ``pull`` — run as a user runs them, against a real server."""

from __future__ import annotations

import functools
import http.server
import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from openvod.client import Client
from tests.conftest import make_app_server
from tests.servers import InProcessServer

pytestmark = pytest.mark.slow  # each test runs `openvod` commands as subprocesses

COVER_GIF = {
    "CoverBySnapshotTaskSet": [{"Definition": 10, "PositionType": "Time", "PositionValue": 0.5}],
    "AnimatedGraphicTaskSet": [{"Definition": 20000, "StartTimeOffset": 0, "EndTimeOffset": 1}],
}


@pytest.fixture(scope="module")
def srv(tmp_path_factory: pytest.TempPathFactory) -> Iterator[InProcessServer]:
    """A server that may pull from this machine's loopback (the test's own web server)."""
    server = make_app_server(tmp_path_factory.mktemp("cli-commands"),
                             {"OPENVOD_PULL_ALLOW_PRIVATE": "1", "OPENVOD_WORKERS": "1"})
    yield server
    server.stop()


@pytest.fixture(scope="module")
def site(small_clip: Path) -> Iterator[str]:
    """``small_clip``'s folder over HTTP on loopback, for pull uploads."""
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(small_clip.parent))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()


def run(srv: InProcessServer, tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPENVOD_")}
    env.update(OPENVOD_SERVER=srv.url, OPENVOD_SECRET_ID=srv.secret_id, OPENVOD_SECRET_KEY=srv.secret_key,
               HOME=str(tmp_path / "home"))
    return subprocess.run([sys.executable, "-m", "openvod", *args], env=env, capture_output=True, text=True,
                          timeout=180, check=False)


def ok(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 0, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    return result.stdout


def ok_json(result: subprocess.CompletedProcess[str]) -> Any:
    return json.loads(ok(result))


def _upload(srv: InProcessServer, tmp_path: Path, clip: Path) -> str:
    return ok(run(srv, tmp_path, "upload", str(clip), "--quiet")).strip()


def test_flows_create_twice_ls_show_run_rm(srv: InProcessServer, tmp_path: Path, small_clip: Path) -> None:
    spec = tmp_path / "cover-gif.json"
    spec.write_text(json.dumps(COVER_GIF))
    created = run(srv, tmp_path, "flows", "create", "cli-flow", "--file", str(spec))
    ok(created)
    assert "created task flow cli-flow" in created.stderr and created.stdout == ""

    again = run(srv, tmp_path, "flows", "create", "cli-flow", "--file", str(spec))
    assert again.returncode == 1 and again.stdout == ""
    assert again.stderr.startswith("error: InvalidParameter.ExistedProcedureName")
    assert "add --replace" in again.stderr

    spec.write_text(json.dumps({"comment": "cover only", "media_process_task": {
        "CoverBySnapshotTaskSet": COVER_GIF["CoverBySnapshotTaskSet"]}}))
    replaced = ok_json(run(srv, tmp_path, "flows", "create", "cli-flow", "--file", str(spec), "--replace", "--json"))
    assert replaced["comment"] == "cover only"
    assert [s["kind"] for s in replaced["steps"]] == ["CoverBySnapshot"]

    listing = ok(run(srv, tmp_path, "flows", "ls"))
    (row,) = [line for line in listing.splitlines() if "cli-flow" in line]
    assert "CoverBySnapshot:10" in row and "cover only" in row
    shown = ok(run(srv, tmp_path, "flows", "show", "cli-flow"))
    assert any(line.startswith("comment") and "cover only" in line for line in shown.splitlines())

    file_id = _upload(srv, tmp_path, small_clip)
    result = run(srv, tmp_path, "flows", "run", file_id, "cli-flow", "--wait", "--timeout", "150")
    out = ok(result)
    assert any(line.split(None, 1) == ["state", "succ"] for line in out.splitlines()), out
    assert " done" not in result.stderr  # the API's words for states: succ, not "done"
    task_id = ok(run(srv, tmp_path, "flows", "run", file_id, "cli-flow")).strip()
    assert task_id and "follow it: openvod tasks wait" in run(srv, tmp_path, "flows", "run", file_id, "cli-flow").stderr
    with Client(srv.url, *srv.auth) as client:
        assert client.wait_task(task_id, timeout=150).state == "succ"

    ok(run(srv, tmp_path, "flows", "rm", "cli-flow"))
    missing = run(srv, tmp_path, "flows", "show", "cli-flow")
    assert missing.returncode == 1 and missing.stderr.startswith("error: InvalidParameter.ProcedureNameNotExist")


def test_templates_ls_show_create_rm(srv: InProcessServer, tmp_path: Path) -> None:
    listing = ok(run(srv, tmp_path, "templates", "ls", "AnimatedGraphics"))
    assert any(line.split()[:2] == ["20000", "Preset"] for line in listing.splitlines() if line.split()), listing
    shown = ok_json(run(srv, tmp_path, "templates", "show", "animatedgraphics", "20000", "--json"))
    assert shown["definition"] == 20000

    params = tmp_path / "gif.json"
    params.write_text(json.dumps({"Format": "gif", "Width": 160, "Fps": 5}))
    definition = ok(run(srv, tmp_path, "templates", "create", "AnimatedGraphics", "--file", str(params),
                        "--name", "tiny")).strip()
    assert definition.isdigit()
    custom = ok(run(srv, tmp_path, "templates", "ls", "AnimatedGraphics", "--type", "Custom"))
    assert any(line.split()[:3] == [definition, "Custom", "tiny"] for line in custom.splitlines() if line.split())
    ok(run(srv, tmp_path, "templates", "rm", "AnimatedGraphics", definition))
    gone = run(srv, tmp_path, "templates", "show", "AnimatedGraphics", definition)
    assert gone.returncode == 1 and gone.stderr.startswith("error: ")
    bad = run(srv, tmp_path, "templates", "ls", "Nope")
    assert bad.returncode == 2 and "'Nope' is not a template kind; one of: Transcode, AnimatedGraphics" in bad.stderr


def test_media_edit_and_url(srv: InProcessServer, tmp_path: Path, small_clip: Path) -> None:
    file_id = _upload(srv, tmp_path, small_clip)
    edited = ok(run(srv, tmp_path, "media", "edit", file_id, "--name", "renamed.mp4", "--description",
                    "a test clip", "--class-id", "3"))
    fields = dict(line.split(None, 1) for line in edited.splitlines())
    assert fields == {"file_id": file_id, "name": "renamed.mp4", "description": "a test clip", "class_id": "3"}
    nothing = run(srv, tmp_path, "media", "edit", file_id)
    assert nothing.returncode == 1 and "nothing to change" in nothing.stderr

    url = ok(run(srv, tmp_path, "media", "url", file_id)).strip()
    assert url.startswith(f"{srv.url}/play/{file_id}") and "\n" not in url
    page = httpx.get(url, timeout=30)  # signed: no credentials needed
    assert page.status_code == 200 and "text/html" in page.headers["content-type"]


def test_pull(srv: InProcessServer, tmp_path: Path, small_clip: Path, site: str) -> None:
    file_id = ok(run(srv, tmp_path, "pull", f"{site}/{small_clip.name}", "--name", "pulled.mp4", "--quiet")).strip()
    with Client(srv.url, *srv.auth) as client:
        media = client.media(file_id)
    assert media.name == "pulled.mp4" and media.metadata and media.metadata["Width"] == 320
    table = run(srv, tmp_path, "pull", f"{site}/{small_clip.name}")
    assert "small.mp4" in ok(table) and "pulling" in table.stderr
    missing = run(srv, tmp_path, "pull", f"{site}/no-such-file.mp4")
    assert missing.returncode == 1 and missing.stdout == ""
    assert "error: FailedOperation.PullFailed: GET " in missing.stderr and "404" in missing.stderr


def test_media_publish_and_unpublish(srv: InProcessServer, tmp_path: Path, small_clip: Path) -> None:
    file_id = _upload(srv, tmp_path, small_clip)
    published = ok(run(srv, tmp_path, "media", "publish", file_id))
    fields = {k: v.strip() for k, _, v in (line.partition(" ") for line in published.splitlines())}
    assert fields["file_id"] == file_id and fields["public"] == "true" and fields["sharing"] == "public"
    with Client(srv.url, *srv.auth) as client:
        assert client.media(file_id).raw["public"] is True
    plain = ok(run(srv, tmp_path, "media", "url", file_id)).strip()
    assert httpx.get(plain, timeout=30).status_code == 200

    private = ok_json(run(srv, tmp_path, "media", "unpublish", file_id, "--json"))
    assert private["file_id"] == file_id and private["public"] is False and private["sharing"] == "private"
    signed = ok(run(srv, tmp_path, "media", "url", file_id)).strip()
    assert signed != plain and "sign" in signed  # a private media's player URL carries a signature
    assert httpx.get(signed, timeout=30).status_code == 200
    assert httpx.get(signed.split("?")[0], timeout=30).status_code in (401, 403)
    missing = run(srv, tmp_path, "media", "publish", "999999999")
    assert missing.returncode == 1 and missing.stderr.startswith("error: ResourceNotFound")
