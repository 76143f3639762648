"""Tencent COS: the S3 gateway's operations, addressed by Host and signed with q-sign-algorithm=sha1."""

from __future__ import annotations

import hashlib
import hmac
import re
import time
from urllib.parse import quote

from fastapi import Request
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Receive, Scope, Send

from openvod.api.compat.s3.auth import Auth, lookup_secret
from openvod.api.compat.s3.common import S3Error
from openvod.api.compat.s3.gateway import serve
from openvod.auth import sigv4
from openvod.services import apps, cos_upload
from openvod.services.context import Context

__all__ = ["CosGateway"]

_COS_HOST = re.compile(
    r"^(?P<bucket>[a-z0-9][a-z0-9.-]*[a-z0-9])\.cos\.(?P<region>[a-z0-9-]+)\.myqcloud\.com(?::\d+)?$")
COS_MAX_SKEW = 15 * 60


def _cos_secret(ctx: Context, access_key: str, token: str | None) -> apps.KeyInfo:
    """The key pair a COS request is signed with: a temporary pair issued by ApplyUpload (when
    ``services.cos_upload`` knows it), else a permanent API key of the app."""
    temp = cos_upload.lookup_temp_key(ctx, access_key, token)
    return temp if temp is not None else lookup_secret(ctx, access_key)


def _cos_authenticate(ctx: Context, request: Request) -> Auth:
    header = request.headers.get("authorization", "")
    fields: dict[str, str] = {}
    for piece in header.split("&"):
        k, _, v = piece.partition("=")
        fields[k.strip()] = v.strip()
    need = ("q-ak", "q-sign-time", "q-key-time", "q-header-list", "q-url-param-list", "q-signature")
    if fields.get("q-sign-algorithm") != "sha1" or any(n not in fields for n in need):
        raise S3Error(403, "AccessDenied", "The request must carry a q-sign-algorithm=sha1 Authorization header.")
    try:
        start, end = (int(x) for x in fields["q-sign-time"].split(";"))
    except ValueError as exc:
        raise S3Error(403, "AccessDenied", "q-sign-time is malformed.") from exc
    now = time.time()
    if now > end or now < start - COS_MAX_SKEW:
        raise S3Error(403, "RequestTimeTooSkewed", "The request's q-sign-time does not include the current time.")
    info = _cos_secret(ctx, fields["q-ak"], request.headers.get("x-cos-security-token"))

    def enc(v: str) -> str:
        return quote(v.encode("utf-8"), safe="-_.~")

    headers = []
    for name in filter(None, fields["q-header-list"].split(";")):
        value = request.headers.get(name, "")
        if name == "host":
            value = value.rsplit(":", 1)[0] if re.search(r":\d+$", value) else value
        headers.append((name, enc(value)))
    lowered = {k.lower(): v for k, v in request.query_params.multi_items()}
    params = [(name, enc(lowered.get(name, ""))) for name in filter(None, fields["q-url-param-list"].split(";"))]
    fmt = "\n".join([request.method.lower(), request.url.path,
                     "&".join(f"{k}={v}" for k, v in sorted(params)),
                     "&".join(f"{k}={v}" for k, v in sorted(headers)), ""])
    sts = f"sha1\n{fields['q-sign-time']}\n{hashlib.sha1(fmt.encode('utf-8'), usedforsecurity=False).hexdigest()}\n"
    sign_key = hmac.new(info.secret_key.encode(), fields["q-key-time"].encode(), hashlib.sha1).hexdigest()
    want = hmac.new(sign_key.encode(), sts.encode(), hashlib.sha1).hexdigest()
    if not sigv4.signatures_equal(want, fields["q-signature"]):
        raise S3Error(403, "SignatureDoesNotMatch", "The request signature we calculated does not match the "
                      "signature you provided.")
    return Auth(info.app_id, info.secret_key, "", "", "", fields["q-signature"], "UNSIGNED-PAYLOAD")


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
