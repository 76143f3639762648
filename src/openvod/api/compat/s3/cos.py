"""Tencent COS: the S3 gateway's operations, addressed by Host and signed with q-sign-algorithm=sha1."""

from __future__ import annotations

import hashlib
import hmac
import re
import time
from dataclasses import dataclass
from urllib.parse import quote

from fastapi import Request
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Receive, Scope, Send

from openvod.api.compat.s3.auth import Auth, lookup_secret
from openvod.api.compat.s3.common import S3Error
from openvod.api.compat.s3.gateway import serve
from openvod.auth import sigv4
from openvod.domain.numbers import parse_uint
from openvod.errors import InvalidParameter
from openvod.services import apps, cos_upload
from openvod.services.context import Context

__all__ = ["CosAuthorization", "CosGateway", "is_cos_request", "parse_cos_authorization"]

_COS_HOST = re.compile(
    r"^(?P<bucket>[a-z0-9][a-z0-9.-]*[a-z0-9])\.cos\.(?P<region>[a-z0-9-]+)\.myqcloud\.com(?::\d+)?$", re.ASCII)
COS_MAX_SKEW = 15 * 60
MAX_COS_AUTHORIZATION = 8192  # a temporary SecretId (with its scope) makes the header ~1 KB
_NEED = ("q-ak", "q-sign-time", "q-key-time", "q-header-list", "q-url-param-list", "q-signature")
_NAMES = re.compile(r"[a-z0-9\-._%]*(;[a-z0-9\-._%]+)*", re.ASCII)
_HEX40 = re.compile(r"[0-9a-f]{40}", re.ASCII)


def is_cos_request(scope: Scope) -> bool:
    """Whether ``scope`` is addressed to a COS bucket host (and so is :class:`CosGateway`'s)."""
    return _COS_HOST.match(Headers(scope=scope).get("host", "").lower()) is not None


@dataclass(frozen=True)
class CosAuthorization:
    """A parsed (not yet verified) ``q-sign-algorithm=sha1`` Authorization header."""

    access_key: str
    sign_time: str
    key_time: str
    header_list: tuple[str, ...]
    param_list: tuple[str, ...]
    signature: str


def _time_range(value: str, name: str) -> tuple[int, int]:
    first, sep, last = value.partition(";")
    try:
        start, end = parse_uint(first, name), parse_uint(last, name)
    except InvalidParameter as exc:
        raise S3Error(400, "AuthorizationHeaderMalformed", f"{name} must be <start>;<end> in unix seconds.") from exc
    if not sep or end < start:
        raise S3Error(400, "AuthorizationHeaderMalformed", f"{name} must be <start>;<end> with start <= end.")
    return start, end


def parse_cos_authorization(header: str, *, now: float) -> CosAuthorization:
    """Parse and time-check a COS Authorization header; :class:`S3Error` when it is missing (403
    AccessDenied), malformed (400 AuthorizationHeaderMalformed) or not valid at ``now`` (403)."""
    if len(header) > MAX_COS_AUTHORIZATION:
        raise S3Error(400, "AuthorizationHeaderMalformed", "The Authorization header is too long.")
    fields: dict[str, str] = {}
    for piece in header.split("&"):
        k, _, v = piece.partition("=")
        fields[k.strip()] = v.strip()
    if fields.get("q-sign-algorithm") != "sha1" or any(n not in fields for n in _NEED):
        raise S3Error(403, "AccessDenied", "The request must carry a q-sign-algorithm=sha1 Authorization header.")
    for name in ("q-header-list", "q-url-param-list"):
        if _NAMES.fullmatch(fields[name]) is None:
            raise S3Error(400, "AuthorizationHeaderMalformed", f"{name} must be lower-case names separated by ';'.")
    if _HEX40.fullmatch(fields["q-signature"]) is None:
        raise S3Error(400, "AuthorizationHeaderMalformed", "q-signature must be 40 lower-case hex digits.")
    if not fields["q-ak"]:
        raise S3Error(403, "InvalidAccessKeyId", "q-ak is empty.")
    for name in ("q-sign-time", "q-key-time"):
        start, end = _time_range(fields[name], name)
        if now > end:
            raise S3Error(403, "AccessDenied", f"Request has expired ({name} ended at {end}).")
        if now < start - COS_MAX_SKEW:
            raise S3Error(403, "RequestTimeTooSkewed", f"The request's {name} starts in the future.")
    return CosAuthorization(fields["q-ak"], fields["q-sign-time"], fields["q-key-time"],
                            tuple(filter(None, fields["q-header-list"].split(";"))),
                            tuple(filter(None, fields["q-url-param-list"].split(";"))), fields["q-signature"])


