"""Uploads that are not media: stored and marked (``media_type: "unknown"``, ``probe_error`` with a
code), and the flow named at upload is not started (``procedure_skipped``, no task, the
``NewFileUpload`` event says why) — while images, audio and video get their type and a video
still runs its flow."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import make_app_server
from tests.integration.playback.outputs import make_image
from tests.media import make_audio, make_garbage
from tests.servers import InProcessServer
from tests.tus import upload_bytes

FLOW = {"SnapshotByTimeOffsetTaskSet": [{"Definition": 10, "ExtTimeOffsetSet": ["0s"]}]}


@pytest.fixture(scope="module")
def srv(tmp_path_factory: pytest.TempPathFactory) -> Iterator[InProcessServer]:
    # No workers: what is under test is what the upload queues, not the processing.
    server = make_app_server(tmp_path_factory.mktemp("notmedia"), {"OPENVOD_WORKERS": "0",
                                                                   "OPENVOD_AUTO_COVER": "false"})
    with server.client() as c:
        assert c.post("/v1/procedures", json={"name": "thumbs", "media_process_task": FLOW}).status_code in (200, 201)
    yield server
    server.stop()


def _tasks_of(c: httpx.Client, file_id: str) -> list[dict[str, Any]]:
    r = c.get("/v1/tasks", params={"file_id": file_id})
    assert r.status_code == 200, r.text
    items: list[dict[str, Any]] = r.json()["items"]
    return items


def test_a_file_that_is_not_media_is_stored_marked_and_starts_no_flow(srv: InProcessServer, tmp_path: Path) -> None:
    data = make_garbage(tmp_path / "notes.bin").read_bytes()
    with srv.client() as c:
        fid = upload_bytes(c, data, "notes.bin", procedure="thumbs")
        m = c.get(f"/v1/media/{fid}").json()
        assert m["media_type"] == "unknown" and m["probe"] is None
        assert set(m["probe_error"]) == {"code", "message"} and m["probe_error"]["message"]
        assert m["probe_error"]["code"].startswith(("FailedOperation.", "InvalidParameter."))
        assert m["procedure"] == "thumbs"
        skipped = m["procedure_skipped"]
        assert skipped["code"] == "FailedOperation.NotMedia"
        assert "'thumbs' was not started" in skipped["message"] and m["probe_error"]["message"] in skipped["message"]
        assert m["source"]["size"] == len(data)  # stored whole: it may be an attachment
        assert c.get(m["source"]["url"]).content == data
        assert _tasks_of(c, fid) == []  # no task, so no repeated failures and no "run again"
        listed = c.get("/v1/media", params={"name": "notes.bin"}).json()["items"]
        assert [(x["media_type"], x["procedure_skipped"]["code"]) for x in listed] == [
            ("unknown", "FailedOperation.NotMedia")]
        events = c.get("/v1/events/recent", params={"type": "NewFileUpload"}).json()["items"]
        payload = next(e["payload"] for e in events if e["payload"]["FileId"] == fid)
        assert payload["ProcedureTaskId"] == "" and payload["Procedure"] == "thumbs"
        assert payload["ProcedureSkipped"] == {"Code": "FailedOperation.NotMedia", "Message": skipped["message"]}
        assert payload["MediaBasicInfo"]["Type"] == "unknown"


def test_media_types_and_a_video_runs_its_flow(srv: InProcessServer, small_clip: Path, tmp_path: Path) -> None:
    png = make_image(tmp_path / "still.png")
    with srv.client() as c:
        kinds = {}
        for name, data in (("still.png", png.read_bytes()),
                           ("tone.m4a", make_audio(tmp_path / "tone.m4a", 1).read_bytes())):
            fid = upload_bytes(c, data, name)
            m = c.get(f"/v1/media/{fid}").json()
            kinds[name] = (m["media_type"], m["probe_error"], m["procedure_skipped"])
        assert kinds == {"still.png": ("image", None, None),
                         "tone.m4a": ("audio", None, None)}
        fid = upload_bytes(c, small_clip.read_bytes(), "clip.mp4", procedure="thumbs")
        m = c.get(f"/v1/media/{fid}").json()
        assert (m["media_type"], m["probe_error"], m["procedure_skipped"]) == ("video", None, None)
        tasks = _tasks_of(c, fid)
        assert [(t["procedure"], t["state"]) for t in tasks] == [("thumbs", "init")]
