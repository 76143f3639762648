"""The COS side of the object gateway, driven with the real cos-python-sdk-v5 in IP mode."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import httpx
import pytest
from botocore.config import Config
from qcloud_cos import CosConfig, CosS3Client
from qcloud_cos.cos_exception import CosServiceError

from tests.conftest import Server, make_app_server

MiB = 1 << 20
REGION = "ap-guangzhou"
BUCKET = "vodtest-1250000000"


@pytest.fixture(scope="module")
def cossrv(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    s = make_app_server(tmp_path_factory.mktemp("cosgw"))
    try:
        yield s
    finally:
        s.stop()


def cos(srv: Server, secret_key: str | None = None) -> CosS3Client:
    return CosS3Client(CosConfig(Region=REGION, SecretId=srv.secret_id, SecretKey=secret_key or srv.secret_key,
                                 Token=None, Scheme="http", IP="127.0.0.1", Port=srv.port))


def s3(srv: Server) -> Any:
    return boto3.client("s3", endpoint_url=f"{srv.url}/s3", region_name="us-east-1",
                        aws_access_key_id=srv.secret_id, aws_secret_access_key=srv.secret_key,
                        config=Config(s3={"addressing_style": "path"}))


@pytest.fixture(scope="module")
def bucket(cossrv: Server) -> str:
    s3(cossrv).create_bucket(Bucket=BUCKET)
    return BUCKET


def test_put_get_head_delete(cossrv: Server, bucket: str) -> None:
    c = cos(cossrv)
    r = c.put_object(Bucket=bucket, Key="dir/a file.txt", Body=b"hello cos")
    assert {k.lower(): v for k, v in r.items()}["etag"]  # the server sends lower-case header names
    got = c.get_object(Bucket=bucket, Key="dir/a file.txt")
    assert got["Body"].get_raw_stream().read() == b"hello cos"
    head = {k.lower(): v for k, v in c.head_object(Bucket=bucket, Key="dir/a file.txt").items()}
    assert head["content-length"] == "9"
    # The same object through the S3 side.
    assert s3(cossrv).get_object(Bucket=bucket, Key="dir/a file.txt")["Body"].read() == b"hello cos"
    c.delete_object(Bucket=bucket, Key="dir/a file.txt")
    with pytest.raises(CosServiceError) as e:
        c.get_object(Bucket=bucket, Key="dir/a file.txt")
    assert e.value.get_error_code() == "NoSuchKey" and e.value.get_status_code() == 404


def test_upload_file_multipart(cossrv: Server, bucket: str, tmp_path: Path) -> None:
    src = tmp_path / "big.bin"
    src.write_bytes(os.urandom(3 * MiB + 123))
    c = cos(cossrv)
    c.upload_file(Bucket=bucket, Key="big/file.bin", LocalFilePath=str(src), PartSize=1, MAXThread=3,
                  EnableMD5=False)
    got = c.get_object(Bucket=bucket, Key="big/file.bin")["Body"].get_raw_stream().read()
    assert got == src.read_bytes()
    # A small file through upload_file is a single PUT.
    small = tmp_path / "small.txt"
    small.write_bytes(b"tiny")
    c.upload_file(Bucket=bucket, Key="small.txt", LocalFilePath=str(small))
    assert c.get_object(Bucket=bucket, Key="small.txt")["Body"].get_raw_stream().read() == b"tiny"


def test_wrong_key_is_refused(cossrv: Server, bucket: str) -> None:
    with pytest.raises(CosServiceError) as e:
        cos(cossrv, secret_key="wrong").put_object(Bucket=bucket, Key="x.txt", Body=b"x")
    assert e.value.get_error_code() == "SignatureDoesNotMatch" and e.value.get_status_code() == 403


def test_cos_host_does_not_disturb_root_routes(cossrv: Server) -> None:
    assert httpx.get(f"{cossrv.url}/healthz").status_code == 200
    r = httpx.get(f"{cossrv.url}/healthz", headers={"Host": f"{BUCKET}.cos.{REGION}.myqcloud.com"})
    assert r.status_code == 403 and "<Code>AccessDenied</Code>" in r.text


def _vod(srv: Server) -> Any:
    from tencentcloud.common import credential
    from tencentcloud.common.profile.client_profile import ClientProfile
    from tencentcloud.common.profile.http_profile import HttpProfile
    from tencentcloud.vod.v20180717 import vod_client

    http = HttpProfile(protocol="http", endpoint=f"127.0.0.1:{srv.port}")
    return vod_client.VodClient(credential.Credential(srv.secret_id, srv.secret_key), "",
                                ClientProfile(httpProfile=http))


def _call(client: Any, action: str, params: dict[str, Any]) -> dict[str, Any]:
    import json

    from tencentcloud.vod.v20180717 import models

    req = getattr(models, f"{action}Request")()
    req.from_json_string(json.dumps(params))
    resp = getattr(client, action)(req)
    out: dict[str, Any] = json.loads(resp.to_json_string())
    return out


@pytest.mark.parametrize("multipart", [False, True])
def test_apply_cos_upload_commit_with_the_official_sdks(cossrv: Server, small_clip: Path, tmp_path: Path,
                                                        multipart: bool) -> None:
    """ApplyUpload (Tencent SDK) -> COS upload with the temporary credentials (COS SDK, one PUT or
    multipart) -> CommitUpload: a probed FileId whose task flow runs."""
    from tencentcloud.common.exception.tencent_cloud_sdk_exception import TencentCloudSDKException

    from tests.media import make_clip

    with cossrv.client() as h:
        h.post("/v1/procedures", json={"name": "cos-cover", "media_process_task": {
            "CoverBySnapshotTaskSet": [{"Definition": 10, "PositionType": "Time", "PositionValue": 0}]}})
    clip = make_clip(tmp_path / "big.mp4", seconds=6, width=1280, height=720) if multipart else small_clip
    vod = _vod(cossrv)
    r = _call(vod, "ApplyUpload", {"MediaType": "mp4", "MediaName": "small", "CoverType": "jpg",
                                   "Procedure": "cos-cover"})
    assert r["MediaStoragePath"].startswith("/") and r["CoverStoragePath"].endswith(".jpg")
    tc = r["TempCertificate"]
    c = CosS3Client(CosConfig(Region=r["StorageRegion"], SecretId=tc["SecretId"], SecretKey=tc["SecretKey"],
                              Token=tc["Token"], Scheme="http", IP="127.0.0.1", Port=cossrv.port))
    if multipart:  # as VodUploadClient does for big files: upload_file with 1 MiB parts
        assert clip.stat().st_size > 2 * MiB
        c.upload_file(Bucket=r["StorageBucket"], Key=r["MediaStoragePath"][1:], LocalFilePath=str(clip),
                      PartSize=1, MAXThread=2)
    else:
        c.put_object(Bucket=r["StorageBucket"], Key=r["MediaStoragePath"][1:], Body=clip.read_bytes())
    c.put_object(Bucket=r["StorageBucket"], Key=r["CoverStoragePath"][1:], Body=b"\xff\xd8\xff fake jpeg")
    bad = CosS3Client(CosConfig(Region=r["StorageRegion"], SecretId=tc["SecretId"], SecretKey=tc["SecretKey"],
                                Token="wrong", Scheme="http", IP="127.0.0.1", Port=cossrv.port))
    with pytest.raises(CosServiceError) as e:  # the temporary key needs its token
        bad.put_object(Bucket=r["StorageBucket"], Key="x.txt", Body=b"x")
    assert e.value.get_status_code() == 403
    done = _call(vod, "CommitUpload", {"VodSessionKey": r["VodSessionKey"]})
    assert done["FileId"] and done["MediaUrl"] and done["CoverUrl"]
    assert httpx.get(done["MediaUrl"]).content == clip.read_bytes()
    with cossrv.client() as h:
        m = h.get(f"/v1/media/{done['FileId']}").json()
        assert m["name"] == "small" and m["source"]["size"] == clip.stat().st_size
        assert m["metadata"]["Width"] == (1280 if multipart else 320)
        assert m["procedure"] == "cos-cover"
    with pytest.raises(TencentCloudSDKException):
        _call(vod, "CommitUpload", {"VodSessionKey": r["VodSessionKey"][:-2] + "00"})
    # the flow named at ApplyUpload ran (or is running) on the committed file
    events = _call(vod, "PullEvents", {})["EventSet"]
    uploads = [e for e in events if e["EventType"] == "NewFileUpload"
               and e["FileUploadEvent"]["FileId"] == done["FileId"]]
    assert uploads and uploads[0]["FileUploadEvent"]["ProcedureTaskId"]
    task_id = uploads[0]["FileUploadEvent"]["ProcedureTaskId"]
    with cossrv.client() as h:
        assert h.get(f"/v1/tasks/{task_id}/wait", params={"timeout": 60}, timeout=90).json()["state"] == "succ"
    d = _call(vod, "DescribeTaskDetail", {"TaskId": task_id})
    assert d["Status"] == "FINISH"
    cover = d["ProcedureTask"]["MediaProcessResultSet"][0]["CoverBySnapshotTask"]
    assert httpx.get(cover["Output"]["CoverUrl"]).content[:3] == b"\xff\xd8\xff"