def _check_temp_scope(temp: cos_upload.TempKey, request: Request) -> None:
    """A temporary key may only upload (single PUT or multipart) and read back its own upload's
    objects, in its own bucket; no copies, listings or deletes of other objects."""
    m = _COS_HOST.match(request.headers.get("host", "").lower())
    bucket = m["bucket"] if m is not None else ""
    key = request.url.path.lstrip("/")
    q = request.query_params
    denied = S3Error(403, "AccessDenied", "The temporary credentials of this upload do not allow this request: "
                     "they cover only the upload's media and cover keys.")
    if bucket != temp.bucket:
        raise denied
    if not key:  # the SDK's upload_file looks for an unfinished multipart upload of its key
        if request.method == "GET" and "uploads" in q and q.get("prefix", "") in temp.keys:
            return
        raise denied
    if key not in temp.keys or "x-cos-copy-source" in request.headers or "x-amz-copy-source" in request.headers:
        raise denied
    if request.method == "DELETE" and "uploadId" not in q:
        raise denied


def _cos_secret(ctx: Context, request: Request, access_key: str) -> tuple[apps.KeyInfo, cos_upload.TempKey | None]:
    """The key pair a COS request is signed with: a temporary pair issued by ApplyUpload (with its
    scope), else a permanent API key of the app."""
    if access_key.startswith(cos_upload.TEMP_PREFIX):
        temp = cos_upload.lookup_temp_key(ctx, access_key, request.headers.get("x-cos-security-token"))
        if temp is None:
            raise S3Error(403, "InvalidAccessKeyId", "The temporary credentials are invalid, expired, or their "
                          "issuing key is disabled.")
        return temp.key, temp
    return lookup_secret(ctx, access_key), None


def _cos_authenticate(ctx: Context, request: Request) -> Auth:
    auth = parse_cos_authorization(request.headers.get("authorization", ""), now=time.time())
    info, temp = _cos_secret(ctx, request, auth.access_key)

    def enc(v: str) -> str:
        return quote(v.encode("utf-8"), safe="-_.~")

    headers = []
    for name in auth.header_list:
        value = request.headers.get(name, "")
        if name == "host":
            value = value.rsplit(":", 1)[0] if re.search(r":\d+$", value) else value
        headers.append((name, enc(value)))
    lowered = {k.lower(): v for k, v in request.query_params.multi_items()}
    params = [(name, enc(lowered.get(name, ""))) for name in auth.param_list]
    fmt = "\n".join([request.method.lower(), request.url.path,
                     "&".join(f"{k}={v}" for k, v in sorted(params)),
                     "&".join(f"{k}={v}" for k, v in sorted(headers)), ""])
    sts = f"sha1\n{auth.sign_time}\n{hashlib.sha1(fmt.encode('utf-8'), usedforsecurity=False).hexdigest()}\n"
    sign_key = hmac.new(info.secret_key.encode(), auth.key_time.encode(), hashlib.sha1).hexdigest()
    want = hmac.new(sign_key.encode(), sts.encode(), hashlib.sha1).hexdigest()
    if not sigv4.signatures_equal(want, auth.signature):
        raise S3Error(403, "SignatureDoesNotMatch", "The request signature we calculated does not match the "
                      "signature you provided.")
    if temp is not None:
        _check_temp_scope(temp, request)
    return Auth(info.app_id, info.secret_key, "", "", "", auth.signature, "UNSIGNED-PAYLOAD")


class CosGateway:
    """ASGI wrapper: requests whose Host is ``{bucket}.cos.{region}.myqcloud.com`` (what
    cos-python-sdk-v5 sends in IP mode) are COS object requests on the bucket; the rest pass on."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            m = _COS_HOST.match(Headers(scope=scope).get("host", "").lower())
            if m is not None:
                request = Request(scope, receive)
                response = await serve(request, _cos_authenticate, m["bucket"], scope["path"].lstrip("/"))
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)
