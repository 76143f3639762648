"""AWS Signature Version 4: the one verifier of SigV4 requests, for the S3 gateway (service ``s3``,
``Authorization`` header or presigned URL) and Kingsoft's ``kscore`` SDK (service ``offline``).

    policy = sigv4.Policy("s3", region="us-east-1", presigned=True, double_encode_path=False)
    parts = sigv4.SignedRequest(method, raw_path, raw_query, headers, body_hash=None)
    verified = sigv4.verify(parts, lambda access_key: key_or_none, now=time.time(), policy=policy)
    verified.key, verified.credential.region, ...

:func:`verify` raises :class:`openvod.errors.AuthFailure` with a code of :mod:`openvod.auth.codes`;
each transport maps the code to its envelope. :func:`credential` is the header-only half (for
the checks ``api.limits`` runs before a body is read), :func:`precheck` adds the key lookup.

What is checked, in order: the signature's form (header, or presigned query when the policy allows
it); ``X-Amz-Date`` and that the credential date is its date; the time (header: within
:data:`MAX_SKEW` either way; presigned: ``X-Amz-Expires`` 0..:data:`MAX_EXPIRES` (0 is expired), not starting
more than the skew in the future, not expired); the scope (service, and region unless the
policy's is ``*``); the headers the policy requires to be signed; then the signature, computed
for an unknown key with a random secret so the time taken does not tell which ids exist.

The pure pieces (canonical request, string to sign, signing key) are public for clients and tests.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Generic, Protocol, TypeVar
from urllib.parse import parse_qsl, quote, unquote

from openvod.auth import codes
from openvod.domain.numbers import parse_uint
from openvod.errors import AuthFailure, InvalidParameter

__all__ = [
    "ALGORITHM",
    "MAX_AUTHORIZATION",
    "MAX_EXPIRES",
    "MAX_SKEW",
    "UNSIGNED_PAYLOAD",
    "Credential",
    "HasSecret",
    "Policy",
    "SigV4Auth",
    "SignedRequest",
    "Verified",
    "canonical_headers",
    "canonical_query",
    "raw_canonical_query",
    "canonical_request",
    "credential",
    "parse_amz_date",
    "parse_authorization",
    "parse_header",
    "parse_presigned",
    "payload_hash",
    "precheck",
    "signature",
    "signatures_equal",
    "signing_key",
    "string_to_sign",
    "verify",
]

ALGORITHM = "AWS4-HMAC-SHA256"
MAX_AUTHORIZATION = 4096  # a real header is ~250 characters; longer ones are refused unread
MAX_SKEW = 15 * 60  # seconds either way, as AWS allows
MAX_EXPIRES = 7 * 24 * 3600  # AWS's limit for a presigned URL
UNSIGNED_PAYLOAD = "UNSIGNED-PAYLOAD"
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


def canonical_uri(path: str, *, double_encode: bool = True) -> str:
    """The canonical URI of ``path`` as sent (percent-encoded). AWS services other than S3 (and
    kscore) encode the already-encoded path once more; S3 signs it as it is."""
    return quote(path or "/", safe="/~") if double_encode else (path or "/")


def _decoded_pairs(raw_query: str) -> list[tuple[str, str]]:
    pairs = []
    for piece in raw_query.split("&") if raw_query else []:
        if not piece:
            continue
        k, _, v = piece.partition("=")
        pairs.append((unquote(k.replace("+", " ")), unquote(v.replace("+", " "))))
    return pairs


def canonical_query(raw_query: str, *, drop: str | None = None) -> str:
    """The canonical query string of a raw (as sent) query: each name and value decoded, encoded
    again as SigV4 says (RFC 3986 unreserved characters kept, the rest ``%XX``, space ``%20``),
    sorted; ``drop`` names a parameter left out (``X-Amz-Signature`` of a presigned URL).

    A signer that encoded the query as SigV4 does (botocore, kscore) gets its own string back;
    one that sent ``+`` for a space or left a reserved character unencoded still verifies."""
    pairs = [(quote(k, safe="-_.~"), quote(v, safe="-_.~")) for k, v in _decoded_pairs(raw_query) if k != drop]
    return "&".join(f"{k}={v}" for k, v in sorted(pairs))


def raw_canonical_query(raw_query: str, *, drop: str | None = None) -> str:
    """The query as botocore canonicalises a URL it was handed whole: the raw ``name=value``
    pieces sorted, not re-encoded (so ``+`` stays ``+``). Tried when :func:`canonical_query`
    does not match, so both ways a client may have signed one URL verify."""
    pairs = [tuple(piece.partition("=")[::2]) for piece in raw_query.split("&") if piece] if raw_query else []
    return "&".join(f"{k}={v}" for k, v in sorted(pairs) if unquote(k) != drop)


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
                      signed: Sequence[str], body_hash: str, *, double_encode_path: bool = True,
                      drop: str | None = None, raw_query_form: bool = False) -> str:
    """The canonical request of a request as sent (``path`` and ``raw_query`` percent-encoded)."""
    return "\n".join([
        method.upper(),
        canonical_uri(path, double_encode=double_encode_path),
        raw_canonical_query(raw_query, drop=drop) if raw_query_form else canonical_query(raw_query, drop=drop),
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


# ---------------------------------------------------------------- verification

_SIGNED_HEADERS = re.compile(r"[a-z0-9\-._]+(;[a-z0-9\-._]+)*", re.ASCII)
_HEX64 = re.compile(r"[0-9a-f]{64}", re.ASCII)


@dataclass(frozen=True)
class Policy:
    """What one transport accepts: the credential scope's ``service``, its ``region`` (``*``: any),
    whether presigned URLs are accepted, which headers must be signed (header signatures), the
    allowed clock skew in seconds, and whether the path is encoded again (every service but S3)."""

    service: str
    region: str = "*"
    presigned: bool = False
    signed_headers: tuple[str, ...] = ()
    max_skew: float = MAX_SKEW
    double_encode_path: bool = True


@dataclass(frozen=True)
class SignedRequest:
    """The parts of a received request a signature covers.

    ``path`` and ``query`` are as sent (percent-encoded); ``headers`` is a mapping whose ``get``
    takes lower-case names and whose ``items()`` gives every header line (Starlette's ``Headers``,
    or a plain dict with lower-case names). ``body_hash`` is the hex SHA-256 of the body when the
    transport has read it; ``None`` takes the signer's claim from ``x-amz-content-sha256`` (the
    S3 gateway, which streams the body and checks it as it goes)."""

    method: str
    path: str
    query: str
    headers: Mapping[str, str]
    body_hash: str | None = None


@dataclass(frozen=True)
class Credential:
    """A parsed, time- and scope-checked (not yet verified) SigV4 credential."""

    access_key: str
    date: str  # YYYYMMDD
    region: str
    service: str
    amz_date: str
    signed_headers: tuple[str, ...]
    signature: str
    payload: str  # x-amz-content-sha256 as sent, or UNSIGNED-PAYLOAD for a presigned URL
    presigned: bool = False

    @property
    def scope(self) -> str:
        return f"{self.date}/{self.region}/{self.service}/aws4_request"


class HasSecret(Protocol):
    """What a key lookup returns: anything with the key's secret."""

    @property
    def secret_key(self) -> str: ...


