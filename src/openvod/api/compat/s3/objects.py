"""Object operations other than upload: GetObject/HeadObject, CopyObject, UploadPartCopy, DeleteObject."""

from __future__ import annotations

import dataclasses
import hashlib
import io
import re
import xml.etree.ElementTree as ET
from datetime import UTC, datetime
from typing import BinaryIO, cast
from urllib.parse import unquote

from fastapi import Request
from fastapi.responses import Response

from openvod.api.compat.s3.buckets import bucket_exists, object_row, phys, require_bucket
from openvod.api.compat.s3.common import HIDDEN_ROLES, XMLNS, S3Error, el, xml_response
from openvod.api.compat.s3.multipart import mp_keys, upload_row
from openvod.api.serving import object_response
from openvod.domain.times import http_date, iso_s_zero_ms
from openvod.domain.views.objects import ObjectView
from openvod.errors import NotFound
from openvod.runtime import Context
from openvod.services.objects import register_object, unregister_object
from openvod.storage.base import ObjectStat

__all__ = ["copy_object", "copy_part", "delete_object", "get_object"]


def get_object(ctx: Context, request: Request, app_id: str, bucket: str, key: str) -> Response:
    """GetObject and HeadObject (ranges and conditionals as ``api.serving`` answers them)."""
    pb, pk = phys(app_id, bucket, key)
    row = object_row(ctx, app_id, pb, pk)
    try:
        stat = ctx.storage.stat(pb, pk)
    except NotFound:
        stat = None
    if stat is None or (row is not None and row.role in HIDDEN_ROLES):
        if not bucket_exists(ctx, app_id, bucket):
            raise S3Error(404, "NoSuchBucket", "The specified bucket does not exist")
        raise S3Error(404, "NoSuchKey", "The specified key does not exist.")
    if row is not None and row.size == stat.size:
        stat = dataclasses.replace(stat, etag=row.etag or stat.etag, content_type=row.content_type)
    resp = object_response(request, ctx.storage, stat)
    if row is not None:
        resp.headers["Last-Modified"] = http_date(row.created_at)
    return resp


def _copy_source(header: str) -> tuple[str, str]:
    """``x-amz-copy-source``: ``[/]bucket/key[?versionId=...]``, URL-encoded."""
    path, _, query = header.partition("?")
    version = dict(p.partition("=")[::2] for p in query.split("&") if p).get("versionId")
    if version not in (None, "", "null"):
        raise S3Error(501, "NotImplemented", "Object versions are not kept: copy without a versionId.")
    bucket, _, key = unquote(path).lstrip("/").partition("/")
    if not bucket or not key:
        raise S3Error(400, "InvalidArgument", "x-amz-copy-source must be /bucket/key.")
    return bucket, key


class _HashingSlice(io.RawIOBase):
    """Reads at most ``length`` bytes of ``f`` (all with None), hashing them with MD5."""

    def __init__(self, f: BinaryIO, length: int | None) -> None:
        self.f, self.left, self.md5 = f, length, hashlib.md5(usedforsecurity=False)

    def readable(self) -> bool:
        return True

    def read(self, n: int | None = -1) -> bytes:
        n = -1 if n is None else n
        if self.left is not None:
            n = self.left if n < 0 else min(n, self.left)
        data = self.f.read(n)
        if self.left is not None:
            self.left -= len(data)
        self.md5.update(data)
        return data


def _source(ctx: Context, app_id: str, request: Request) -> tuple[str, str, ObjectView]:
    """The physical source of a copy and its row, in the caller's own namespace."""
    sb, sk = _copy_source(request.headers["x-amz-copy-source"])
    spb, spk = phys(app_id, sb, sk)
    row = object_row(ctx, app_id, spb, spk)
    if row is None or row.role in HIDDEN_ROLES or not ctx.storage.exists(spb, spk):
        if not bucket_exists(ctx, app_id, sb):
            raise S3Error(404, "NoSuchBucket", "The specified bucket does not exist")
        raise S3Error(404, "NoSuchKey", "The specified key does not exist.")
    return spb, spk, row


