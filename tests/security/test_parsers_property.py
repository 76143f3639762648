"""Issue 10: the parsers of untrusted input (Tencent and Kingsoft parameters and headers, S3 keys,
byte ranges, JSON nesting) raise nothing but the project's errors, and never a 5xx one."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from starlette.datastructures import Headers

from openvod.api.compat import kingsoft
from openvod.api.compat.s3.buckets import phys
from openvod.api.compat.s3.common import S3Error, part_number
from openvod.api.compat.tencent import endpoint as tencent
from openvod.api.compat.tencent.common import MAX_ITEMS, int_param, list_param, query_pairs, unflatten
from openvod.api.limits import nesting_exceeds
from openvod.api.serving import parse_range
from openvod.config import Settings
from openvod.domain.keys import validate_bucket, validate_key
from openvod.errors import OpenVODError
from openvod.runtime import Context
from openvod.services.apps import ensure_default_app
from openvod.services.context import build_context
from tests.conftest import SECRET_ID, SECRET_KEY

FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])

# Text that looks like what the parsers expect more often than uniform text would.
_parts = st.one_of(st.text(max_size=8), st.integers(-5, 10**6).map(str), st.sampled_from(["²", "١", "0x1", "1_0"]))
param_names = st.lists(_parts, min_size=1, max_size=10).map(".".join)
json_values: st.SearchStrategy[Any] = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=8), inner, max_size=5),
    max_leaves=20,
)


def _user_error(exc: BaseException) -> None:
    if isinstance(exc, OpenVODError | S3Error):
        assert exc.status < 500, exc
        return
    raise AssertionError(f"{type(exc).__name__} escaped: {exc!r}") from exc


@pytest.fixture(scope="module")
def ctx(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Context]:
    c = build_context(Settings(data_dir=tmp_path_factory.mktemp("prop") / "data", workers=0))
    ensure_default_app(c.db, SECRET_ID, SECRET_KEY)
    yield c
    c.db.dispose()


# ---------------------------------------------------------------- Tencent

@FAST
@given(st.lists(st.tuples(param_names, st.text(max_size=10)), max_size=30))
def test_unflatten(pairs: list[tuple[str, str]]) -> None:
    try:
        out = unflatten(pairs)
    except Exception as exc:  # noqa: BLE001 - the property is about which exceptions escape
        _user_error(exc)
        return
    stack: list[Any] = [out]
    while stack:  # every list it builds is bounded
        node = stack.pop()
        if isinstance(node, list):
            assert len(node) <= MAX_ITEMS
            stack.extend(node)
        elif isinstance(node, dict):
            stack.extend(node.values())


@FAST
@given(st.text(max_size=300))
def test_query_pairs_then_unflatten(query: str) -> None:
    try:
        unflatten(query_pairs(query))
    except Exception as exc:  # noqa: BLE001
        _user_error(exc)


@FAST
@given(json_values)
def test_int_and_list_params(value: Any) -> None:
    for reader in (lambda: int_param({"V": value}, "V"), lambda: list_param({"V": value}, "V")):
        try:
            got = reader()
        except Exception as exc:  # noqa: BLE001
            _user_error(exc)
            continue
        assert got is None or isinstance(got, int | list)
        if isinstance(got, int):
            assert -(2**63) <= got < 2**63


@FAST
@given(st.dictionaries(st.sampled_from(["x-tc-action", "x-tc-version", "authorization", "x-tc-timestamp"]),
                       st.one_of(st.text(max_size=200), st.sampled_from([
                           "2018-07-17", "DescribeMediaInfos", str(int(time.time())), "²",
                           f"TC3-HMAC-SHA256 Credential={SECRET_ID}/2024-01-01/vod/tc3_request, "
                           f"SignedHeaders=content-type;host, Signature={'a' * 64}"]))))
def test_tencent_precheck(ctx: Context, headers: dict[str, str]) -> None:
    try:
        tencent.precheck(ctx, headers, time.time())
    except Exception as exc:  # noqa: BLE001
        _user_error(exc)


# ---------------------------------------------------------------- Kingsoft

@FAST
@given(json_values)
def test_kingsoft_int_and_str(value: Any) -> None:
    for reader in (lambda: kingsoft._int({"v": value}, "v", 0), lambda: kingsoft._str({"v": value}, "v"),
                   lambda: kingsoft._sources({"srcInfo": value})):
        try:
            reader()
        except Exception as exc:  # noqa: BLE001
            _user_error(exc)


@FAST
@given(st.dictionaries(st.sampled_from(["x-action", "x-version", "authorization", "x-amz-date"]),
                       st.one_of(st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=0x2FF), max_size=200),
                                 st.sampled_from([
                                     "GetTaskList", "2016-09-19", datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ"),
                                     f"AWS4-HMAC-SHA256 Credential={SECRET_ID}/20240101/cn-beijing-6/offline/"
                                     f"aws4_request, SignedHeaders=host;x-action;x-amz-date, Signature={'0' * 64}",
                                 ]))))
def test_kingsoft_header_checks(ctx: Context, headers: dict[str, str]) -> None:
    raw = [(k.encode(), v.encode("utf-8")) for k, v in headers.items()]
    try:
        kingsoft._precheck(ctx, Headers(raw=raw), datetime.now(UTC))
    except kingsoft.KingsoftError as denied:
        assert 400 <= denied.status < 500
    except Exception as exc:  # noqa: BLE001
        _user_error(exc)


# ---------------------------------------------------------------- S3 keys, part numbers, ranges, JSON

@FAST
@given(st.text(max_size=80), st.text(max_size=300))
def test_s3_bucket_and_key(bucket: str, key: str) -> None:
    for check in (lambda: validate_bucket(bucket), lambda: validate_key(key), lambda: phys("app1", bucket, key)):
        try:
            check()
        except Exception as exc:  # noqa: BLE001
            _user_error(exc)
    try:
        ok = validate_key(key)
    except OpenVODError:
        return
    assert not ok.startswith("/") and ".." not in ok.split("/")


@FAST
@given(st.one_of(st.text(max_size=30), st.integers(-10, 20000).map(str)))
def test_part_number(raw: str) -> None:
    try:
        n = part_number(raw)
    except Exception as exc:  # noqa: BLE001
        _user_error(exc)
        return
    assert 1 <= n <= 10000 and raw.isascii()


_bound = st.one_of(st.just(""), st.integers(0, 10**25).map(str), st.text(max_size=4))
_ranges = st.one_of(st.text(max_size=40), st.builds(lambda a, b: f"bytes={a}-{b}", _bound, _bound))


@FAST
@given(_ranges, st.integers(0, 10**12))
def test_parse_range(header: str, size: int) -> None:
    try:
        got = parse_range(header, size)
    except Exception as exc:  # noqa: BLE001
        _user_error(exc)
        return
    if got is not None:
        start, end = got
        assert 0 <= start <= end < size


@FAST
@given(st.binary(max_size=500) | st.text(alphabet='[]{}"\\,:a1 ', max_size=500).map(str.encode))
def test_nesting_check(body: bytes) -> None:
    assert isinstance(nesting_exceeds(body, 32), bool)


def test_nesting_check_counts_levels() -> None:
    assert not nesting_exceeds(b"[" * 32 + b"]" * 32, 32)
    assert nesting_exceeds(b"[" * 33 + b"]" * 33, 32)
    assert not nesting_exceeds(b'{"a": "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["}', 32)  # inside a string
    assert nesting_exceeds(b'{"a":' * 40 + b"1" + b"}" * 40, 32)
