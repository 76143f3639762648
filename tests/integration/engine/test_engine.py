"""The job engine end to end: a real server with its worker pool, real FFmpeg. The tests on
``engine_each_db`` run twice, on SQLite and on PostgreSQL (where the server and its worker
processes wake each other through LISTEN/NOTIFY); the rest, on SQLite."""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from openvod.db.models import Event
from openvod.db.session import Database
from tests.conftest import ServerProc, make_app_server, make_server, server_database
from tests.procs import all_ffmpegs_with, ffmpegs_under
from tests.tus import upload_bytes

FAST = {"OPENVOD_WORKERS": "1", "OPENVOD_LEASE_SECONDS": "4", "OPENVOD_HEARTBEAT_SECONDS": "1"}


@pytest.fixture()
def engine(tmp_path: Path) -> Iterator[ServerProc]:
    srv = make_server(tmp_path, FAST)
    yield srv
    srv.stop()


@pytest.fixture()
def engine_each_db(tmp_path: Path, database_url: str | None) -> Iterator[ServerProc]:
    """:func:`engine` on SQLite, then on a fresh PostgreSQL database."""
    srv = make_server(tmp_path, {**FAST, **({"OPENVOD_DATABASE_URL": database_url} if database_url else {})})
    yield srv
    srv.stop()


def _database(srv: ServerProc) -> Database:
    return server_database(srv)


def wait_state(c: httpx.Client, task_id: str, states: set[str], timeout: float = 60) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        t = c.get(f"/v1/tasks/{task_id}/wait", params={"timeout": 1}).json()
        if t["state"] in states:
            return t
        assert time.monotonic() < deadline, f"task {task_id} stuck in {t['state']}"


def noop(c: httpx.Client, sleep: float = 0.0, **kw: Any) -> str:
    r = c.post("/v1/tasks", json={"kind": "noop", "sleep": sleep, **kw})
    assert r.status_code == 201, r.text
    return str(r.json()["task_id"])


@pytest.mark.slow
def test_noop_lifecycle_and_events(engine_each_db: ServerProc) -> None:
    with engine_each_db.client() as c:
        tid = noop(c, ext_param="hello")
        assert len(tid) == 40
        t = c.get(f"/v1/tasks/{tid}/wait", params={"timeout": 30}).json()
        assert t["state"] == "succ" and t["progress"] == 100 and t["ext_param"] == "hello"
        assert t["started_at"] and t["finished_at"]
    db = _database(engine_each_db)
    try:
        with db.session() as s:
            payloads = s.scalars(select(Event.payload).where(Event.type == "TaskStateChanged").order_by(Event.id))
            states = [p["State"] for p in payloads if p["TaskId"] == tid]
    finally:
        db.dispose()
    assert states == ["init", "exec", "succ"]


@pytest.mark.slow
def test_top_runs_next(engine: ServerProc) -> None:
    with engine.client() as c:
        busy = noop(c, 2.0)
        wait_state(c, busy, {"exec"})
        a, b, cc = noop(c, 0.5), noop(c, 0.5), noop(c, 0.5)
        assert [c.get(f"/v1/tasks/{t}").json()["queue_position"] for t in (a, b, cc)] == [0, 1, 2]
        assert c.post(f"/v1/tasks/{cc}/top").json()["queue_position"] == 0
        assert c.get(f"/v1/tasks/{a}").json()["queue_position"] == 1
        wait_state(c, cc, {"succ"})
        assert c.get(f"/v1/tasks/{a}").json()["state"] in ("init", "exec")
        assert c.get(f"/v1/tasks/{b}").json()["state"] == "init"
        r = c.post(f"/v1/tasks/{cc}/top")
        assert r.status_code == 409 and r.json()["error"]["code"] == "FailedOperation.TaskNotQueued"
        for t in (a, b):
            wait_state(c, t, {"succ"})


@pytest.mark.slow
def test_cancel_queued_and_delete_finished(engine_each_db: ServerProc) -> None:
    with engine_each_db.client() as c:
        busy = noop(c, 1.0)
        queued = noop(c)
        assert c.delete(f"/v1/tasks/{queued}").json()["result"] == "canceled"
        assert c.get(f"/v1/tasks/{queued}").json()["state"] == "canceled"
        wait_state(c, busy, {"succ"})
        time.sleep(0.5)
        assert c.get(f"/v1/tasks/{queued}").json()["state"] == "canceled"  # never ran
        assert c.delete(f"/v1/tasks/{busy}").json()["result"] == "deleted"
        assert c.get(f"/v1/tasks/{busy}").status_code == 404