K = TypeVar("K", bound=HasSecret)


@dataclass(frozen=True)
class Verified(Generic[K]):
    """A request whose signature holds: the key that signed it and its credential."""

    key: K
    credential: Credential
    payload: str  # the payload hash the signature covers


def _fail(code: str, message: str) -> AuthFailure:
    return AuthFailure(message, code=code)


def _check_scope(region: str, service: str, policy: Policy, code: str) -> None:
    if service != policy.service:
        raise _fail(code, f"the credential scope names service {service!r}; expected {policy.service!r}")
    if policy.region != "*" and region != policy.region:
        raise _fail(code, f"the credential's region {region!r} is wrong; expecting {policy.region!r}")


def parse_header(headers: Mapping[str, str], *, now: float, policy: Policy) -> Credential:
    """The credential of an ``Authorization: AWS4-HMAC-SHA256 ...`` request (``headers`` looked up
    by lower-case name); :class:`AuthFailure` when malformed, skewed or out of the policy's scope."""
    parsed = parse_authorization(headers.get("authorization", ""))
    if parsed is None:
        raise _fail(codes.MALFORMED, "the Authorization header is not a well-formed AWS4-HMAC-SHA256 signature")
    amz_date = headers.get("x-amz-date", "")
    when = parse_amz_date(amz_date)
    if when is None:
        raise _fail(codes.BAD_DATE, "X-Amz-Date is missing or not YYYYMMDDTHHMMSSZ")
    if amz_date[:8] != parsed.date:
        raise _fail(codes.DATE_MISMATCH, "the credential scope date does not match X-Amz-Date")
    if abs(now - when.timestamp()) > policy.max_skew:
        raise _fail(codes.SKEWED, f"X-Amz-Date {amz_date} is more than {policy.max_skew:.0f} s from the server "
                    f"time {datetime.fromtimestamp(now, UTC):%Y%m%dT%H%M%SZ}")
    _check_scope(parsed.region, parsed.service, policy, codes.WRONG_SCOPE)
    for needed in policy.signed_headers:
        if needed not in parsed.signed_headers:
            raise _fail(codes.UNSIGNED_HEADER, f"SignedHeaders must include {needed}")
    return Credential(parsed.access_key, parsed.date, parsed.region, parsed.service, amz_date,
                      parsed.signed_headers, parsed.signature, headers.get("x-amz-content-sha256", ""))


