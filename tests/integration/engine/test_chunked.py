"""Chunk-parallel encoding end to end (issue 13): a long CFR source is encoded as chunk steps on
the worker pool, its audio once, and joined without re-encoding; the result is the single pass's
frame for frame (counts, durations, A/V start), compared with the ffprobe-shaped probe and PyAV.
Real FFmpeg, a real server (in process) with two workers."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import av
import httpx
import pytest
from sqlalchemy import select, update

from openvod.db.models import App, Event, Object, Task, TaskStep
from openvod.domain.chunks import chunk_prefix
from openvod.domain.presets import parse_params
from openvod.engine import queue
from openvod.engine.worker import Heartbeat, run_step
from openvod.media.ffmpeg import run_ffmpeg
from openvod.media.probe import probe
from openvod.media.transcode import SourceInfo, build_transcode_args
from openvod.services.presets import SYSTEM_PRESETS
from tests.conftest import make_app_server
from tests.media import make_clip
from tests.servers import InProcessServer
from tests.tus import upload_bytes

PRESET = "system-360p-h264"
FPS = 25
CHUNKED = {"OPENVOD_CHUNK_SECONDS": "4", "OPENVOD_LEASE_SECONDS": "10", "OPENVOD_HEARTBEAT_SECONDS": "1"}


@pytest.fixture(scope="module")
def clips(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("chunked-media")
    return {
        "long": make_clip(d / "long.mp4", seconds=12, width=320, height=240, fps=FPS),
        "vfr": make_clip(d / "vfr.mp4", seconds=12, width=160, height=120, fps=FPS, vfr=True),
        "short": make_clip(d / "short.mp4", seconds=3, width=160, height=120, fps=FPS),
    }


@pytest.fixture(scope="module")
def srv(tmp_path_factory: pytest.TempPathFactory) -> Iterator[InProcessServer]:
    s = make_app_server(tmp_path_factory.mktemp("chunked"), {**CHUNKED, "OPENVOD_WORKERS": "2"})
    yield s
    s.stop()


@pytest.fixture()
def idle(tmp_path: Path) -> Iterator[InProcessServer]:
    """A server that runs nothing: the test runs the steps itself, one at a time."""
    s = make_app_server(tmp_path, {**CHUNKED, "OPENVOD_WORKERS": "0"})
    yield s
    s.stop()


def _create(c: httpx.Client, clip: Path, key: str) -> str:
    fid = upload_bytes(c, clip.read_bytes(), clip.name)
    r = c.post("/v1/tasks", json={"preset": PRESET, "sources": [{"file_id": fid}], "dst_key": key})
    assert r.status_code == 201, r.text
    return str(r.json()["task_id"])


def _wait(c: httpx.Client, task_id: str, timeout: float = 90) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        t: dict[str, Any] = c.get(f"/v1/tasks/{task_id}/wait", params={"timeout": 5}).json()
        if t["state"] in ("succ", "fail", "canceled"):
            return t
        assert time.monotonic() < deadline, f"task {task_id} stuck in {t['state']}"


def _steps(s: InProcessServer, task_id: str) -> list[TaskStep]:
    with s.ctx.db.session() as db:
        return list(db.scalars(select(TaskStep).where(TaskStep.task_id == task_id).order_by(TaskStep.idx)))


def _intermediates(s: InProcessServer, task_id: str) -> list[str]:
    with s.ctx.db.session() as db:
        app_id = db.scalars(select(App.id)).one()
    return [o.key for o in s.ctx.storage.list("vod", chunk_prefix(app_id, task_id))]


def _streams(path: Path) -> dict[str, dict[str, Any]]:
    """Per stream type: the probe's start time and duration, the packet count, the keyframes."""
    info = probe(path, own_output=True)
    out: dict[str, dict[str, Any]] = {s["codec_type"]: {"start": float(s["start_time"]),
                                                        "duration": float(s["duration"]),
                                                        "packets": 0, "keyframes": []}
                                      for s in info["streams"]}
    with av.open(str(path)) as container:
        for packet in container.demux():
            if packet.size:
                kind = out[packet.stream.type]
                if packet.is_keyframe:
                    kind["keyframes"].append(kind["packets"])
                kind["packets"] += 1
    return out


