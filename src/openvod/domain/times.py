"""How OpenVOD writes times: every wire format's time text comes from here.

=====================  =================================  ===========================================
function               example                            used by
=====================  =================================  ===========================================
``iso_s``              ``2024-05-01T12:00:00Z``           the native API, Tencent and Kingsoft bodies
``iso_ms``             ``2024-05-01T12:00:00.123Z``       events, deliveries, long-poll ``now``
``iso_s_zero_ms``      ``2024-05-01T12:00:00.000Z``       S3/COS XML (S3's shape, to the second)
``http_date``          ``Wed, 01 May 2024 12:00:00 GMT``  ``Last-Modified``, tus ``Upload-Expires``
=====================  =================================  ===========================================

All write UTC. A naive datetime is taken to be UTC already (the database's ``UTCDateTime`` hands
out aware ones; a naive one can only come from code that meant UTC), an aware one is converted.
"""

from __future__ import annotations

from datetime import UTC, datetime
from email.utils import format_datetime

__all__ = ["http_date", "iso_ms", "iso_s", "iso_s_or_none", "iso_s_zero_ms", "utc"]


def utc(t: datetime) -> datetime:
    """``t`` in UTC; a naive ``t`` is taken to be UTC already."""
    return t.replace(tzinfo=UTC) if t.tzinfo is None else t.astimezone(UTC)


def iso_s(t: datetime) -> str:
    """ISO 8601 to the second, with a ``Z``: ``2024-05-01T12:00:00Z``."""
    return utc(t).strftime("%Y-%m-%dT%H:%M:%SZ")


def iso_s_or_none(t: datetime | None) -> str | None:
    """:func:`iso_s`, passing ``None`` through (a time that has not come yet)."""
    return iso_s(t) if t is not None else None


def iso_ms(t: datetime) -> str:
    """ISO 8601 to the millisecond (truncated, not rounded), with a ``Z``: ``2024-05-01T12:00:00.123Z``."""
    return utc(t).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def iso_s_zero_ms(t: datetime) -> str:
    """ISO 8601 to the second in S3's millisecond shape: ``2024-05-01T12:00:00.000Z``.

    The stored milliseconds are not written: the same object's ``Last-Modified`` header (an HTTP
    date) has only seconds, and a listing and a HEAD must agree."""
    return utc(t).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def http_date(t: datetime) -> str:
    """An RFC 9110 HTTP date, ``Wed, 01 May 2024 12:00:00 GMT`` (English names, whatever the locale)."""
    return format_datetime(utc(t), usegmt=True)
