"""Serving stored objects over HTTP with byte ranges."""

from __future__ import annotations

import posixpath
import re

from fastapi import Request
from fastapi.responses import Response, StreamingResponse

from openvod.api.content_safety import media_type, object_headers
from openvod.errors import InvalidParameter
from openvod.storage.base import ObjectStat, Storage

__all__ = ["object_response", "parse_range"]

# ASCII digits only ("²" is a digit to \d and to str.isdigit, not to int()), at most 19 of them.
_RANGE = re.compile(r"bytes=([0-9]{0,19})-([0-9]{0,19})", re.ASCII)


class RangeNotSatisfiable(InvalidParameter):
    status = 416
    default_code = "InvalidParameter.Range"


def parse_range(header: str | None, size: int) -> tuple[int, int] | None:
    """One ``bytes=`` range as (start, end inclusive), None for the whole object."""
    if not header:
        return None
    m = _RANGE.fullmatch(header.strip())
    if not m or (not m.group(1) and not m.group(2)):
        return None  # RFC 9110: ignore a Range we don't understand (multi-range included)
    shown = repr(header[:80])
    if size == 0:  # RFC 9110 §14.1.2: no range of an empty representation is satisfiable
        raise RangeNotSatisfiable(f"range {shown} asks for bytes of an empty object")
    if not m.group(1):
        n = int(m.group(2))
        if n == 0:
            raise RangeNotSatisfiable(f"range {shown} is empty")
        return max(0, size - n), size - 1
    start = int(m.group(1))
    end = int(m.group(2)) if m.group(2) else size - 1
    if start >= size or end < start:
        raise RangeNotSatisfiable(f"range {shown} is outside the object's {size} bytes")
    return start, min(end, size - 1)


def object_response(request: Request, storage: Storage, stat: ObjectStat) -> Response:
    """Object ``stat`` (GET or HEAD, one byte range, ``If-None-Match``), with the headers of
    ``api.content_safety``: every user object goes through here, so none is served as active content."""
    content_type = media_type(stat.content_type)
    headers = {
        "Accept-Ranges": "bytes",
        "ETag": f'"{stat.etag}"',
        "Cache-Control": "private, max-age=3600",
        **object_headers(content_type, posixpath.basename(stat.key)),
    }
    if request.headers.get("if-none-match") == headers["ETag"]:
        return Response(status_code=304, headers=headers)
    try:
        rng = parse_range(request.headers.get("range"), stat.size)
    except RangeNotSatisfiable:
        return Response(status_code=416, headers={**headers, "Content-Range": f"bytes */{stat.size}"})
    if rng is None:
        start, end, status = 0, stat.size - 1, 200
    else:
        (start, end), status = rng, 206
        headers["Content-Range"] = f"bytes {start}-{end}/{stat.size}"
    headers["Content-Length"] = str(max(0, end - start + 1))
    if request.method == "HEAD" or stat.size == 0:
        return Response(status_code=status, headers=headers, media_type=content_type)
    body = storage.open(stat.bucket, stat.key, start=start, end=end)
    return StreamingResponse(body, status_code=status, headers=headers, media_type=content_type)
