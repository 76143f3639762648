"""Object writes other than multipart: PutObject's checks and bookkeeping, CopyObject,
UploadPartCopy, DeleteObject and DeleteObjects (GetObject/HeadObject: ``reading``)."""

from __future__ import annotations

import dataclasses
import hashlib
import io
import re
import xml.etree.ElementTree as ET
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import BinaryIO, cast
from urllib.parse import unquote

from fastapi import Request
from fastapi.responses import Response

from openvod.api.compat.s3 import conditions
from openvod.api.compat.s3.buckets import missing, object_row, phys, require_bucket
from openvod.api.compat.s3.common import HIDDEN_ROLES, XMLNS, S3Error, el, not_implemented, parse_xml, xml_response
from openvod.api.compat.s3.metadata import Metadata
from openvod.api.compat.s3.multipart import mp_keys, upload_row
from openvod.domain.times import iso_s_zero_ms
from openvod.domain.views.objects import ObjectView
from openvod.runtime import Context
from openvod.services.objects import delete_object_rows, register_object, unregister_object
from openvod.storage.base import ObjectStat

__all__ = ["MAX_DELETE", "check_put", "copy_object", "copy_part", "delete_object", "delete_objects",
           "register_put", "visible_etag"]

MAX_DELETE = 1000  # keys in one DeleteObjects


def visible_etag(ctx: Context, app_id: str, pb: str, pk: str) -> str | None:
    """The ETag of the object at (pb, pk) as the gateway shows it, None when there is none."""
    row = object_row(ctx, app_id, pb, pk)
    return row.etag if row is not None and row.role not in HIDDEN_ROLES else None


def check_put(ctx: Context, headers: Mapping[str, str], app_id: str, bucket: str, key: str) -> tuple[str, str]:
    """What PutObject checks before it reads the body: the bucket, and its conditional headers.
    Returns the physical (bucket, key)."""
    pb, pk = phys(app_id, bucket, key)
    require_bucket(ctx, app_id, bucket)
    if "if-none-match" in headers or "if-match" in headers:
        conditions.check_write(headers, visible_etag(ctx, app_id, pb, pk))
    return pb, pk


def register_put(ctx: Context, app_id: str, stat: ObjectStat, meta: Metadata, **more: object) -> None:
    """Record an object the gateway wrote, with its metadata (``more``: multipart's ``parts``...)."""
    register_object(ctx, app_id, dataclasses.replace(stat, content_type=meta.row_type), role="upload",
                    info=meta.to_info(**more), replaced=True)


def _copy_source(header: str) -> tuple[str, str]:
    """``x-amz-copy-source``: ``[/]bucket/key[?versionId=...]``, URL-encoded."""
    path, _, query = header.partition("?")
    version = dict(p.partition("=")[::2] for p in query.split("&") if p).get("versionId")
    if version not in (None, "", "null"):
        raise not_implemented("a copy source versionId (object versions are not kept)")
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
    """The physical source of a copy and its row, in the caller's own namespace, once its
    ``x-amz-copy-source-if-*`` conditions hold."""
    sb, sk = _copy_source(request.headers["x-amz-copy-source"])
    spb, spk = phys(app_id, sb, sk)
    row = object_row(ctx, app_id, spb, spk)
    if row is None or row.role in HIDDEN_ROLES or not ctx.storage.exists(spb, spk):
        raise missing(ctx, app_id, sb)
    conditions.check_copy_source(request.headers, row.etag, row.created_at)
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
    """CopyObject within the app (any of its buckets). ``x-amz-metadata-directive: COPY`` (the
    default) keeps the source's Content-Type, standard headers and user metadata; ``REPLACE``
    takes the request's."""
    pb, pk = phys(app_id, bucket, key)
    require_bucket(ctx, app_id, bucket)
    directive = request.headers.get("x-amz-metadata-directive", "COPY").upper()
    if directive not in ("COPY", "REPLACE"):
        raise S3Error(400, "InvalidArgument", "x-amz-metadata-directive must be COPY or REPLACE.")
    spb, spk, row = _source(ctx, app_id, request)
    if (spb, spk) == (pb, pk) and directive == "COPY":
        raise S3Error(400, "InvalidRequest", "This copy request is illegal because it is trying to copy an object "
                                             "to itself without changing the object's metadata.")
    meta = Metadata.of_request(request.headers) if directive == "REPLACE" else Metadata.of_row(row)
    stat = _copy(ctx, (spb, spk), (pb, pk), meta.row_type)
    register_put(ctx, app_id, stat, meta)
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


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _delete_request(body: bytes) -> tuple[bool, list[tuple[str, str | None]]]:
    doc = parse_xml(body)
    malformed = S3Error(400, "MalformedXML", f"The XML you provided was not well-formed or did not validate "
                        f"against our published schema: a <Delete> of 1 to {MAX_DELETE} <Object> with a <Key>.")
    if _local(doc.tag) != "Delete":
        raise malformed
    quiet, entries = False, []
    for child in doc:
        if _local(child.tag) == "Quiet":
            quiet = (child.text or "").strip().lower() == "true"
        elif _local(child.tag) == "Object":
            fields = {_local(c.tag): c.text or "" for c in child}
            if "Key" not in fields:
                raise malformed
            entries.append((fields["Key"], fields.get("VersionId")))
    if not 1 <= len(entries) <= MAX_DELETE:
        raise malformed
    return quiet, entries


def delete_objects(ctx: Context, app_id: str, bucket: str, body: bytes) -> Response:
    """DeleteObjects: each key deleted (a missing one too, as S3) or reported in an ``<Error>`` of
    its own; ``<Quiet>`` leaves out the deleted ones. The body's integrity header is the caller's
    to check (``bodies.check_integrity``)."""
    require_bucket(ctx, app_id, bucket)
    quiet, entries = _delete_request(body)
    root = ET.Element("DeleteResult", xmlns=XMLNS)
    doomed: list[tuple[str, str, str | None]] = []
    pb = ""
    for key, version in entries:
        try:
            if version not in (None, "", "null"):
                raise not_implemented("a versionId (object versions are not kept)")
            pb, pk = phys(app_id, bucket, key)
        except S3Error as exc:
            e = el(root, "Error")
            el(e, "Key", key)
            if version is not None:
                el(e, "VersionId", version)
            el(e, "Code", exc.code)
            el(e, "Message", exc.message)
            continue
        doomed.append((key, pk, version))
    for _key, pk, _version in doomed:
        ctx.storage.delete(pb, pk)
    if doomed:
        delete_object_rows(ctx, app_id, pb, keys=[pk for _, pk, _ in doomed])
    if not quiet:
        for key, _pk, version in doomed:
            d = el(root, "Deleted")
            el(d, "Key", key)
            if version is not None:
                el(d, "VersionId", version)
    return xml_response(root)
