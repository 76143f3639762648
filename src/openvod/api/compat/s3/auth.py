"""SigV4 authentication of S3 requests (``Authorization`` header or presigned URL).

The header and the presigned query are parsed by :func:`parse_header_auth` and
:func:`parse_presigned` (pure: they see only strings and the time, and raise :class:`S3Error`
with S3's codes), then :func:`authenticate` recomputes the signature with the key's secret.

Presigned URLs are checked as AWS checks them: ``X-Amz-Expires`` is 1..604800 (7 days), the
credential date is the date of ``X-Amz-Date``, which may not lie more than the skew in the future,
and the credential's region is the gateway's (``s3_gateway_region``, ``*`` for any).
"""

from __future__ import annotations

import dataclasses
import re
import time
from collections.abc import Callable, Mapping
from urllib.parse import quote, unquote

from fastapi import Request

from openvod.api.compat.s3.common import S3Error
from openvod.auth import sigv4
from openvod.domain.numbers import parse_uint
from openvod.errors import InvalidParameter
from openvod.services import apps
from openvod.services.context import Context

__all__ = [
    "MAX_EXPIRES",
    "MAX_SKEW",
    "Auth",
    "Authenticator",
    "Credential",
    "authenticate",
    "lookup_secret",
    "parse_header_auth",
    "parse_presigned",
]

MAX_SKEW = 15 * 60
MAX_EXPIRES = 7 * 24 * 3600  # AWS's limit for a presigned URL
_SIGNED_HEADERS = re.compile(r"[a-z0-9\-._]+(;[a-z0-9\-._]+)*", re.ASCII)
_HEX64 = re.compile(r"[0-9a-f]{64}", re.ASCII)


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


@dataclasses.dataclass(frozen=True)
class Credential:
    """A parsed (not yet verified) SigV4 credential, from the header or a presigned query."""

    access_key: str
    date: str
    region: str
    service: str
    amz_date: str
    signed_headers: tuple[str, ...]
    signature: str
    payload: str


Authenticator = Callable[[Context, Request], Auth]


def _canonical_query(raw_query: str, drop: str | None = None) -> str:
    pairs = []
    for piece in raw_query.split("&") if raw_query else []:
        if not piece:
            continue
        k, _, v = piece.partition("=")
        k, v = unquote(k.replace("+", " ")), unquote(v.replace("+", " "))
        if k == drop:
            continue
        pairs.append((quote(k, safe="-_.~"), quote(v, safe="-_.~")))
    return "&".join(f"{k}={v}" for k, v in sorted(pairs))


def _check_scope(region: str, service: str, want_region: str, error: str) -> None:
    if service != "s3":
        raise S3Error(400, error, f"The credential scope's service must be s3, not {service!r}.")
    if want_region != "*" and region != want_region:
        raise S3Error(400, error, f"The credential's region {region!r} is wrong; expecting {want_region!r}.")


def parse_header_auth(headers: Mapping[str, str], *, now: float, region: str = "*") -> Credential:
    """The credential of an ``Authorization: AWS4-HMAC-SHA256 ...`` request (lower-case header
    names in ``headers``); :class:`S3Error` when malformed, skewed or for another region/service."""
    parsed = sigv4.parse_authorization(headers.get("authorization", ""))
    if parsed is None:
        raise S3Error(400, "AuthorizationHeaderMalformed", "The authorization header is malformed.")
    amz_date = headers.get("x-amz-date", "")
    when = sigv4.parse_amz_date(amz_date)
    if when is None or not amz_date.startswith(parsed.date):
        raise S3Error(403, "AccessDenied", "X-Amz-Date is missing or does not match the credential scope.")
    if abs(now - when.timestamp()) > MAX_SKEW:
        raise S3Error(403, "RequestTimeTooSkewed", "The difference between the request time and the "
                      "server's time is too large.")
    _check_scope(parsed.region, parsed.service, region, "AuthorizationHeaderMalformed")
    payload = headers.get("x-amz-content-sha256", "")
    if not payload:
        raise S3Error(400, "InvalidRequest", "Missing required header for this request: x-amz-content-sha256")
    return Credential(parsed.access_key, parsed.date, parsed.region, parsed.service, amz_date,
                      parsed.signed_headers, parsed.signature, payload)