def parse_presigned(q: Mapping[str, str], *, now: float, policy: Policy) -> Credential:
    """The credential of a presigned URL's decoded ``X-Amz-*`` query parameters. Every malformed or
    inconsistent parameter (expiry negative or over :data:`MAX_EXPIRES`, another region) is
    :data:`~openvod.auth.codes.BAD_QUERY`; a URL not valid yet or expired (``X-Amz-Expires=0``
    included, as S3 answers it) is :data:`~openvod.auth.codes.NOT_YET_VALID` /
    :data:`~openvod.auth.codes.EXPIRED`."""
    bad = codes.BAD_QUERY
    if q.get("X-Amz-Algorithm") != ALGORITHM:
        raise _fail(bad, "X-Amz-Algorithm only supports \"AWS4-HMAC-SHA256\".")
    parts = q.get("X-Amz-Credential", "").split("/")
    if len(parts) != 5 or parts[4] != "aws4_request" or not all(parts[:4]):
        raise _fail(bad, "Error parsing the X-Amz-Credential parameter; it must be "
                    f"<access key>/<YYYYMMDD>/<region>/{policy.service}/aws4_request.")
    access_key, date, region, service = parts[:4]
    amz_date = q.get("X-Amz-Date", "")
    when = parse_amz_date(amz_date)
    if when is None:
        raise _fail(bad, "X-Amz-Date must be in the ISO8601 Long Format \"yyyyMMdd'T'HHmmss'Z'\".")
    if amz_date[:8] != date:
        raise _fail(bad, "Invalid credential date. Date is not the same as X-Amz-Date.")
    _check_scope(region, service, policy, bad)
    raw_expires = q.get("X-Amz-Expires", "")
    if raw_expires.startswith("-") and raw_expires[1:].isascii() and raw_expires[1:].isdigit():
        raise _fail(bad, "X-Amz-Expires must be non-negative.")
    try:
        expires = parse_uint(raw_expires, "X-Amz-Expires")
    except InvalidParameter as exc:
        raise _fail(bad, "X-Amz-Expires should be a number of seconds.") from exc
    if expires > MAX_EXPIRES:
        raise _fail(bad, f"X-Amz-Expires must be less than a week (in seconds) that is {MAX_EXPIRES}.")
    signed = q.get("X-Amz-SignedHeaders", "host")
    if _SIGNED_HEADERS.fullmatch(signed) is None or "host" not in signed.split(";"):
        raise _fail(bad, "X-Amz-SignedHeaders must be lower-case names separated by ';', including host.")
    sig = q.get("X-Amz-Signature", "")
    if _HEX64.fullmatch(sig) is None:
        raise _fail(bad, "X-Amz-Signature must be 64 lower-case hex digits.")
    start = when.timestamp()
    if start > now + policy.max_skew:
        raise _fail(codes.NOT_YET_VALID, f"Request is not valid yet: X-Amz-Date {amz_date} is in the future")
    if expires == 0 or now > start + expires:
        raise _fail(codes.EXPIRED, f"Request has expired: it was valid for {expires} s from {amz_date}")
    return Credential(access_key, date, region, service, amz_date, tuple(signed.split(";")), sig,
                      UNSIGNED_PAYLOAD, presigned=True)


