"""Authentication edges (issue 10, item 7), attacked with the official clients.

* a TC3 request captured from the real tencentcloud-sdk-python and resent with another
  ``X-TC-Action`` (or, unsigned payload, another body) is refused; an identical resend is not;
* presigned S3 URLs from botocore: > 7 days, dated in the future, expired, other region;
* ApplyUpload's temporary COS credentials through the real cos-python-sdk-v5: only the upload's
  keys, not after their expiry, not after the issuing key is disabled;
* ``vodSubAppId`` in an upload signature: honoured for a default-app key, refused for a tenant
  key aiming at another app, refused when it names no app.

The server runs in this process (uvicorn on a thread, real SQLite and local storage in a temp
dir), so the tests can reach its services to make a second app and read where uploads landed.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import boto3
import botocore.auth
import httpx
import pytest
import uvicorn
from botocore.config import Config
from botocore.exceptions import ClientError
from qcloud_cos import CosConfig, CosS3Client
from qcloud_cos.cos_exception import CosServiceError
from tencentcloud.common import credential
from tencentcloud.common.exception.tencent_cloud_sdk_exception import TencentCloudSDKException
from tencentcloud.common.profile.client_profile import ClientProfile
from tencentcloud.common.profile.http_profile import HttpProfile
from tencentcloud.vod.v20180717 import models, vod_client

from openvod import sign_upload
from openvod.api.app import create_app
from openvod.api.compat.tencent import library_render
from openvod.config import Settings
from openvod.runtime import Context
from openvod.services import apps, cos_upload, uploads
from openvod.services.context import build_context
from tests.conftest import SECRET_ID, SECRET_KEY, free_port
from tests.tus import OCTET, TUS, metadata

WEEK = 7 * 24 * 3600


@dataclass
class Srv:
    ctx: Context
    port: int

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


@pytest.fixture(scope="module")
def srv(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Srv]:
    port = free_port()
    data = tmp_path_factory.mktemp("authedges")
    settings = Settings(data_dir=data, port=port, workers=0, secret_id=SECRET_ID, secret_key=SECRET_KEY)
    ctx = build_context(settings)
    apps.ensure_default_app(ctx.db, SECRET_ID, SECRET_KEY)
    server = uvicorn.Server(uvicorn.Config(create_app(ctx), host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, name="uvicorn-authedges", daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline and thread.is_alive(), "in-process server did not start"
        time.sleep(0.02)
    yield Srv(ctx, port)
    server.should_exit = True
    thread.join(timeout=15)


def _vod(srv: Srv, sid: str = SECRET_ID, skey: str = SECRET_KEY, *, unsigned: bool = False) -> Any:
    profile = ClientProfile(httpProfile=HttpProfile(protocol="http", endpoint=f"127.0.0.1:{srv.port}", reqTimeout=30))
    profile.unsignedPayload = unsigned
    return vod_client.VodClient(credential.Credential(sid, skey), "", profile)


def _call(client: Any, action: str, params: dict[str, Any]) -> dict[str, Any]:
    req = getattr(models, f"{action}Request")()
    req.from_json_string(json.dumps(params))
    out: dict[str, Any] = json.loads(getattr(client, action)(req).to_json_string())
    return out


def _capture(client: Any) -> list[Any]:
    """What the SDK puts on the wire (an eavesdropper's copy): requests' PreparedRequests."""
    sent: list[Any] = []
    client.request.conn._session.hooks["response"].append(lambda r, *a, **k: sent.append(r.request))
    return sent


def _resend(srv: Srv, prepared: Any, **header_changes: str | bytes) -> dict[str, Any]:
    headers: dict[bytes, bytes] = {k.encode(): v.encode() for k, v in prepared.headers.items()
                                   if k.lower() not in ("content-length", "connection")}
    headers.update({k.encode(): v if isinstance(v, bytes) else v.encode()
                    for k, v in header_changes.items()})
    body = prepared.body if isinstance(prepared.body, bytes) else (prepared.body or "").encode()
    r = httpx.request(prepared.method, f"{srv.url}/", headers=headers, content=body, timeout=30)
    assert r.status_code == 200
    out: dict[str, Any] = r.json()["Response"]
    return out


def _new_media(srv: Srv) -> str:
    """A media row to fight over (a tiny upload; its probe failing does not matter here)."""
    h = {**TUS, **OCTET, "Upload-Length": "64", "Upload-Metadata": metadata(filename="victim.mp4")}
    r = httpx.post(f"{srv.url}/v1/uploads", content=b"\0" * 64, headers=h, auth=(SECRET_ID, SECRET_KEY), timeout=30)
    assert r.status_code == 201, r.text
    return r.headers["OpenVOD-File-Id"]


def _media_exists(srv: Srv, file_id: str) -> bool:
    r = httpx.get(f"{srv.url}/v1/media/{file_id}", auth=(SECRET_ID, SECRET_KEY), timeout=30)
    return r.status_code == 200 and r.json().get("state", "normal") == "normal"


# --- (a) TC3 replay -------------------------------------------------------------------------


def test_sdk_does_not_sign_the_action(srv: Srv) -> None:
    """Why the guard exists: the official SDK signs content-type and host only."""
    client = _vod(srv)
    sent = _capture(client)
    _call(client, "DescribeProcedureTemplates", {})
    assert "SignedHeaders=content-type;host," in sent[-1].headers["Authorization"]


def test_replayed_tc3_request_with_another_action_is_refused(srv: Srv) -> None:
    file_id = _new_media(srv)
    client = _vod(srv)
    sent = _capture(client)
    _call(client, "ModifyMediaInfo", {"FileId": file_id, "Name": "renamed"})
    captured = sent[-1]
    assert captured.headers["X-TC-Action"] == "ModifyMediaInfo"
    # The same body resent as DeleteMedia within the skew window: refused, the media survives.
    r = _resend(srv, captured, **{"X-TC-Action": "DeleteMedia"})
    assert r["Error"]["Code"] == "AuthFailure.SignatureReplay", r
    assert _media_exists(srv, file_id)
    # An identical resend (an SDK retry, or the same call twice in one second) is accepted.
    r = _resend(srv, captured)
    assert "Error" not in r, r
    assert _media_exists(srv, file_id)


def test_a_read_signature_serves_another_read_but_never_a_change(srv: Srv) -> None:
    """Two parameterless listings in one second make one signature: both are answered (reads
    share a fingerprint); the same signature resent as a changing action is refused."""
    client = _vod(srv)
    sent = _capture(client)
    _call(client, "DescribeProcedureTemplates", {})
    captured = sent[-1]
    r = _resend(srv, captured, **{"X-TC-Action": "DescribeTranscodeTemplates"})
    assert "Error" not in r, r
    r = _resend(srv, captured, **{"X-TC-Action": "DeleteProcedureTemplate"})
    assert r["Error"]["Code"] == "AuthFailure.SignatureReplay", r


def test_replayed_unsigned_payload_with_another_body_is_refused(srv: Srv) -> None:
    victim = _new_media(srv)
    client = _vod(srv, unsigned=True)
    sent = _capture(client)
    _call(client, "DescribeMediaInfos", {"FileIds": ["nonexistent"]})
    captured = sent[-1]
    assert captured.headers["X-TC-Content-SHA256"] == "UNSIGNED-PAYLOAD"
    captured.body = json.dumps({"FileId": victim}).encode()
    r = _resend(srv, captured, **{"X-TC-Action": "DeleteMedia"})
    assert r["Error"]["Code"] == "AuthFailure.SignatureReplay", r
    assert _media_exists(srv, victim)


def test_odd_timestamp_digits_are_a_4xx_code(srv: Srv) -> None:
    client = _vod(srv)
    sent = _capture(client)
    _call(client, "DescribeProcedureTemplates", {})
    for ts in ("²", "1" * 5000, "１７００００００００", "-5", ""):
        r = _resend(srv, sent[-1], **{"X-TC-Timestamp": ts.encode()})
        assert r["Error"]["Code"] == "AuthFailure.InvalidAuthorization", (ts[:20], r)


# --- (b) presigned S3 URLs ------------------------------------------------------------------


def _s3(srv: Srv, region: str = "us-east-1") -> Any:
    return boto3.client("s3", endpoint_url=f"{srv.url}/s3", region_name=region, aws_access_key_id=SECRET_ID,
                        aws_secret_access_key=SECRET_KEY,
                        config=Config(signature_version="s3v4", s3={"addressing_style": "path"}))


@pytest.fixture(scope="module")
def s3_object(srv: Srv) -> tuple[str, str]:
    c = _s3(srv)
    c.create_bucket(Bucket="presign")
    c.put_object(Bucket="presign", Key="a.txt", Body=b"presigned bytes")
    return "presign", "a.txt"


def _s3_error(r: httpx.Response) -> tuple[int, str]:
    code = r.text.split("<Code>", 1)[1].split("</Code>", 1)[0] if "<Code>" in r.text else ""
    return r.status_code, code


def _presign(srv: Srv, obj: tuple[str, str], expires: int, region: str = "us-east-1") -> str:
    url: str = _s3(srv, region).generate_presigned_url("get_object", Params={"Bucket": obj[0], "Key": obj[1]},
                                                       ExpiresIn=expires)
    return url


def test_presigned_expiry_bounds(srv: Srv, s3_object: tuple[str, str]) -> None:
    assert httpx.get(_presign(srv, s3_object, WEEK)).content == b"presigned bytes"
    r = httpx.get(_presign(srv, s3_object, WEEK + 1))
    assert _s3_error(r) == (400, "AuthorizationQueryParametersError"), r.text
    for bad in ("0", "²", "9" * 5000, "-1", "1e3"):
        url = _presign(srv, s3_object, 60)
        start = url.index("X-Amz-Expires=") + len("X-Amz-Expires=")
        r = httpx.get(url[:start] + bad + url[url.index("&", start):])
        # 0 is well formed, and expired as the URL is made (S3: 403 AccessDenied, "Request has expired").
        want = (403, "AccessDenied") if bad == "0" else (400, "AuthorizationQueryParametersError")
        assert _s3_error(r) == want, (bad[:20], r.text)


def test_presigned_with_a_future_date_is_refused(srv: Srv, s3_object: tuple[str, str],
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    real = botocore.auth.get_current_datetime
    # The signing client's clock runs an hour ahead (a URL minted to be used "later").
    monkeypatch.setattr(botocore.auth, "get_current_datetime", lambda *a, **k: real(*a, **k) + timedelta(hours=1))
    r = httpx.get(_presign(srv, s3_object, 600))
    assert _s3_error(r) == (403, "AccessDenied") and "not valid yet" in r.text, r.text
    # Ahead by less than the skew (clocks differ a little): accepted.
    monkeypatch.setattr(botocore.auth, "get_current_datetime", lambda *a, **k: real(*a, **k) + timedelta(minutes=5))
    assert httpx.get(_presign(srv, s3_object, 600)).status_code == 200


def test_presigned_expired_is_refused(srv: Srv, s3_object: tuple[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    real = botocore.auth.get_current_datetime
    monkeypatch.setattr(botocore.auth, "get_current_datetime", lambda *a, **k: real(*a, **k) - timedelta(hours=2))
    r = httpx.get(_presign(srv, s3_object, 3600))
    assert _s3_error(r) == (403, "AccessDenied") and "Request has expired" in r.text, r.text


def test_region_must_be_the_gateways(srv: Srv, s3_object: tuple[str, str]) -> None:
    assert srv.ctx.settings.s3_gateway_region == "us-east-1"
    r = httpx.get(_presign(srv, s3_object, 600, region="eu-west-1"))
    assert _s3_error(r) == (400, "AuthorizationQueryParametersError") and "eu-west-1" in r.text, r.text
    with pytest.raises(ClientError) as e:
        _s3(srv, "eu-west-1").get_object(Bucket=s3_object[0], Key=s3_object[1])
    assert e.value.response["Error"]["Code"] == "AuthorizationHeaderMalformed"
    # A tampered presigned URL still fails on its signature.
    url = _presign(srv, s3_object, 600)
    assert _s3_error(httpx.get(url.replace("X-Amz-Expires=600", "X-Amz-Expires=601"))) == (
        403, "SignatureDoesNotMatch")


# --- (c) ApplyUpload's temporary COS credentials --------------------------------------------


def _cos(srv: Srv, cert: dict[str, Any], region: str = "ap-guangzhou") -> CosS3Client:
    return CosS3Client(CosConfig(Region=region, SecretId=cert["SecretId"], SecretKey=cert["SecretKey"],
                                 Token=cert["Token"], Scheme="http", IP="127.0.0.1", Port=srv.port))


def _new_key(srv: Srv) -> tuple[str, str]:
    r = httpx.post(f"{srv.url}/v1/keys", json={"description": "uploader"}, auth=(SECRET_ID, SECRET_KEY), timeout=30)
    assert r.status_code == 201, r.text
    return r.json()["secret_id"], r.json()["secret_key"]


def test_temp_cos_credentials_cover_only_their_upload(srv: Srv) -> None:
    r = _call(_vod(srv), "ApplyUpload", {"MediaType": "mp4", "MediaName": "scoped", "CoverType": "jpg"})
    cert, bucket = r["TempCertificate"], r["StorageBucket"]
    assert 0 < cert["ExpiredTime"] - time.time() <= srv.ctx.settings.cos_upload_ttl  # 1 h, not 24 h
    c = _cos(srv, cert)
    c.put_object(Bucket=bucket, Key=r["MediaStoragePath"][1:], Body=b"media bytes")
    c.put_object(Bucket=bucket, Key=r["CoverStoragePath"][1:], Body=b"cover bytes")
    assert c.get_object(Bucket=bucket, Key=r["MediaStoragePath"][1:])["Body"].get_raw_stream().read() == b"media bytes"
    other = _call(_vod(srv), "ApplyUpload", {"MediaType": "mp4", "MediaName": "other"})
    attempts: list[Callable[[], Any]] = [
        lambda: c.put_object(Bucket=bucket, Key="media/elsewhere.mp4", Body=b"x"),
        lambda: c.put_object(Bucket=bucket, Key=other["MediaStoragePath"][1:], Body=b"x"),  # another upload's key
        lambda: c.get_object(Bucket=bucket, Key=other["MediaStoragePath"][1:]),
        lambda: c.list_objects(Bucket=bucket),
        lambda: c.delete_object(Bucket=bucket, Key=r["MediaStoragePath"][1:]),
        lambda: c.put_object(Bucket="otherbucket", Key=r["MediaStoragePath"][1:], Body=b"x"),
        lambda: c.copy_object(Bucket=bucket, Key=r["MediaStoragePath"][1:],
                              CopySource={"Bucket": bucket, "Key": "media/elsewhere.mp4", "Region": "ap-guangzhou"}),
    ]
    for i, attempt in enumerate(attempts):
        with pytest.raises(CosServiceError) as e:
            attempt()
        assert (e.value.get_status_code(), e.value.get_error_code()) == (403, "AccessDenied"), i


def test_temp_cos_credentials_multipart_upload_of_its_key(srv: Srv, tmp_path: Path) -> None:
    r = _call(_vod(srv), "ApplyUpload", {"MediaType": "mp4", "MediaName": "multi"})
    src = tmp_path / "big.bin"
    src.write_bytes(b"\1" * (2 * 1024 * 1024 + 5))
    c = _cos(srv, r["TempCertificate"])
    c.upload_file(Bucket=r["StorageBucket"], Key=r["MediaStoragePath"][1:], LocalFilePath=str(src), PartSize=1,
                  MAXThread=2, EnableMD5=False)
    got = c.get_object(Bucket=r["StorageBucket"], Key=r["MediaStoragePath"][1:])["Body"].get_raw_stream().read()
    assert got == src.read_bytes()


def test_temp_cos_credentials_die_with_the_issuing_key(srv: Srv) -> None:
    sid, skey = _new_key(srv)
    r = _call(_vod(srv, sid, skey), "ApplyUpload", {"MediaType": "mp4", "MediaName": "revoked"})
    c = _cos(srv, r["TempCertificate"])
    key = r["MediaStoragePath"][1:]
    c.put_object(Bucket=r["StorageBucket"], Key=key, Body=b"first")
    d = httpx.post(f"{srv.url}/v1/keys/{sid}/disable", auth=(SECRET_ID, SECRET_KEY), timeout=30)
    assert d.status_code == 200 and d.json()["state"] == "disabled"
    with pytest.raises(CosServiceError) as e:
        c.put_object(Bucket=r["StorageBucket"], Key=key, Body=b"second")
    assert (e.value.get_status_code(), e.value.get_error_code()) == (403, "InvalidAccessKeyId")


def test_temp_cos_credentials_expire(srv: Srv) -> None:
    default = apps.default_app(srv.ctx.db)
    # Minted by the real ApplyUpload code two hours ago, i.e. with cos_upload_ttl (1 h) long past.
    r = library_render.apply_upload(cos_upload.apply_upload(srv.ctx, default.id, {"MediaType": "mp4"},
                                                            secret_id=SECRET_ID, now=time.time() - 7200))
    assert r["TempCertificate"]["ExpiredTime"] < time.time()
    with pytest.raises(CosServiceError) as e:
        _cos(srv, r["TempCertificate"]).put_object(Bucket=r["StorageBucket"], Key=r["MediaStoragePath"][1:],
                                                  Body=b"late")
    assert (e.value.get_status_code(), e.value.get_error_code()) == (403, "InvalidAccessKeyId")
    with pytest.raises(TencentCloudSDKException) as t:
        _call(_vod(srv), "CommitUpload", {"VodSessionKey": r["VodSessionKey"]})
    assert t.value.code == "InvalidParameterValue.VodSessionKey"


# --- (d) vodSubAppId in upload signatures ---------------------------------------------------


@pytest.fixture(scope="module")
def tenant(srv: Srv) -> tuple[apps.AppInfo, apps.KeyInfo]:
    return apps.create_app(srv.ctx.db, "tenant-b")


def _signed_upload(srv: Srv, sig: str) -> httpx.Response:
    h = {**TUS, "Upload-Length": "16", "X-VOD-Signature": sig, "Upload-Metadata": metadata(filename="s.mp4")}
    return httpx.post(f"{srv.url}/v1/uploads", headers=h, timeout=30)


def _upload_app(srv: Srv, r: httpx.Response) -> str:
    assert r.status_code == 201, r.text
    return uploads.get_upload(srv.ctx, r.headers["Location"].rstrip("/").rsplit("/", 1)[1]).app_id


def test_default_key_may_upload_into_a_sub_app(srv: Srv, tenant: tuple[apps.AppInfo, apps.KeyInfo]) -> None:
    app, _key = tenant
    r = _signed_upload(srv, sign_upload(SECRET_ID, SECRET_KEY, sub_app_id=app.sub_app_id))
    assert _upload_app(srv, r) == app.id  # honoured, not silently the default app
    assert _upload_app(srv, _signed_upload(srv, sign_upload(SECRET_ID, SECRET_KEY))) == apps.default_app(
        srv.ctx.db).id


def test_tenant_key_may_not_aim_at_another_app(srv: Srv, tenant: tuple[apps.AppInfo, apps.KeyInfo]) -> None:
    app, key = tenant
    default = apps.default_app(srv.ctx.db)
    assert _upload_app(srv, _signed_upload(srv, sign_upload(key.secret_id, key.secret_key,
                                                            sub_app_id=app.sub_app_id))) == app.id
    r = _signed_upload(srv, sign_upload(key.secret_id, key.secret_key, sub_app_id=default.sub_app_id))
    assert r.status_code == 401 and r.json()["error"]["code"] == "AuthFailure.SubAppIdMismatch", r.text
    r = _signed_upload(srv, sign_upload(SECRET_ID, SECRET_KEY, sub_app_id=999))
    assert r.status_code == 400 and r.json()["error"]["code"] == "InvalidParameterValue.SubAppId", r.text
