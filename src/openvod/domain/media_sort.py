"""How the media library sorts and pages: the sort keys, their order, and the opaque marker.

Every sort is keyset-paged on ``(sort value, FileId)``, the FileId breaking ties. ``created``
descending (the default) keeps the library's first marker format, the last FileId of the page;
every other sort and order hands out a token::

    base64url(JSON {"s": sort, "o": order, "v": value, "i": FileId})   # no padding

which names its own sort and order, so a marker of one listing given to another is refused rather
than silently read as a different position. ``v`` is ``null`` in a ``created`` token, and for a
nullable key (``size``, ``duration``) when the page ended among the media without one: those come
last in both orders.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from openvod.errors import InvalidParameter

__all__ = [
    "MAX_MARKER",
    "Cursor",
    "NULLABLE",
    "MediaSort",
    "SortOrder",
    "decode_marker",
    "duration_of",
    "encode_marker",
    "parse_order",
    "parse_sort",
]

MAX_FILE_ID = 32
MAX_MARKER = 2048  # a token of a 256-character name, every character escaped, fits


class MediaSort(StrEnum):
    CREATED = "created"
    NAME = "name"
    SIZE = "size"
    DURATION = "duration"


class SortOrder(StrEnum):
    DESC = "desc"
    ASC = "asc"


# Keys a media may lack (no source object; not probed, or no duration): they sort last.
NULLABLE = frozenset({MediaSort.SIZE, MediaSort.DURATION})


@dataclass(frozen=True)
class Cursor:
    """Where the previous page ended: its last media's sort value (None: among the media without
    one, or a ``created`` sort) and FileId."""

    value: str | int | float | None
    file_id: str


def parse_sort(text: str | None) -> MediaSort:
    try:
        return MediaSort(text or MediaSort.CREATED)
    except ValueError:
        raise InvalidParameter(f"sort must be one of {', '.join(MediaSort)}, got {str(text)[:40]!r}",
                               code="InvalidParameter.Sort") from None


def parse_order(text: str | None) -> SortOrder:
    try:
        return SortOrder(text or SortOrder.DESC)
    except ValueError:
        raise InvalidParameter(f"order must be desc or asc, got {str(text)[:40]!r}",
                               code="InvalidParameter.Order") from None


def duration_of(probe: dict[str, Any] | None) -> float | None:
    """A media's duration in seconds for sorting: the probe's ``format.duration`` when it is a
    positive finite number, else None (not probed, not media, a still image, a stream of unknown
    length). Migration 0007 backfilled existing rows with the same rule."""
    fmt = (probe or {}).get("format") if isinstance(probe, dict) else None
    raw = fmt.get("duration") if isinstance(fmt, dict) else None
    if isinstance(raw, bool) or raw is None:
        return None
    try:
        value = float(raw)
    except (TypeError, ValueError):
        return None
    return value if math.isfinite(value) and value > 0 else None


def encode_marker(sort: MediaSort, order: SortOrder, value: str | int | float | None, file_id: str) -> str:
    """The marker that continues after the media ``file_id`` whose sort value is ``value``."""
    if sort is MediaSort.CREATED and order is SortOrder.DESC:
        return file_id
    body = {"s": sort.value, "o": order.value, "v": None if sort is MediaSort.CREATED else value, "i": file_id}
    raw = json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def _bad(why: str) -> InvalidParameter:
    return InvalidParameter(f"marker is not one this listing handed out ({why}); start again without one",
                            code="InvalidParameter.Marker")


def _value_fits(sort: MediaSort, value: Any) -> bool:
    if value is None:
        return sort is MediaSort.CREATED or sort in NULLABLE
    if sort is MediaSort.NAME:
        return isinstance(value, str) and len(value) <= 256
    if sort is MediaSort.SIZE:
        return isinstance(value, int) and not isinstance(value, bool) and value >= 0
    if sort is MediaSort.DURATION:
        return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
    return False


def decode_marker(sort: MediaSort, order: SortOrder, marker: str) -> Cursor:
    """The position ``marker`` names, for a listing sorted by ``sort`` in ``order``; a marker that
    is malformed or was handed out for another sort or order is ``InvalidParameter.Marker``."""
    if len(marker) > MAX_MARKER:
        raise _bad("too long")
    if sort is MediaSort.CREATED and order is SortOrder.DESC:
        if len(marker) > MAX_FILE_ID:
            raise _bad("a FileId is expected for the default newest-first order")
        return Cursor(None, marker)
    try:
        body = json.loads(base64.urlsafe_b64decode(marker + "=" * (-len(marker) % 4)))
    except (binascii.Error, ValueError):
        raise _bad("not a token") from None
    if not isinstance(body, dict) or set(body) != {"s", "o", "v", "i"}:
        raise _bad("not a token")
    if body["s"] != sort.value or body["o"] != order.value:
        raise _bad(f"it was made for sort={str(body['s'])[:20]} order={str(body['o'])[:20]}")
    file_id, value = body["i"], body["v"]
    if not isinstance(file_id, str) or not 0 < len(file_id) <= MAX_FILE_ID or not _value_fits(sort, value):
        raise _bad("its position is malformed")
    return Cursor(value, file_id)
