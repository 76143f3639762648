"""SigV4 authentication of S3 requests (``Authorization`` header or presigned URL), at the edge.

The checks are :func:`openvod.auth.sigv4.verify`'s (service ``s3``, the gateway's region
``s3_gateway_region`` or ``*`` for any, presigned URLs with ``X-Amz-Expires`` 0..604800 that are
neither expired, 0 included, nor dated more than the skew in the future); this module only builds the request's
parts, looks the key up and maps the verifier's :class:`~openvod.errors.AuthFailure` codes to S3's
error names (:func:`s3_error_of`).
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Mapping

from fastapi import Request

from openvod.api.compat.s3.common import S3Error
from openvod.auth import codes, sigv4
from openvod.domain.api_keys import KeyState
from openvod.errors import AuthFailure
from openvod.runtime import Context
from openvod.services import apps

__all__ = [
    "MAX_EXPIRES",
    "MAX_SKEW",
    "Auth",
    "Authenticator",
    "Credential",
    "authenticate",
    "lookup_active",
    "parse_header_auth",
    "parse_presigned",
    "s3_error_of",
]

MAX_SKEW = sigv4.MAX_SKEW
MAX_EXPIRES = sigv4.MAX_EXPIRES
Credential = sigv4.Credential

_MISMATCH = ("The request signature we calculated does not match the signature you provided. Check your key and "
             "signing method.")
_NO_KEY = "The AWS Access Key Id you provided does not exist in our records."

# verifier code -> (status, S3 error name, S3's own message or None for the verifier's)
S3_NAMES: dict[str, tuple[int, str, str | None]] = {
    codes.MISSING: (403, "AccessDenied", "Anonymous access is not allowed: sign the request with SigV4."),
    codes.MALFORMED: (400, "AuthorizationHeaderMalformed", None),
    codes.BAD_QUERY: (400, "AuthorizationQueryParametersError", None),
    codes.BAD_DATE: (403, "AccessDenied", None),
    codes.DATE_MISMATCH: (403, "AccessDenied", None),
    codes.SKEWED: (403, "RequestTimeTooSkewed", "The difference between the request time and the server's time "
                   "is too large."),
    codes.NOT_YET_VALID: (403, "AccessDenied", None),
    codes.EXPIRED: (403, "AccessDenied", None),
    codes.WRONG_SCOPE: (400, "AuthorizationHeaderMalformed", None),
    codes.UNSIGNED_HEADER: (403, "AccessDenied", None),
    codes.NO_PAYLOAD_HASH: (400, "InvalidRequest", None),
    codes.UNKNOWN_KEY: (403, "InvalidAccessKeyId", _NO_KEY),
    codes.MISMATCH: (403, "SignatureDoesNotMatch", _MISMATCH),
}


def s3_error_of(exc: AuthFailure, names: Mapping[str, tuple[int, str, str | None]] = S3_NAMES) -> S3Error:
    """The S3 ``<Error>`` of a verifier's failure (403 AccessDenied for a code ``names`` lacks)."""
    status, name, message = names.get(exc.code, (403, "AccessDenied", None))
    return S3Error(status, name, message or exc.message)


@dataclasses.dataclass
class Auth:
    """Who signed a request, and what is needed to check its body (aws-chunked signatures)."""

    app_id: str
    secret_key: str
    date: str
    region: str
    amz_date: str
    signature: str
    payload: str  # the x-amz-content-sha256 value (or UNSIGNED-PAYLOAD for presigned URLs)


Authenticator = Callable[[Context, Request], Auth]


def _policy(region: str) -> sigv4.Policy:
    return sigv4.Policy("s3", region=region, presigned=True, double_encode_path=False)


def parse_header_auth(headers: Mapping[str, str], *, now: float, region: str = "*") -> Credential:
    """The credential of an ``Authorization: AWS4-HMAC-SHA256 ...`` request (lower-case header
    names in ``headers``); :class:`S3Error` when malformed, skewed or for another region/service,
    or without ``x-amz-content-sha256``."""
    try:
        cred = sigv4.parse_header(headers, now=now, policy=_policy(region))
    except AuthFailure as exc:
        raise s3_error_of(exc) from exc
    if not cred.payload:
        raise s3_error_of(AuthFailure("Missing required header for this request: x-amz-content-sha256",
                                      code=codes.NO_PAYLOAD_HASH))
    return cred


def parse_presigned(q: Mapping[str, str], *, now: float, region: str = "*") -> Credential:
    """The credential of a presigned URL's query (``X-Amz-*`` parameters, decoded); :class:`S3Error`
    ``AuthorizationQueryParametersError`` (400) when malformed, ``AccessDenied`` (403) when expired
    or not yet valid."""
    try:
        return sigv4.parse_presigned(q, now=now, policy=_policy(region))
    except AuthFailure as exc:
        raise s3_error_of(exc) from exc


def lookup_active(ctx: Context) -> Callable[[str], apps.KeyInfo | None]:
    """The key lookup of the S3 and COS gateways: an active API key, else None (S3 answers a
    disabled key as an unknown one, ``InvalidAccessKeyId``)."""
    def lookup(access_key: str) -> apps.KeyInfo | None:
        info = apps.lookup_key(ctx.db, access_key)
        return info if info is not None and info.state == KeyState.ACTIVE else None
    return lookup


def authenticate(ctx: Context, request: Request) -> Auth:
    """Verify the request's SigV4 signature (service ``s3``); raises S3Error when it does not hold."""
    parts = sigv4.SignedRequest(
        request.method,
        request.scope.get("raw_path", b"").decode("latin-1") or request.url.path,
        request.scope.get("query_string", b"").decode("latin-1"),
        request.headers,
    )
    try:
        v = sigv4.verify(parts, lookup_active(ctx), now=time.time(), policy=_policy(ctx.settings.s3_gateway_region))
    except AuthFailure as exc:
        raise s3_error_of(exc) from exc
    c = v.credential
    return Auth(v.key.app_id, v.key.secret_key, c.date, c.region, c.amz_date, c.signature, v.payload)
