"""Kingsoft (issue 12): what a task's ``cbUrl`` receives when the task ends, and ``compat_timezone``.

Tasks are created through the real ``ksc-sdk-python`` with ``cbUrl``/``cbMethod``; a real HTTP
receiver (``tests.integration.events.conftest.Receiver``) captures what OpenVOD sends. The body
must be GetTaskByTaskID's answer for the task (one wire shape), sent once, at the end.
"""

from __future__ import annotations

import datetime as _dt
import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from openvod.client.webhooks import verify_signature
from openvod.config import Settings
from openvod.db.models import Preset, Task
from tests.conftest import make_app_server
from tests.integration.events.conftest import Receiver, receiver, wait_until  # noqa: F401
from tests.servers import InProcessServer

kscore_session = pytest.importorskip("kscore.session")

ZONE = "Asia/Shanghai"  # UTC+8 all year: the manual's own times are in it
PARAM = {"f": "mp4", "VIDEO": {"vcodec": "h264", "width": 160, "height": 120}, "AUDIO": {"acodec": "aac"}}


def _ks(srv: InProcessServer) -> Any:
    return kscore_session.get_session().create_client(
        "offline", "cn-beijing-6", use_ssl=False, ks_access_key_id=srv.secret_id,
        ks_secret_access_key=srv.secret_key, endpoint_url=srv.url)


def _put_sources(srv: InProcessServer, clip: Path) -> str:
    """A bucket with ``in/clip.mp4`` (a real clip) and ``in/broken.mp4`` (not media), through the
    S3 gateway as a Kingsoft user would put them."""
    import boto3
    from botocore.config import Config

    s3 = boto3.client("s3", endpoint_url=f"{srv.url}/s3", region_name="us-east-1",
                      aws_access_key_id=srv.secret_id, aws_secret_access_key=srv.secret_key,
                      config=Config(s3={"addressing_style": "path"}, signature_version="s3v4"))
    bucket = f"ks-cb-{uuid.uuid4().hex[:6]}"
    s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key="in/clip.mp4", Body=clip.read_bytes())
    s3.put_object(Bucket=bucket, Key="in/broken.mp4", Body=b"this is not a video" * 100)
    return bucket


@pytest.fixture(scope="module")
def busy(tmp_path_factory: pytest.TempPathFactory, small_clip: Path) -> Iterator[tuple[InProcessServer, Any, str, str]]:
    """A server that runs tasks: (server, SDK client, bucket, preset)."""
    srv = make_app_server(tmp_path_factory.mktemp("ks-cb"), {
        "OPENVOD_WORKERS": "1", "OPENVOD_COMPAT_TIMEZONE": ZONE, "OPENVOD_PUSH_BACKOFF_BASE": "0.2"})
    ks = _ks(srv)
    preset = f"cb-{uuid.uuid4().hex[:8]}"
    assert ks.preset(preset=preset, presettype="avop", param=PARAM)["errNum"] == 0
    yield srv, ks, _put_sources(srv, small_clip), preset
    srv.stop()


@pytest.fixture(scope="module")
def idle(tmp_path_factory: pytest.TempPathFactory) -> Iterator[InProcessServer]:
    """A server that runs nothing (tasks stay queued), in China time."""
    srv = make_app_server(tmp_path_factory.mktemp("ks-tz"), {
        "OPENVOD_WORKERS": "0", "OPENVOD_COMPAT_TIMEZONE": ZONE, "OPENVOD_PUSH_BACKOFF_BASE": "0.2"})
    yield srv
    srv.stop()


def _task(ks: Any, bucket: str, preset: str, source: str, **kw: Any) -> str:
    r = ks.create_task(preset=preset, srcInfo=[{"path": f"/{bucket}/{source}", "type": "video", "index": 0}],
                       dstBucket=bucket, dstObjectKey=f"out/{uuid.uuid4().hex[:8]}.mp4", dstAcl="public-read", **kw)
    assert r["errNum"] == 0, r
    return str(r["taskid"])


def _deliveries_to(srv: InProcessServer, url: str) -> list[dict[str, Any]]:
    with srv.client() as c:
        return [d for d in c.get("/v1/events/deliveries", params={"limit": 100}).json()["items"] if d["url"] == url]


def _secret(srv: InProcessServer) -> str:
    with srv.client() as c:
        return str(c.get("/v1/app/callback").json()["secret"])


def _check_push(srv: InProcessServer, ks: Any, got: Any, task_id: str, method: str) -> dict[str, Any]:
    """The one push ``got`` is the task's GetTaskByTaskID answer, signed; returns its taskInfo."""
    assert got.method == method and got.path == "/hook"
    assert got.headers["content-type"] == "application/json"
    assert verify_signature(_secret(srv), got.headers["openvod-timestamp"], got.body, got.headers["openvod-signature"])
    body = json.loads(got.body)
    answer = ks.get_task_by_task_id(taskid=task_id)
    # the same answer, but for dstUrl's signature, which is made afresh (with its own expiry) each time
    body["taskInfo"].pop("dstUrl", None)
    answer["taskInfo"].pop("dstUrl", None)
    assert body == answer
    assert body["errNum"] == 0 and body["errMsg"] == "success"
    info: dict[str, Any] = body["taskInfo"]
    assert info["taskid"] == task_id and info["cbMethod"] == method
    return info