def test_listing_pages_each_task_once_while_tasks_are_created(tmp_path: Path) -> None:
    srv = make_app_server(tmp_path, {"OPENVOD_WORKERS": "0"})  # nothing runs: only listing matters
    try:
        with srv.client() as c:
            before = [noop(c) for _ in range(25)]
            stop = threading.Event()

            def creator() -> None:
                with srv.client() as c2:
                    while not stop.is_set():
                        noop(c2)

            th = threading.Thread(target=creator)
            th.start()
            seen: list[str] = []
            marker = None
            day = time.strftime("%Y%m%d", time.gmtime())
            while True:
                page = c.get("/v1/tasks", params={"start": day, "end": day, "limit": 7,
                                                  **({"marker": marker} if marker else {})}).json()
                seen += [t["task_id"] for t in page["items"]]
                marker = page["next_marker"]
                if not marker or len(seen) > 60:
                    break
            stop.set()
            th.join()
            assert len(seen) == len(set(seen))
            assert set(before) <= set(seen)
            assert page["total"] >= 25
            r = c.get("/v1/tasks", params={"start": "2026-11-01"})
            assert r.status_code == 400
    finally:
        srv.stop()


@pytest.mark.slow
def test_list_long_poll_answers_on_change_newest_first(engine_each_db: ServerProc) -> None:
    with engine_each_db.client() as c:
        first = c.get("/v1/tasks", params={"order": "desc"}).json()
        assert first["items"] == [] and first["version"] and first["now"].endswith("Z")
        # Nothing changes: the long-poll holds for its timeout, then answers the same version.
        t0 = time.monotonic()
        same = c.get("/v1/tasks", params={"order": "desc", "since": first["version"], "timeout": 1.5}).json()
        assert time.monotonic() - t0 >= 1.4 and same["version"] == first["version"]
        # A task created while the long-poll waits ends it early, with the new page.
        with ThreadPoolExecutor(1) as pool:
            waiting = pool.submit(c.get, "/v1/tasks", params={"order": "desc", "since": first["version"],
                                                              "timeout": 30})
            time.sleep(0.3)
            t0 = time.monotonic()
            with engine_each_db.client() as c2:
                a = noop(c2, 1.0)
            page = waiting.result(timeout=30).json()
        assert time.monotonic() - t0 < 5
        assert page["version"] != first["version"] and page["items"][0]["task_id"] == a
        b = noop(c)
        page = c.get("/v1/tasks", params={"order": "desc", "limit": 1}).json()
        assert [t["task_id"] for t in page["items"]] == [b] and page["next_marker"] == b
        older = c.get("/v1/tasks", params={"order": "desc", "limit": 1, "marker": b}).json()
        assert [t["task_id"] for t in older["items"]] == [a]
        # Bad parameters get a 400 with the field named.
        wait_state(c, b, {"succ"})
        r = c.get("/v1/tasks", params={"order": "sideways"})
        assert r.status_code == 400, r.text


def test_transcode_task_succeeds_with_meta(engine_each_db: ServerProc, small_clip: Path) -> None:
    with engine_each_db.client() as c:
        fid = upload_bytes(c, small_clip.read_bytes(), "src.mp4")
        r = c.post("/v1/tasks", json={"preset": "system-360p-h264", "sources": [{"file_id": fid}],
                                      "dst_key": "out/t1.mp4", "ext_param": "x"})
        assert r.status_code == 201, r.text
        t = wait_state(c, r.json()["task_id"], {"succ", "fail"})
        assert t["state"] == "succ", t
        assert t["output"]["key"] == "out/t1.mp4" and t["output"]["size"] > 0
        assert httpx.get(t["output"]["url"]).status_code == 200
        meta = c.get(f"/v1/tasks/{t['task_id']}/meta").json()
        assert meta["sources"][0]["streams"] and meta["output"]["streams"]
        heights = [s.get("height") for s in meta["output"]["streams"] if s["codec_type"] == "video"]
        assert heights == [360]


def test_concatenation_in_index_order(engine: ServerProc, tmp_path: Path) -> None:
    from tests.media import make_clip

    a = make_clip(tmp_path / "a.mp4", seconds=1, width=320, height=240)
    b = make_clip(tmp_path / "b.mp4", seconds=2, width=640, height=360)
    with engine.client() as c:
        fa, fb = upload_bytes(c, a.read_bytes(), "a.mp4"), upload_bytes(c, b.read_bytes(), "b.mp4")
        r = c.post("/v1/tasks", json={"preset": "system-360p-h264", "dst_key": "cat.mp4",
                                      "sources": [{"file_id": fb, "index": 1}, {"file_id": fa, "index": 0}]})
        t = wait_state(c, r.json()["task_id"], {"succ", "fail"})
        assert t["state"] == "succ", t
        meta = c.get(f"/v1/tasks/{t['task_id']}/meta").json()
        assert abs(float(meta["output"]["format"]["duration"]) - 3.0) < 0.3
        assert [s["name"] for s in t["sources"]] == ["a.mp4", "b.mp4"]


