"""domain/media_sort.py: the sort and order words, the duration rule, the marker's round trip and
what it refuses."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from openvod.domain.media_sort import (
    Cursor,
    MediaSort,
    SortOrder,
    decode_marker,
    duration_of,
    encode_marker,
    parse_order,
    parse_sort,
)
from openvod.errors import InvalidParameter


def test_defaults_and_bad_words() -> None:
    assert (parse_sort(None), parse_order(None)) == (MediaSort.CREATED, SortOrder.DESC)
    assert (parse_sort("duration"), parse_order("asc")) == (MediaSort.DURATION, SortOrder.ASC)
    with pytest.raises(InvalidParameter) as bad_sort:
        parse_sort("Name")
    with pytest.raises(InvalidParameter) as bad_order:
        parse_order("ascending")
    assert (bad_sort.value.code, bad_order.value.code) == ("InvalidParameter.Sort", "InvalidParameter.Order")


@pytest.mark.parametrize(("probe", "seconds"), [
    ({"format": {"duration": "12.500000"}}, 12.5), ({"format": {"duration": 3}}, 3.0),
    (None, None), ({}, None), ({"format": {}}, None), ({"format": {"duration": "N/A"}}, None),
    ({"format": {"duration": "0.000000"}}, None), ({"format": {"duration": "nan"}}, None),
    ({"format": {"duration": True}}, None), ({"format": "x"}, None),
])
def test_duration_of(probe: Any, seconds: float | None) -> None:
    assert duration_of(probe) == seconds


@pytest.mark.parametrize(("sort", "order", "value"), [
    (MediaSort.CREATED, SortOrder.ASC, None), (MediaSort.NAME, SortOrder.DESC, "été \"quoted\" 🎬.mp4"),
    (MediaSort.SIZE, SortOrder.ASC, 0), (MediaSort.SIZE, SortOrder.DESC, None),
    (MediaSort.DURATION, SortOrder.DESC, 0.1 + 0.2), (MediaSort.DURATION, SortOrder.ASC, None),
])
def test_a_token_round_trips_exactly(sort: MediaSort, order: SortOrder, value: Any) -> None:
    marker = encode_marker(sort, order, value, "1764780000000123456")
    assert set(marker) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")  # URL-safe
    assert decode_marker(sort, order, marker) == Cursor(value, "1764780000000123456")


def test_the_default_order_keeps_the_file_id_marker() -> None:
    assert encode_marker(MediaSort.CREATED, SortOrder.DESC, None, "1764780000000123456") == "1764780000000123456"
    assert decode_marker(MediaSort.CREATED, SortOrder.DESC, "17647") == Cursor(None, "17647")


def _token(**body: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(body).encode()).decode().rstrip("=")


@pytest.mark.parametrize(("sort", "order", "marker"), [
    (MediaSort.NAME, SortOrder.DESC, encode_marker(MediaSort.NAME, SortOrder.ASC, "a", "1")),  # another order
    (MediaSort.SIZE, SortOrder.DESC, encode_marker(MediaSort.DURATION, SortOrder.DESC, 1.5, "1")),  # another sort
    (MediaSort.CREATED, SortOrder.DESC, encode_marker(MediaSort.CREATED, SortOrder.ASC, None, "1")),  # too long
    (MediaSort.SIZE, SortOrder.ASC, "1764780000000123456"),  # a FileId where a token is due
    (MediaSort.NAME, SortOrder.ASC, "%%%"),
    (MediaSort.NAME, SortOrder.ASC, _token(s="name", o="asc", v="a")),  # no FileId
    (MediaSort.NAME, SortOrder.ASC, _token(s="name", o="asc", v=None, i="1")),  # names are never NULL
    (MediaSort.SIZE, SortOrder.ASC, _token(s="size", o="asc", v="12", i="1")),  # a string for a number
    (MediaSort.SIZE, SortOrder.ASC, _token(s="size", o="asc", v=True, i="1")),
    (MediaSort.DURATION, SortOrder.ASC, _token(s="duration", o="asc", v=1.0, i="x" * 33)),
    (MediaSort.NAME, SortOrder.ASC, _token(s="name", o="asc", v="a", i="1") + "A" * 3000),
])
def test_foreign_and_malformed_markers_are_refused(sort: MediaSort, order: SortOrder, marker: str) -> None:
    with pytest.raises(InvalidParameter) as caught:
        decode_marker(sort, order, marker)
    assert caught.value.code == "InvalidParameter.Marker"
