from __future__ import annotations

import base64
import hashlib
import hmac
import time

import pytest

from openvod.client.signing import sign_upload
from openvod.domain.signature import (
    CODE_EXPIRED,
    CODE_INVALID,
    CODE_MISMATCH,
    CODE_NOT_YET_VALID,
    CODE_VALIDITY_TOO_LONG,
    MAX_VALIDITY,
    build_signature,
    parse_signature,
    verify_signature,
)
from openvod.errors import AuthFailure, InvalidParameter

SECRET_ID = "AKIDtestSecretId"
SECRET_KEY = "testSecretKey123"
NOW = 1_700_000_000


def _sign(**kw: object) -> str:
    args: dict[str, object] = {"now": NOW, "expire_in": 3600, "random": 12345}
    args.update(kw)
    return build_signature(SECRET_ID, SECRET_KEY, **args)  # type: ignore[arg-type]


def _forge(original: bytes, key: str = SECRET_KEY) -> str:
    mac = hmac.new(key.encode(), original, hashlib.sha1).digest()
    return base64.b64encode(mac + original).decode()


def test_round_trip() -> None:
    sig = parse_signature(_sign())
    assert sig.secret_id == SECRET_ID
    assert (sig.current_timestamp, sig.expire_time, sig.random) == (NOW, NOW + 3600, 12345)
    assert sig.procedure is None and sig.class_id is None and not sig.one_time
    verify_signature(sig, SECRET_KEY, now=NOW + 10)


def test_known_vector_computed_by_hand() -> None:
    original = b"secretId=AKIDtestSecretId&currentTimeStamp=1700000000&expireTime=1700003600&random=12345"
    expected = base64.b64encode(hmac.new(b"testSecretKey123", original, hashlib.sha1).digest() + original)
    assert _sign() == expected.decode()


def test_known_vector_with_optional_fields_matches_node_querystring() -> None:
    original = (
        b"secretId=AKIDtestSecretId&currentTimeStamp=1700000000&expireTime=1700003600&random=12345"
        b"&procedure=HD%20flow&classId=3&oneTimeValid=1&sourceContext=a%26b%3Dc%2B%E4%B8%AD"
    )
    got = _sign(procedure="HD flow", class_id=3, one_time=True, source_context="a&b=c+中")
    assert got == _forge(original)


def test_optional_fields_carried_through_parsing() -> None:
    sig = parse_signature(
        _sign(
            procedure="HD flow",
            class_id=7,
            one_time=True,
            source_context="src & ctx",
            session_context="会话",
            task_priority=-10,
            task_notify_mode="Change",
            sub_app_id=1500000001,
            storage_region="ap-chongqing",
        )
    )
    assert sig.procedure == "HD flow"
    assert sig.class_id == 7
    assert sig.one_time is True
    assert sig.source_context == "src & ctx"
    assert sig.session_context == "会话"
    assert sig.task_priority == -10
    assert sig.task_notify_mode == "Change"
    assert sig.sub_app_id == 1500000001
    assert sig.storage_region == "ap-chongqing"
    verify_signature(sig, SECRET_KEY, now=NOW)


def test_empty_optional_values_count_as_absent() -> None:
    # What Node's querystring.stringify writes for parameters left undefined.
    original = (
        b"secretId=AKIDtestSecretId&currentTimeStamp=1700000000&expireTime=1700003600&random=1"
        b"&procedure=&classId=&oneTimeValid=&sourceContext="
    )
    sig = parse_signature(_forge(original))
    assert sig.procedure is None and sig.class_id is None and sig.one_time is False
    assert sig.source_context is None
    verify_signature(sig, SECRET_KEY, now=NOW)


