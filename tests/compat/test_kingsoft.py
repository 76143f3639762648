"""Kingsoft offline compatibility, driven by the real ``ksc-sdk-python`` (``kscore``) client.

The SigV4 unit tests replay requests captured from the SDK (secret ``testSecretKey/with+chars``).
"""

from __future__ import annotations

import datetime as _dt
import json
import time
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from openvod.auth import sigv4
from tests.conftest import ServerProc
from tests.tus import upload_bytes

kscore_session = pytest.importorskip("kscore.session")
kscore_exceptions = pytest.importorskip("kscore.exceptions")

CAPTURE_AK = "AKLTtestAccessKey"
CAPTURE_SK = "testSecretKey/with+chars"
SIGNED = ("accept", "content-type", "host", "x-action", "x-amz-date", "x-amz-target", "x-version")
PRESET_BODY = ('{"preset": "testpreset", "description": "just a demo", "presettype": "avop", "param": {"f": "mp4", '
               '"AUDIO": {"acodec": "aac", "ar": "44100", "ab": "64k"}, "VIDEO": {"vr": 25, "vb": "500k", '
               '"vcodec": "h264", "width": 640, "height": 360}}}')

# (method, query, action, X-Amz-Date, body, signature) captured from kscore 1.3.65
VECTORS = [
    ("POST", "", "Preset", "20261125T163528Z", PRESET_BODY,
     "0b4fa18f574a1dccba6c97ae1367d1849cc577b781f4f64cf8b3a0c2e43eddc6"),
    ("GET", "withDetail=1&presettype=avop&presets=testpreset", "GetPresetList", "20261125T163528Z", "",
     "b9a303ea14cbcb0f349d765ef1b21f533d548dc3e4760a9818a8e2b2f9f05b1a"),
    ("GET", "withDetail=0&presettype=&presets=", "GetPresetList", "20261125T163528Z", "",
     "6847f13ee525bacd7782176a2aeb22a6f57216d613b4bdb6bea816bffa7c0842"),
    ("GET", "taskid=d1b8e0f2c4a511e6a0c3fa163e4d5b6c1234abcd", "GetTaskByTaskID", "20261125T163528Z", "",
     "b1995d835dec56d0feeb11afe9bd218df1d2912df7e7cd9898d732c0662fb919"),
    ("GET", "startdate=20240101&enddate=20240131&marker=0&limit=10", "GetTaskList", "20261125T163528Z", "",
     "8e52035825b1979188aaaa3fcf60bea070de0663b572821efc890be37ca1f574"),
    ("GET", "taskid=d1b8e0f2c4a511e6a0c3fa163e4d5b6c1234abcd&startdate=20240101&enddate=20240131&marker=0&limit=5",
     "GetTaskMetaInfo", "20261125T163529Z", "",
     "62f281fa38aa13e0d089f9c7d24982f511fd07416e4854e0f95a95d225bd51db"),
]


def _headers(action: str, amz_date: str) -> list[tuple[str, str]]:
    return [("Host", "127.0.0.1:18080"), ("Accept-Encoding", "identity"), ("X-Amz-Target", f"offline.{action}"),
            ("Content-Type", "application/json"), ("Accept", "application/json"), ("X-Action", action),
            ("X-Version", "2016-09-19"), ("User-Agent", "KSCore/1.3.65 Python/3.11.7"), ("X-Amz-Date", amz_date)]


