"""Signature round trips: requests signed by the real client signers, verified by ours.

- SigV4, service ``s3``: botocore's S3 client (``S3SigV4Auth`` in the header, ``generate_presigned_url``
  with ``S3SigV4QueryAuth``), against :func:`openvod.auth.sigv4.verify` with the S3 gateway's policy;
- SigV4, service ``offline``: Kingsoft's ``kscore`` client (ksc-sdk-python), with Kingsoft's policy;
- TC3: the Tencent SDK's own request builder (``AbstractClient._build_req_with_tc3_signature``);
- COS: cos-python-sdk-v5's ``CosS3Auth``.

Each is accepted as signed, and refused with the right :mod:`openvod.auth.codes` code when the key,
the date, the scope or the region is wrong, when it has expired, and (TC3) when it is replayed.
Time is moved on the verifier's side (``now``), never by patching the signers.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

import boto3
import kscore.auth
import pytest
import requests
from botocore.config import Config
from kscore.credentials import Credentials as KsCredentials
from kscore.session import get_session as ks_session
from qcloud_cos import CosConfig
from qcloud_cos.cos_auth import CosS3Auth
from tencentcloud.common import credential
from tencentcloud.common.http.request import RequestInternal
from tencentcloud.common.profile.client_profile import ClientProfile
from tencentcloud.common.profile.http_profile import HttpProfile
from tencentcloud.vod.v20180717 import vod_client

from openvod.auth import codes, cos, sigv4, tc3
from openvod.auth.replay import ReplayGuard
from openvod.errors import AuthFailure

AK, SK = "AKIDroundtrip", "secret/with+chars=="


@dataclass(frozen=True)
class Key:
    secret_key: str


KEYS = {AK: Key(SK)}


def lookup(access_key: str) -> Key | None:
    return KEYS.get(access_key)


def nobody(access_key: str) -> Key | None:
    return None


def no_secret(secret_id: str) -> str | None:
    return None


def refused(code: str, call: Callable[[], object]) -> AuthFailure:
    with pytest.raises(AuthFailure) as info:
        call()
    assert info.value.code == code, info.value
    return info.value


class _Captured(Exception):
    """Raised by an event hook once the SDK has signed its request, so nothing is sent."""


# ---------------------------------------------------------------- SigV4, S3 (botocore)

S3_POLICY = sigv4.Policy("s3", region="us-east-1", presigned=True, double_encode_path=False)


def _boto(region: str = "us-east-1", secret: str = SK, access_key: str = AK) -> Any:
    return boto3.client("s3", endpoint_url="http://gw.example:8080/s3", region_name=region,
                        aws_access_key_id=access_key, aws_secret_access_key=secret,
                        config=Config(signature_version="s3v4", s3={"addressing_style": "path"}))


def _from_url(method: str, url: str, headers: dict[str, str], body: bytes | None = None,
              **kw: Any) -> sigv4.SignedRequest:
    parts = urlsplit(url)
    hdrs = {"host": parts.netloc, **{k.lower(): v for k, v in headers.items()}}
    return sigv4.SignedRequest(method, parts.path, parts.query, hdrs, **kw)


def boto_signed(call: Callable[[Any], object], client: Any) -> sigv4.SignedRequest:
    """The request botocore's S3 client signs for ``call(client)``, as the gateway receives it."""
    grabbed: list[sigv4.SignedRequest] = []

    def grab(request: Any, **_: Any) -> None:
        headers = {k: v.decode() if isinstance(v, bytes) else v for k, v in request.headers.items()}
        grabbed.append(_from_url(request.method, request.url, headers))
        raise _Captured

    client.meta.events.register_last("before-send.s3", grab)
    with pytest.raises(_Captured):
        call(client)
    return grabbed[0]


def test_s3_header_signature_round_trip() -> None:
    req = boto_signed(lambda c: c.put_object(Bucket="b", Key="dir/a b+c~é.txt", Body=b"hello"), _boto())
    assert "%20" in req.path or "+" in req.path  # the key is sent encoded, as S3 signs it
    v = sigv4.verify(req, lookup, now=time.time(), policy=S3_POLICY)
    assert v.key is KEYS[AK] and v.credential.service == "s3" and v.credential.region == "us-east-1"
    assert v.payload == req.headers["x-amz-content-sha256"] and not v.credential.presigned
    listing = boto_signed(lambda c: c.list_objects_v2(Bucket="b", Prefix="a b/", MaxKeys=7), _boto())
    assert "prefix=" in listing.query
    assert sigv4.verify(listing, lookup, now=time.time(), policy=S3_POLICY).key is KEYS[AK]


