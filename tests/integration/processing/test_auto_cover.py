"""A cover for every uploaded video by default (``auto_cover``): a quiet CoverBySnapshot task after
the upload makes one; a flow that makes its own cover, a cover uploaded meanwhile, a file that is
not a video, and ``OPENVOD_AUTO_COVER=false`` each keep it from making or replacing one."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx

from tests import tus
from tests.conftest import make_app_server
from tests.integration.playback.outputs import make_image
from tests.media import make_audio
from tests.tus import upload_bytes

COVER_FLOW = {"CoverBySnapshotTaskSet": [{"Definition": 10, "PositionType": "Time", "PositionValue": 0}]}


def _tasks(c: httpx.Client, fid: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = c.get("/v1/tasks", params={"file_id": fid}).json()["items"]
    return items


def _wait_all(c: httpx.Client, fid: str) -> list[dict[str, Any]]:
    tasks = _tasks(c, fid)
    for t in tasks:
        assert c.get(f"/v1/tasks/{t['task_id']}/wait", params={"timeout": 60}, timeout=90).json()["state"] == "succ"
    return _tasks(c, fid)


def test_auto_cover(tmp_path: Path, small_clip: Path) -> None:
    srv = make_app_server(tmp_path / "srv", {"OPENVOD_WORKERS": "1", "OPENVOD_AUTO_COVER": "true"})
    try:
        with srv.client() as c:
            assert c.post("/v1/procedures", json={"name": "own-cover", "media_process_task": COVER_FLOW}
                          ).status_code in (200, 201)
            plain = upload_bytes(c, small_clip.read_bytes(), "plain.mp4")
            own = upload_bytes(c, small_clip.read_bytes(), "own.mp4", procedure="own-cover")
            audio = upload_bytes(c, make_audio(tmp_path / "a.m4a", 1).read_bytes(), "a.m4a")
            tasks = _wait_all(c, plain)
            assert [(t["kind"], t["procedure"]) for t in tasks] == [("process_media", None)]
            m = c.get(f"/v1/media/{plain}").json()
            assert m["cover_url"] and m["outputs"]["cover"]["url"] == m["cover_url"]
            assert httpx.get(m["cover_url"], timeout=30).content[:3] == b"\xff\xd8\xff"  # a JPEG
            events = c.get("/v1/events/recent", params={"type": "ProcedureStateChanged"}).json()["items"]
            assert all(e["payload"].get("FileId") != plain for e in events)  # quiet: nobody asked for it
            assert [t["procedure"] for t in _wait_all(c, own)] == ["own-cover"]  # the flow's cover only
            assert c.get(f"/v1/media/{own}").json()["cover_url"]
            assert _tasks(c, audio) == []
    finally:
        srv.stop()


def test_an_uploaded_cover_wins_and_the_setting_turns_it_off(tmp_path: Path, small_clip: Path) -> None:
    # No workers: the cover task waits, the uploaded cover comes first; then a worker runs it.
    srv = make_app_server(tmp_path / "srv", {"OPENVOD_WORKERS": "0", "OPENVOD_AUTO_COVER": "true"})
    off = make_app_server(tmp_path / "off", {"OPENVOD_WORKERS": "0", "OPENVOD_AUTO_COVER": "false"})
    try:
        with off.client() as c:
            assert _tasks(c, upload_bytes(c, small_clip.read_bytes(), "clip.mp4")) == []
        with srv.client() as c:
            data = small_clip.read_bytes()
            url = tus.create(c, len(data), filename="clip.mp4").headers["Location"]
            r = tus.patch(c, url, 0, data)
            assert r.status_code == 204, r.text
            fid = r.headers["OpenVOD-File-Id"]
            assert [t["state"] for t in _tasks(c, fid)] == ["init"]
            image = make_image(tmp_path / "mine.jpg").read_bytes()
            assert c.put(f"{url}/cover", content=image,
                         headers={"Content-Type": "image/jpeg"}).status_code == 200
            mine = urlsplit(c.get(f"/v1/media/{fid}").json()["cover_url"]).path
            assert mine.endswith("/cover/upload.jpg")
    finally:
        off.stop()
    srv.stop()
    # The same data dir with a worker: the waiting cover task runs and leaves the uploaded cover.
    same_db = {k: v for k, v in srv.env.items() if k == "OPENVOD_DATABASE_URL"}  # PostgreSQL: the same database
    again = make_app_server(tmp_path / "srv", {"OPENVOD_WORKERS": "1", "OPENVOD_AUTO_COVER": "true", **same_db})
    try:
        with again.client() as c:
            (task,) = _wait_all(c, fid)
            assert task["state"] == "succ"
            m = c.get(f"/v1/media/{fid}").json()
            assert urlsplit(m["cover_url"]).path == mine == urlsplit(m["outputs"]["cover"]["url"]).path
    finally:
        again.stop()