def test_tolerates_missing_padding_whitespace_and_urlsafe_alphabet() -> None:
    text = _sign(procedure="x")
    raw = base64.b64decode(text)
    variants = [
        text.rstrip("="),
        " " + "\n".join(text[i : i + 20] for i in range(0, len(text), 20)) + "\r\n",
        base64.urlsafe_b64encode(raw).decode().rstrip("="),
    ]
    for variant in variants:
        sig = parse_signature(variant)
        verify_signature(sig, SECRET_KEY, now=NOW)
        assert sig.digest == parse_signature(text).digest


def _flip(signature: str, index: int) -> str:
    raw = bytearray(base64.b64decode(signature))
    raw[index] ^= 0x01
    return base64.b64encode(bytes(raw)).decode()


def test_tampered_original_fails_hmac() -> None:
    text = _sign()
    # Byte 20 + len("secretId=AKIDtestSecretId&currentTimeStamp=17000000") is a digit of the
    # timestamp: flipping its low bit keeps the query well-formed.
    tampered = _flip(text, 20 + len("secretId=AKIDtestSecretId&currentTimeStamp=17000000"))
    sig = parse_signature(tampered)
    assert sig.current_timestamp != NOW
    with pytest.raises(AuthFailure) as info:
        verify_signature(sig, SECRET_KEY, now=NOW)
    assert info.value.code == CODE_MISMATCH


def test_tampered_mac_fails_hmac() -> None:
    with pytest.raises(AuthFailure) as info:
        verify_signature(parse_signature(_flip(_sign(), 3)), SECRET_KEY, now=NOW)
    assert info.value.code == CODE_MISMATCH


def test_wrong_key_fails_hmac() -> None:
    with pytest.raises(AuthFailure) as info:
        verify_signature(parse_signature(_sign()), "otherSecretKey", now=NOW)
    assert info.value.code == CODE_MISMATCH


def test_hmac_is_checked_before_expiry() -> None:
    with pytest.raises(AuthFailure) as info:
        verify_signature(parse_signature(_sign()), "otherSecretKey", now=NOW + 10**6)
    assert info.value.code == CODE_MISMATCH


def test_expired() -> None:
    sig = parse_signature(_sign(expire_in=60))
    verify_signature(sig, SECRET_KEY, now=NOW + 59)
    for now in (NOW + 60, NOW + 10_000):
        with pytest.raises(AuthFailure) as info:
            verify_signature(sig, SECRET_KEY, now=now)
        assert info.value.code == CODE_EXPIRED


def test_validity_limit_is_90_days() -> None:
    verify_signature(parse_signature(_sign(expire_in=MAX_VALIDITY)), SECRET_KEY, now=NOW)
    too_long = (
        f"secretId={SECRET_ID}&currentTimeStamp={NOW}&expireTime={NOW + MAX_VALIDITY + 1}&random=1".encode()
    )
    with pytest.raises(AuthFailure) as info:
        verify_signature(parse_signature(_forge(too_long)), SECRET_KEY, now=NOW)
    assert info.value.code == CODE_VALIDITY_TOO_LONG
    with pytest.raises(ValueError, match="expire_in"):
        _sign(expire_in=MAX_VALIDITY + 1)


def test_not_yet_valid_beyond_clock_skew() -> None:
    sig = parse_signature(_sign())
    verify_signature(sig, SECRET_KEY, now=NOW - 300)
    with pytest.raises(AuthFailure) as info:
        verify_signature(sig, SECRET_KEY, now=NOW - 301)
    assert info.value.code == CODE_NOT_YET_VALID


def _malformed(original: bytes) -> str:
    return _forge(original)


BASE = f"secretId={SECRET_ID}&currentTimeStamp={NOW}&expireTime={NOW + 60}"


