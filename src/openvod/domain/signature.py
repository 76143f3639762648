"""Tencent VOD client-upload ("UGC") signatures: build, parse and verify. Pure; no I/O.

A signature is ``base64(HMAC-SHA1(SecretKey, original) + original)`` where ``original`` is a URL
query string such as ``secretId=AKID...&currentTimeStamp=...&expireTime=...&random=...`` followed
by optional parameters (see WIRE.md section 3). A server accepts one like this::

    sig = parse_signature(text)                  # InvalidParameter.Signature if malformed
    key = lookup(sig.secret_id)                  # service layer: CODE_UNKNOWN_KEY / CODE_DISABLED_KEY
    verify_signature(sig, key.secret, now=now)   # AuthFailure.* if forged, expired, ...
    if sig.one_time: mark_used(sig.digest)       # service layer: CODE_REUSED on a second use

Optional parameters sent with an empty value count as absent: the Node example of the Tencent
docs builds ``original`` with ``querystring.stringify``, which writes ``procedure=`` for every
parameter left ``undefined``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
from dataclasses import dataclass
from typing import Literal, cast, get_args
from urllib.parse import parse_qs, quote, urlencode

from openvod.domain.numbers import parse_int, parse_uint
from openvod.errors import AuthFailure, InvalidParameter

__all__ = [
    "CODE_DISABLED_KEY",
    "CODE_EXPIRED",
    "CODE_INVALID",
    "CODE_MISMATCH",
    "CODE_NOT_YET_VALID",
    "CODE_REUSED",
    "CODE_UNKNOWN_KEY",
    "CODE_VALIDITY_TOO_LONG",
    "CLOCK_SKEW",
    "MAX_VALIDITY",
    "TaskNotifyMode",
    "UploadSignature",
    "build_signature",
    "parse_signature",
    "verify_signature",
]

CODE_INVALID = "InvalidParameter.Signature"
CODE_MISMATCH = "AuthFailure.SignatureFailure"
CODE_EXPIRED = "AuthFailure.SignatureExpire"
CODE_VALIDITY_TOO_LONG = "AuthFailure.SignatureValidityTooLong"
CODE_NOT_YET_VALID = "AuthFailure.SignatureNotYetValid"
# Checked by the service layer, which owns the key table and the one-time-use ledger.
CODE_UNKNOWN_KEY = "AuthFailure.SecretIdNotFound"
CODE_DISABLED_KEY = "AuthFailure.SecretIdDisabled"
CODE_REUSED = "AuthFailure.SignatureReused"

MAX_VALIDITY = 7_776_000  # 90 days, the documented upper bound of expireTime - currentTimeStamp
CLOCK_SKEW = 300  # how far in the future currentTimeStamp may lie
MAX_RANDOM = 2**32 - 1
MAX_SOURCE_CONTEXT = 250
MAX_SESSION_CONTEXT = 1000
# A maximal legitimate signature (1000 CJK characters of sessionContext, percent-encoded) is
# ~16 KB of base64; the cap keeps a hostile header from costing more than that to look at.
MAX_SIGNATURE_CHARS = 32_768
_MAC_SIZE = 20  # SHA-1

TaskNotifyMode = Literal["Finish", "Change", "None"]
_NOTIFY_MODES: tuple[str, ...] = get_args(TaskNotifyMode)

_REGION = re.compile(r"[a-z0-9-]{1,64}")
_WHITESPACE = re.compile(r"\s+")


class _Malformed(Exception):
    """A field violates the documented format; the caller picks the public error type."""


@dataclass(frozen=True)
class UploadSignature:
    """A decoded, well-formed (not yet verified) client-upload signature."""

    secret_id: str
    current_timestamp: int
    expire_time: int
    random: int
    procedure: str | None
    class_id: int | None
    one_time: bool
    source_context: str | None
    session_context: str | None
    task_priority: int | None
    task_notify_mode: TaskNotifyMode | None
    sub_app_id: int | None
    storage_region: str | None
    original: bytes
    mac: bytes

    @property
    def digest(self) -> str:
        """SHA-256 hex of the decoded signature: the key for one-time-use bookkeeping.

        It ignores how the base64 was written (padding, alphabet, whitespace), so one signature
        cannot be replayed by re-encoding it.
        """
        return hashlib.sha256(self.mac + self.original).hexdigest()


def build_signature(
    secret_id: str,
    secret_key: str,
    *,
    now: int,
    expire_in: int,
    random: int,
    procedure: str | None = None,
    class_id: int | None = None,
    one_time: bool = False,
    source_context: str | None = None,
    session_context: str | None = None,
    task_priority: int | None = None,
    task_notify_mode: TaskNotifyMode | None = None,
    sub_app_id: int | None = None,
    storage_region: str | None = None,
) -> str:
    """Return a signature valid from ``now`` for ``expire_in`` seconds.

    ``original`` is written the way Node's ``querystring.stringify`` writes it (``%20`` for a
    space), in the documented parameter order. Values the parser would refuse raise ``ValueError``.
    """
    if not secret_key:
        raise ValueError("secret_key is empty")
    if not 0 < expire_in <= MAX_VALIDITY:
        raise ValueError(f"expire_in must be 1..{MAX_VALIDITY} seconds (90 days), got {expire_in}")
    params: list[tuple[str, str]] = [
        ("secretId", secret_id),
        ("currentTimeStamp", str(now)),
        ("expireTime", str(now + expire_in)),
        ("random", str(random)),
    ]
    optional: list[tuple[str, object | None]] = [
        ("procedure", procedure),
        ("classId", class_id),
        ("oneTimeValid", 1 if one_time else None),
        ("sourceContext", source_context),
        ("sessionContext", session_context),
        ("taskPriority", task_priority),
        ("taskNotifyMode", task_notify_mode),
        ("vodSubAppId", sub_app_id),
        ("storageRegion", storage_region),
    ]
    params += [(name, str(value)) for name, value in optional if value is not None]
    original = urlencode(params, quote_via=quote, safe="!'()*").encode("ascii")
    try:
        _fields(original)
    except _Malformed as exc:
        raise ValueError(f"cannot sign: {exc}") from exc
    mac = hmac.new(secret_key.encode("utf-8"), original, hashlib.sha1).digest()
    return base64.b64encode(mac + original).decode("ascii")


def parse_signature(signature: str) -> UploadSignature:
    """Decode ``signature`` and check every field's format, without checking the HMAC.

    Standard or URL-safe base64 is accepted, with or without padding and with whitespace
    anywhere. Anything malformed raises ``InvalidParameter`` (``InvalidParameter.Signature``)
    naming the first problem found.
    """
    try:
        return _parse(signature)
    except _Malformed as exc:
        raise InvalidParameter(f"upload signature is malformed: {exc}", code=CODE_INVALID) from exc


def verify_signature(sig: UploadSignature, secret_key: str, *, now: int) -> None:
    """Raise ``AuthFailure`` unless ``sig`` was made with ``secret_key`` and is valid at ``now``.

    The HMAC is checked first (in constant time), so a forged signature learns nothing about the
    other checks. Codes: ``CODE_MISMATCH``, ``CODE_VALIDITY_TOO_LONG``, ``CODE_NOT_YET_VALID``,
    ``CODE_EXPIRED``.
    """
    expected = hmac.new(secret_key.encode("utf-8"), sig.original, hashlib.sha1).digest()
    if not hmac.compare_digest(expected, sig.mac):
        raise AuthFailure(
            f"upload signature of secretId {sig.secret_id!r} does not match its secret key",
            code=CODE_MISMATCH,
        )
    validity = sig.expire_time - sig.current_timestamp
    if validity > MAX_VALIDITY:
        raise AuthFailure(
            f"upload signature is valid for {validity} s; at most {MAX_VALIDITY} s (90 days) is allowed",
            code=CODE_VALIDITY_TOO_LONG,
        )
    if sig.current_timestamp > now + CLOCK_SKEW:
        raise AuthFailure(
            f"upload signature currentTimeStamp {sig.current_timestamp} is {sig.current_timestamp - now} s "
            f"in the future (server time {now}); check the signing server's clock",
            code=CODE_NOT_YET_VALID,
        )
    if now >= sig.expire_time:
        raise AuthFailure(
            f"upload signature expired at {sig.expire_time} (server time {now})", code=CODE_EXPIRED
        )


def _parse(signature: str) -> UploadSignature:
    if not isinstance(signature, str):
        raise _Malformed("it is not a string")
    if len(signature) > MAX_SIGNATURE_CHARS:
        raise _Malformed(f"it is longer than {MAX_SIGNATURE_CHARS} characters")
    text = _WHITESPACE.sub("", signature).rstrip("=").replace("-", "+").replace("_", "/")
    if not text:
        raise _Malformed("it is empty")
    try:
        raw = base64.b64decode(text + "=" * (-len(text) % 4), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise _Malformed("it is not base64") from exc
    if len(raw) <= _MAC_SIZE:
        raise _Malformed(f"it decodes to {len(raw)} bytes; a {_MAC_SIZE}-byte HMAC and a query must follow")
    mac, original = raw[:_MAC_SIZE], raw[_MAC_SIZE:]
    return _fields(original, mac)


def _fields(original: bytes, mac: bytes = b"") -> UploadSignature:
    try:
        query = parse_qs(
            original.decode("utf-8"),
            keep_blank_values=True,
            strict_parsing=True,
            errors="strict",
            max_num_fields=64,
        )
    except (UnicodeDecodeError, ValueError) as exc:
        raise _Malformed(f"the signed text is not a query string ({exc})") from exc

    def optional(name: str) -> str | None:
        values = query.get(name, [])
        if len(values) > 1:
            raise _Malformed(f"{name} appears {len(values)} times")
        return values[0] if values and values[0] != "" else None

    def required(name: str) -> str:
        value = optional(name)
        if value is None:
            raise _Malformed(f"{name} is missing")
        return value

    def to_int(name: str, value: str, low: int, high: int | None) -> int:
        try:  # ASCII digits only, at most 19 of them (numbers.MAX_DIGITS)
            number = parse_int(value, name) if low < 0 else parse_uint(value, name)
        except InvalidParameter as exc:
            raise _Malformed(f"{name} {value[:40]!r} is not a decimal integer") from exc
        if number < low or (high is not None and number > high):
            bound = f"{low}..{high}" if high is not None else f">= {low}"
            raise _Malformed(f"{name} {number} is out of range ({bound})")
        return number

    def optional_int(name: str, low: int, high: int | None) -> int | None:
        value = optional(name)
        return None if value is None else to_int(name, value, low, high)

    def optional_text(name: str, max_chars: int) -> str | None:
        value = optional(name)
        if value is not None and len(value) > max_chars:
            raise _Malformed(f"{name} is {len(value)} characters; at most {max_chars} are allowed")
        return value

    secret_id = required("secretId")
    current = to_int("currentTimeStamp", required("currentTimeStamp"), 0, None)
    expire = to_int("expireTime", required("expireTime"), 0, None)
    rand = to_int("random", required("random"), 0, MAX_RANDOM)
    if expire <= current:
        raise _Malformed(f"expireTime {expire} is not after currentTimeStamp {current}")

    mode = optional("taskNotifyMode")
    if mode is not None and mode not in _NOTIFY_MODES:
        raise _Malformed(f"taskNotifyMode {mode!r} is not one of {', '.join(_NOTIFY_MODES)}")
    region = optional("storageRegion")
    if region is not None and not _REGION.fullmatch(region):
        raise _Malformed(f"storageRegion {region!r} is not a region name such as ap-chongqing")

    return UploadSignature(
        secret_id=secret_id,
        current_timestamp=current,
        expire_time=expire,
        random=rand,
        procedure=optional("procedure"),
        class_id=optional_int("classId", 0, None),
        one_time=optional_int("oneTimeValid", 0, 1) == 1,
        source_context=optional_text("sourceContext", MAX_SOURCE_CONTEXT),
        session_context=optional_text("sessionContext", MAX_SESSION_CONTEXT),
        task_priority=optional_int("taskPriority", -10, 10),
        task_notify_mode=cast("TaskNotifyMode | None", mode),  # checked against _NOTIFY_MODES above
        sub_app_id=optional_int("vodSubAppId", 0, None),
        storage_region=region,
        original=original,
        mac=mac,
    )