def test_s3_header_signature_refusals() -> None:
    now = time.time()
    req = boto_signed(lambda c: c.get_object(Bucket="b", Key="k"), _boto())
    wrong_secret = boto_signed(lambda c: c.get_object(Bucket="b", Key="k"), _boto(secret=SK + "x"))
    refused(codes.MISMATCH, lambda: sigv4.verify(wrong_secret, lookup, now=now, policy=S3_POLICY))
    unknown = boto_signed(lambda c: c.get_object(Bucket="b", Key="k"), _boto(access_key="AKIDnobody"))
    refused(codes.UNKNOWN_KEY, lambda: sigv4.verify(unknown, lookup, now=now, policy=S3_POLICY))
    # the clock: 16 minutes either way is too far
    refused(codes.SKEWED, lambda: sigv4.verify(req, lookup, now=now + 16 * 60, policy=S3_POLICY))
    refused(codes.SKEWED, lambda: sigv4.verify(req, lookup, now=now - 16 * 60, policy=S3_POLICY))
    # another day in X-Amz-Date than in the credential scope
    amz = req.headers["x-amz-date"]
    other_day = {**req.headers, "x-amz-date": ("20200101" + amz[8:])}
    refused(codes.DATE_MISMATCH, lambda: sigv4.verify(_with(req, headers=other_day), lookup, now=now,
                                                       policy=S3_POLICY))
    refused(codes.BAD_DATE, lambda: sigv4.verify(_with(req, headers={**req.headers, "x-amz-date": "yesterday"}),
                                                 lookup, now=now, policy=S3_POLICY))
    # another region than the gateway's; any region when the gateway says "*"
    eu = boto_signed(lambda c: c.get_object(Bucket="b", Key="k"), _boto(region="eu-west-1"))
    err = refused(codes.WRONG_SCOPE, lambda: sigv4.verify(eu, lookup, now=now, policy=S3_POLICY))
    assert "eu-west-1" in err.message
    anywhere = sigv4.Policy("s3", region="*", presigned=True, double_encode_path=False)
    assert sigv4.verify(eu, lookup, now=now, policy=anywhere).credential.region == "eu-west-1"
    # a signature for s3 is not one for another service
    refused(codes.WRONG_SCOPE, lambda: sigv4.verify(req, lookup, now=now, policy=sigv4.Policy("offline")))
    # tampering: another key, another query, a header dropped
    refused(codes.MISMATCH, lambda: sigv4.verify(_with(req, path=req.path + "x"), lookup, now=now, policy=S3_POLICY))
    refused(codes.MISMATCH, lambda: sigv4.verify(_with(req, query="versionId=1"), lookup, now=now, policy=S3_POLICY))
    no_hash = {k: v for k, v in req.headers.items() if k != "x-amz-content-sha256"}
    refused(codes.NO_PAYLOAD_HASH, lambda: sigv4.verify(_with(req, headers=no_hash), lookup, now=now,
                                                        policy=S3_POLICY))
    anonymous = {k: v for k, v in req.headers.items() if k != "authorization"}
    refused(codes.MISSING, lambda: sigv4.verify(_with(req, headers=anonymous), lookup, now=now, policy=S3_POLICY))


def _with(req: sigv4.SignedRequest, **changes: Any) -> sigv4.SignedRequest:
    return replace(req, **changes)


def _presigned(expires: int, region: str = "us-east-1", secret: str = SK) -> sigv4.SignedRequest:
    url = _boto(region, secret).generate_presigned_url("get_object", Params={"Bucket": "b", "Key": "a b/c.txt"},
                                                       ExpiresIn=expires)
    return _from_url("GET", url, {})


