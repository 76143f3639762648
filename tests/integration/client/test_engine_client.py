"""openvod.client's presets, tasks and events against a real ``openvod serve`` with one worker."""

from __future__ import annotations

import json
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from openvod.client import ApiError, Client, Event, Task, WaitTimeout
from openvod.errors import OpenVODError
from tests.conftest import Server, make_app_server
from tests.integration.events.conftest import wait_until
from tests.media import make_clip

SMALL_PARAMS = {
    "f": "mp4",
    "VIDEO": {"vcodec": "h264", "width": 320, "height": 240, "vb": "300k"},
    "AUDIO": {"acodec": "aac", "ab": "64k"},
}


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    # Tenant apps' callbacks to this test's loopback receivers need the operator's permission.
    env = {"OPENVOD_WORKERS": "1", "OPENVOD_CALLBACK_ALLOW_PRIVATE": "1"}
    srv = make_app_server(tmp_path_factory.mktemp("engine"), env)
    try:
        yield srv
    finally:
        srv.stop()


@pytest.fixture()
def vod(engine: Server, tmp_path: Path) -> Iterator[Client]:
    with Client(engine.url, engine.secret_id, engine.secret_key, resume_store=tmp_path / "resume.json") as client:
        yield client


@pytest.fixture(scope="module")
def clip2(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_clip(tmp_path_factory.mktemp("media") / "clip2.mp4", seconds=2, width=320, height=240)


@pytest.fixture(scope="module")
def clip24(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Long enough (≈3 s to transcode) for progress to be reported on the way."""
    return make_clip(tmp_path_factory.mktemp("media") / "clip24.mp4", seconds=24, width=640, height=360)


def own_app(srv: Server, tmp_path: Path) -> Client:
    """A client for a new app, so its events are only those the test causes."""
    out = subprocess.run(
        [sys.executable, "-m", "openvod", "apps", "create", f"ev-{uuid.uuid4().hex[:8]}", "--json"],
        env=srv.env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    key = json.loads(out.stdout)
    return Client(srv.url, key["secret_id"], key["secret_key"], resume_store=tmp_path / "own-resume.json")


def test_preset_crud(vod: Client) -> None:
    created = vod.create_preset("web-small", SMALL_PARAMS, description="tiny")
    assert (created.name, created.type, created.description, created.system) == ("web-small", "avop", "tiny", False)
    assert created.params == SMALL_PARAMS and created.created_at is not None
    assert vod.preset("web-small") == created

    listed = vod.list_presets()
    names = [p.name for p in listed]
    assert names[0] == "web-small" and "system-360p-h264" in names  # own first, then the system ones
    assert all(p.system for p in listed[1:])
    (only,) = vod.list_presets(names=["web-small", "missing"], detail=False)
    assert only.name == "web-small" and only.params is None
    assert {p.type for p in vod.list_presets(type="avop")} == {"avop"}

    updated = vod.update_preset("web-small", description="still tiny", params={**SMALL_PARAMS, "f": "mkv"})
    assert updated.description == "still tiny" and updated.params is not None and updated.params["f"] == "mkv"
    assert vod.update_preset("web-small", description="x").params == updated.params  # None keeps params

    with pytest.raises(ApiError) as bad:
        vod.create_preset("web-bad", {"f": "mp4", "VIDEO": {"vcodec": "bogus"}})
    assert (bad.value.status, bad.value.code) == (400, "InvalidParameter.PresetParam")
    assert "vcodec" in bad.value.message
    with pytest.raises(ApiError) as taken:
        vod.create_preset("web-small", SMALL_PARAMS)
    assert taken.value.code == "FailedOperation.PresetExists"
    with pytest.raises(ApiError) as system:
        vod.delete_preset("system-360p-h264")
    assert system.value.code == "FailedOperation.SystemPreset"

    vod.delete_preset("web-small")
    with pytest.raises(ApiError) as gone:
        vod.preset("web-small")
    assert (gone.value.status, gone.value.code) == (404, "ResourceNotFound.Preset")


class Recorder(httpx.HTTPTransport):
    """The real transport, noting when each request went out."""

    def __init__(self) -> None:
        super().__init__()
        self.sent: list[tuple[float, str, str]] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.sent.append((time.monotonic(), request.method, request.url.path))
        return super().handle_request(request)


@pytest.mark.slow
def test_transcode_and_wait_with_progress(engine: Server, tmp_path: Path, clip24: Path) -> None:
    recorder = Recorder()
    with Client(
        engine.url, engine.secret_id, engine.secret_key, transport=recorder, resume_store=tmp_path / "r.json"
    ) as vod:
        media = vod.upload(clip24)
        task = vod.create_task(preset="system-360p-h264", sources=media.file_id, dst_key="out/a.mp4", ext_param="x")
        assert task.kind == "transcode" and task.preset == "system-360p-h264" and task.ext_param == "x"
        assert task.raw["sources"][0]["file_id"] == media.file_id

        seen: list[Task] = []
        waited_from = len(recorder.sent)
        done = vod.wait_task(task.task_id, timeout=60, on_progress=seen.append)
        assert done.state == "succ" and done.finished, done.raw
        assert done.output is not None and done.output.key == "out/a.mp4" and (done.output.size or 0) > 0
        assert done.output.url and httpx.get(done.output.url, timeout=10).status_code == 200
        assert seen and seen[-1] == done
        progress = [t.progress for t in seen]
        assert progress == sorted(progress) and progress[-1] == 100

        # One long-poll per report, never two within a second.
        polls = recorder.sent[waited_from:]
        assert len(polls) == len(seen) and all(path.endswith("/wait") for _, _, path in polls)
        assert all(b[0] - a[0] >= 0.95 for a, b in zip(polls, polls[1:], strict=False)), polls

        meta = vod.task_meta(task.task_id)
        assert meta.sources[0]["streams"] and meta.output is not None
        assert [s.get("height") for s in meta.output["streams"] if s["codec_type"] == "video"] == [360]


def test_sources_by_path_and_in_order(vod: Client, clip2: Path) -> None:
    media = vod.upload(clip2)
    assert media.source is not None
    path = f"/{media.source.bucket}/{media.source.key}"
    task = vod.create_task(preset="system-360p-h264", sources=[media, path], dst_dir="cat")
    assert [(s["index"], s["file_id"]) for s in task.raw["sources"]] == [(0, media.file_id), (1, None)]
    vod.delete_task(task.task_id)


def test_wait_timeout_is_quick_and_typed(vod: Client) -> None:
    task = vod.create_noop_task(3.0)
    began = time.monotonic()
    with pytest.raises(WaitTimeout) as timed_out:
        vod.wait_task(task.task_id, timeout=1)
    elapsed = time.monotonic() - began
    assert 0.9 <= elapsed < 1.8, elapsed
    err = timed_out.value
    assert isinstance(err, TimeoutError) and isinstance(err, OpenVODError)
    assert err.code == "ClientError.Timeout" and task.task_id in err.message
    assert err.task is not None and err.task.state in ("init", "exec")
    assert vod.delete_task(task.task_id) == "canceled"
    assert vod.wait_task(task.task_id, timeout=5).state == "canceled"  # finished: answers at once


def test_top_and_delete(vod: Client) -> None:
    busy = vod.create_noop_task(1.0)
    # Running before the others are queued: else it may be claimed between their creations, and
    # two of them would each see one step ahead.
    wait_until(lambda: vod.task(busy.task_id).state == "exec" or None, what="the busy task running")
    a, b, c = (vod.create_noop_task() for _ in range(3))
    assert (a.queue_position or 0) < (b.queue_position or 0) < (c.queue_position or 0)
    topped = vod.top_task(c.task_id)
    assert topped.topped and topped.queue_position == 0 and topped.state == "init"
    assert vod.delete_task(b.task_id) == "canceled"
    assert vod.task(b.task_id).error_code == "FailedOperation.Canceled"

    finished_c = vod.wait_task(c.task_id, timeout=10)
    assert finished_c.state == "succ"
    finished_a = vod.wait_task(a.task_id, timeout=10)
    assert finished_a.started_at and finished_c.started_at and finished_a.started_at >= finished_c.started_at
    assert vod.wait_task(busy.task_id, timeout=10).state == "succ"
    with pytest.raises(ApiError) as not_queued:
        vod.top_task(c.task_id)
    assert not_queued.value.code == "FailedOperation.TaskNotQueued"
    assert vod.delete_task(c.task_id) == "deleted"
    with pytest.raises(ApiError) as gone:
        vod.task(c.task_id)
    assert (gone.value.status, gone.value.code) == (404, "ResourceNotFound.Task")


def test_list_and_iter_paging(vod: Client) -> None:
    mine = [vod.create_noop_task(ext_param=f"page-{i}").task_id for i in range(5)]
    for task_id in mine:
        vod.wait_task(task_id, timeout=10)
    today = datetime.now(UTC).date()
    around = {"start": today - timedelta(days=1), "end": (today + timedelta(days=1)).strftime("%Y%m%d")}

    first = vod.list_tasks(limit=2, **around)  # type: ignore[arg-type]
    assert len(first.items) == 2 and first.next_marker and first.total >= 5
    everything = list(vod.iter_tasks(page_size=2, **around))  # type: ignore[arg-type]
    ids = [t.task_id for t in everything]
    assert len(ids) == len(set(ids)) == first.total
    assert ids == sorted(ids) and ids[:2] == [t.task_id for t in first.items]
    assert set(mine) <= set(ids)

    newest = vod.list_tasks(limit=2, newest_first=True, **around)  # type: ignore[arg-type]
    assert [t.task_id for t in newest.items] == ids[::-1][:2]
    assert vod.list_tasks(file_id="1234567890", limit=10).items == []

    succeeded = vod.list_tasks(state="succ", limit=1000)
    assert succeeded.items and all(t.state == "succ" for t in succeeded.items)
    assert succeeded.total == len(succeeded.items) and succeeded.next_marker is None
    assert vod.list_tasks(start=date(2000, 1, 1), end="20000102").total == 0
    with pytest.raises(ApiError) as bad:
        vod.list_tasks(state="sleeping")
    assert bad.value.code == "InvalidParameter.State"


def test_pull_and_confirm_events(engine: Server, tmp_path: Path, clip2: Path) -> None:
    with own_app(engine, tmp_path) as app:
        assert app.pull_events(wait=0) == []
        media = app.upload(clip2)
        task = app.create_noop_task(ext_param="ev")
        app.wait_task(task.task_id, timeout=10)

        got: list[Event] = []
        deadline = time.monotonic() + 15
        while not {e.payload.get("State") for e in got if e.type == "TaskStateChanged"} >= {"init", "exec", "succ"}:
            assert time.monotonic() < deadline, [e.raw for e in got]
            got += app.pull_events(wait=2)
        uploads = [e for e in got if e.type == "NewFileUpload"]
        assert [e.payload.get("FileId") for e in uploads] == [media.file_id]
        assert all(e.payload["TaskId"] == task.task_id for e in got if e.type == "TaskStateChanged")
        assert len({e.event_id for e in got}) == len(got)

        assert app.confirm_events([]) == 0
        assert app.confirm_events(got) == len(got)
        assert app.confirm_events([got[0].handle, "not-a-handle"]) == 1  # again, and junk: harmless
        assert app.pull_events(wait=0.2) == []


def test_push_settings_and_deliveries(engine: Server, tmp_path: Path) -> None:
    with own_app(engine, tmp_path) as app:
        assert app.callback().url is None
        hook = f"http://127.0.0.1:{_closed_port()}/hook"
        settings = app.set_callback(hook, "PUT")
        assert (settings.url, settings.method) == (hook, "PUT") and settings.secret
        task = app.create_noop_task()
        app.wait_task(task.task_id, timeout=10)
        deliveries = app.deliveries()
        assert deliveries and {d.url for d in deliveries} == {hook}
        assert {d.event_type for d in deliveries} == {"TaskStateChanged"}
        again = app.redeliver(deliveries[0].id)
        assert again.id == deliveries[0].id and again.event_id == deliveries[0].event_id
        assert app.clear_callback().url is None
        with pytest.raises(ApiError) as bad:
            app.set_callback(hook, "GET")
        assert bad.value.code == "InvalidParameter.CallbackMethod"


def _closed_port() -> int:
    from tests.conftest import free_port

    return free_port()  # nothing listens there: pushes fail and stay pending