def parse_presigned(q: Mapping[str, str], *, now: float, region: str = "*") -> Credential:
    """The credential of a presigned URL's query (``X-Amz-*`` parameters, decoded); :class:`S3Error`
    ``AuthorizationQueryParametersError`` (400) when malformed, ``AccessDenied`` (403) when expired
    or not yet valid."""
    bad = "AuthorizationQueryParametersError"
    if q.get("X-Amz-Algorithm") != sigv4.ALGORITHM:
        raise S3Error(400, bad, "X-Amz-Algorithm only supports \"AWS4-HMAC-SHA256\".")
    parts = q.get("X-Amz-Credential", "").split("/")
    if len(parts) != 5 or parts[4] != "aws4_request" or not all(parts[:4]):
        raise S3Error(400, bad, "Error parsing the X-Amz-Credential parameter; it must be "
                      "<access key>/<YYYYMMDD>/<region>/s3/aws4_request.")
    access_key, date, cred_region, service = parts[:4]
    amz_date = q.get("X-Amz-Date", "")
    when = sigv4.parse_amz_date(amz_date)
    if when is None:
        raise S3Error(400, bad, "X-Amz-Date must be in the ISO8601 Long Format \"yyyyMMdd'T'HHmmss'Z'\".")
    if amz_date[:8] != date:
        raise S3Error(400, bad, "Invalid credential date. Date is not the same as X-Amz-Date.")
    _check_scope(cred_region, service, region, bad)
    try:
        expires = parse_uint(q.get("X-Amz-Expires", ""), "X-Amz-Expires")
    except InvalidParameter as exc:
        raise S3Error(400, bad, "X-Amz-Expires should be a number of seconds.") from exc
    if expires < 1:
        raise S3Error(400, bad, "X-Amz-Expires must be at least 1 second.")
    if expires > MAX_EXPIRES:
        raise S3Error(400, bad, f"X-Amz-Expires must be less than a week (in seconds) that is {MAX_EXPIRES}.")
    signed = q.get("X-Amz-SignedHeaders", "host")
    if _SIGNED_HEADERS.fullmatch(signed) is None or "host" not in signed.split(";"):
        raise S3Error(400, bad, "X-Amz-SignedHeaders must be lower-case names separated by ';', including host.")
    signature = q.get("X-Amz-Signature", "")
    if _HEX64.fullmatch(signature) is None:
        raise S3Error(400, bad, "X-Amz-Signature must be 64 lower-case hex digits.")
    start = when.timestamp()
    if start > now + MAX_SKEW:
        raise S3Error(403, "AccessDenied", "Request is not valid yet")
    if now > start + expires:
        raise S3Error(403, "AccessDenied", "Request has expired")
    return Credential(access_key, date, cred_region, service, amz_date, tuple(signed.split(";")), signature,
                      "UNSIGNED-PAYLOAD")


def lookup_secret(ctx: Context, access_key: str) -> apps.KeyInfo:
    """The active API key ``access_key``; S3Error InvalidAccessKeyId when unknown or disabled."""
    info = apps.lookup_key(ctx.db, access_key)
    if info is None:
        raise S3Error(403, "InvalidAccessKeyId", "The AWS Access Key Id you provided does not exist in our records.")
    if info.state != "active":
        raise S3Error(403, "InvalidAccessKeyId", "The AWS Access Key Id you provided is disabled.")
    return info


def authenticate(ctx: Context, request: Request) -> Auth:
    """Verify the request's SigV4 signature (service ``s3``); raises S3Error when it does not hold."""
    raw_path = request.scope.get("raw_path", b"").decode("latin-1") or request.url.path
    raw_query = request.scope.get("query_string", b"").decode("latin-1")
    region = ctx.settings.s3_gateway_region
    now = time.time()
    if request.headers.get("authorization"):
        cred = parse_header_auth(request.headers, now=now, region=region)
        query = _canonical_query(raw_query)
    elif "X-Amz-Signature" in request.query_params:
        cred = parse_presigned(request.query_params, now=now, region=region)
        query = _canonical_query(raw_query, drop="X-Amz-Signature")
    else:
        raise S3Error(403, "AccessDenied", "Anonymous access is not allowed: sign the request with SigV4.")
    info = lookup_secret(ctx, cred.access_key)
    signed = cred.signed_headers
    creq = "\n".join([request.method, raw_path, query, sigv4.canonical_headers(request.headers.items(), signed),
                      ";".join(signed), cred.payload])
    sts = sigv4.string_to_sign(cred.amz_date, f"{cred.date}/{cred.region}/{cred.service}/aws4_request", creq)
    expected = sigv4.signature(info.secret_key, cred.date, cred.region, cred.service, sts)
    if not sigv4.signatures_equal(expected, cred.signature):
        raise S3Error(403, "SignatureDoesNotMatch", "The request signature we calculated does not match the "
                      "signature you provided. Check your key and signing method.")
    return Auth(info.app_id, info.secret_key, cred.date, cred.region, cred.amz_date, cred.signature, cred.payload)