def test_s3_presigned_round_trip_and_refusals() -> None:
    now = time.time()
    req = _presigned(600)
    v = sigv4.verify(req, lookup, now=now, policy=S3_POLICY)
    assert v.credential.presigned and v.payload == sigv4.UNSIGNED_PAYLOAD
    # presigned URLs are a policy choice: Kingsoft's does not take them
    refused(codes.MISSING, lambda: sigv4.verify(req, lookup, now=now, policy=sigv4.Policy("s3")))
    refused(codes.EXPIRED, lambda: sigv4.verify(req, lookup, now=now + 601, policy=S3_POLICY))
    # dated more than the skew ahead of the server's clock: not valid yet; a little ahead is fine
    refused(codes.NOT_YET_VALID, lambda: sigv4.verify(req, lookup, now=now - 16 * 60, policy=S3_POLICY))
    assert sigv4.verify(req, lookup, now=now - 5 * 60, policy=S3_POLICY)
    assert sigv4.verify(_presigned(sigv4.MAX_EXPIRES), lookup, now=now, policy=S3_POLICY)
    # botocore refuses to mint over a week; an edited expiry is refused before the signature
    week_plus = _with(req, query=req.query.replace("X-Amz-Expires=600", f"X-Amz-Expires={sigv4.MAX_EXPIRES + 1}"))
    refused(codes.BAD_QUERY, lambda: sigv4.verify(week_plus, lookup, now=now, policy=S3_POLICY))
    longer = _with(req, query=req.query.replace("X-Amz-Expires=600", "X-Amz-Expires=601"))
    refused(codes.MISMATCH, lambda: sigv4.verify(longer, lookup, now=now, policy=S3_POLICY))
    refused(codes.MISMATCH, lambda: sigv4.verify(_presigned(600, secret="wrong"), lookup, now=now, policy=S3_POLICY))
    eu = _presigned(600, region="eu-west-1")
    assert "eu-west-1" in refused(codes.BAD_QUERY, lambda: sigv4.verify(eu, lookup, now=now, policy=S3_POLICY)).message


# ---------------------------------------------------------------- SigV4, Kingsoft offline (kscore)

def _ks_policy(action_header: str = "x-action") -> sigv4.Policy:
    return sigv4.Policy("offline", signed_headers=("host", "x-amz-date", action_header))


@pytest.fixture()
def ks_client() -> Iterator[Any]:
    yield ks_session().create_client("offline", "cn-beijing-6", use_ssl=False, ks_access_key_id=AK,
                                     ks_secret_access_key=SK, endpoint_url="http://vod.example:18080")


def ks_signed(client: Any, call: Callable[[Any], object]) -> tuple[sigv4.SignedRequest, Any]:
    """What kscore sends for ``call(client)`` (and its unsent request, to sign again)."""
    grabbed: list[Any] = []

    def grab(request: Any, **_: Any) -> None:
        grabbed.append(request)
        raise _Captured

    client.meta.events.register_last("request-created.offline", grab)
    try:
        with pytest.raises(_Captured):
            call(client)
    finally:
        client.meta.events.unregister("request-created.offline", grab)
    return _ks_parts(grabbed[0]), grabbed[0]


def _ks_parts(request: Any) -> sigv4.SignedRequest:
    wire = request.prepare()
    body = wire.body or b""
    body = body.encode() if isinstance(body, str) else body
    return _from_url(wire.method, wire.url, dict(wire.headers.items()), body_hash=sigv4.payload_hash(body))


def test_kingsoft_round_trip(ks_client: Any) -> None:
    now = time.time()
    get, _ = ks_signed(ks_client, lambda c: c.get_preset_list(presets="a b/c*~+é", presettype="avop"))
    assert "presets=a%20b%2Fc" in get.query
    assert sigv4.verify(get, lookup, now=now, policy=_ks_policy()).credential.service == "offline"
    post, _ = ks_signed(ks_client, lambda c: c.preset(preset="p", presettype="avop", param={"f": "mp4"}))
    assert post.method == "POST" and sigv4.verify(post, lookup, now=now, policy=_ks_policy()).key is KEYS[AK]
    # the header-only half refuses an unknown key before the body is read
    cred, key = sigv4.precheck(post, lookup, now=now, policy=_ks_policy())
    assert key is KEYS[AK] and cred.access_key == AK
    refused(codes.UNKNOWN_KEY, lambda: sigv4.precheck(post, nobody, now=now, policy=_ks_policy()))


