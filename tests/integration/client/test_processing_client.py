"""openvod.client's processing calls (templates, task flows, processing, task detail, re-running
a step) against a real server (in this process) with one worker and real FFmpeg."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from openvod.client import ApiError, Client
from tests.conftest import Server, make_app_server
from tests.media import make_clip


@pytest.fixture(scope="module")
def srv(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    s = make_app_server(tmp_path_factory.mktemp("proc-client"), {"OPENVOD_WORKERS": "1"})
    try:
        yield s
    finally:
        s.stop()


@pytest.fixture()
def vod(srv: Server, tmp_path: Path) -> Iterator[Client]:
    with Client(srv.url, srv.secret_id, srv.secret_key, resume_store=tmp_path / "resume.json") as client:
        yield client


def test_templates_flows_and_processing(vod: Client, tmp_path: Path) -> None:
    gif = vod.create_template("AnimatedGraphics", {"Fps": 5, "Width": 160}, name="tiny gif")
    assert gif["definition"] >= 1_000_000 and gif["params"]["Fps"] == 5
    assert vod.template("AnimatedGraphics", gif["definition"])["name"] == "tiny gif"
    assert vod.update_template("AnimatedGraphics", gif["definition"], params={"Fps": 8})["params"]["Fps"] == 8
    mine = vod.list_templates("AnimatedGraphics", type="Custom")
    assert [t["definition"] for t in mine] == [gif["definition"]]
    with pytest.raises(ApiError) as bad:
        vod.create_template("AnimatedGraphics", {"Fps": 99})
    assert bad.value.code == "InvalidParameterValue.Fps"

    flow = vod.create_procedure("gif-cover", {
        "AnimatedGraphicTaskSet": [{"Definition": gif["definition"], "StartTimeOffset": 0, "EndTimeOffset": 1}],
        "CoverBySnapshotTaskSet": [{"Definition": 10, "PositionType": "Time", "PositionValue": 0.5}]})
    assert [s["kind"] for s in flow["steps"]] == ["AnimatedGraphics", "CoverBySnapshot"]
    assert [p["name"] for p in vod.list_procedures()] == ["gif-cover"]
    assert vod.update_procedure("gif-cover", comment="for the client test")["comment"] == "for the client test"

    media = vod.upload(make_clip(tmp_path / "p.mp4", seconds=2, width=320, height=240))
    task = vod.run_procedure(media.file_id, "gif-cover", session_context="ctx-7")
    assert task.file_id == media.file_id and task.procedure == "gif-cover"
    assert vod.wait_task(task.task_id, timeout=120).state == "succ"
    detail = vod.task_detail(task.task_id)
    results = detail["ProcedureTask"]["MediaProcessResultSet"]
    assert [r["Type"] for r in results] == ["AnimatedGraphics", "CoverBySnapshot"]
    assert detail["ProcedureTask"]["SessionContext"] == "ctx-7"
    assert [t.task_id for t in vod.list_tasks(file_id=media.file_id).items] == [task.task_id]

    # A step that fails can be run again, alone.
    broken = vod.upload(_garbage(tmp_path / "broken.mp4"))
    failing = vod.process_media(broken.file_id, {"CoverBySnapshotTaskSet": [
        {"Definition": 10, "PositionType": "Time", "PositionValue": 0}]})
    assert vod.wait_task(failing.task_id, timeout=60).state == "fail"
    again = vod.retry_step(failing.task_id, 0)
    assert again["ProcedureTask"]["MediaProcessResultSet"][0]["CoverBySnapshotTask"]["Status"] in (
        "WAITING", "PROCESSING", "FAIL")
    assert vod.wait_task(failing.task_id, timeout=60).state == "fail"
    with pytest.raises(ApiError) as not_failed:
        vod.retry_step(task.task_id, 0)
    assert not_failed.value.code == "FailedOperation.StepNotFailed"

    vod.delete_procedure("gif-cover")
    vod.delete_template("AnimatedGraphics", gif["definition"])
    assert vod.list_procedures() == []
    with pytest.raises(ApiError) as gone:
        vod.template("AnimatedGraphics", gif["definition"])
    assert gone.value.status == 404


def _garbage(path: Path) -> Path:
    path.write_bytes(b"\x00\x00\x00\x18ftypmp42" + os.urandom(3000))
    return path