def _query_params(raw_query: str) -> dict[str, str]:
    return dict(parse_qsl(raw_query, keep_blank_values=True))


def credential(request: SignedRequest, *, now: float, policy: Policy) -> Credential:
    """The header-only half of :func:`verify`: the request's credential, checked for form, time
    and scope (no key lookup, no body). A request with an ``Authorization`` header is checked as a
    header signature; without one, as a presigned URL when the policy accepts those; else it is
    :data:`~openvod.auth.codes.MISSING`."""
    if request.headers.get("authorization"):
        return parse_header(request.headers, now=now, policy=policy)
    if policy.presigned:
        q = _query_params(request.query)
        if "X-Amz-Signature" in q:
            return parse_presigned(q, now=now, policy=policy)
    raise _fail(codes.MISSING, "the request is not signed (no Authorization header"
                + (" and no presigned X-Amz-Signature)" if policy.presigned else ")"))


def precheck(request: SignedRequest, lookup_secret: Callable[[str], K | None], *, now: float,
             policy: Policy) -> tuple[Credential, K]:
    """:func:`credential` and the key it names (:data:`~openvod.auth.codes.UNKNOWN_KEY` when
    ``lookup_secret`` finds none): what can be refused before the body is read."""
    cred = credential(request, now=now, policy=policy)
    key = lookup_secret(cred.access_key)
    if key is None:
        raise _fail(codes.UNKNOWN_KEY, f"access key {cred.access_key[:64]} is unknown or disabled")
    return cred, key


def verify(request: SignedRequest, lookup_secret: Callable[[str], K | None], *, now: float,
           policy: Policy) -> Verified[K]:
    """Check the request's SigV4 signature; the key that signed it, or :class:`AuthFailure`.

    ``lookup_secret(access_key)`` gives the key (anything with ``secret_key``) or None; a transport
    that refuses disabled keys before the signature returns None for them, one that reveals a
    disabled key only to its holder returns it and checks after. Unknown ids are checked against
    a random secret first, so timing does not reveal which ids exist.
    """
    cred = credential(request, now=now, policy=policy)
    payload = cred.payload if request.body_hash is None or cred.presigned else request.body_hash
    if not payload:
        raise _fail(codes.NO_PAYLOAD_HASH, "Missing required header for this request: x-amz-content-sha256")
    key = lookup_secret(cred.access_key)
    secret = key.secret_key if key is not None else secrets.token_urlsafe(24)
    creq = canonical_request(request.method, request.path, request.query, request.headers.items(),
                             cred.signed_headers, payload, double_encode_path=policy.double_encode_path,
                             drop="X-Amz-Signature" if cred.presigned else None)
    expected = signature(secret, cred.date, cred.region, cred.service, string_to_sign(cred.amz_date, cred.scope, creq))
    matches = signatures_equal(expected, cred.signature)
    drop = "X-Amz-Signature" if cred.presigned else None
    if not matches and raw_canonical_query(request.query, drop=drop) != canonical_query(request.query, drop=drop):
        creq = canonical_request(request.method, request.path, request.query, request.headers.items(),
                                 cred.signed_headers, payload, double_encode_path=policy.double_encode_path,
                                 drop=drop, raw_query_form=True)
        sts = string_to_sign(cred.amz_date, cred.scope, creq)
        matches = signatures_equal(signature(secret, cred.date, cred.region, cred.service, sts), cred.signature)
    if key is None:
        raise _fail(codes.UNKNOWN_KEY, f"access key {cred.access_key[:64]} is unknown or disabled")
    if not matches:
        raise _fail(codes.MISMATCH, "the request signature does not match; check the secret key and the signing "
                    f"method (AWS4-HMAC-SHA256, service {policy.service})")
    return Verified(key, cred, payload)
