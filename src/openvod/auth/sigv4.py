"""AWS Signature Version 4, as the Kingsoft ``kscore`` SDK signs (service ``offline``).

Pure functions, no I/O: build the canonical request, the string to sign and the signature of a
received request, and compare in constant time.

    auth = parse_authorization(headers["authorization"])
    creq = canonical_request("GET", "/", raw_query, headers, auth.signed_headers, payload_hash(body))
    sts = string_to_sign(amz_date, auth.scope, creq)
    ok = signatures_equal(signature(secret_key, auth.date, auth.region, auth.service, sts), auth.signature)
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import quote

__all__ = [
    "ALGORITHM",
    "MAX_AUTHORIZATION",
    "SigV4Auth",
    "canonical_headers",
    "canonical_query",
    "canonical_request",
    "parse_amz_date",
    "parse_authorization",
    "payload_hash",
    "signature",
    "signatures_equal",
    "signing_key",
    "string_to_sign",
]

ALGORITHM = "AWS4-HMAC-SHA256"
MAX_AUTHORIZATION = 4096  # a real header is ~250 characters; longer ones are refused unread
# ASCII only: ``\d`` would also take other scripts' digits, which ``int()`` and strptime accept.
_AUTH_RE = re.compile(
    r"^AWS4-HMAC-SHA256 Credential=([^/,\s]+)/([0-9]{8})/([^/,\s]+)/([^/,\s]+)/aws4_request,\s*"
    r"SignedHeaders=([a-z0-9\-;._]+),\s*Signature=([0-9a-f]{64})$",
    re.ASCII,
)
_AMZ_DATE_RE = re.compile(r"[0-9]{8}T[0-9]{6}Z", re.ASCII)


@dataclass(frozen=True)
class SigV4Auth:
    """The parts of an ``Authorization: AWS4-HMAC-SHA256 ...`` header."""

    access_key: str
    date: str  # YYYYMMDD
    region: str
    service: str
    signed_headers: tuple[str, ...]
    signature: str

    @property
    def scope(self) -> str:
        return f"{self.date}/{self.region}/{self.service}/aws4_request"


def parse_authorization(value: str) -> SigV4Auth | None:
    """Parse the header; ``None`` when it is not a well-formed SigV4 header."""
    if len(value) > MAX_AUTHORIZATION:
        return None
    m = _AUTH_RE.match(value.strip())
    if m is None:
        return None
    ak, date, region, service, signed, sig = m.groups()
    names = tuple(signed.split(";"))
    if any(not n for n in names):
        return None
    return SigV4Auth(ak, date, region, service, names, sig)


def parse_amz_date(value: str) -> datetime | None:
    """``YYYYMMDDTHHMMSSZ`` (ASCII digits) as an aware UTC datetime, or ``None``."""
    if _AMZ_DATE_RE.fullmatch(value) is None:
        return None
    try:
        return datetime.strptime(value, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
    except ValueError:
        return None


def payload_hash(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()


def canonical_uri(path: str) -> str:
    return quote(path or "/", safe="/~")


def canonical_query(raw_query: str) -> str:
    """The raw query string's ``k=v`` pairs sorted as still-encoded strings (kscore's way)."""
    if not raw_query:
        return ""
    pairs = []
    for piece in raw_query.split("&"):
        key, _, val = piece.partition("=")
        pairs.append((key, val))
    return "&".join(f"{k}={v}" for k, v in sorted(pairs))


def canonical_headers(headers: Iterable[tuple[str, str]], signed: Sequence[str]) -> str:
    """``name:value\\n`` for each signed name; repeated headers sorted and joined by ``,``."""
    found: dict[str, list[str]] = {}
    for name, value in headers:
        found.setdefault(name.lower(), []).append(" ".join(value.split()))
    lines = []
    for name in signed:
        values = found.get(name, [])
        lines.append(f"{name}:{','.join(sorted(values))}")
    return "\n".join(lines) + "\n"


def canonical_request(method: str, path: str, raw_query: str, headers: Iterable[tuple[str, str]],
                      signed: Sequence[str], body_hash: str) -> str:
    return "\n".join([
        method.upper(),
        canonical_uri(path),
        canonical_query(raw_query),
        canonical_headers(headers, signed),
        ";".join(signed),
        body_hash,
    ])


def string_to_sign(amz_date: str, scope: str, creq: str) -> str:
    return "\n".join([ALGORITHM, amz_date, scope, hashlib.sha256(creq.encode("utf-8")).hexdigest()])


def _hmac(key: bytes, msg: str) -> bytes:
    return hmac.new(key, msg.encode("utf-8"), hashlib.sha256).digest()


def signing_key(secret_key: str, date: str, region: str, service: str) -> bytes:
    k = _hmac(("AWS4" + secret_key).encode("utf-8"), date)
    k = _hmac(k, region)
    k = _hmac(k, service)
    return _hmac(k, "aws4_request")


def signature(secret_key: str, date: str, region: str, service: str, sts: str) -> str:
    return hmac.new(signing_key(secret_key, date, region, service), sts.encode("utf-8"), hashlib.sha256).hexdigest()


def signatures_equal(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode("ascii", "replace"), b.encode("ascii", "replace"))

