"""Tencent COS request signatures (``q-sign-algorithm=sha1``, as cos-python-sdk-v5 signs): the one
verifier, pure (no I/O but the injected key lookup).

    parts = CosRequest(method, path, query_items, headers)
    verified = cos.verify(parts, lambda access_key: key_or_none, now=time.time())

Raises :class:`openvod.errors.AuthFailure` with a code of :mod:`openvod.auth.codes`: ``MISSING``
(no sha1 Authorization), ``MALFORMED``, ``UNKNOWN_KEY`` (also for an empty ``q-ak``), ``EXPIRED``
(``q-sign-time`` or ``q-key-time`` ended), ``NOT_YET_VALID`` (starts more than :data:`MAX_SKEW`
in the future), ``MISMATCH``. An unknown key is checked against a random secret, so the time
taken does not tell which ids exist. Whether a verified key may make the request (the scope of
ApplyUpload's temporary keys) is the transport's decision.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar
from urllib.parse import quote

from openvod.auth import codes
from openvod.auth.sigv4 import HasSecret, signatures_equal
from openvod.domain.numbers import parse_uint
from openvod.errors import AuthFailure, InvalidParameter

__all__ = ["MAX_AUTHORIZATION", "MAX_SKEW", "CosAuthorization", "CosRequest", "CosVerified", "parse_authorization",
           "sign", "verify"]

MAX_SKEW = 15 * 60
MAX_AUTHORIZATION = 8192  # a temporary SecretId (with its scope) makes the header ~1 KB
_NEED = ("q-ak", "q-sign-time", "q-key-time", "q-header-list", "q-url-param-list", "q-signature")
_NAMES = re.compile(r"[a-z0-9\-._%]*(;[a-z0-9\-._%]+)*", re.ASCII)
_HEX40 = re.compile(r"[0-9a-f]{40}", re.ASCII)
_PORT = re.compile(r":\d+$", re.ASCII)

K = TypeVar("K", bound=HasSecret)


@dataclass(frozen=True)
class CosAuthorization:
    """A parsed (not yet verified) ``q-sign-algorithm=sha1`` Authorization header."""

    access_key: str
    sign_time: str
    key_time: str
    header_list: tuple[str, ...]
    param_list: tuple[str, ...]
    signature: str


@dataclass(frozen=True)
class CosRequest:
    """What a COS signature covers: the method, the decoded path, the decoded query items and the
    headers (a mapping whose ``get`` takes lower-case names)."""

    method: str
    path: str
    params: Sequence[tuple[str, str]]
    headers: Mapping[str, str]


@dataclass(frozen=True)
class CosVerified(Generic[K]):
    key: K
    authorization: CosAuthorization


def _fail(code: str, message: str) -> AuthFailure:
    return AuthFailure(message, code=code)


def _time_range(value: str, name: str) -> tuple[int, int]:
    first, sep, last = value.partition(";")
    try:
        start, end = parse_uint(first, name), parse_uint(last, name)
    except InvalidParameter as exc:
        raise _fail(codes.MALFORMED, f"{name} must be <start>;<end> in unix seconds.") from exc
    if not sep or end < start:
        raise _fail(codes.MALFORMED, f"{name} must be <start>;<end> with start <= end.")
    return start, end


def parse_authorization(header: str, *, now: float) -> CosAuthorization:
    """Parse and time-check a COS Authorization header (see the module's codes)."""
    if len(header) > MAX_AUTHORIZATION:
        raise _fail(codes.MALFORMED, "The Authorization header is too long.")
    fields: dict[str, str] = {}
    for piece in header.split("&"):
        k, _, v = piece.partition("=")
        fields[k.strip()] = v.strip()
    if fields.get("q-sign-algorithm") != "sha1" or any(n not in fields for n in _NEED):
        raise _fail(codes.MISSING, "The request must carry a q-sign-algorithm=sha1 Authorization header.")
    for name in ("q-header-list", "q-url-param-list"):
        if _NAMES.fullmatch(fields[name]) is None:
            raise _fail(codes.MALFORMED, f"{name} must be lower-case names separated by ';'.")
    if _HEX40.fullmatch(fields["q-signature"]) is None:
        raise _fail(codes.MALFORMED, "q-signature must be 40 lower-case hex digits.")
    if not fields["q-ak"]:
        raise _fail(codes.UNKNOWN_KEY, "q-ak is empty.")
    for name in ("q-sign-time", "q-key-time"):
        start, end = _time_range(fields[name], name)
        if now > end:
            raise _fail(codes.EXPIRED, f"Request has expired ({name} ended at {end}).")
        if now < start - MAX_SKEW:
            raise _fail(codes.NOT_YET_VALID, f"The request's {name} starts in the future.")
    return CosAuthorization(fields["q-ak"], fields["q-sign-time"], fields["q-key-time"],
                            tuple(filter(None, fields["q-header-list"].split(";"))),
                            tuple(filter(None, fields["q-url-param-list"].split(";"))), fields["q-signature"])


def _enc(v: str) -> str:
    return quote(v.encode("utf-8"), safe="-_.~")


def sign(secret_key: str, request: CosRequest, auth: CosAuthorization) -> str:
    """The hex ``q-signature`` of ``request`` for the lists and times ``auth`` names."""
    headers = []
    for name in auth.header_list:
        value = request.headers.get(name, "")
        if name == "host" and _PORT.search(value):
            value = value.rsplit(":", 1)[0]  # the SDK signs the host without the port
        headers.append((name, _enc(value)))
    lowered = {k.lower(): v for k, v in request.params}
    params = [(name, _enc(lowered.get(name, ""))) for name in auth.param_list]
    fmt = "\n".join([request.method.lower(), request.path,
                     "&".join(f"{k}={v}" for k, v in sorted(params)),
                     "&".join(f"{k}={v}" for k, v in sorted(headers)), ""])
    sts = f"sha1\n{auth.sign_time}\n{hashlib.sha1(fmt.encode('utf-8'), usedforsecurity=False).hexdigest()}\n"
    sign_key = hmac.new(secret_key.encode(), auth.key_time.encode(), hashlib.sha1).hexdigest()
    return hmac.new(sign_key.encode(), sts.encode(), hashlib.sha1).hexdigest()


def verify(request: CosRequest, lookup_secret: Callable[[str], K | None], *, now: float) -> CosVerified[K]:
    """Check a COS-signed request; the key that signed it, or :class:`AuthFailure`."""
    auth = parse_authorization(request.headers.get("authorization", ""), now=now)
    key = lookup_secret(auth.access_key)
    want = sign(key.secret_key if key is not None else secrets.token_urlsafe(24), request, auth)
    matches = signatures_equal(want, auth.signature)
    if key is None:
        raise _fail(codes.UNKNOWN_KEY, f"access key {auth.access_key[:64]} is unknown, expired or disabled")
    if not matches:
        raise _fail(codes.MISMATCH, "The request signature we calculated does not match the signature you provided.")
    return CosVerified(key, auth)