def test_corrupt_source_fails_cleanly_and_worker_survives(engine: ServerProc) -> None:
    with engine.client() as c:
        fid = upload_bytes(c, b"\x00\x00\x00\x18ftypmp42" + os.urandom(5000), "bad.mp4")
        r = c.post("/v1/tasks", json={"preset": "system-360p-h264", "sources": [{"file_id": fid}]})
        t = wait_state(c, r.json()["task_id"], {"succ", "fail"})
        assert t["state"] == "fail"
        assert t["error"]["code"] and "Traceback" not in t["error"]["message"]
        assert "corrupt" in t["error"]["message"] or "not a media file" in t["error"]["message"]
        assert str(engine.data_dir) not in t["error"]["message"] and "/vod/media/" in t["error"]["message"]
        assert wait_state(c, noop(c), {"succ"})["state"] == "succ"


def _long_transcode(c: httpx.Client, clip: Path, key: str) -> str:
    fid = upload_bytes(c, clip.read_bytes(), "long.mp4")
    r = c.post("/v1/tasks", json={"preset": "system-1080p-h264", "sources": [{"file_id": fid}], "dst_key": key})
    assert r.status_code == 201, r.text
    return str(r.json()["task_id"])


def _wait_ffmpeg(srv: ServerProc, timeout: float = 30) -> list[int]:
    assert srv.proc is not None
    deadline = time.monotonic() + timeout
    while not (found := ffmpegs_under(srv.proc.pid)):
        assert time.monotonic() < deadline, "no ffmpeg started"
        time.sleep(0.1)
    return found


@pytest.mark.slow
def test_delete_running_task_kills_ffmpeg(engine_each_db: ServerProc, clip10: Path) -> None:
    with engine_each_db.client() as c:
        tid = _long_transcode(c, clip10, "killed.mp4")
        pids = _wait_ffmpeg(engine_each_db)
        t0 = time.monotonic()
        assert c.delete(f"/v1/tasks/{tid}").json()["result"] == "canceled"
        while any(os.path.exists(f"/proc/{p}") and "ffmpeg" in Path(f"/proc/{p}/cmdline").read_text(errors="ignore")
                  for p in pids):
            assert time.monotonic() - t0 < 2.0, "ffmpeg still running 2 s after the delete"
            time.sleep(0.05)
        assert c.get(f"/v1/tasks/{tid}").json()["state"] == "canceled"
        assert c.get("/v1/objects/vod/killed.mp4").status_code == 404
        assert wait_state(c, noop(c), {"succ"})["state"] == "succ"


@pytest.mark.slow
def test_sigkill_worker_mid_transcode_is_retried(engine: ServerProc, clip10: Path) -> None:
    assert engine.proc is not None
    with engine.client() as c:
        tid = _long_transcode(c, clip10, "retried.mp4")
        ff = _wait_ffmpeg(engine)
        worker = int(Path(f"/proc/{ff[0]}/stat").read_text().rsplit(")", 1)[1].split()[1])
        assert worker != engine.proc.pid
        os.kill(worker, signal.SIGKILL)
        # The output may appear a moment before the task is marked succ (it is moved into place,
        # then the step finishes), but never partly written: every size seen is the final one.
        sizes_seen: set[int] = set()
        deadline = time.monotonic() + 120
        while (t := c.get(f"/v1/tasks/{tid}").json())["state"] not in ("succ", "fail"):
            r = c.head("/v1/objects/vod/retried.mp4")
            if r.status_code == 200:
                sizes_seen.add(int(r.headers["content-length"]))
            assert time.monotonic() < deadline
            time.sleep(0.2)
        assert t["state"] == "succ" and t["attempts"] == 2
        final = c.head("/v1/objects/vod/retried.mp4")
        assert final.status_code == 200
        assert sizes_seen <= {int(final.headers["content-length"])}
        assert not all_ffmpegs_with(str(engine.data_dir))  # the killed worker's ffmpeg died too


@pytest.mark.slow
def test_server_crash_with_queue_loses_nothing(tmp_path: Path, small_clip: Path) -> None:
    srv = make_server(tmp_path, FAST)
    try:
        with srv.client() as c:
            fid = upload_bytes(c, small_clip.read_bytes(), "q.mp4")
            ids = [c.post("/v1/tasks", json={"preset": "system-360p-h264", "sources": [{"file_id": fid}],
                                             "dst_key": f"crash/{i}.mp4"}).json()["task_id"] for i in range(6)]
            _wait_ffmpeg(srv)
        srv.restart(crash=True)
        with srv.client() as c:
            final = [wait_state(c, t, {"succ", "fail"}, timeout=120) for t in ids]
        assert [t["state"] for t in final] == ["succ"] * 6
    finally:
        srv.stop()