def test_kingsoft_refusals(ks_client: Any) -> None:
    now = time.time()
    req, unsent = ks_signed(ks_client, lambda c: c.get_preset_detail(preset="system-360p-h264"))
    refused(codes.MISMATCH, lambda: sigv4.verify(req, lambda ak: Key(SK + "x"), now=now, policy=_ks_policy()))
    refused(codes.UNKNOWN_KEY, lambda: sigv4.verify(req, nobody, now=now, policy=_ks_policy()))
    refused(codes.SKEWED, lambda: sigv4.verify(req, lookup, now=now + 20 * 60, policy=_ks_policy()))
    refused(codes.MISMATCH, lambda: sigv4.verify(_with(req, body_hash=sigv4.payload_hash(b"{}")), lookup, now=now,
                                                 policy=_ks_policy()))
    # the operation's header must be signed, and a changed operation breaks the signature
    refused(codes.UNSIGNED_HEADER, lambda: sigv4.verify(req, lookup, now=now, policy=_ks_policy("x-other")))
    renamed = _with(req, headers={**req.headers, "x-action": "DelPreset"})
    refused(codes.MISMATCH, lambda: sigv4.verify(renamed, lookup, now=now, policy=_ks_policy()))
    # the same request signed for another service (kscore's signer, scope "iam") is out of scope
    del unsent.headers["Authorization"]
    kscore.auth.SigV4Auth(KsCredentials(AK, SK), "iam", "cn-beijing-6").add_auth(unsent)
    refused(codes.WRONG_SCOPE, lambda: sigv4.verify(_ks_parts(unsent), lookup, now=now, policy=_ks_policy()))


# ---------------------------------------------------------------- TC3 (the Tencent SDK's signer)

def tc3_signed(action: str, params: dict[str, Any], *, secret: str = SK, method: str = "POST",
               unsigned_payload: bool = False) -> tuple[str, str, dict[str, str], bytes]:
    """(method, query, lower-case headers, body) of the request the Tencent SDK builds and signs."""
    profile = ClientProfile(httpProfile=HttpProfile(endpoint="vod.example:8080", reqMethod=method))
    profile.unsignedPayload = unsigned_payload
    client = vod_client.VodClient(credential.Credential(AK, secret), "ap-guangzhou", profile)
    req = RequestInternal("vod.example:8080", method, "/")
    client._build_req_with_tc3_signature(action, params, req)
    data = req.data.encode() if isinstance(req.data, str) else req.data
    headers = {k.lower(): str(v) for k, v in req.header.items()}
    if method == "GET":
        return method, req.data, headers, b""
    return method, "", headers, data


def _secret(secret_id: str) -> str | None:
    return SK if secret_id == AK else None


def test_tc3_round_trip_and_refusals() -> None:
    now = time.time()
    method, query, headers, body = tc3_signed("DescribeMediaInfos", {"FileIds": ["f1", "f2"]})
    assert tc3.verify_tc3(method, query, headers, body, _secret, now=now) == AK
    g = tc3_signed("DescribeTaskDetail", {"TaskId": "t-1 2"}, method="GET")
    assert tc3.verify_tc3(g[0], g[1], g[2], g[3], _secret, now=now) == AK
    u = tc3_signed("DescribeMediaInfos", {"FileIds": ["f1"]}, unsigned_payload=True)
    assert tc3.verify_tc3(u[0], u[1], u[2], b"any body", _secret, now=now) == AK
    tc3.precheck(headers, _secret, now=now)

    wrong = tc3_signed("DescribeMediaInfos", {"FileIds": ["f1"]}, secret=SK + "x")
    refused(codes.MISMATCH, lambda: tc3.verify_tc3(*wrong, _secret, now=now))
    refused(codes.UNKNOWN_KEY, lambda: tc3.verify_tc3(method, query, headers, body, no_secret, now=now))
    refused(codes.UNKNOWN_KEY, lambda: tc3.precheck(headers, no_secret, now=now))
    refused(codes.SKEWED, lambda: tc3.verify_tc3(method, query, headers, body, _secret, now=now + 301))
    refused(codes.SKEWED, lambda: tc3.precheck(headers, _secret, now=now - 301))
    refused(codes.MISMATCH, lambda: tc3.verify_tc3(method, query, headers, body + b" ", _secret, now=now))
    # another date or service in the credential scope than the SDK signed
    ts = int(headers["x-tc-timestamp"])
    day = time.strftime("%Y-%m-%d", time.gmtime(ts))
    other_day = {**headers, "authorization": headers["authorization"].replace(day, "2020-01-01")}
    refused(codes.MALFORMED, lambda: tc3.verify_tc3(method, query, other_day, body, _secret, now=now))
    other_service = {**headers, "authorization": headers["authorization"].replace("/vod/", "/cvm/")}
    refused(codes.MALFORMED, lambda: tc3.verify_tc3(method, query, other_service, body, _secret, now=now))
    refused(codes.MISMATCH, lambda: tc3.precheck({k: v for k, v in headers.items() if k != "authorization"},
                                                 _secret, now=now))