@pytest.mark.parametrize(
    ("signature", "complaint"),
    [
        ("not base64 at all!", "not base64"),
        ("QUJD*", "not base64"),
        ("", "empty"),
        (base64.b64encode(b"x" * 20).decode(), "decodes to 20 bytes"),
        (
            _malformed(f"currentTimeStamp={NOW}&expireTime={NOW + 60}&random=1".encode()),
            "secretId is missing",
        ),
        (_malformed(f"{BASE}".encode()), "random is missing"),
        (_malformed(f"{BASE}&random=4294967296".encode()), "random 4294967296 is out of range"),
        (_malformed(f"{BASE}&random=-1".encode()), "random '-1' is not a decimal integer"),
        (_malformed(f"{BASE}&random=1&random=2".encode()), "random appears 2 times"),
        (_malformed(f"{BASE}&random=0x10".encode()), "not a decimal integer"),
        (_malformed(f"{BASE}&random=%EF%BC%91".encode()), "not a decimal integer"),  # fullwidth 1
        (_malformed(f"{BASE}&random=1&taskNotifyMode=Always".encode()), "taskNotifyMode 'Always'"),
        (_malformed(f"{BASE}&random=1&taskPriority=11".encode()), "taskPriority 11 is out of range"),
        (_malformed(f"{BASE}&random=1&classId=-1".encode()), "classId"),
        (_malformed(f"{BASE}&random=1&oneTimeValid=2".encode()), "oneTimeValid 2 is out of range"),
        (_malformed(f"{BASE}&random=1&sourceContext={'a' * 251}".encode()), "sourceContext is 251"),
        (_malformed(f"{BASE}&random=1&sessionContext={'a' * 1001}".encode()), "sessionContext is 1001"),
        (_malformed(f"{BASE}&random=1&storageRegion=AP%20X".encode()), "storageRegion"),
        (_malformed(f"{BASE}&random=1&junk".encode()), "not a query string"),
        (_malformed(f"{BASE}&random=1&procedure=%FF".encode()), "not a query string"),
        (
            _malformed(f"secretId=a&currentTimeStamp={NOW}&expireTime={NOW}&random=1".encode()),
            "is not after currentTimeStamp",
        ),
        ("A" * 40_000, "longer than"),
    ],
)
def test_malformed_inputs(signature: str, complaint: str) -> None:
    with pytest.raises(InvalidParameter) as info:
        parse_signature(signature)
    assert info.value.code == CODE_INVALID
    assert complaint in info.value.message


def test_context_limits_are_inclusive() -> None:
    sig = parse_signature(_sign(source_context="s" * 250, session_context="会" * 1000))
    assert sig.source_context is not None and len(sig.source_context) == 250
    assert sig.session_context is not None and len(sig.session_context) == 1000


def test_build_refuses_what_parse_would_refuse() -> None:
    with pytest.raises(ValueError, match="random"):
        _sign(random=2**32)
    with pytest.raises(ValueError, match="sourceContext"):
        _sign(source_context="s" * 251)
    with pytest.raises(ValueError, match="taskPriority"):
        _sign(task_priority=11)


def test_digest_differs_for_different_signatures() -> None:
    a = parse_signature(_sign(random=1))
    b = parse_signature(_sign(random=2))
    assert a.digest != b.digest
    assert a.digest == parse_signature(_sign(random=1)).digest
    assert a.digest == hashlib.sha256(base64.b64decode(_sign(random=1))).hexdigest()


def test_sign_upload_uses_now_and_validates_expiry() -> None:
    before = int(time.time())
    sig = parse_signature(sign_upload(SECRET_ID, SECRET_KEY, expire_in=600, procedure="HD", one_time=True))
    after = int(time.time())
    assert before <= sig.current_timestamp <= after
    assert sig.expire_time == sig.current_timestamp + 600
    assert sig.procedure == "HD" and sig.one_time
    verify_signature(sig, SECRET_KEY, now=after)
    for bad in (0, -1, MAX_VALIDITY + 1):
        with pytest.raises(ValueError, match="expire_in"):
            sign_upload(SECRET_ID, SECRET_KEY, expire_in=bad)
    assert sign_upload(SECRET_ID, SECRET_KEY) != sign_upload(SECRET_ID, SECRET_KEY)  # random differs