def test_a_long_source_is_encoded_in_chunks_and_joins_into_the_single_pass(
        srv: InProcessServer, clips: dict[str, Path], tmp_path: Path) -> None:
    with srv.client() as c:
        tid = _create(c, clips["long"], "chunked/out.mp4")
        t = _wait(c, tid)
        assert t["state"] == "succ", t
        assert t["output"]["key"] == "chunked/out.mp4" and t["progress"] == 100
        out = tmp_path / "chunked.mp4"
        out.write_bytes(httpx.get(t["output"]["url"]).content)
    steps = _steps(srv, tid)
    assert [(st.kind, st.state) for st in steps] == [
        *[("transcode_chunk", "succ")] * 3, ("transcode_audio", "succ"), ("transcode_join", "succ")]
    assert [st.input["chunk"]["first"] for st in steps[:3]] == [0, 4 * FPS, 8 * FPS]
    assert [st.id for st in steps] == sorted(st.id for st in steps)  # the join last: the queue's lock order
    # the join ran at once (milliseconds here): on the worker's "done", not the scheduler's 1 s timer
    released = max(st.finished_at for st in steps[:4] if st.finished_at)
    assert steps[4].started_at is not None and (steps[4].started_at - released).total_seconds() < 0.5
    with srv.ctx.db.session() as db:
        task = db.get(Task, tid)
        assert task is not None and task.output is not None
        assert task.output["files"] == ["chunked/out.mp4"] and task.output["chunks"] == 3
        # the event says what a single pass's says (the join's output is the task's)
        last = [e.payload for e in db.scalars(select(Event).where(Event.type == "TaskStateChanged").order_by(Event.id))
                if e.payload["TaskId"] == tid][-1]
        assert last["State"] == "succ" and last["Output"] == task.output and last["Output"]["size"] > 0
        # only the output is an object; the intermediates were removed
        assert [o.key.split("/", 1)[1] for o in db.scalars(select(Object).where(Object.role == "transcode"))
                if "chunked/" in o.key] == ["chunked/out.mp4"]
    assert _intermediates(srv, tid) == []

    single = tmp_path / "single.mp4"  # what the one-step transcode job runs, same preset
    spec = parse_params(SYSTEM_PRESETS[PRESET].params)
    run_ffmpeg(build_transcode_args(spec, [clips["long"]], single,
                                    sources=[SourceInfo.from_probe(probe(clips["long"]))]), timeout=120)
    a, b = _streams(single), _streams(out)
    frame = 1 / FPS
    assert abs(a["video"]["packets"] - b["video"]["packets"]) <= 1 and b["video"]["packets"] == 12 * FPS
    assert abs(a["video"]["duration"] - b["video"]["duration"]) <= frame
    assert abs(b["audio"]["duration"] - b["video"]["duration"]) <= 0.05  # within ~2 AAC frames
    assert abs(a["audio"]["duration"] - b["audio"]["duration"]) <= 1024 / 44100
    assert (a["video"]["start"], a["audio"]["start"]) == (b["video"]["start"], b["audio"]["start"])
    # joined as encoded (-c copy): every chunk starts with its own keyframe, where one pass has none
    assert {0, 4 * FPS, 8 * FPS} <= set(b["video"]["keyframes"])
    assert not {4 * FPS, 8 * FPS} & set(a["video"]["keyframes"])


def test_vfr_and_short_sources_are_encoded_in_one_step(srv: InProcessServer, clips: dict[str, Path]) -> None:
    with srv.client() as c:
        tids = [_create(c, clips[name], f"one/{name}.mp4") for name in ("vfr", "short")]
        for tid in tids:
            assert _wait(c, tid)["state"] == "succ"
    for tid in tids:
        assert [(st.kind, st.state) for st in _steps(srv, tid)] == [("transcode", "succ")]


def _run_all(s: InProcessServer, heartbeat: Heartbeat) -> None:
    """Run runnable steps in this process until none is left."""
    while claims := queue.claim(s.ctx.db, ["test-worker"], 30.0):
        run_step(s.ctx, claims[0], heartbeat)


def test_cancelling_a_chunked_task_cancels_its_waiting_join(idle: InProcessServer, clips: dict[str, Path]) -> None:
    with idle.client() as c:
        tid = _create(c, clips["long"], "cancelled.mp4")
        assert [st.state for st in _steps(idle, tid)] == ["init"] * 4 + ["wait"]
        assert c.delete(f"/v1/tasks/{tid}").json()["result"] == "canceled"
        assert c.get(f"/v1/tasks/{tid}").json()["state"] == "canceled"
        assert {st.state for st in _steps(idle, tid)} == {"canceled"}
        assert c.delete(f"/v1/tasks/{tid}").json()["result"] == "deleted"


def test_a_failed_chunk_fails_the_task_and_deleting_it_removes_the_pieces(
        idle: InProcessServer, clips: dict[str, Path]) -> None:
    heartbeat = Heartbeat(idle.ctx)
    try:
        with idle.client() as c:
            tid = _create(c, clips["long"], "failed.mp4")
            doomed = _steps(idle, tid)[1]
            with idle.ctx.db.session() as db:  # the second chunk cannot be made
                db.execute(update(TaskStep).where(TaskStep.id == doomed.id).values(
                    input={**doomed.input, "params": {"f": "mp4", "VIDEO": {"vcodec": "bogus"}}}))
            _run_all(idle, heartbeat)
            t = c.get(f"/v1/tasks/{tid}").json()
            assert t["state"] == "fail" and t["error"]["code"].startswith("InvalidParameter"), t
            assert [st.state for st in _steps(idle, tid)] == ["succ", "fail", "succ", "succ", "wait"]
            assert len(_intermediates(idle, tid)) == 3  # kept while the failed chunk may be re-run
            assert c.delete(f"/v1/tasks/{tid}").json()["result"] == "deleted"
        assert _intermediates(idle, tid) == []
    finally:
        heartbeat.stop()
