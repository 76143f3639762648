"""Conditional requests, as S3 evaluates them (RFC 9110 §13.2.2's order).

Reads (GetObject/HeadObject, ``If-*``) and copy sources (CopyObject/UploadPartCopy,
``x-amz-copy-source-if-*``) go through :func:`evaluate`:

1. ``If-Match`` present: the ETag must match (``*`` matches any), else the precondition fails;
   only without it does ``If-Unmodified-Since`` count (modified since: fails). So "If-Match true,
   If-Unmodified-Since false" succeeds, as S3 documents.
2. ``If-None-Match`` present: a matching ETag is "not modified"; only without it does
   ``If-Modified-Since`` count (not modified since: "not modified"). So "If-None-Match false,
   If-Modified-Since true" is "not modified".

A read answers "not modified" with 304 and a failed precondition with 412 PreconditionFailed; a
copy answers both with 412. Dates compare at the second (Last-Modified has no finer grain); a date
that does not parse is ignored, as RFC 9110 says. Writes (PutObject, CompleteMultipartUpload) take
S3's conditional writes: ``If-None-Match: *`` (only if absent) and ``If-Match`` (:func:`check_write`).
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

from openvod.api.compat.s3.common import S3Error, not_implemented, precondition_failed

__all__ = ["COPY_SOURCE", "Outcome", "check_copy_source", "check_write", "etag_matches", "evaluate",
           "if_range_holds"]

COPY_SOURCE = "x-amz-copy-source-"


class Outcome(enum.Enum):
    PROCEED = "proceed"
    NOT_MODIFIED = "not-modified"
    FAILED = "failed"


def _tags(header: str) -> set[str]:
    return {t.strip().removeprefix("W/").strip('"') for t in header.split(",") if t.strip()}


def etag_matches(header: str, etag: str) -> bool:
    """Whether an ``If-Match``/``If-None-Match`` list names ``etag`` (or is ``*``)."""
    tags = _tags(header)
    return "*" in tags or etag in tags


def _date(header: str | None) -> int | None:
    if not header:
        return None
    try:
        when = parsedate_to_datetime(header)
        return int((when if when.tzinfo else when.replace(tzinfo=UTC)).timestamp())
    except (TypeError, ValueError, IndexError, OverflowError):
        return None


def _second(modified: datetime) -> int:
    return int((modified if modified.tzinfo else modified.replace(tzinfo=UTC)).timestamp())


def evaluate(headers: Mapping[str, str], etag: str, modified: datetime, *, prefix: str = "") -> Outcome:
    """The outcome of the ``{prefix}if-*`` headers for an object of ``etag`` last modified at ``modified``."""
    at = _second(modified)
    if_match = headers.get(f"{prefix}if-match")
    if if_match is not None:
        if not etag_matches(if_match, etag):
            return Outcome.FAILED
    elif (since := _date(headers.get(f"{prefix}if-unmodified-since"))) is not None and at > since:
        return Outcome.FAILED
    if_none_match = headers.get(f"{prefix}if-none-match")
    if if_none_match is not None:
        if etag_matches(if_none_match, etag):
            return Outcome.NOT_MODIFIED
    elif (since := _date(headers.get(f"{prefix}if-modified-since"))) is not None and at <= since:
        return Outcome.NOT_MODIFIED
    return Outcome.PROCEED


def check_copy_source(headers: Mapping[str, str], etag: str, modified: datetime) -> None:
    """412 PreconditionFailed unless the ``x-amz-copy-source-if-*`` headers hold for the source."""
    if evaluate(headers, etag, modified, prefix=COPY_SOURCE) is not Outcome.PROCEED:
        raise precondition_failed()


def if_range_holds(header: str, etag: str, modified: datetime) -> bool:
    """Whether ``If-Range`` (a strong ETag or an HTTP date) still names the object: else the
    Range is ignored and the whole object sent."""
    value = header.strip()
    if value.startswith(("W/", '"')):
        return value == f'"{etag}"'
    return _date(value) == _second(modified)


def check_write(headers: Mapping[str, str], current_etag: str | None) -> None:
    """S3's conditional writes: ``If-None-Match: *`` refuses to replace an object (412), ``If-Match``
    to write over another version of it (412) or over nothing (404 NoSuchKey)."""
    if_none_match = headers.get("if-none-match")
    if if_none_match is not None:
        if if_none_match.strip() != "*":
            raise not_implemented("If-None-Match on a write with a value other than *")
        if current_etag is not None:
            raise precondition_failed()
    if_match = headers.get("if-match")
    if if_match is not None:
        if current_etag is None:
            raise S3Error(404, "NoSuchKey", "The specified key does not exist.")
        if not etag_matches(if_match, current_etag):
            raise precondition_failed()