def _copy(ctx: Context, src: tuple[str, str], dst: tuple[str, str], content_type: str,
          start: int = 0, length: int | None = None) -> ObjectStat:
    with ctx.storage.local_path(*src) as path, open(path, "rb") as f:
        f.seek(start)
        body = _HashingSlice(f, length)
        stat = ctx.storage.put(*dst, cast(BinaryIO, body), content_type=content_type)
    return dataclasses.replace(stat, etag=body.md5.hexdigest(), content_type=content_type)


def _copy_result(tag: str, etag: str) -> Response:
    root = ET.Element(tag, xmlns=XMLNS)
    el(root, "LastModified", iso_s_zero_ms(datetime.now(UTC)))
    el(root, "ETag", f'"{etag}"')
    return xml_response(root)


def copy_object(ctx: Context, request: Request, app_id: str, bucket: str, key: str) -> Response:
    """CopyObject within the app (any of its buckets). ``x-amz-metadata-directive: REPLACE`` takes
    the request's Content-Type; ``COPY`` (the default) keeps the source's."""
    pb, pk = phys(app_id, bucket, key)
    require_bucket(ctx, app_id, bucket)
    directive = request.headers.get("x-amz-metadata-directive", "COPY").upper()
    if directive not in ("COPY", "REPLACE"):
        raise S3Error(400, "InvalidArgument", "x-amz-metadata-directive must be COPY or REPLACE.")
    spb, spk, row = _source(ctx, app_id, request)
    if (spb, spk) == (pb, pk) and directive == "COPY":
        raise S3Error(400, "InvalidRequest", "This copy request is illegal because it is trying to copy an object "
                                             "to itself without changing the object's metadata.")
    content_type = (request.headers.get("content-type") or "application/octet-stream") if directive == "REPLACE" \
        else row.content_type
    stat = _copy(ctx, (spb, spk), (pb, pk), content_type)
    register_object(ctx, app_id, stat, role="upload")
    return _copy_result("CopyObjectResult", stat.etag)


_COPY_RANGE = re.compile(r"bytes=([0-9]{1,19})-([0-9]{1,19})", re.ASCII)


def copy_part(ctx: Context, request: Request, app_id: str, bucket: str, key: str, upload_id: str,
              n: int) -> Response:
    """UploadPartCopy: part ``n`` of a multipart upload from (a range of) another object."""
    pb, _pk = phys(app_id, bucket, key)
    upload_row(ctx, app_id, bucket, key, upload_id)
    spb, spk, row = _source(ctx, app_id, request)
    size = ctx.storage.stat(spb, spk).size
    start, length = 0, size
    if raw := request.headers.get("x-amz-copy-source-range"):
        m = _COPY_RANGE.fullmatch(raw.strip())
        if m is None or not int(m[1]) <= int(m[2]) < size:
            raise S3Error(400, "InvalidArgument", f"x-amz-copy-source-range must be bytes=first-last within the "
                                                  f"source's {size} bytes, got {raw[:80]!r}.")
        start, length = int(m[1]), int(m[2]) - int(m[1]) + 1
    _, part_prefix = mp_keys(app_id, upload_id)
    stat = _copy(ctx, (spb, spk), (pb, f"{part_prefix}{n:05d}"), "application/octet-stream", start, length)
    register_object(ctx, app_id, stat, role="s3-part", info={"upload_id": upload_id, "part": n})
    return _copy_result("CopyPartResult", stat.etag)


def delete_object(ctx: Context, app_id: str, bucket: str, key: str) -> Response:
    pb, pk = phys(app_id, bucket, key)
    require_bucket(ctx, app_id, bucket)
    ctx.storage.delete(pb, pk)
    unregister_object(ctx, app_id, pb, pk)
    return Response(status_code=204)
