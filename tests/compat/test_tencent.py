"""Tencent VOD compatibility: TC3 vectors from the captures, and the real SDK against a server."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from openvod.auth.tc3 import verify_tc3
from openvod.errors import AuthFailure
from tests.conftest import ServerProc
from tests.media import make_clip
from tests.tus import upload_bytes

CAPTURES = Path("/work/shared/spec/captures/tencent-requests.log")
VEC_ID, VEC_KEY = "AKIDtestSecretId", "testSecretKey123"


def _vectors() -> list[tuple[str, str, dict[str, str], bytes]]:
    text = CAPTURES.read_text()
    out = []
    for block in text.split("=== ")[1:]:
        head, _, rest = block.partition("\n\n")
        body = rest.split("\n--- ", 1)[0]
        lines = head.splitlines()
        method, target = lines[0].split()[:2]
        headers = {k.strip().lower(): v.strip() for k, _, v in (ln.partition(":") for ln in lines[1:])}
        if "TC3" not in headers.get("authorization", ""):
            continue
        query = target.partition("?")[2]
        out.append((method, query, headers, body.encode()))
    return out


VECTORS = _vectors() if CAPTURES.exists() else []


@pytest.mark.skipif(not VECTORS, reason="capture file not present")
def test_tc3_capture_vectors_verify() -> None:
    assert len(VECTORS) >= 12
    for method, query, headers, body in VECTORS:
        now = int(headers["x-tc-timestamp"]) + 10
        assert verify_tc3(method, query, headers, body, {VEC_ID: VEC_KEY}.get, now=now) == VEC_ID


@pytest.mark.skipif(not VECTORS, reason="capture file not present")
def test_tc3_rejects_tampering_wrong_key_and_skew() -> None:
    method, query, headers, body = next(v for v in VECTORS if v[0] == "POST")
    ts = int(headers["x-tc-timestamp"])
    with pytest.raises(AuthFailure) as e:
        verify_tc3(method, query, headers, body + b" ", {VEC_ID: VEC_KEY}.get, now=ts)
    assert e.value.code == "AuthFailure.SignatureFailure"
    with pytest.raises(AuthFailure) as e:
        verify_tc3(method, query, headers, body, {VEC_ID: "other"}.get, now=ts)
    assert e.value.code == "AuthFailure.SignatureFailure"
    with pytest.raises(AuthFailure) as e:
        verify_tc3(method, query, headers, body, {}.get, now=ts)
    assert e.value.code == "AuthFailure.SecretIdNotFound"
    with pytest.raises(AuthFailure) as e:
        verify_tc3(method, query, headers, body, {VEC_ID: VEC_KEY}.get, now=ts + 301)
    assert e.value.code == "AuthFailure.SignatureExpire"
    verify_tc3(method, query, headers, body, {VEC_ID: VEC_KEY}.get, now=ts - 299)
    bad = {**headers, "authorization": headers["authorization"].replace("/vod/", "/cvm/")}
    with pytest.raises(AuthFailure) as e:
        verify_tc3(method, query, bad, body, {VEC_ID: VEC_KEY}.get, now=ts)
    assert e.value.code == "AuthFailure.InvalidAuthorization"


# --- the real SDK against a server ------------------------------------------------------------

vod_client = pytest.importorskip("tencentcloud.vod.v20180717.vod_client")
from tencentcloud.common import credential  # noqa: E402
from tencentcloud.common.exception.tencent_cloud_sdk_exception import TencentCloudSDKException  # noqa: E402
from tencentcloud.common.profile.client_profile import ClientProfile  # noqa: E402
from tencentcloud.common.profile.http_profile import HttpProfile  # noqa: E402
from tencentcloud.vod.v20180717 import models  # noqa: E402


def client(srv: ServerProc, sid: str | None = None, skey: str | None = None) -> Any:
    hp = HttpProfile(protocol="http", endpoint=f"127.0.0.1:{srv.port}", reqTimeout=30)
    return vod_client.VodClient(credential.Credential(sid or srv.secret_id, skey or srv.secret_key), "",
                                ClientProfile(httpProfile=hp))


def call(c: Any, action: str, params: dict[str, Any]) -> dict[str, Any]:
    req = getattr(models, f"{action}Request")()
    req.from_json_string(json.dumps(params))
    resp = getattr(c, action)(req)
    out: dict[str, Any] = json.loads(resp.to_json_string())
    return out


def fetch(url: str) -> bytes:
    r = httpx.get(url, timeout=30)
    assert r.status_code == 200, (url, r.status_code)
    return r.content


def upload(srv: ServerProc, tmp: Path, name: str = "seed.mp4") -> str:
    clip = make_clip(tmp / name, seconds=4, width=320, height=240)
    with srv.client() as c:
        return upload_bytes(c, clip.read_bytes(), name)


def pull_all(c: Any, want: int, timeout: float = 60) -> list[dict[str, Any]]:
    got: list[dict[str, Any]] = []
    deadline = time.monotonic() + timeout
    while len(got) < want and time.monotonic() < deadline:
        evs = call(c, "PullEvents", {})["EventSet"] or []
        got += evs
        if evs:
            call(c, "ConfirmEvents", {"EventHandles": [e["EventHandle"] for e in evs]})
    return got


@pytest.mark.slow
def test_seed_flow_events_and_delete(srv: ServerProc, tmp_path: Path) -> None:
    c = client(srv)
    pull_all(c, 1000, timeout=0.1)  # drain anything earlier
    fid = upload(srv, tmp_path)
    r = call(c, "ProcessMedia", {"FileId": fid, "MediaProcessTask": {
        "AnimatedGraphicTaskSet": [{"Definition": 20000, "StartTimeOffset": 0, "EndTimeOffset": 2}],
        "CoverBySnapshotTaskSet": [{"Definition": 10, "PositionType": "Time", "PositionValue": 1}]},
        "SessionContext": "ctx-1"})
    task_id = r["TaskId"]
    assert task_id
    deadline = time.monotonic() + 120
    while True:
        d = call(c, "DescribeTaskDetail", {"TaskId": task_id})
        if d["Status"] == "FINISH":
            break
        assert time.monotonic() < deadline, d
        time.sleep(0.5)
    pt = d["ProcedureTask"]
    results = pt["MediaProcessResultSet"]
    assert results[0]["Type"] == "AnimatedGraphics" and results[0]["AnimatedGraphicTask"]["Status"] == "SUCCESS"
    gif = fetch(results[0]["AnimatedGraphicTask"]["Output"]["Url"])
    assert gif[:3] == b"GIF"
    assert results[1]["Type"] == "CoverBySnapshot"
    cover = fetch(results[1]["CoverBySnapshotTask"]["Output"]["CoverUrl"])
    assert cover[:2] == b"\xff\xd8" or cover[:4] == b"\x89PNG"
    assert 3.5 < pt["MetaData"]["Duration"] < 4.5

    info = call(c, "DescribeMediaInfos", {"FileIds": [fid]})["MediaInfoSet"][0]
    assert info["FileId"] == fid
    assert info["BasicInfo"]["Name"] and info["BasicInfo"]["CreateTime"]
    assert fetch(info["BasicInfo"]["MediaUrl"])
    assert fetch(info["BasicInfo"]["CoverUrl"])
    assert 3.5 < info["MetaData"]["Duration"] < 4.5
    assert info["AnimatedGraphicsInfo"]["AnimatedGraphicsSet"][0]["Definition"] == 20000
    only = call(c, "DescribeMediaInfos", {"FileIds": [fid], "Filters": ["basicInfo"]})["MediaInfoSet"][0]
    assert only["MetaData"] is None and only["BasicInfo"]["Name"]

    tasks = call(c, "DescribeTasks", {"FileId": fid, "Status": "FINISH", "Limit": 10})
    assert [t["TaskId"] for t in tasks["TaskSet"]] == [task_id]
    assert tasks["TaskSet"][0]["SessionContext"] == "ctx-1" and tasks["TaskSet"][0]["FileId"] == fid

    evs = pull_all(c, 2)
    types = [e["EventType"] for e in evs]
    assert types[:2] == ["NewFileUpload", "ProcedureStateChanged"], types
    assert evs[0]["FileUploadEvent"]["FileId"] == fid
    assert evs[1]["ProcedureStateChangeEvent"]["TaskId"] == task_id
    assert evs[1]["ProcedureStateChangeEvent"]["SessionContext"] == "ctx-1"
    assert call(c, "PullEvents", {})["EventSet"] in (None, [])  # confirmed: gone (after the long poll)

    call(c, "DeleteMedia", {"FileId": fid, "DeleteParts": [{"Type": "AnimatedGraphicsFiles", "Definition": 20000}]})
    info = call(c, "DescribeMediaInfos", {"FileIds": [fid]})["MediaInfoSet"][0]
    assert info["AnimatedGraphicsInfo"]["AnimatedGraphicsSet"] == []
    call(c, "DeleteMedia", {"FileId": fid})
    r = call(c, "DescribeMediaInfos", {"FileIds": [fid]})
    assert r["NotExistFileIdSet"] == [fid] and r["MediaInfoSet"] == []
    deleted = [e for e in pull_all(c, 2, timeout=15) if e["EventType"] == "FileDeleted"]
    assert deleted and deleted[-1]["FileDeleteEvent"]["FileIdSet"] == [fid]


def test_templates_visible_natively(srv: ServerProc) -> None:
    c = client(srv)
    d = call(c, "CreateAnimatedGraphicsTemplate", {"Name": "preview", "Fps": 8, "Width": 160, "Height": 0})[
        "Definition"]
    assert d >= 1_000_000
    with srv.client() as h:
        r = h.get("/v1/templates/AnimatedGraphics/" + str(d))
        if r.status_code == 404:
            r = h.get("/v1/templates", params={"kind": "AnimatedGraphics"})
        assert r.status_code == 200, r.text
        assert str(d) in r.text
    got = call(c, "DescribeAnimatedGraphicsTemplates", {"Definitions": [d]})
    assert got["TotalCount"] == 1 and got["AnimatedGraphicsTemplateSet"][0]["Fps"] == 8
    call(c, "ModifyAnimatedGraphicsTemplate", {"Definition": d, "Fps": 12})
    assert call(c, "DescribeAnimatedGraphicsTemplates", {"Definitions": [d]})[
        "AnimatedGraphicsTemplateSet"][0]["Fps"] == 12
    call(c, "CreateProcedureTemplate", {"Name": "gif", "MediaProcessTask": {
        "AnimatedGraphicTaskSet": [{"Definition": d, "StartTimeOffset": 0, "EndTimeOffset": 1}]}})
    procs = call(c, "DescribeProcedureTemplates", {"Names": ["gif"]})
    assert procs["ProcedureTemplateSet"][0]["Name"] == "gif"
    with pytest.raises(TencentCloudSDKException) as e:
        call(c, "DeleteAnimatedGraphicsTemplate", {"Definition": d})
    assert e.value.get_code() == "ResourceInUse.Template"
    call(c, "DeleteProcedureTemplate", {"Name": "gif"})
    call(c, "DeleteAnimatedGraphicsTemplate", {"Definition": d})


def test_auth_failures(srv: ServerProc) -> None:
    with pytest.raises(TencentCloudSDKException) as e:
        call(client(srv, skey="wrong-secret"), "DescribeMediaInfos", {"FileIds": ["x"]})
    assert e.value.get_code() == "AuthFailure.SignatureFailure"
    assert e.value.get_request_id()
    with pytest.raises(TencentCloudSDKException) as e:
        call(client(srv, sid="AKIDnobody"), "DescribeMediaInfos", {"FileIds": ["x"]})
    assert e.value.get_code() == "AuthFailure.SecretIdNotFound"
    c = client(srv)
    real_time = time.time
    try:
        time.time = lambda: real_time() - 3600  # type: ignore[assignment]
        with pytest.raises(TencentCloudSDKException) as e:
            call(c, "DescribeMediaInfos", {"FileIds": ["x"]})
    finally:
        time.time = real_time  # type: ignore[assignment]
    assert e.value.get_code() == "AuthFailure.SignatureExpire"


def test_tampered_body_raises(srv: ServerProc, monkeypatch: pytest.MonkeyPatch) -> None:
    """The SDK signs the body, then something on the way changes it: the server must refuse."""
    from tencentcloud.common.http import request as tc_request

    real = tc_request.ApiRequest.send_request

    def tamper(self: Any, req_inter: Any) -> Any:
        if isinstance(req_inter.data, str | bytes) and req_inter.data:
            data = req_inter.data.encode() if isinstance(req_inter.data, str) else req_inter.data
            req_inter.data = data.replace(b'"x"', b'"y"')
        return real(self, req_inter)

    monkeypatch.setattr(tc_request.ApiRequest, "send_request", tamper)
    with pytest.raises(TencentCloudSDKException) as e:
        call(client(srv), "DescribeMediaInfos", {"FileIds": ["x"]})
    assert e.value.get_code() == "AuthFailure.SignatureFailure"


def test_unknown_and_unsupported_actions(srv: ServerProc) -> None:
    c = client(srv)
    for action in ("NoSuchThing", "LiveRealTimeClip"):
        with pytest.raises(TencentCloudSDKException) as e:
            c.call_json(action, {})
        assert e.value.get_code() == "UnsupportedOperation" and action in e.value.get_message()
    r = httpx.post(f"{srv.url}/", headers={"X-TC-Action": "DescribeMediaInfos", "Content-Type": "application/json",
                                          "X-TC-Version": "2018-07-17"}, content=b"{}")
    assert r.status_code == 200 and r.headers["content-type"] == "application/json"
    assert r.json()["Response"]["Error"]["Code"].startswith("AuthFailure")


def test_other_apps_file_is_not_found(srv: ServerProc, tmp_path: Path) -> None:
    fid = upload(srv, tmp_path, "mine.mp4")
    out = subprocess.run([sys.executable, "-m", "openvod", "apps", "create", "other", "--json"],
                         env=srv.env, capture_output=True, text=True, check=True).stdout
    other = json.loads(out[out.index("{"):])
    oc = client(srv, other["secret_id"], other["secret_key"])
    r = call(oc, "DescribeMediaInfos", {"FileIds": [fid]})
    assert r["NotExistFileIdSet"] == [fid]
    with pytest.raises(TencentCloudSDKException) as e:
        call(oc, "ProcessMedia", {"FileId": fid, "MediaProcessTask": {
            "CoverBySnapshotTaskSet": [{"Definition": 10, "PositionType": "Time", "PositionValue": 1}]}})
    assert e.value.get_code().startswith("ResourceNotFound")
    # The default app's key reaches the other app by SubAppId, where the file is not either.
    r = call(client(srv), "DescribeMediaInfos", {"FileIds": [fid], "SubAppId": other["sub_app_id"]})
    assert r["NotExistFileIdSet"] == [fid]
    # ...but the other app's key may not reach the default app.
    with pytest.raises(TencentCloudSDKException) as e:
        apps = re.findall(r'"sub_app_id":\s*(\d+)', subprocess.run(
            [sys.executable, "-m", "openvod", "apps", "list", "--json"], env=srv.env, capture_output=True,
            text=True, check=True).stdout)
        default_sub = min(int(a) for a in apps)
        call(oc, "DescribeMediaInfos", {"FileIds": [fid], "SubAppId": default_sub})
    assert e.value.get_code() == "AuthFailure.UnauthorizedOperation"
