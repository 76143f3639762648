"""Tencent COS: the S3 gateway's operations, addressed by Host and signed with q-sign-algorithm=sha1.

Browsers reach it too (vod-js-sdk-v6 uploads with cos-js-sdk-v5 from the page): COS requests get
CORS answers of their own (any origin, the ``ETag`` a multipart upload needs exposed), as a COS
bucket with an open CORS rule gives; they are authenticated by signature, never by cookie.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable

from fastapi import Request
from starlette.datastructures import Headers
from starlette.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp, Receive, Scope, Send

from openvod.api.compat.s3.auth import S3_NAMES, Auth, lookup_active, s3_error_of
from openvod.api.compat.s3.common import S3Error
from openvod.api.compat.s3.gateway import serve
from openvod.auth import codes, cos, sigv4
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
# The session token header of temporary keys: COS signatures', then SigV4's (header names, not secrets).
COS_TOKEN = "x-cos-security-token"  # noqa: S105
AWS_TOKEN = "x-amz-security-token"  # noqa: S105
# What a page may read of a COS answer: cos-js-sdk-v5 needs the ETag of each part to complete.
COS_EXPOSED = ["ETag", "Content-Length", "Content-Range", "Accept-Ranges", "x-cos-request-id",
               "x-cos-version-id", "x-cos-hash-crc64ecma"]

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
    if bucket != temp.bucket and not (temp.alias and bucket == temp.alias):
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


def _lookup(ctx: Context, request: Request, temp: _Temporary,
            token_header: str = COS_TOKEN) -> Callable[[str], apps.KeyInfo | None]:
    """The key pair a COS request is signed with: a temporary pair issued by ApplyUpload (its
    scope noted in ``temp``, its session token in ``token_header``), else an active API key of the app."""
    permanent = lookup_active(ctx)

    def lookup(access_key: str) -> apps.KeyInfo | None:
        if not access_key.startswith(cos_upload.TEMP_PREFIX):
            return permanent(access_key)
        temp.asked = True
        temp.key = cos_upload.lookup_temp_key(ctx, access_key, request.headers.get(token_header))
        return temp.key.key if temp.key is not None else None
    return lookup


def _temp_refused(exc: AuthFailure, temp: _Temporary) -> S3Error | None:
    if exc.code == codes.UNKNOWN_KEY and temp.asked:
        return S3Error(403, "InvalidAccessKeyId", "The temporary credentials are invalid, expired, or their "
                       "issuing key is disabled.")
    return None


def _uses_sigv4(request: Request) -> bool:
    """Whether a COS-host request is signed the AWS way (SigV4, as the AWS SDK signs for COS's
    S3-compatible API: vod-js-sdk-v6 with ``storageType: "s3"``) rather than COS's own."""
    return (request.headers.get("authorization", "").startswith(sigv4.ALGORITHM)
            or "X-Amz-Signature" in request.query_params)


def _sigv4_parts(request: Request) -> sigv4.SignedRequest:
    return sigv4.SignedRequest(request.method, request.scope.get("raw_path", b"").decode("latin-1") or request.url.path,
                               request.scope.get("query_string", b"").decode("latin-1"), request.headers)


def _sigv4_policy(request: Request) -> sigv4.Policy:
    m = _COS_HOST.match(request.headers.get("host", "").lower())
    return sigv4.Policy("s3", region=m["region"] if m is not None else "*", presigned=True,
                        double_encode_path=False)


def _cos_authenticate(ctx: Context, request: Request) -> Auth:
    temp = _Temporary()
    if _uses_sigv4(request):  # signed for the Host's region; temporary keys carry x-amz-security-token
        try:
            v4 = sigv4.verify(_sigv4_parts(request), _lookup(ctx, request, temp, AWS_TOKEN),
                              now=time.time(), policy=_sigv4_policy(request))
        except AuthFailure as exc:
            raise (_temp_refused(exc, temp) or s3_error_of(exc)) from exc
        if temp.key is not None:
            _check_temp_scope(temp.key, request)
        c = v4.credential
        return Auth(v4.key.app_id, v4.key.secret_key, c.date, c.region, c.amz_date, c.signature, v4.payload)
    parts = cos.CosRequest(request.method, request.url.path, request.query_params.multi_items(), request.headers)
    try:
        v = cos.verify(parts, _lookup(ctx, request, temp), now=time.time())
    except AuthFailure as exc:
        raise (_temp_refused(exc, temp) or s3_error_of(exc, COS_NAMES)) from exc
    if temp.key is not None:
        _check_temp_scope(temp.key, request)
    return Auth(v.key.app_id, v.key.secret_key, "", "", "", v.authorization.signature, "UNSIGNED-PAYLOAD")


def _access_key(request: Request) -> str:
    """The access key a COS request is signed with, read as the verifier reads it (the signature
    itself is checked later, in ``serve``): "" when there is none."""
    try:
        if _uses_sigv4(request):
            return sigv4.credential(_sigv4_parts(request), now=time.time(), policy=_sigv4_policy(request)).access_key
        return cos.parse_authorization(request.headers.get("authorization", ""), now=time.time()).access_key
    except AuthFailure:
        return ""


class CosGateway:
    """ASGI wrapper: requests whose Host is ``{bucket}.cos.{region}.myqcloud.com`` (what
    cos-python-sdk-v5 sends in IP mode, and what a browser sends where the host is mapped to
    OpenVOD) are COS object requests on the bucket, with CORS; the rest pass on.

    The bucket is the Host's, except that temporary credentials may name their upload's bucket
    by the alias they carry (``cos_upload.resolve_bucket``)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self._cos = CORSMiddleware(self._serve, allow_origins=["*"], allow_methods=["GET", "HEAD", "PUT", "POST",
                                   "DELETE"], allow_headers=["*"], expose_headers=COS_EXPOSED, max_age=600)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and is_cos_request(scope):
            await self._cos(scope, receive, send)
            return
        await self.app(scope, receive, send)

    async def _serve(self, scope: Scope, receive: Receive, send: Send) -> None:
        m = _COS_HOST.match(Headers(scope=scope).get("host", "").lower())
        if m is None:  # not after is_cos_request; keeps the type checker's None out
            await self.app(scope, receive, send)
            return
        request = Request(scope, receive)
        ctx: Context = request.app.state.ctx
        bucket = cos_upload.resolve_bucket(ctx, _access_key(request), m["bucket"])
        response = await serve(request, _cos_authenticate, bucket, scope["path"].lstrip("/"),
                               min_part_size=COS_MIN_PART_SIZE)
        await response(scope, receive, send)
