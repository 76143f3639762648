"""Processing tasks and task flows end to end: real server, real FFmpeg, outputs fetched by URL."""

from __future__ import annotations

import io
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import av
import httpx
import pytest
from sqlalchemy import text

from openvod.client.signing import sign_upload
from tests.conftest import Server, make_app_server, server_database
from tests.media import make_audio, make_clip, truncate
from tests.tus import OCTET, TUS, metadata, upload_bytes


@pytest.fixture(scope="module")
def srv(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    s = make_app_server(tmp_path_factory.mktemp("processing"), {"OPENVOD_WORKERS": "2"})
    yield s
    s.stop()


def detail(c: httpx.Client, task_id: str, timeout: float = 120) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        c.get(f"/v1/tasks/{task_id}/wait", params={"timeout": 5})
        d: dict[str, Any] = c.get(f"/v1/tasks/{task_id}/detail").json()
        if d["Status"] in ("FINISH", "ABORTED"):
            return d
        assert time.monotonic() < deadline, d


def result(d: dict[str, Any], i: int) -> dict[str, Any]:
    item = d["ProcedureTask"]["MediaProcessResultSet"][i]
    body: dict[str, Any] = next(v for k, v in item.items() if k != "Type")
    return body


def fetch(url: str) -> bytes:
    r = httpx.get(url, timeout=30)
    assert r.status_code == 200, (url, r.status_code)
    return r.content


def image_size(data: bytes) -> tuple[int, int, int]:
    with av.open(io.BytesIO(data)) as c:
        frames = list(c.decode(video=0))
        return frames[0].width, frames[0].height, len(frames)


def test_seed_flow_gif_and_cover_after_signed_upload(srv: Server, tmp_path: Path) -> None:
    clip = make_clip(tmp_path / "seed.mp4", seconds=6, width=640, height=360)
    with srv.client() as c:
        r = c.post("/v1/procedures", json={"name": "gif-cover", "media_process_task": {
            "AnimatedGraphicTaskSet": [{"Definition": 20000, "StartTimeOffset": 0, "EndTimeOffset": 3}],
            "CoverBySnapshotTaskSet": [{"Definition": 10, "PositionType": "Time", "PositionValue": 1}]}})
        assert r.status_code == 201, r.text
    sig = sign_upload(srv.secret_id, srv.secret_key, procedure="gif-cover", session_context="django-42")
    data = clip.read_bytes()
    r = httpx.post(f"{srv.url}/v1/uploads", content=data, headers={
        **TUS, **OCTET, "Upload-Length": str(len(data)), "X-VOD-Signature": sig,
        "Upload-Metadata": metadata(filename="seed.mp4")})
    assert r.status_code == 201, r.text
    file_id = r.headers["OpenVOD-File-Id"]
    with srv.client() as c:
        events = c.get("/v1/events", params={"wait": 0}).json()["items"]
        upload_ev = next(e for e in events if e["type"] == "NewFileUpload" and e["payload"]["FileId"] == file_id)
        task_id = upload_ev["payload"]["ProcedureTaskId"]
        assert task_id
        d = detail(c, task_id)
        assert d["Status"] == "FINISH" and d["ProcedureTask"]["FileId"] == file_id
        types = [x["Type"] for x in d["ProcedureTask"]["MediaProcessResultSet"]]
        assert types == ["AnimatedGraphics", "CoverBySnapshot"]
        gif, cover = result(d, 0), result(d, 1)
        assert gif["Status"] == "SUCCESS" and cover["Status"] == "SUCCESS", d
        gif_bytes = fetch(gif["Output"]["Url"])
        assert gif_bytes[:6] in (b"GIF87a", b"GIF89a")
        w, h, frames = image_size(gif_bytes)
        assert (w, h) == (640, 360) == (gif["Output"]["Width"], gif["Output"]["Height"])
        assert frames >= 4  # 2 fps x 3 s
        jpg = fetch(cover["Output"]["CoverUrl"])
        assert jpg[:3] == b"\xff\xd8\xff"
        m = c.get(f"/v1/media/{file_id}").json()
        assert m["cover_url"] and fetch(m["cover_url"])[:3] == b"\xff\xd8\xff"
        assert abs(m["metadata"]["Duration"] - 6) < 0.2
        assert m["outputs"]["animated_graphics"] and m["outputs"]["cover"]
        # the end of the flow is an event carrying the whole task detail
        deadline = time.monotonic() + 10
        while True:
            evs = c.get("/v1/events", params={"wait": 1}).json()["items"]
            done = [e for e in evs if e["type"] == "ProcedureStateChanged" and e["payload"]["TaskId"] == task_id]
            if done:
                break
            assert time.monotonic() < deadline
        p = done[0]["payload"]
        assert p["Status"] == "FINISH" and p["SessionContext"] == "django-42"
        assert p["MediaProcessResultSet"][0]["AnimatedGraphicTask"]["Output"]["Url"].startswith("http")


def test_every_job_type(srv: Server, tmp_path: Path) -> None:
    clip = make_clip(tmp_path / "all.mp4", seconds=6, width=854, height=480)
    with srv.client() as c:
        fid = upload_bytes(c, clip.read_bytes(), "all.mp4")
        sprite = c.post("/v1/templates/ImageSprite", json={"params": {
            "SampleType": "Time", "SampleInterval": 1, "RowCount": 2, "ColumnCount": 2, "Width": 256,
            "Height": 144}}).json()["definition"]
        sample = c.post("/v1/templates/SampleSnapshot", json={"params": {
            "SampleType": "Time", "SampleInterval": 2, "Width": 320, "Height": 180}}).json()["definition"]
        r = c.post(f"/v1/media/{fid}/process", json={"media_process_task": {
            "TranscodeTaskSet": [{"Definition": 100010}],
            "SnapshotByTimeOffsetTaskSet": [{"Definition": 10, "ExtTimeOffsetSet": ["1s", "50%", "99s"]}],
            "SampleSnapshotTaskSet": [{"Definition": sample}],
            "ImageSpriteTaskSet": [{"Definition": sprite}],
            "AdaptiveDynamicStreamingTaskSet": [{"Definition": 10}]}})
        assert r.status_code == 201, r.text
        d = detail(c, r.json()["task_id"], timeout=240)
        statuses = [result(d, i)["Status"] for i in range(5)]
        assert statuses == ["SUCCESS"] * 5, d
        t = result(d, 0)["Output"]
        assert t["Height"] == 360 and t["Container"] == "mp4" and abs(t["Duration"] - 6) < 0.3
        pics = result(d, 1)["Output"]["PicInfoSet"]
        assert [p["TimeOffset"] for p in pics][:2] == [1000, 3000] and len(pics) == 3
        assert all(fetch(p["Url"])[:3] == b"\xff\xd8\xff" for p in pics)
        samples = result(d, 2)["Output"]["ImageUrlSet"]
        assert len(samples) == 3 and image_size(fetch(samples[0]))[:2] == (320, 180)
        sp = result(d, 3)["Output"]
        assert sp["TotalCount"] == 6 and len(sp["ImageUrlSet"]) == 2
        assert image_size(fetch(sp["ImageUrlSet"][0]))[:2] == (512, 288)
        vtt = fetch(sp["WebVttUrl"]).decode()
        assert vtt.startswith("WEBVTT") and vtt.count("#xywh=") == 6
        hls = result(d, 4)["Output"]
        master = fetch(hls["Url"]).decode()
        assert master.count("#EXT-X-STREAM-INF") == len(hls["Rungs"]) >= 2
        assert sorted(r["Height"] for r in hls["Rungs"]) == [240, 480]  # 720p and up skipped
        assert "TYPE=AUDIO" in master
        outs = c.get(f"/v1/media/{fid}").json()["outputs"]
        assert outs["transcodes"] and outs["snapshots"] and outs["image_sprites"] and outs["adaptive_streams"]
        # delete one kind of one Definition only
        assert c.delete(f"/v1/media/{fid}", params={"parts": "transcodes:100010"}).status_code == 200
        assert httpx.get(t["Url"]).status_code in (403, 404)
        outs = c.get(f"/v1/media/{fid}").json()["outputs"]
        assert not outs["transcodes"] and outs["snapshots"]
        snap_url = pics[0]["Url"]
        assert c.delete(f"/v1/media/{fid}").status_code == 200
        assert httpx.get(snap_url).status_code in (403, 404)


def test_session_id_deduplicates(srv: Server, tmp_path: Path) -> None:
    clip = make_clip(tmp_path / "s.mp4", seconds=1, width=320, height=240)
    with srv.client() as c:
        fid = upload_bytes(c, clip.read_bytes(), "s.mp4")
        body = {"media_process_task": {"CoverBySnapshotTaskSet": [{"Definition": 10, "PositionType": "Time",
                                                                    "PositionValue": 0}]},
                "session_id": "once-only"}
        a = c.post(f"/v1/media/{fid}/process", json=body).json()["task_id"]
        b = c.post(f"/v1/media/{fid}/process", json=body).json()["task_id"]
        assert a == b
        r = c.post(f"/v1/media/{fid}/process", json={"media_process_task": {
            "AnimatedGraphicTaskSet": [{"Definition": 999999, "StartTimeOffset": 0, "EndTimeOffset": 1}]}})
        assert r.status_code == 400 and r.json()["error"]["code"] == "InvalidParameterValue.Definition"


AWKWARD = ["rotated", "odd", "vfr", "tenbit", "short"]


@pytest.mark.parametrize("kind", AWKWARD)
def test_awkward_inputs(srv: Server, tmp_path: Path, kind: str) -> None:
    path = tmp_path / f"{kind}.mp4"
    if kind == "rotated":
        make_clip(path, seconds=2, width=640, height=360, rotate=90)
    elif kind == "odd":
        make_clip(path, seconds=2, width=853, height=479, pix_fmt="yuv444p")
    elif kind == "vfr":
        make_clip(path, seconds=3, width=320, height=240, vfr=True)
    elif kind == "tenbit":
        make_clip(path, seconds=2, width=320, height=240, pix_fmt="yuv420p10le")
    else:
        make_clip(path, seconds=0.5, width=320, height=240)
    with srv.client() as c:
        fid = upload_bytes(c, path.read_bytes(), path.name)
        r = c.post(f"/v1/media/{fid}/process", json={"media_process_task": {
            "TranscodeTaskSet": [{"Definition": 100010}],
            "AnimatedGraphicTaskSet": [{"Definition": 20000, "StartTimeOffset": 0, "EndTimeOffset": 2}],
            "CoverBySnapshotTaskSet": [{"Definition": 10, "PositionType": "Time", "PositionValue": 10}]}})
        d = detail(c, r.json()["task_id"])
        assert [result(d, i)["Status"] for i in range(3)] == ["SUCCESS"] * 3, d
        gw, gh, _ = image_size(fetch(result(d, 1)["Output"]["Url"]))
        cw, ch, _ = image_size(fetch(result(d, 2)["Output"]["CoverUrl"]))
        t = result(d, 0)["Output"]
    if kind == "rotated":  # outputs upright: portrait
        assert gh > gw and ch > cw and t["Height"] > t["Width"]
    if kind == "odd":
        assert t["Width"] % 2 == 0 and t["Height"] % 2 == 0
    assert t["VideoStreamSet"][0]["Codec"] == "h264"


def test_audio_only_and_truncated(srv: Server, tmp_path: Path) -> None:
    audio = make_audio(tmp_path / "a.m4a", seconds=3)
    clip = make_clip(tmp_path / "t.mp4", seconds=4, width=320, height=240)
    broken = truncate(clip, tmp_path / "broken.mp4", 0.5)
    with srv.client() as c:
        fa = upload_bytes(c, audio.read_bytes(), "a.m4a")
        r = c.post(f"/v1/media/{fa}/process", json={"media_process_task": {
            "TranscodeTaskSet": [{"Definition": 1110}],
            "AnimatedGraphicTaskSet": [{"Definition": 20000, "StartTimeOffset": 0, "EndTimeOffset": 2}]}})
        task_id = r.json()["task_id"]
        d = detail(c, task_id)
        audio_out, gif = result(d, 0), result(d, 1)
        assert audio_out["Status"] == "SUCCESS" and audio_out["Output"]["Container"] == "m4a"
        assert gif["Status"] == "FAIL" and "video" in gif["Message"].lower()
        # a failed step can be run again alone (and fails again, the same clean way)
        r = c.post(f"/v1/tasks/{task_id}/steps/1/retry")
        assert r.status_code == 200
        d = detail(c, task_id)
        assert result(d, 0)["Status"] == "SUCCESS" and result(d, 1)["Status"] == "FAIL"
        assert c.post(f"/v1/tasks/{task_id}/steps/0/retry").status_code == 400
        fb = upload_bytes(c, broken.read_bytes(), "broken.mp4")
        r = c.post(f"/v1/media/{fb}/process", json={"media_process_task": {
            "TranscodeTaskSet": [{"Definition": 100010}],
            "CoverBySnapshotTaskSet": [{"Definition": 10, "PositionType": "Percent", "PositionValue": 50}]}})
        d = detail(c, r.json()["task_id"])
        for i in range(2):
            assert result(d, i)["Status"] == "FAIL" and result(d, i)["Message"], d
            assert "Traceback" not in result(d, i)["Message"]
        assert c.get("/healthz").status_code == 200


def test_encrypted_ladder_and_change_notifications(srv: Server, tmp_path: Path) -> None:
    clip = make_clip(tmp_path / "aes.mp4", seconds=4, width=640, height=360)
    with srv.client() as c:
        fid = upload_bytes(c, clip.read_bytes(), "aes.mp4")
        c.get("/v1/events", params={"wait": 0})  # hand out what is waiting (confirmed below or not: ignored)
        r = c.post(f"/v1/media/{fid}/process", json={
            "media_process_task": {"AdaptiveDynamicStreamingTaskSet": [{"Definition": 12}],
                                   "CoverBySnapshotTaskSet": [{"Definition": 10, "PositionType": "Percent",
                                                               "PositionValue": 50}]},
            "notify_mode": "Change", "session_context": "ctx-change"})
        task_id = r.json()["task_id"]
        d = detail(c, task_id)
        cover, ads = result(d, 0), result(d, 1)  # sets in MediaProcessTaskInput order: cover first
        assert d["ProcedureTask"]["MediaProcessResultSet"][0]["Type"] == "CoverBySnapshot"
        assert cover["Status"] == ads["Status"] == "SUCCESS", d
        master = fetch(ads["Output"]["Url"]).decode()
        variant_url = next(line for line in master.splitlines() if line.startswith("http") and "v" in line)
        variant = fetch(variant_url).decode()
        key_line = next(line for line in variant.splitlines() if line.startswith("#EXT-X-KEY"))
        assert "METHOD=AES-128" in key_line
        key_url = key_line.split('URI="', 1)[1].split('"', 1)[0]
        assert len(fetch(key_url)) == 16
        assert httpx.get(key_url.split("?", 1)[0]).status_code == 403  # the key needs the signed grant
        seg_url = next(line for line in variant.splitlines() if line.startswith("http"))
        assert fetch(seg_url)[:1] != b"G"  # encrypted: not a plain MPEG-TS sync byte
        # Change mode: one ProcedureStateChanged per step change, the last one FINISH
        seen: list[dict[str, Any]] = []
        deadline = time.monotonic() + 10
        while not any(p["Status"] == "FINISH" for p in seen):
            items = c.get("/v1/events", params={"wait": 1}).json()["items"]
            seen += [e["payload"] for e in items if e["type"] == "ProcedureStateChanged"
                     and e["payload"]["TaskId"] == task_id]
            assert time.monotonic() < deadline, seen
        assert len(seen) >= 3 and all(p["SessionContext"] == "ctx-change" for p in seen)


def test_encrypted_hls_keys_go_with_the_media(srv: Server, tmp_path: Path) -> None:
    clip = make_clip(tmp_path / "aes.mp4", seconds=2, width=320, height=240)
    with srv.client() as c:
        fid = upload_bytes(c, clip.read_bytes(), "aes.mp4")
        ads = c.post("/v1/templates/AdaptiveDynamicStreaming", json={"params": {
            "Format": "HLS", "DrmType": "SimpleAES", "StreamInfos": [{"Video": {"Height": 240, "Bitrate": 300},
                                                                      "Audio": {}}]}})
        assert ads.status_code == 201, ads.text
        r = c.post(f"/v1/media/{fid}/process", json={"media_process_task": {
            "AdaptiveDynamicStreamingTaskSet": [{"Definition": ads.json()["definition"]}]}})
        assert r.status_code == 201, r.text
        assert result(detail(c, r.json()["task_id"]), 0)["Status"] == "SUCCESS"

        def keys() -> int:
            db = server_database(srv)
            try:
                with db.session() as s:
                    return int(s.scalar(text("SELECT count(*) FROM hls_key WHERE media_id=:f"), {"f": fid}) or 0)
            finally:
                db.dispose()

        assert keys() == 1
        assert c.delete(f"/v1/media/{fid}").status_code == 200
        assert keys() == 0  # a deleted file's AES keys are gone with it