def test_a_succeeded_task_pushes_its_get_task_by_task_id_once(busy: tuple[InProcessServer, Any, str, str],
                                                              receiver: Receiver) -> None:  # noqa: F811
    srv, ks, bucket, preset = busy
    receiver.start()
    task_id = _task(ks, bucket, preset, "in/clip.mp4", cbUrl=receiver.url, cbMethod="POST", extParam="mine")
    [got] = receiver.wait_for(1, timeout=120)
    info = _check_push(srv, ks, got, task_id, "POST")
    assert info["taskStatus"] == "succ" and info["errorCode"] == "0" and info["errorMsg"] == ""
    assert info["cbUrl"] == receiver.url and info["extParam"] == "mine" and info["dstSize"] > 0
    assert _dt.datetime.strptime(info["createTime"], "%Y-%m-%d %H:%M:%S")  # the manual's format
    # init and exec were never sent: the task's callback hears only of its end
    assert len(_deliveries_to(srv, receiver.url)) == 1 and len(receiver.requests) == 1


def test_a_failed_task_pushes_its_failure_with_put(busy: tuple[InProcessServer, Any, str, str],
                                                   receiver: Receiver) -> None:  # noqa: F811
    srv, ks, bucket, preset = busy
    receiver.start()
    task_id = _task(ks, bucket, preset, "in/broken.mp4", cbUrl=receiver.url, cbMethod="PUT")
    [got] = receiver.wait_for(1, timeout=120)
    info = _check_push(srv, ks, got, task_id, "PUT")
    assert info["taskStatus"] == "fail" and info["errorCode"] not in ("", "0") and info["errorMsg"]
    assert len(_deliveries_to(srv, receiver.url)) == 1


def test_get_and_other_methods_are_refused(busy: tuple[InProcessServer, Any, str, str]) -> None:
    _srv, ks, bucket, preset = busy
    for method in ("GET", "callback"):
        r = ks.create_task(preset=preset, srcInfo=[{"path": f"/{bucket}/in/clip.mp4", "type": "video", "index": 0}],
                           cbUrl="http://127.0.0.1:9/hook", cbMethod=method)
        assert r["errNum"] == 1001 and r["errCode"] == "InvalidParameter.CbMethod", r
        assert "POST or PUT" in r["errMsg"]


def test_a_cancelled_task_pushes_fail_and_a_deleted_one_fails_the_push(idle: InProcessServer,
                                                                      small_clip: Path) -> None:
    ks = _ks(idle)
    preset = f"cb-{uuid.uuid4().hex[:8]}"
    assert ks.preset(preset=preset, presettype="avop", param=PARAM)["errNum"] == 0
    bucket = _put_sources(idle, small_clip)
    listening = Receiver().start()
    try:
        task_id = _task(ks, bucket, preset, "in/clip.mp4", cbUrl=listening.url)
        assert ks.del_task_by_task_id(taskid=task_id)["errNum"] == 0  # queued: cancelled
        [got] = listening.wait_for(1)
        info = _check_push(idle, ks, got, task_id, "POST")
        assert info["taskStatus"] == "fail" and info["errorCode"] == "FailedOperation.Canceled"
    finally:
        listening.stop()
    # Nobody listens at this one, so the push is retried; once the task is deleted it cannot be
    # rendered any more, and the delivery fails for good, saying why.
    deaf = Receiver()
    task_id = _task(ks, bucket, preset, "in/clip.mp4", cbUrl=deaf.url)
    assert ks.del_task_by_task_id(taskid=task_id)["errNum"] == 0  # cancelled
    assert ks.del_task_by_task_id(taskid=task_id)["errNum"] == 0  # removed
    [failed] = wait_until(lambda: [d for d in _deliveries_to(idle, deaf.url) if d["state"] == "failed"],
                          what="the delivery of a deleted task failed")
    assert "ResourceNotFound.Task" in failed["last_error"]


