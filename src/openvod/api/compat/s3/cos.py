"""Tencent COS: the S3 gateway's operations, addressed by Host and signed with q-sign-algorithm=sha1."""

from __future__ import annotations

import re
import time
from collections.abc import Callable

from fastapi import Request
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Receive, Scope, Send

from openvod.api.compat.s3.auth import S3_NAMES, Auth, lookup_active, s3_error_of
from openvod.api.compat.s3.common import S3Error
from openvod.api.compat.s3.gateway import serve
from openvod.auth import codes, cos
from openvod.auth.cos import CosAuthorization
from openvod.errors import AuthFailure
from openvod.runtime import Context
from openvod.services import apps, cos_upload

__all__ = ["CosAuthorization", "CosGateway", "is_cos_request", "parse_cos_authorization"]

_COS_HOST = re.compile(
    r"^(?P<bucket>[a-z0-9][a-z0-9.-]*[a-z0-9])\.cos\.(?P<region>[a-z0-9-]+)\.myqcloud\.com(?::\d+)?$", re.ASCII)
COS_MAX_SKEW = cos.MAX_SKEW
COS_MIN_PART_SIZE = 1 << 20  # COS's smallest part but the last (S3's is 5 MiB)
MAX_COS_AUTHORIZATION = cos.MAX_AUTHORIZATION

# The verifier's codes as COS (its S3-compatible error names) answers them.
COS_NAMES = {
    **S3_NAMES,
    codes.MISSING: (403, "AccessDenied", None),
    codes.MALFORMED: (400, "AuthorizationHeaderMalformed", None),
    codes.UNKNOWN_KEY: (403, "InvalidAccessKeyId", None),
    codes.NOT_YET_VALID: (403, "RequestTimeTooSkewed", None),
    codes.MISMATCH: (403, "SignatureDoesNotMatch", None),
}


def is_cos_request(scope: Scope) -> bool:
    """Whether ``scope`` is addressed to a COS bucket host (and so is :class:`CosGateway`'s)."""
    return _COS_HOST.match(Headers(scope=scope).get("host", "").lower()) is not None


def parse_cos_authorization(header: str, *, now: float) -> CosAuthorization:
    """Parse and time-check a COS Authorization header; :class:`S3Error` when it is missing (403
    AccessDenied), malformed (400 AuthorizationHeaderMalformed) or not valid at ``now`` (403)."""
    try:
        return cos.parse_authorization(header, now=now)
    except AuthFailure as exc:
        raise s3_error_of(exc, COS_NAMES) from exc


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


class _Temporary:
    """What the lookup learnt about a temporary key: whether one was asked for, and its scope."""

    asked: bool = False
    key: cos_upload.TempKey | None = None


def _lookup(ctx: Context, request: Request, temp: _Temporary) -> Callable[[str], apps.KeyInfo | None]:
    """The key pair a COS request is signed with: a temporary pair issued by ApplyUpload (its
    scope noted in ``temp``), else an active API key of the app."""
    permanent = lookup_active(ctx)

    def lookup(access_key: str) -> apps.KeyInfo | None:
        if not access_key.startswith(cos_upload.TEMP_PREFIX):
            return permanent(access_key)
        temp.asked = True
        temp.key = cos_upload.lookup_temp_key(ctx, access_key, request.headers.get("x-cos-security-token"))
        return temp.key.key if temp.key is not None else None
    return lookup


def _cos_authenticate(ctx: Context, request: Request) -> Auth:
    temp = _Temporary()
    parts = cos.CosRequest(request.method, request.url.path, request.query_params.multi_items(), request.headers)
    try:
        v = cos.verify(parts, _lookup(ctx, request, temp), now=time.time())
    except AuthFailure as exc:
        if exc.code == codes.UNKNOWN_KEY and temp.asked:
            raise S3Error(403, "InvalidAccessKeyId", "The temporary credentials are invalid, expired, or their "
                          "issuing key is disabled.") from exc
        raise s3_error_of(exc, COS_NAMES) from exc
    if temp.key is not None:
        _check_temp_scope(temp.key, request)
    return Auth(v.key.app_id, v.key.secret_key, "", "", "", v.authorization.signature, "UNSIGNED-PAYLOAD")


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
                response = await serve(request, _cos_authenticate, m["bucket"], scope["path"].lstrip("/"),
                                       min_part_size=COS_MIN_PART_SIZE)
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)