@pytest.mark.parametrize(("method", "query", "action", "amz_date", "body", "expected"), VECTORS)
def test_sigv4_matches_captured_sdk_signatures(method: str, query: str, action: str, amz_date: str, body: str,
                                                expected: str) -> None:
    auth = sigv4.parse_authorization(
        f"AWS4-HMAC-SHA256 Credential={CAPTURE_AK}/{amz_date[:8]}/cn-beijing-6/offline/aws4_request, "
        f"SignedHeaders={';'.join(SIGNED)}, Signature={expected}")
    assert auth is not None and auth.signed_headers == SIGNED and auth.service == "offline"
    creq = sigv4.canonical_request(method, "/", query, _headers(action, amz_date), auth.signed_headers,
                                   sigv4.payload_hash(body.encode()))
    sts = sigv4.string_to_sign(amz_date, auth.scope, creq)
    assert sigv4.signatures_equal(sigv4.signature(CAPTURE_SK, auth.date, auth.region, auth.service, sts), expected)
    # one changed byte of the body or the secret no longer verifies
    bad = sigv4.canonical_request(method, "/", query, _headers(action, amz_date), auth.signed_headers,
                                  sigv4.payload_hash(body.encode() + b" "))
    assert sigv4.signature(CAPTURE_SK, auth.date, auth.region, "offline",
                           sigv4.string_to_sign(amz_date, auth.scope, bad)) != expected
    assert sigv4.signature(CAPTURE_SK + "x", auth.date, auth.region, "offline", sts) != expected


def test_sigv4_parsing_and_canonical_pieces() -> None:
    assert sigv4.parse_authorization("Basic abc") is None
    assert sigv4.parse_authorization("AWS4-HMAC-SHA256 Credential=a/2026/r/s/aws4_request, SignedHeaders=host, "
                                     "Signature=00") is None
    assert sigv4.canonical_query("b=2&a=1&a=0&c=") == "a=0&a=1&b=2&c="
    assert sigv4.canonical_query("") == ""
    assert sigv4.canonical_headers([("X-A", " a  b "), ("x-a", "c"), ("Host", "h")], ["host", "x-a"]) == \
        "host:h\nx-a:a b,c\n"
    assert sigv4.parse_amz_date("20261125T163528Z") == _dt.datetime(2026, 11, 25, 16, 35, 28, tzinfo=_dt.UTC)
    assert sigv4.parse_amz_date("2026-11-25") is None


# ---------------------------------------------------------------- against a real server, with the real SDK

def _client(server: ServerProc, secret: str | None = None) -> Any:
    return kscore_session.get_session().create_client(
        "offline", "cn-beijing-6", use_ssl=False, ks_access_key_id=server.secret_id,
        ks_secret_access_key=secret if secret is not None else server.secret_key, endpoint_url=server.url)


@pytest.fixture(scope="module")
def ks(server: ServerProc) -> Any:
    return _client(server)


@pytest.fixture(scope="module")
def source(server: ServerProc, small_clip: Any) -> str:
    """``/bucket/key`` of an uploaded clip."""
    with server.client() as c:
        fid = upload_bytes(c, small_clip.read_bytes(), "ks-src.mp4")
        r = c.get(f"/v1/media/{fid}")
        assert r.status_code == 200, r.text
        src = r.json()["source"]
    return f"/{src['bucket']}/{src['key']}"


PARAM = {"f": "mp4", "AUDIO": {"acodec": "aac", "ar": "44100", "ab": "64k"},
         "VIDEO": {"vr": 25, "vb": "300k", "vcodec": "h264", "width": 320, "height": 180}}


@pytest.fixture()
def preset_name(ks: Any) -> Iterator[str]:
    name = f"ks-{uuid.uuid4().hex[:10]}"
    r = ks.preset(preset=name, description="just a demo", presettype="avop", param=PARAM)
    assert r == {"errNum": 0, "errMsg": "success"}
    yield name
    ks.del_preset(preset=name)