def test_the_apps_callback_at_the_same_url_still_gets_events(idle: InProcessServer, small_clip: Path,
                                                             receiver: Receiver) -> None:  # noqa: F811
    """Two pushes, two formats: the app's callback hears every TaskStateChanged as an event, the
    task's cbUrl only the end as GetTaskByTaskID's answer, even when the two are one URL."""
    ks = _ks(idle)
    preset = f"cb-{uuid.uuid4().hex[:8]}"
    assert ks.preset(preset=preset, presettype="avop", param=PARAM)["errNum"] == 0
    bucket = _put_sources(idle, small_clip)
    receiver.start()
    with idle.client() as c:
        assert c.put("/v1/app/callback", json={"url": receiver.url, "method": "POST"}).status_code == 200
    try:
        task_id = _task(ks, bucket, preset, "in/clip.mp4", cbUrl=receiver.url)
        assert ks.del_task_by_task_id(taskid=task_id)["errNum"] == 0  # queued: cancelled
        got = [json.loads(r.body) for r in receiver.wait_for(3)]
    finally:
        with idle.client() as c:
            c.delete("/v1/app/callback")
    events = sorted(b["payload"]["State"] for b in got if b.get("type") == "TaskStateChanged")
    ends = [b for b in got if "taskInfo" in b]
    assert events == ["canceled", "init"] and len(ends) == 1 and ends[0]["taskInfo"]["taskid"] == task_id


# ---------------------------------------------------------------- compat_timezone


def _noop_created_at(srv: InProcessServer, when: _dt.datetime) -> str:
    """A finished noop task created at ``when``: its id carries that time, as every task's id
    carries its creation time (a day's tasks are a range of ids)."""
    from openvod.db.models import TaskStep
    from openvod.domain.tasks import new_task_id
    from openvod.services.apps import ensure_default_app
    app_id = ensure_default_app(srv.ctx.db, None, None)[0].id
    task_id = new_task_id(when.timestamp())
    with srv.ctx.db.session() as s:
        s.add(Task(id=task_id, app_id=app_id, kind="noop", state="succ", input={"sleep": 0}, created_at=when,
                   started_at=when, finished_at=when))
        s.flush()
        s.add(TaskStep(task_id=task_id, app_id=app_id, kind="noop", state="succ", input={"sleep": 0}, progress=100.0,
                       created_at=when, started_at=when, finished_at=when))
    return task_id


def test_times_and_days_are_those_of_compat_timezone(idle: InProcessServer) -> None:
    ks = _ks(idle)
    utc = _dt.UTC
    late = _noop_created_at(idle, _dt.datetime(2020, 3, 1, 15, 30, tzinfo=utc))  # 23:30 on 1 March in China
    later = _noop_created_at(idle, _dt.datetime(2020, 3, 1, 16, 30, tzinfo=utc))  # 00:30 on 2 March in China
    assert ks.get_task_by_task_id(taskid=late)["taskInfo"]["createTime"] == "2020-03-01 23:30:00"
    assert ks.get_task_by_task_id(taskid=later)["taskInfo"]["createTime"] == "2020-03-02 00:30:00"

    def day(d: int) -> list[str]:
        r = ks.get_task_list(startdate=d, enddate=d, marker=0, limit=100)
        assert r["errNum"] == 0 and r["startdate"] == str(d), r
        iso = _dt.datetime.strptime(str(d), "%Y%m%d").date().isoformat()
        assert [t["createTime"][:10] for t in r["taskInfo"]] == [iso] * r["count"]
        return [t["taskid"] for t in r["taskInfo"]]

    assert day(20200301) == [late]  # in UTC both were created on 1 March
    assert day(20200302) == [later]
    assert ks.get_task_list(startdate=20200301, enddate=20200302, marker=0, limit=100)["total"] == 2
    metas = ks.get_task_meta_info(startdate=20200302, enddate=20200302, marker=0, limit=10)
    assert metas["total"] == 1 and metas["metaInfo"][0]["createTime"] == "2020-03-02 00:30:00"

    name = f"tz-{uuid.uuid4().hex[:8]}"
    assert ks.preset(preset=name, presettype="avop", param=PARAM)["errNum"] == 0
    with idle.ctx.db.session() as s:
        row = s.query(Preset).filter_by(name=name).one()
        row.created_at = row.updated_at = _dt.datetime(2020, 3, 1, 16, 0, 5, tzinfo=utc)
    detail = ks.get_preset_detail(preset=name)["presetdetail"]
    assert detail["createTime"] == "2020-03-02 00:00:05" and detail["updateTime"] == ""


def test_compat_timezone_is_checked_when_settings_load(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENVOD_COMPAT_TIMEZONE", "Asia/Shanghai")
    assert Settings().compat_zone.utcoffset(_dt.datetime(2026, 1, 1)) == _dt.timedelta(hours=8)
    assert Settings(compat_timezone="UTC").compat_zone.utcoffset(None) == _dt.timedelta(0)
    for bad in ("Mars/Olympus_Mons", "", "../../etc/passwd", "+08:00"):
        with pytest.raises(ValidationError, match="compat_timezone must be an IANA time zone name"):
            Settings(compat_timezone=bad)


def test_the_server_refuses_to_start_with_a_bad_zone(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="compat_timezone"):
        make_app_server(tmp_path, {"OPENVOD_COMPAT_TIMEZONE": "Europe/Atlantis"})
