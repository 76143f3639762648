"""GetObject and HeadObject: conditionals, one byte range or one part, stored headers, overrides.

The reply carries what was stored with the object (``metadata``), then what ``response-*``
parameters ask for, then, last, :func:`openvod.api.content_safety.object_headers`: whatever
Content-Type was stored or asked for, an object that is not passive media is a sandboxed download
(``Content-Security-Policy: sandbox``; a Content-Disposition that is not already ``attachment``
becomes one), and every reply carries ``nosniff``. A malformed Content-Type is sent as
``application/octet-stream`` (``content_safety.media_type``).

``partNumber=N`` reads part N of a completed multipart upload (206, its byte range,
``x-amz-mp-parts-count``); a plain object is one part. An unsatisfiable ``Range`` is 416
InvalidRange with ``Content-Range: bytes */size``.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Mapping
from datetime import UTC, datetime

from fastapi import Request
from fastapi.responses import Response, StreamingResponse

from openvod.api.compat.s3 import conditions
from openvod.api.compat.s3.buckets import missing, object_row, phys
from openvod.api.compat.s3.common import HIDDEN_ROLES, S3Error, part_number, precondition_failed
from openvod.api.compat.s3.metadata import Metadata, overrides, s3_info
from openvod.api.content_safety import NOSNIFF, media_type, object_headers
from openvod.api.serving import RangeNotSatisfiable, parse_range
from openvod.domain.times import http_date
from openvod.errors import NotFound
from openvod.runtime import Context

__all__ = ["get_object", "safe_headers"]

_ATTACHMENT = re.compile(r"\s*attachment\s*(;|$)", re.IGNORECASE)


def safe_headers(headers: dict[str, str], key: str) -> dict[str, str]:
    """``headers`` with the content-safety policy applied last (see the module docstring)."""
    content_type = media_type(headers.get("Content-Type"))
    policy = object_headers(content_type, posixpath.basename(key.rstrip("/")) or None)
    if "Content-Disposition" in policy and _ATTACHMENT.match(headers.get("Content-Disposition", "")):
        del policy["Content-Disposition"]  # already a download: keep the name it gives
    return {**headers, "Content-Type": content_type, **policy}


def _part_range(params: Mapping[str, str], request: Request, sizes: list[int]) -> tuple[int, int]:
    if request.headers.get("range"):
        raise S3Error(400, "InvalidRequest", "Cannot specify both Range header and partNumber query parameter")
    n = part_number(params["partNumber"])
    if n > len(sizes):
        raise S3Error(416, "InvalidPartNumber", "The requested partnumber is not satisfiable")
    start = sum(sizes[: n - 1])
    return start, start + sizes[n - 1] - 1


def _byte_range(request: Request, size: int, etag: str, modified: datetime) -> tuple[int, int] | None:
    header = request.headers.get("range")
    if_range = request.headers.get("if-range")
    if not header or (if_range is not None and not conditions.if_range_holds(if_range, etag, modified)):
        return None
    try:
        return parse_range(header, size)
    except RangeNotSatisfiable as exc:
        raise S3Error(416, "InvalidRange", "The requested range is not satisfiable",
                      headers={"Content-Range": f"bytes */{size}"}) from exc


def get_object(ctx: Context, request: Request, app_id: str, bucket: str, key: str,
               params: Mapping[str, str]) -> Response:
    pb, pk = phys(app_id, bucket, key)
    row = object_row(ctx, app_id, pb, pk)
    try:
        stat = ctx.storage.stat(pb, pk)
    except NotFound:
        stat = None
    if stat is None or (row is not None and row.role in HIDDEN_ROLES):
        raise missing(ctx, app_id, bucket)
    described = row is not None and row.size == stat.size
    etag = row.etag if row is not None and described and row.etag else stat.etag
    modified = row.created_at if row is not None else datetime.now(UTC)
    base = {"ETag": f'"{etag}"', "Last-Modified": http_date(modified)}
    outcome = conditions.evaluate(request.headers, etag, modified)
    if outcome is conditions.Outcome.FAILED:
        raise precondition_failed()
    if outcome is conditions.Outcome.NOT_MODIFIED:
        return Response(status_code=304, headers={**base, **NOSNIFF})
    meta = Metadata.of_row(row if described else None, stat.content_type)
    headers = safe_headers({**base, "Accept-Ranges": "bytes", **meta.response_headers(), **overrides(params)}, key)
    size = stat.size
    parts = s3_info(row).get("parts") if described else None
    rng: tuple[int, int] | None
    if "partNumber" in params:
        multipart = isinstance(parts, list) and bool(parts) and sum(parts) == size
        sizes: list[int] = list(parts) if multipart and parts is not None else [size]
        if multipart:
            headers["x-amz-mp-parts-count"] = str(len(sizes))
        rng = _part_range(params, request, sizes) if size else None
    else:
        rng = _byte_range(request, size, etag, modified)
    if rng is None:
        (start, end), status = (0, size - 1), 200
    else:
        (start, end), status = rng, 206
        headers["Content-Range"] = f"bytes {start}-{end}/{size}"
    headers["Content-Length"] = str(max(0, end - start + 1))
    if request.method == "HEAD" or end < start:
        return Response(status_code=status, headers=headers)
    body = ctx.storage.open(pb, pk, start=start, end=end)
    return StreamingResponse(body, status_code=status, headers=headers)