def test_preset_operations(ks: Any, preset_name: str) -> None:
    again = ks.preset(preset=preset_name, description="x", presettype="avop", param=PARAM)
    assert again["errNum"] != 0 and again["errCode"] == "FailedOperation.PresetExists"

    assert ks.update_preset(preset=preset_name, description="updated", presettype="avop",
                            param={**PARAM, "f": "mp4"}) == {"errNum": 0, "errMsg": "success"}

    detail = ks.get_preset_detail(preset=preset_name)
    assert detail["errNum"] == 0 and detail["errMsg"] == "success"
    d = detail["presetdetail"]
    assert d["preset"] == preset_name and d["presettype"] == "avop" and d["description"] == "updated"
    assert d["param"]["f"] == "mp4" and d["param"]["VIDEO"]["width"] == 320

    listed = ks.get_preset_list(withDetail=1, presettype="avop", presets=preset_name)
    assert listed["errNum"] == 0
    assert [p["preset"] for p in listed["presetList"]] == [preset_name]
    assert listed["presetList"][0]["param"]["VIDEO"]["height"] == 180

    everything = ks.get_preset_list(withDetail=0, presettype="", presets="")
    names = [p["preset"] for p in everything["presetList"]]
    assert preset_name in names and "system-360p-h264" in names
    assert all("param" not in p for p in everything["presetList"])

    missing = ks.get_preset_detail(preset="no-such-preset")
    assert missing["errNum"] == 1004 and missing["errCode"] == "ResourceNotFound.Preset"
    system = ks.del_preset(preset="system-360p-h264")
    assert system["errNum"] == 1003


def test_delete_preset(ks: Any) -> None:
    name = f"ks-del-{uuid.uuid4().hex[:8]}"
    assert ks.preset(preset=name, presettype="avop", param=PARAM)["errNum"] == 0
    assert ks.del_preset(preset=name) == {"errNum": 0, "errMsg": "success"}
    assert ks.get_preset_detail(preset=name)["errNum"] == 1004
    assert ks.del_preset(preset=name)["errNum"] == 1004


