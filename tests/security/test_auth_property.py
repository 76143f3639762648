"""Property tests: the parsers of signatures and credentials never raise anything but the
project's error types, whatever text or bytes they are given.

The project's error type is :class:`openvod.errors.OpenVODError`; the S3/COS gateway answers
with its own :class:`~openvod.api.compat.s3.common.S3Error` (an S3 ``<Error>`` document).
Inputs are arbitrary text and also "nearly right" values (a valid header with one field
replaced by arbitrary text, odd digits such as ``²`` or full-width digits, huge numbers).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Callable
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from openvod.api.compat.s3.auth import parse_header_auth, parse_presigned
from openvod.api.compat.s3.common import S3Error
from openvod.api.compat.s3.cos import parse_cos_authorization
from openvod.auth import sigv4, tc3
from openvod.auth.replay import ReplayGuard
from openvod.domain import signature as sigs
from openvod.errors import OpenVODError

NOW = 1_750_000_000.0
FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

odd_digits = st.sampled_from(["²", "１２３", "٣", "1_000", " 12", "12 ", "-1", "+1", "0x10", "1e3", "",
                              "9" * 19, "9" * 20, "9" * 5000, "18446744073709551616"])
text = st.text(max_size=300)
field = st.one_of(text, odd_digits)


def _only(errors: tuple[type[BaseException], ...], fn: Callable[[], Any]) -> None:
    try:
        fn()
    except errors:
        pass


# --- SigV4 (Kingsoft and the /s3 gateway) -----------------------------------------------------

SIGV4_HEADER = ("AWS4-HMAC-SHA256 Credential=AKIDx/20250615/us-east-1/s3/aws4_request, "
                "SignedHeaders=host;x-amz-date, Signature=" + "a" * 64)


@FAST
@given(st.one_of(text, st.builds(lambda a, b: SIGV4_HEADER.replace("20250615", a).replace("host", b), field, field)))
def test_sigv4_authorization_parser_never_raises(value: str) -> None:
    parsed = sigv4.parse_authorization(value)
    if parsed is not None:
        assert parsed.date.isascii() and parsed.date.isdigit() and len(parsed.date) == 8


@FAST
@given(st.one_of(text, odd_digits, st.from_regex(r"\A[0-9²１]{8}T[0-9٣]{6}Z\Z")))
def test_amz_date_parser_never_raises(value: str) -> None:
    when = sigv4.parse_amz_date(value)
    if when is not None:
        assert value.isascii()


@FAST
@given(st.dictionaries(st.sampled_from(["authorization", "x-amz-date", "x-amz-content-sha256", "host"]), field),
       st.sampled_from(["*", "us-east-1"]))
def test_sigv4_header_auth_raises_only_s3_errors(headers: dict[str, str], region: str) -> None:
    _only((S3Error,), lambda: parse_header_auth(headers, now=NOW, region=region))


PRESIGNED = {
    "X-Amz-Algorithm": "AWS4-HMAC-SHA256",
    "X-Amz-Credential": "AKIDx/20250615/us-east-1/s3/aws4_request",
    "X-Amz-Date": "20250615T150000Z",
    "X-Amz-Expires": "3600",
    "X-Amz-SignedHeaders": "host",
    "X-Amz-Signature": "b" * 64,
}


@FAST
@given(st.one_of(
    st.dictionaries(st.sampled_from(sorted(PRESIGNED)), field),
    st.builds(lambda k, v: {**PRESIGNED, k: v}, st.sampled_from(sorted(PRESIGNED)), field),
), st.floats(min_value=0, max_value=4e9), st.sampled_from(["*", "us-east-1", "eu-west-1"]))
def test_presigned_query_raises_only_s3_errors(q: dict[str, str], now: float, region: str) -> None:
    try:
        cred = parse_presigned(q, now=now, region=region)
    except S3Error as exc:
        assert 400 <= exc.status < 500
    else:
        expires = int(q["X-Amz-Expires"])
        assert 1 <= expires <= 604800 and q["X-Amz-Expires"].isascii()
        assert cred.region == region or region == "*"


def test_presigned_limits_exactly() -> None:
    start = 1_749_999_600.0  # 2025-06-15T15:00:00Z
    assert parse_presigned({**PRESIGNED, "X-Amz-Expires": "604800"}, now=start + 10, region="us-east-1")
    # Out of 0..604800 (or not a number) is a malformed query; 0 is well-formed but expired at
    # once, as S3 answers it.
    for bad, status, code in (("604801", 400, "AuthorizationQueryParametersError"),
                              ("-1", 400, "AuthorizationQueryParametersError"),
                              ("²", 400, "AuthorizationQueryParametersError"), ("0", 403, "AccessDenied")):
        try:
            parse_presigned({**PRESIGNED, "X-Amz-Expires": bad}, now=start + 10, region="us-east-1")
            raise AssertionError(bad)
        except S3Error as exc:
            assert (exc.status, exc.code) == (status, code), bad


# --- TC3 (Tencent API 3.0) --------------------------------------------------------------------

TC3_HEADER = ("TC3-HMAC-SHA256 Credential=AKIDx/2025-06-15/vod/tc3_request, SignedHeaders=content-type;host, "
              "Signature=" + "c" * 64)


@FAST
@given(st.one_of(text, st.builds(lambda a: TC3_HEADER.replace("2025-06-15", a), field)))
def test_tc3_authorization_parser_raises_only_openvod_errors(value: str) -> None:
    _only((OpenVODError,), lambda: tc3.parse_authorization(value))


@FAST
@given(st.dictionaries(st.sampled_from(["authorization", "x-tc-timestamp", "x-tc-action", "content-type", "host",
                                        "x-tc-content-sha256"]), field),
       st.sampled_from(["GET", "POST", "PUT"]), text, st.binary(max_size=200))
def test_verify_tc3_raises_only_openvod_errors(headers: dict[str, str], method: str, query: str,
                                              body: bytes) -> None:
    headers.setdefault("authorization", TC3_HEADER)
    guard = ReplayGuard(600)
    _only((OpenVODError,), lambda: tc3.verify_tc3(method, query, headers, body, {"AKIDx": "k"}.get, now=NOW,
                                                  replay=guard))


def test_tc3_signed_request_accepted_once_per_action() -> None:
    ts = int(NOW)
    headers = {"content-type": "application/json", "host": "vod.example", "x-tc-timestamp": str(ts),
               "x-tc-action": "ModifyMediaInfo"}
    body = b'{"FileId":"f"}'
    sig = tc3.sign("k", method="POST", query="", headers=headers, signed_headers=["content-type", "host"],
                   payload_hash=hashlib.sha256(body).hexdigest(), timestamp=ts, date="2025-06-15")
    headers["authorization"] = TC3_HEADER.replace("c" * 64, sig)
    guard = ReplayGuard(600)
    for _ in range(2):  # an identical resend passes
        assert tc3.verify_tc3("POST", "", headers, body, {"AKIDx": "k"}.get, now=NOW, replay=guard) == "AKIDx"
    try:
        tc3.verify_tc3("POST", "", {**headers, "x-tc-action": "DeleteMedia"}, body, {"AKIDx": "k"}.get, now=NOW,
                       replay=guard)
        raise AssertionError("replay accepted")
    except OpenVODError as exc:
        assert exc.code == "AuthFailure.SignatureReplay"
    # ... until the window has passed (by then the timestamp is outside the skew anyway).
    guard.check(sig, b"other", now=NOW + 601)


def test_replay_guard_is_bounded() -> None:
    guard = ReplayGuard(600, max_entries=100)
    for i in range(1000):
        guard.check(f"{i:064x}", b"x", now=NOW)
    assert len(guard) == 100


# --- COS (q-sign-algorithm=sha1) --------------------------------------------------------------

COS_HEADER = ("q-sign-algorithm=sha1&q-ak=AKIDx&q-sign-time=1750000000;1750003600&q-key-time=1750000000;1750003600"
              "&q-header-list=host&q-url-param-list=&q-signature=" + "d" * 40)


@FAST
@given(st.one_of(
    text,
    st.builds(lambda f, v: COS_HEADER.replace(f, f.split("=")[0] + "=" + v, 1),
              st.sampled_from(["q-sign-time=1750000000;1750003600", "q-key-time=1750000000;1750003600",
                               "q-header-list=host", "q-ak=AKIDx", "q-signature=" + "d" * 40]),
              st.one_of(field, st.builds(lambda a, b: f"{a};{b}", field, field))),
))
def test_cos_authorization_raises_only_s3_errors(value: str) -> None:
    try:
        auth = parse_cos_authorization(value, now=NOW + 10)
    except S3Error as exc:
        assert 400 <= exc.status < 500
    else:
        start, end = (int(x) for x in auth.sign_time.split(";"))
        assert auth.sign_time.isascii() and start <= NOW + 10 + 900 and end >= NOW + 10


# --- upload signatures (base64 HMAC-SHA1 + query string) --------------------------------------

QUERY_FIELDS = ["secretId", "currentTimeStamp", "expireTime", "random", "procedure", "classId", "oneTimeValid",
                "sourceContext", "sessionContext", "taskPriority", "taskNotifyMode", "vodSubAppId", "storageRegion"]


def _sign(original: bytes, key: str = "k") -> str:
    return base64.b64encode(hmac.new(key.encode(), original, hashlib.sha1).digest() + original).decode()


@FAST
@given(st.one_of(text, st.binary(max_size=400).map(lambda b: base64.b64encode(b).decode())))
def test_upload_signature_parser_raises_only_invalid_parameter(value: str) -> None:
    try:
        sig = sigs.parse_signature(value)
    except OpenVODError as exc:
        assert exc.code == sigs.CODE_INVALID
    else:
        _only((OpenVODError,), lambda: sigs.verify_signature(sig, "k", now=int(NOW)))


@FAST
@given(st.lists(st.tuples(st.sampled_from(QUERY_FIELDS), field), max_size=14))
def test_upload_signature_fields_raise_only_openvod_errors(pairs: list[tuple[str, str]]) -> None:
    from urllib.parse import quote

    base = {"secretId": "AKIDx", "currentTimeStamp": str(int(NOW)), "expireTime": str(int(NOW) + 60),
            "random": "7"}
    merged = {**base, **dict(pairs)}
    original = "&".join(f"{k}={quote(v)}" for k, v in merged.items()).encode()
    try:
        sig = sigs.parse_signature(_sign(original))
    except OpenVODError as exc:
        assert exc.code == sigs.CODE_INVALID
        return
    for name in ("currentTimeStamp", "expireTime", "random"):
        assert merged[name].isascii() and merged[name].isdigit()
    try:
        sigs.verify_signature(sig, "k", now=int(NOW))
    except OpenVODError as exc:
        assert exc.status == 401
    if sig.sub_app_id is not None:
        assert merged["vodSubAppId"].isascii()

