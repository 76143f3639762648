"""Validation of bucket names and object keys (the guard against path traversal)."""

from __future__ import annotations

import re

from openvod.errors import InvalidParameter

__all__ = ["MAX_KEY_BYTES", "prefix_end", "validate_bucket", "validate_key"]

MAX_KEY_BYTES = 1024
_BUCKET = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]", re.ASCII)


def validate_bucket(bucket: str) -> str:
    """Return ``bucket`` if it is an S3-style bucket name (3-63 of ``a-z0-9.-``), else raise."""
    if not isinstance(bucket, str) or not _BUCKET.fullmatch(bucket) or ".." in bucket:
        raise InvalidParameter(
            f"bucket name {bucket!r} is invalid: use 3-63 characters of a-z, 0-9, '.', '-'",
            code="InvalidParameter.Bucket",
        )
    return bucket


def validate_key(key: str, *, folder: bool = False) -> str:
    """Return ``key`` if it is a safe relative object key, else raise ``InvalidParameter.ObjectKey``.

    Refused: empty keys, absolute paths, ``.``/``..`` segments, empty segments, backslashes,
    control characters and keys over 1024 UTF-8 bytes. With ``folder``, one trailing ``/`` is
    allowed (an S3 folder marker such as ``photos/``): the stores and the S3 gateway pass it.
    """

    def bad(why: str) -> InvalidParameter:
        shown = key if len(key) <= 80 else key[:80] + "…"
        return InvalidParameter(f"object key {shown!r} is invalid: {why}", code="InvalidParameter.ObjectKey")

    if not isinstance(key, str) or not key:
        raise bad("it is empty")
    if any(0xD800 <= ord(c) <= 0xDFFF for c in key):
        raise bad("it is not valid Unicode (a lone surrogate)")
    if len(key.encode("utf-8")) > MAX_KEY_BYTES:
        raise bad(f"it is longer than {MAX_KEY_BYTES} bytes")
    if any(ord(c) < 0x20 or ord(c) == 0x7F for c in key):
        raise bad("it contains control characters")
    if key.startswith("/") or (len(key) > 1 and key[1] == ":"):
        raise bad("absolute paths are not allowed")
    if "\\" in key:
        raise bad("backslashes are not allowed")
    segments = key.split("/")
    if folder and len(segments) > 1 and segments[-1] == "":
        segments.pop()
    for segment in segments:
        if segment in ("", ".", ".."):
            raise bad("'.', '..' and empty path segments are not allowed")
    return key


def prefix_end(prefix: str) -> str | None:
    """The least string above every string that starts with ``prefix`` (None if there is none): the
    keys under ``prefix`` are the range ``prefix <= key < prefix_end(prefix)``. In code point order,
    the UTF-8 byte order keys sort in (SQLite's BINARY, PostgreSQL's COLLATE "C"); any other
    string with a prefix (task ids: services/task_counts.py) too."""
    chars = list(prefix)
    while chars:
        point = ord(chars.pop()) + 1
        if 0xD800 <= point <= 0xDFFF:  # surrogates are in no stored key
            point = 0xE000
        if point <= 0x10FFFF:
            return "".join(chars) + chr(point)
    return None