def _wait(ks: Any, task_id: str, states: set[str], timeout: float = 120.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        r = ks.get_task_by_task_id(taskid=task_id)
        assert r["errNum"] == 0, r
        if r["taskInfo"]["state"] in states:
            return dict(r["taskInfo"])
        assert time.monotonic() < deadline, f"task {task_id} still {r['taskInfo']['state']}"
        time.sleep(0.3)


def test_task_operations(ks: Any, server: ServerProc, source: str, preset_name: str) -> None:
    dst_bucket = f"ks-out-{uuid.uuid4().hex[:8]}"  # does not exist yet
    r = ks.create_task(preset=preset_name, srcInfo=[{"path": source, "type": "video", "index": 0}],
                       dstBucket=dst_bucket, dstObjectKey="out/demo.mp4", dstAcl="private",
                       extParam="ext-1")
    assert r["errNum"] == 0 and r["errMsg"] == "success", r
    task_id = r["TaskID"]
    assert len(task_id) == 40

    info = _wait(ks, task_id, {"succ", "fail"})
    assert info["state"] == "succ", info
    assert info["taskid"] == task_id and info["preset"] == preset_name and info["extParam"] == "ext-1"
    assert info["dstBucket"] == dst_bucket and info["dstObjectKey"] == "out/demo.mp4"
    assert info["srcInfo"][0]["type"] == "video" and info["dstSize"] > 0

    meta = ks.get_task_meta_info(taskid=task_id)
    assert meta["errNum"] == 0 and meta["metaInfo"][0]["taskid"] == task_id
    probe = json.loads(meta["metaInfo"][0]["meta_info"])
    assert isinstance(meta["metaInfo"][0]["meta_info"], str)
    assert probe["streams"] and probe["format"]
    assert any(s.get("codec_type") == "video" for s in probe["streams"])

    today = int(_dt.datetime.now(_dt.UTC).strftime("%Y%m%d"))
    listed = ks.get_task_list(startdate=today, enddate=today, marker=0, limit=100)
    assert listed["errNum"] == 0 and listed["total"] >= 1 and listed["count"] == len(listed["taskInfo"])
    assert task_id in [t["taskid"] for t in listed["taskInfo"]]
    assert listed["marker"] == listed["count"]
    # marker is an offset (the SDK's model makes it an int): walking pages of 1 gives the same list
    walked, marker = [], 0
    while marker < listed["total"]:
        page = ks.get_task_list(startdate=today, enddate=today, marker=marker, limit=1)
        assert page["errNum"] == 0 and page["count"] == 1 and page["total"] == listed["total"]
        walked.append(page["taskInfo"][0]["taskid"])
        marker = page["marker"]
    assert walked == [t["taskid"] for t in listed["taskInfo"]]
    beyond = ks.get_task_list(startdate=today, enddate=today, marker=listed["total"] + 5, limit=10)
    assert beyond["errNum"] == 0 and beyond["taskInfo"] == [] and beyond["count"] == 0
    assert ks.get_task_list()["errNum"] == 0  # the SDK's defaults: this month, marker 0, limit 100

    metas = ks.get_task_meta_info(taskid=task_id, startdate=today, enddate=today, marker=0, limit=5)
    assert metas["errNum"] == 0 and metas["metaInfo"][0]["taskid"] == task_id
    page = ks.get_task_meta_info(startdate=today, enddate=today, marker=0, limit=1)
    assert page["errNum"] == 0 and page["count"] == 1 and page["total"] >= 1

    # a finished task cannot be topped; it can be deleted
    topped = ks.top_task_by_task_id(taskid=task_id)
    assert topped["errNum"] == 1009 and topped["errCode"] == "FailedOperation.TaskNotQueued"
    assert ks.del_task_by_task_id(taskid=task_id) == {"errNum": 0, "errMsg": "success"}
    gone = ks.get_task_by_task_id(taskid=task_id)
    assert gone["errNum"] == 1004 and gone["errCode"] == "ResourceNotFound.Task"

    with server.client() as c:
        assert c.get("/v1/tasks", params={"limit": 1}).status_code == 200  # native API untouched


def test_top_and_cancel_queued_task(ks: Any, source: str, preset_name: str) -> None:
    ids = []
    for _ in range(6):  # more than the workers, so some wait in the queue
        r = ks.create_task(preset=preset_name, srcInfo=[{"path": source, "type": "video", "index": 0}])
        assert r["errNum"] == 0, r
        ids.append(r["TaskID"])
    last = ids[-1]
    topped = ks.top_task_by_task_id(taskid=last)
    # it may already have started on a fast machine; both answers are the documented shapes
    assert topped["errNum"] in (0, 1009), topped
    for task_id in ids:
        assert ks.del_task_by_task_id(taskid=task_id)["errNum"] in (0, 1004)
    states = {ks.get_task_by_task_id(taskid=t).get("taskInfo", {}).get("state") for t in ids}
    assert states <= {"canceled", "succ", "fail", None}


def test_business_errors_are_http_200(ks: Any, preset_name: str) -> None:
    bad = ks.create_task(preset=preset_name, srcInfo=[{"path": "/nobucket/missing.mp4"}])
    assert bad["errNum"] == 1004 and bad["errCode"] == "ResourceNotFound.Object"
    empty = ks.create_task(preset=preset_name, srcInfo=[])
    assert empty["errNum"] == 1001
    nopreset = ks.create_task(preset="no-such-preset", srcInfo=[{"path": "/b/k.mp4"}])
    assert nopreset["errNum"] == 1004
    badparam = ks.preset(preset=f"ks-bad-{uuid.uuid4().hex[:6]}", presettype="avop", param={"f": "nope"})
    assert badparam["errNum"] == 1001
    baddate = ks.get_task_list(startdate=20241399, marker=0, limit=1)
    assert baddate["errNum"] == 1001
    missing = ks.get_task_meta_info(taskid="0" * 40)
    assert missing["errNum"] == 1004


def _raises(call: Any, code: str) -> Any:
    with pytest.raises(kscore_exceptions.ClientError) as info:
        call()
    assert info.value.response["Error"]["Code"] == code, info.value.response
    return info.value


def test_wrong_secret_raises(server: ServerProc) -> None:
    bad = _client(server, secret=server.secret_key + "x")
    err = _raises(lambda: bad.get_preset_list(withDetail=0, presettype="", presets=""), "SignatureDoesNotMatch")
    assert err.response["ResponseMetadata"]["HTTPStatusCode"] == 403
    unknown = kscore_session.get_session().create_client(
        "offline", "cn-beijing-6", use_ssl=False, ks_access_key_id="AKLTnobody", ks_secret_access_key="x",
        endpoint_url=server.url)
    _raises(lambda: unknown.get_preset_detail(preset="system-360p-h264"), "SignatureDoesNotMatch")


def test_expired_timestamp_raises(server: ServerProc, monkeypatch: pytest.MonkeyPatch) -> None:
    import kscore.auth

    class _Old(_dt.datetime):
        @classmethod
        def utcnow(cls) -> _dt.datetime:  # type: ignore[override]
            return _dt.datetime.now(_dt.UTC).replace(tzinfo=None) - _dt.timedelta(minutes=20)

    class _Mod:
        datetime = _Old

    monkeypatch.setattr(kscore.auth, "datetime", _Mod)
    _raises(lambda: _client(server).get_preset_detail(preset="system-360p-h264"), "RequestExpired")


def test_tampered_body_raises(server: ServerProc) -> None:
    client = _client(server)

    def tamper(request: Any, **_: Any) -> None:  # runs after the signer
        data = request.data
        request.data = data.replace(b"tampered-a", b"tampered-b") if isinstance(data, bytes) \
            else data.replace("tampered-a", "tampered-b")

    # the signer listens on "request-created.offline"; registered last there, this runs after it
    client.meta.events.register_last("request-created.offline", tamper)
    _raises(lambda: client.preset(preset="tampered-a", presettype="avop", param=PARAM), "SignatureDoesNotMatch")
    assert _client(server).get_preset_detail(preset="tampered-b")["errNum"] == 1004


def test_requests_without_action_fall_through(server: ServerProc) -> None:
    with server.client() as c:
        r = c.get("/")
        assert r.status_code == 404 and r.json()["error"]["code"] == "ResourceNotFound.Route"
        r = c.post("/", headers={"X-Action": "GetPresetList", "X-Version": "2016-09-19"})
        assert r.status_code == 400 and r.json()["Error"]["Code"] == "IncompleteSignature"  # Basic is not SigV4
    with httpx.Client(base_url=server.url) as c:
        r = c.post("/", headers={"X-Action": "GetPresetList", "X-Version": "2016-09-19"})
        assert r.status_code == 401 and r.json()["Error"]["Code"] == "MissingAuthenticationToken"
        assert r.json()["RequestId"]
        r = c.get("/", headers={"X-Action": "GetPresetList", "X-Version": "2015-01-01"})
        assert r.status_code == 400 and r.json()["Error"]["Code"] == "InvalidVersion"


def test_offline_wrapper_with_replaced_client(server: ServerProc, preset_name: str) -> None:
    """The SDK's own wrapper (``getOfflineClient``) with its inner client pointed at the server."""
    from kscore.offline import getOfflineClient

    oc = getOfflineClient("offline", "cn-beijing-6", False, server.secret_id, server.secret_key)
    oc.client = _client(server)
    assert oc.GetPresetDetail(preset_name)["presetdetail"]["preset"] == preset_name
    assert oc.GetPresetList()["errNum"] == 0
    assert [p["preset"] for p in oc.GetPresetList(1, "avop", preset_name)["presetList"]] == [preset_name]
    listed = oc.GetTaskList()
    assert listed["errNum"] == 0 and listed["marker"] == listed["count"]
    counted = oc.GetTaskMetaInfo()  # without a taskid the wrapper asks GetTaskList with limit=0
    assert counted["errNum"] == 0 and counted["count"] == 0 and counted["total"] == listed["total"]
    assert oc.GetTaskByTaskID("0" * 40)["errNum"] == 1004


def _signed(server: ServerProc, query: str, headers: dict[str, str]) -> httpx.Response:
    """A request signed by hand (no SDK), dispatched by ``X-Amz-Target`` alone."""
    now = _dt.datetime.now(_dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    host = server.url.removeprefix("http://")
    hdrs = {"host": host, "x-amz-date": now, **headers}
    signed = sorted(hdrs)
    creq = sigv4.canonical_request("GET", "/", query, list(hdrs.items()), signed, sigv4.payload_hash(b""))
    scope = f"{now[:8]}/cn-beijing-6/offline/aws4_request"
    sig = sigv4.signature(server.secret_key, now[:8], "cn-beijing-6", "offline",
                          sigv4.string_to_sign(now, scope, creq))
    auth = (f"AWS4-HMAC-SHA256 Credential={server.secret_id}/{scope}, SignedHeaders={';'.join(signed)}, "
            f"Signature={sig}")
    with httpx.Client(base_url=server.url) as c:
        return c.get(f"/?{query}", headers={**{k: v for k, v in hdrs.items() if k != "host"},
                                            "Authorization": auth})


def test_x_amz_target_dispatch_and_signed_action(server: ServerProc) -> None:
    r = _signed(server, "preset=system-360p-h264",
                {"x-amz-target": "offline.GetPresetDetail", "x-version": "2016-09-19"})
    assert r.status_code == 200 and r.json()["presetdetail"]["preset"] == "system-360p-h264", r.text
    # the header that names the operation must be covered by the signature
    with httpx.Client(base_url=server.url) as c:
        ok = _signed(server, "preset=system-360p-h264", {"x-version": "2016-09-19"})
        assert ok.status_code == 404  # no operation header: not a Kingsoft request
        r = c.get("/?preset=system-360p-h264", headers={**dict(ok.request.headers), "X-Action": "DelPreset"})
        assert r.status_code == 403 and r.json()["Error"]["Code"] == "SignatureDoesNotMatch"


def test_kingsoft_users_flow_with_boto3_objects(server: ServerProc, small_clip: Any, tmp_path: Any) -> None:
    """What a Kingsoft user does: put the source with boto3 (the /s3 gateway), CreateTask with the
    offline SDK, fetch the output with boto3 and probe it. Another app sees neither the preset nor
    the task."""
    import subprocess
    import sys

    import boto3
    from botocore.config import Config

    from openvod.media.probe import probe

    s3 = boto3.client("s3", endpoint_url=f"{server.url}/s3", region_name="us-east-1",
                      aws_access_key_id=server.secret_id, aws_secret_access_key=server.secret_key,
                      config=Config(s3={"addressing_style": "path"}))
    src_bucket, out_bucket = f"ks-in-{uuid.uuid4().hex[:6]}", f"ks-out-{uuid.uuid4().hex[:6]}"
    s3.create_bucket(Bucket=src_bucket)
    s3.put_object(Bucket=src_bucket, Key="in/clip.mp4", Body=small_clip.read_bytes())
    ks = _client(server)
    name = f"ks-{uuid.uuid4().hex[:8]}"
    assert ks.preset(preset=name, description="d", presettype="avop", param=PARAM)["errNum"] == 0
    r = ks.create_task(preset=name, srcInfo=[{"path": f"/{src_bucket}/in/clip.mp4", "type": "video", "index": 0}],
                       dstBucket=out_bucket, dstObjectKey="out/clip-320.mp4", dstAcl="private")
    assert r["errNum"] == 0, r
    info = _wait(ks, r["TaskID"], {"succ", "fail"})
    assert info["state"] == "succ", info
    out = tmp_path / "out.mp4"
    out.write_bytes(s3.get_object(Bucket=out_bucket, Key="out/clip-320.mp4")["Body"].read())
    video = next(s for s in probe(out)["streams"] if s["codec_type"] == "video")
    assert (video["width"], video["height"]) == (320, 180) and video["codec_name"] == "h264"
    made = subprocess.run([sys.executable, "-m", "openvod", "apps", "create", f"other-{uuid.uuid4().hex[:6]}",
                           "--json", "--data-dir", str(server.data_dir)], env=server.env, capture_output=True,
                          text=True, timeout=60, check=True)
    other = json.loads(made.stdout)
    ks_b = kscore_session.get_session().create_client(
        "offline", "cn-beijing-6", use_ssl=False, ks_access_key_id=other["secret_id"],
        ks_secret_access_key=other["secret_key"], endpoint_url=server.url)
    assert ks_b.get_preset_detail(preset=name)["errNum"] == 1004
    assert ks_b.get_task_by_task_id(taskid=r["TaskID"])["errNum"] == 1004
