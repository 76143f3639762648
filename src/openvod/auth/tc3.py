"""TC3-HMAC-SHA256 request verification (Tencent Cloud API v3 signatures): the one verifier of
TC3, pure functions. ``api.limits``' header-only gate uses :func:`precheck`, the endpoint
:func:`verify_tc3`; both share :func:`check_headers`.

    key = verify_tc3(method, query, headers, body, lookup=lambda sid: secret_or_None, now=time.time())

``headers`` is any case-insensitive-enough mapping (lower-case keys are looked up). Raises
:class:`openvod.errors.AuthFailure` with Tencent's codes: ``AuthFailure.SignatureFailure``,
``AuthFailure.SignatureExpire``, ``AuthFailure.SecretIdNotFound``, ``AuthFailure.InvalidAuthorization``,
and ``AuthFailure.SignatureReplay`` when a :class:`~openvod.auth.replay.ReplayGuard` is given and the
signature was already accepted for another action, query or body (the SDKs do not sign
``X-TC-Action``; see :mod:`openvod.auth.replay`).
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Callable, Mapping
from datetime import UTC, datetime

from openvod.auth import codes
from openvod.auth.replay import ReplayGuard, fingerprint
from openvod.domain.numbers import parse_uint
from openvod.errors import AuthFailure, InvalidParameter

__all__ = ["ALGORITHM", "MAX_SKEW", "REPLAY_WINDOW", "SERVICE", "Tc3Auth", "check_headers", "parse_authorization",
           "precheck", "sign", "verify_tc3"]

ALGORITHM = "TC3-HMAC-SHA256"
SERVICE = "vod"
MAX_SKEW = 300  # seconds either way
# A signature is accepted until its timestamp is MAX_SKEW old, and the timestamp may lie MAX_SKEW
# ahead: from its first use it stays acceptable for at most twice the skew.
REPLAY_WINDOW = 2 * MAX_SKEW
MAX_AUTHORIZATION = 4096  # a real header is ~200 characters

_AUTH_RE = re.compile(
    r"^TC3-HMAC-SHA256\s+Credential=([^/\s,]+)/(\d{4}-\d{2}-\d{2})/([^/\s,]+)/tc3_request\s*,\s*"
    r"SignedHeaders=([a-z0-9;\-]+)\s*,\s*Signature=([0-9a-fA-F]{64})\s*$",
    re.ASCII,
)


class Tc3Auth:
    __slots__ = ("date", "secret_id", "service", "signature", "signed_headers")

    def __init__(self, secret_id: str, date: str, service: str, signed_headers: list[str], signature: str) -> None:
        self.secret_id, self.date, self.service = secret_id, date, service
        self.signed_headers, self.signature = signed_headers, signature.lower()


def _h(key: bytes, msg: str) -> bytes:
    return hmac.new(key, msg.encode(), hashlib.sha256).digest()


def parse_authorization(value: str) -> Tc3Auth:
    m = _AUTH_RE.match(value.strip()) if value and len(value) <= MAX_AUTHORIZATION else None
    if m is None:
        raise AuthFailure("Authorization is not a TC3-HMAC-SHA256 header", code=codes.MALFORMED)
    sid, date, service, signed, sig = m.groups()
    return Tc3Auth(sid, date, service, signed.split(";"), sig)


def sign(secret_key: str, *, method: str, query: str, headers: Mapping[str, str], signed_headers: list[str],
         payload_hash: str, timestamp: int, date: str, service: str = SERVICE) -> str:
    """The hex signature of a request (the client side of :func:`verify_tc3`)."""
    canonical_headers = "".join(f"{h}:{headers.get(h, '').strip()}\n" for h in signed_headers)
    canonical = "\n".join([method.upper(), "/", query, canonical_headers, ";".join(signed_headers), payload_hash])
    scope = f"{date}/{service}/tc3_request"
    to_sign = "\n".join([ALGORITHM, str(timestamp), scope, hashlib.sha256(canonical.encode()).hexdigest()])
    k = _h(_h(_h(("TC3" + secret_key).encode(), date), service), "tc3_request")
    return hmac.new(k, to_sign.encode(), hashlib.sha256).hexdigest()


_READ = "\0read"
_READ_PREFIXES = ("Describe", "Search")


def check_headers(headers: Mapping[str, str], *, now: float) -> tuple[Tc3Auth, int]:
    """The header-only half of :func:`verify_tc3`: the parsed ``Authorization`` and the
    ``X-TC-Timestamp``, checked for form, skew, credential date, service and signed headers."""
    auth = parse_authorization(headers.get("authorization", ""))
    try:
        ts = parse_uint(headers.get("x-tc-timestamp", ""), "X-TC-Timestamp", maximum=2**40)
    except InvalidParameter as exc:
        raise AuthFailure(f"X-TC-Timestamp is missing or not unix seconds: {exc.message}",
                          code=codes.MALFORMED) from exc
    if abs(now - ts) > MAX_SKEW:
        raise AuthFailure(f"X-TC-Timestamp {ts} is more than {MAX_SKEW} s from the server time {int(now)}",
                          code=codes.SKEWED)
    if auth.date != datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d"):
        raise AuthFailure("the credential date is not the UTC date of X-TC-Timestamp", code=codes.MALFORMED)
    if auth.service != SERVICE:
        raise AuthFailure(f"the credential scope names service {auth.service!r}, not {SERVICE!r}",
                          code=codes.MALFORMED)
    if "content-type" not in auth.signed_headers or "host" not in auth.signed_headers:
        raise AuthFailure("SignedHeaders must include content-type and host", code=codes.MALFORMED)
    return auth, ts


def precheck(headers: Mapping[str, str], lookup: Callable[[str], str | None], *, now: float) -> None:
    """What can be refused before the body is read: :func:`check_headers` and an active key
    (``AuthFailure.SignatureFailure`` without any ``Authorization``, as Tencent answers)."""
    if "authorization" not in headers:
        raise AuthFailure("only TC3-HMAC-SHA256 signatures are accepted (no Authorization header)",
                          code=codes.MISMATCH)
    auth, _ts = check_headers(headers, now=now)
    if lookup(auth.secret_id) is None:
        raise AuthFailure(f"SecretId {auth.secret_id} is unknown or disabled", code=codes.UNKNOWN_KEY)


def verify_tc3(method: str, query: str, headers: Mapping[str, str], body: bytes,
               lookup: Callable[[str], str | None], *, now: float, replay: ReplayGuard | None = None) -> str:
    """Check a TC3-signed request; returns the SecretId it was signed with.

    ``lookup(secret_id)`` gives the SecretKey of an active key, or None. The timestamp must be
    within :data:`MAX_SKEW` seconds of ``now`` and the credential date its UTC date; the service
    must be ``vod``; ``content-type`` and ``host`` must be signed. With ``replay``, a signature
    already accepted for a different action, query or body is refused.
    """
    auth, ts = check_headers(headers, now=now)
    secret_key = lookup(auth.secret_id)
    if secret_key is None:
        raise AuthFailure(f"SecretId {auth.secret_id} is unknown or disabled", code=codes.UNKNOWN_KEY)
    if headers.get("x-tc-content-sha256", "") == "UNSIGNED-PAYLOAD":
        payload_hash = hashlib.sha256(b"UNSIGNED-PAYLOAD").hexdigest()
    else:
        payload_hash = hashlib.sha256(b"" if method.upper() == "GET" else body).hexdigest()
    expected = sign(secret_key, method=method, query=query if method.upper() == "GET" else "", headers=headers,
                    signed_headers=auth.signed_headers, payload_hash=payload_hash, timestamp=ts, date=auth.date)
    if not hmac.compare_digest(expected, auth.signature):
        raise AuthFailure("the request signature does not match; check the SecretKey", code=codes.MISMATCH)
    if replay is not None and "x-tc-action" not in auth.signed_headers:
        action = headers.get("x-tc-action", "")
        # Reads (Describe*/Search*) share one fingerprint: a client listing two kinds of template
        # with the same empty body in one second makes one signature twice, and a read resent as
        # another read changes nothing. Any other action binds the signature to itself.
        used_for = fingerprint(_READ if action.startswith(_READ_PREFIXES) else action,
                               headers.get("x-tc-version", ""), headers.get("x-tc-region", ""),
                               method.upper(), query, body)
        replay.check(auth.signature, used_for, now=now)
    return auth.secret_id
