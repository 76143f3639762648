"""``openvod presets|tasks|transcode|events`` (``python -m openvod``) against a real server."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from openvod.client import Client
from tests.conftest import ServerProc, make_server
from tests.media import make_clip, make_garbage

pytestmark = pytest.mark.slow  # each test runs `openvod` commands as subprocesses


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProc]:
    srv = make_server(tmp_path_factory.mktemp("engine-cli"), {"OPENVOD_WORKERS": "1"})
    try:
        yield srv
    finally:
        srv.stop()


@pytest.fixture(scope="module")
def clip2(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_clip(tmp_path_factory.mktemp("media") / "clip2.mp4", seconds=2, width=320, height=240)


@pytest.fixture()
def vod(engine: ServerProc, tmp_path: Path) -> Iterator[Client]:
    with Client(engine.url, engine.secret_id, engine.secret_key, resume_store=tmp_path / "resume.json") as client:
        yield client


def run(
    server: ServerProc, tmp_path: Path, *args: str, keys: tuple[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    secret_id, secret_key = keys or (server.secret_id, server.secret_key)
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPENVOD_")}
    env.update(
        OPENVOD_SERVER=server.url,
        OPENVOD_SECRET_ID=secret_id,
        OPENVOD_SECRET_KEY=secret_key,
        HOME=str(tmp_path / "home"),  # the upload resume store lives under HOME
    )
    return subprocess.run(
        [sys.executable, "-m", "openvod", *args], env=env, capture_output=True, text=True, timeout=60, check=False
    )


def ok_json(result: subprocess.CompletedProcess[str]) -> Any:
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    return json.loads(result.stdout)  # stdout holds the JSON and nothing else


def failed(result: subprocess.CompletedProcess[str], code_prefix: str) -> None:
    assert result.returncode == 1, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    assert f"error: {code_prefix}" in result.stderr, result.stderr


def test_transcode_local_file_wait_json_then_list(engine: ServerProc, tmp_path: Path, clip2: Path) -> None:
    result = run(engine, tmp_path, "transcode", str(clip2), "--preset", "system-360p-h264", "--dst-key",
                 "cli/out.mp4", "--wait", "--json")  # fmt: skip
    task = ok_json(result)
    assert task["state"] == "succ" and task["progress"] == 100
    assert task["output"]["key"] == "cli/out.mp4" and task["output"]["size"] > 0
    assert task["sources"][0]["name"] == "clip2.mp4" and task["sources"][0]["file_id"]  # uploaded first
    assert "clip2.mp4" in result.stderr  # the upload bar, then the task bar, on stderr

    listed = ok_json(run(engine, tmp_path, "tasks", "ls", "--json"))
    assert task["task_id"] in [t["task_id"] for t in listed["items"]]
    assert listed["total"] == len(listed["items"]) and listed["next_marker"] is None
    paged = ok_json(run(engine, tmp_path, "tasks", "ls", "--limit", "1", "--all", "--state", "succ", "--json"))
    assert paged["items"] and all(t["state"] == "succ" for t in paged["items"])
    assert len(paged["items"]) == paged["total"]
    shown = ok_json(run(engine, tmp_path, "tasks", "show", task["task_id"], "--json"))
    assert shown["output"].pop("url") and task["output"].pop("url")  # signed afresh each time
    assert shown == task

    human = run(engine, tmp_path, "tasks", "ls", "--start", "20000101", "--end", "20000101")
    assert human.returncode == 0 and "TaskId" in human.stdout and "0 of 0" in human.stderr  # table; note
    failed(run(engine, tmp_path, "tasks", "ls", "--start", "yesterday"), "InvalidParameter")


def test_transcode_by_file_id_and_by_path_then_wait(
    engine: ServerProc, tmp_path: Path, vod: Client, clip2: Path
) -> None:
    media = vod.upload(clip2)
    assert media.source is not None
    by_id = ok_json(run(engine, tmp_path, "transcode", media.file_id, "--preset", "system-360p-h264", "--json"))
    path = f"/{media.source.bucket}/{media.source.key}"
    by_path = ok_json(run(engine, tmp_path, "--json", "transcode", path, "--preset", "system-360p-h264",
                          "--dst-dir", "cli-dir"))  # fmt: skip
    assert by_id["sources"][0]["file_id"] == media.file_id and by_path["sources"][0]["file_id"] is None
    for created in (by_id, by_path):
        assert created["state"] in ("init", "exec", "succ")
        done = ok_json(run(engine, tmp_path, "tasks", "wait", created["task_id"], "--timeout", "30", "--json"))
        assert done["state"] == "succ"
    assert done["output"]["key"] == "cli-dir/clip2.mp4"
    failed(run(engine, tmp_path, "transcode", "no/such.mp4", "--preset", "system-360p-h264"), "InvalidParameter.Source")


def test_tasks_wait_exits_1_for_a_failed_task(engine: ServerProc, tmp_path: Path) -> None:
    junk = make_garbage(tmp_path / "junk.mp4", 16 * 1024)
    created = ok_json(run(engine, tmp_path, "transcode", str(junk), "--preset", "system-360p-h264", "--json"))
    result = run(engine, tmp_path, "tasks", "wait", created["task_id"], "--json")
    assert result.returncode == 1, result.stderr
    task = json.loads(result.stdout)  # the final task is still printed
    assert task["state"] == "fail" and task["error"]["code"]
    assert f"error: {task['error']['code']}: {task['error']['message']}" in result.stderr
    assert "Traceback" not in result.stderr


def test_tasks_top_rm_and_wait_timeout(engine: ServerProc, tmp_path: Path, vod: Client) -> None:
    busy = vod.create_noop_task(30.0)  # cancelled below: long enough to still run on a loaded machine
    queued = vod.create_noop_task()
    topped = ok_json(run(engine, tmp_path, "tasks", "top", queued.task_id, "--json"))
    assert topped["topped"] and topped["queue_position"] == 0

    timed_out = run(engine, tmp_path, "tasks", "wait", busy.task_id, "--timeout", "0.5", "--json")
    failed(timed_out, "ClientError.Timeout")
    assert timed_out.stdout == ""
    assert ok_json(run(engine, tmp_path, "tasks", "rm", busy.task_id, "--json")) == {
        "task_id": busy.task_id,
        "result": "canceled",
    }
    failed(run(engine, tmp_path, "tasks", "wait", busy.task_id), "FailedOperation.Canceled")
    assert ok_json(run(engine, tmp_path, "tasks", "wait", queued.task_id, "--json"))["state"] == "succ"
    failed(run(engine, tmp_path, "tasks", "top", queued.task_id), "FailedOperation.TaskNotQueued")


def test_presets(engine: ServerProc, tmp_path: Path) -> None:
    listed = ok_json(run(engine, tmp_path, "presets", "ls", "--json"))["items"]
    system = {p["name"] for p in listed if p["system"]}
    assert {"system-360p-h264", "system-720p-h264", "system-hls-720p"} <= system

    params = tmp_path / "params.json"
    params.write_text(json.dumps({"f": "mp4", "VIDEO": {"vcodec": "h264", "height": 240}}))
    created = ok_json(run(engine, tmp_path, "presets", "create", "cli-240", "--params", f"@{params}",
                          "--description", "small", "--json"))  # fmt: skip
    assert (created["name"], created["description"], created["system"]) == ("cli-240", "small", False)
    assert ok_json(run(engine, tmp_path, "presets", "show", "cli-240", "--json")) == created
    both = ok_json(run(engine, tmp_path, "presets", "ls", "--names", "cli-240,system-360p-h264", "--json"))
    assert [p["name"] for p in both["items"]] == ["cli-240", "system-360p-h264"]

    bad = '{"f": "nope"}'
    failed(run(engine, tmp_path, "presets", "create", "cli-bad", "--params", bad), "InvalidParameter.PresetParam")
    failed(run(engine, tmp_path, "presets", "create", "cli-bad", "--params", "{nope"), "InvalidParameter.PresetParam")
    failed(run(engine, tmp_path, "presets", "rm", "system-360p-h264"), "FailedOperation.SystemPreset")
    assert ok_json(run(engine, tmp_path, "presets", "rm", "cli-240", "--json")) == {"name": "cli-240", "deleted": True}
    failed(run(engine, tmp_path, "presets", "show", "cli-240"), "ResourceNotFound.Preset")


def test_events_pull_confirm(engine: ServerProc, tmp_path: Path, clip2: Path) -> None:
    made = subprocess.run(
        [sys.executable, "-m", "openvod", "apps", "create", f"cli-ev-{uuid.uuid4().hex[:8]}", "--json"],
        env=engine.env, capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip
    key = json.loads(made.stdout)
    keys = (key["secret_id"], key["secret_key"])
    with Client(engine.url, *keys, resume_store=tmp_path / "resume.json") as app:
        media = app.upload(clip2)
        app.wait_task(app.create_noop_task().task_id, timeout=10)

    result = run(engine, tmp_path, "events", "pull", "--wait", "2", "--json", "--confirm", keys=keys)
    items = ok_json(result)["items"]
    assert [(e["type"], e["payload"].get("FileId") or e["payload"].get("State")) for e in items] == [
        ("NewFileUpload", media.file_id),
        ("TaskStateChanged", "init"),
        ("TaskStateChanged", "exec"),
        ("TaskStateChanged", "succ"),
    ]
    assert "confirmed 4 of 4 events" in result.stderr
    assert ok_json(run(engine, tmp_path, "events", "pull", "--wait", "0", "--json", keys=keys)) == {"items": []}
    again = ok_json(run(engine, tmp_path, "events", "confirm", items[0]["event_handle"], "--json", keys=keys))
    assert again == {"confirmed": 1}  # confirming twice is harmless
