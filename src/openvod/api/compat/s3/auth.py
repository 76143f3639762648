"""SigV4 authentication of S3 requests (``Authorization`` header or presigned URL)."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from urllib.parse import quote, unquote

from fastapi import Request

from openvod.api.compat.s3.common import S3Error
from openvod.auth import sigv4
from openvod.services import apps
from openvod.services.context import Context

__all__ = ["Auth", "Authenticator", "authenticate", "lookup_secret"]

MAX_SKEW = 15 * 60


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
    header = request.headers.get("authorization")
    q = request.query_params
    if header:
        parsed = sigv4.parse_authorization(header)
        if parsed is None:
            raise S3Error(400, "AuthorizationHeaderMalformed", "The authorization header is malformed.")
        amz_date = request.headers.get("x-amz-date", "")
        when = sigv4.parse_amz_date(amz_date)
        if when is None or not amz_date.startswith(parsed.date):
            raise S3Error(403, "AccessDenied", "X-Amz-Date is missing or does not match the credential scope.")
        if abs(time.time() - when.timestamp()) > MAX_SKEW:
            raise S3Error(403, "RequestTimeTooSkewed", "The difference between the request time and the "
                          "server's time is too large.")
        payload = request.headers.get("x-amz-content-sha256", "")
        if not payload:
            raise S3Error(400, "InvalidRequest", "Missing required header for this request: x-amz-content-sha256")
        access_key, date, region, service = parsed.access_key, parsed.date, parsed.region, parsed.service
        signed, given = parsed.signed_headers, parsed.signature
        query = _canonical_query(raw_query)
    elif "X-Amz-Signature" in q:
        if q.get("X-Amz-Algorithm") != sigv4.ALGORITHM:
            raise S3Error(400, "AuthorizationQueryParametersError", "X-Amz-Algorithm must be AWS4-HMAC-SHA256.")
        parts = q.get("X-Amz-Credential", "").split("/")
        amz_date = q.get("X-Amz-Date", "")
        when = sigv4.parse_amz_date(amz_date)
        try:
            expires = int(q.get("X-Amz-Expires", ""))
        except ValueError:
            expires = -1
        if len(parts) != 5 or parts[4] != "aws4_request" or when is None or not 0 < expires <= 604800:
            raise S3Error(400, "AuthorizationQueryParametersError", "The presigned URL's query is malformed.")
        if time.time() > when.timestamp() + expires:
            raise S3Error(403, "AccessDenied", "Request has expired")
        access_key, date, region, service = parts[:4]
        signed = tuple(q.get("X-Amz-SignedHeaders", "host").split(";"))
        given = q.get("X-Amz-Signature", "")
        payload = "UNSIGNED-PAYLOAD"
        query = _canonical_query(raw_query, drop="X-Amz-Signature")
    else:
        raise S3Error(403, "AccessDenied", "Anonymous access is not allowed: sign the request with SigV4.")
    if service != "s3":
        raise S3Error(400, "AuthorizationHeaderMalformed", f"The credential scope's service must be s3, not {service}.")
    info = lookup_secret(ctx, access_key)
    creq = "\n".join([request.method, raw_path, query, sigv4.canonical_headers(request.headers.items(), signed),
                      ";".join(signed), payload])
    sts = sigv4.string_to_sign(amz_date, f"{date}/{region}/{service}/aws4_request", creq)
    expected = sigv4.signature(info.secret_key, date, region, service, sts)
    if not sigv4.signatures_equal(expected, given):
        raise S3Error(403, "SignatureDoesNotMatch", "The request signature we calculated does not match the "
                      "signature you provided. Check your key and signing method.")
    return Auth(info.app_id, info.secret_key, date, region, amz_date, given, payload)