def test_tc3_replayed_as_another_action_is_refused() -> None:
    now = time.time()
    method, query, headers, body = tc3_signed("ModifyMediaInfo", {"FileId": "f1", "Name": "n"})
    guard = ReplayGuard(tc3.REPLAY_WINDOW)
    for _ in range(2):  # an identical resend passes
        assert tc3.verify_tc3(method, query, headers, body, _secret, now=now, replay=guard) == AK
    as_delete = {**headers, "x-tc-action": "DeleteMedia"}  # the SDK does not sign X-TC-Action
    assert tc3.verify_tc3(method, query, as_delete, body, _secret, now=now) == AK  # hence the guard
    refused(codes.REPLAY, lambda: tc3.verify_tc3(method, query, as_delete, body, _secret, now=now, replay=guard))


# ---------------------------------------------------------------- COS (cos-python-sdk-v5)

COS_HOST = "vod-125000.cos.ap-guangzhou.myqcloud.com"


def cos_signed(method: str, key: str, *, params: dict[str, str] | None = None, secret: str = SK,
               expire: int = 600, headers: dict[str, str] | None = None) -> cos.CosRequest:
    conf = CosConfig(Region="ap-guangzhou", SecretId=AK, SecretKey=secret, Scheme="http")
    prepared = requests.Request(method, f"http://{COS_HOST}/{key}", params=params or {},
                                headers={"Host": COS_HOST, **(headers or {})}).prepare()
    CosS3Auth(conf, key, params=params or {}, expire=expire)(prepared)
    parts = urlsplit(str(prepared.url))
    return cos.CosRequest(method, unquote(parts.path), parse_qsl(parts.query, keep_blank_values=True),
                          {k.lower(): str(v) for k, v in prepared.headers.items()})


def test_cos_round_trip_and_refusals() -> None:
    now = time.time()
    put = cos_signed("PUT", "media/a b+c.mp4", headers={"Content-Type": "video/mp4"})
    v = cos.verify(put, lookup, now=now)
    assert v.key is KEYS[AK] and v.authorization.access_key == AK
    part = cos_signed("PUT", "media/x.mp4", params={"partNumber": "3", "uploadId": "u1"})
    assert cos.verify(part, lookup, now=now).key is KEYS[AK]

    refused(codes.MISMATCH, lambda: cos.verify(cos_signed("PUT", "media/x.mp4", secret="wrong"), lookup, now=now))
    refused(codes.UNKNOWN_KEY, lambda: cos.verify(put, nobody, now=now))
    refused(codes.EXPIRED, lambda: cos.verify(cos_signed("GET", "k", expire=60), lookup, now=now + 120))
    refused(codes.NOT_YET_VALID, lambda: cos.verify(put, lookup, now=now - 3600))
    # another object, another part number, another bucket host
    refused(codes.MISMATCH, lambda: cos.verify(_with_cos(put, path="/media/other.mp4"), lookup, now=now))
    refused(codes.MISMATCH, lambda: cos.verify(_with_cos(part, params=[("partNumber", "4"), ("uploadId", "u1")]),
                                               lookup, now=now))
    other_host = {**put.headers, "host": "other-125000.cos.ap-guangzhou.myqcloud.com"}
    refused(codes.MISMATCH, lambda: cos.verify(_with_cos(put, headers=other_host), lookup, now=now))
    refused(codes.MISSING, lambda: cos.verify(_with_cos(put, headers={"host": COS_HOST}), lookup, now=now))


def _with_cos(req: cos.CosRequest, **changes: Any) -> cos.CosRequest:
    return replace(req, **changes)
