"""Multipart uploads: an upload is a marker row, each part a temporary object beside it.

The marker is ``{app_id}/.s3mp/{id}`` (role ``s3-multipart``, the target key and content type in
``info``); part ``n`` is ``{app_id}/.s3mp/{id}/{n:05d}`` (role ``s3-part``). Complete concatenates
the listed parts into the target with an append write, then drops the upload.
"""

from __future__ import annotations

import dataclasses
import hashlib
import secrets
import xml.etree.ElementTree as ET

from fastapi.responses import Response

from openvod.api.compat.s3.buckets import object_row, phys, require_bucket
from openvod.api.compat.s3.common import MP_DIR, XMLNS, S3Error, el, part_number, xml_response
from openvod.domain.times import iso_s_zero_ms
from openvod.domain.views.objects import ObjectView
from openvod.runtime import Context
from openvod.services.objects import delete_object_rows, list_under, register_object
from openvod.storage.base import ObjectStat

__all__ = ["complete_multipart", "create_multipart", "drop_upload", "list_parts", "mp_keys", "upload_row"]


def mp_keys(app_id: str, upload_id: str) -> tuple[str, str]:
    """The upload's marker key and the prefix of its part keys; S3Error NoSuchUpload for a bad id."""
    if not upload_id or not upload_id.isalnum() or len(upload_id) > 64:
        raise S3Error(404, "NoSuchUpload", "The specified upload does not exist.")
    return f"{app_id}/{MP_DIR}/{upload_id}", f"{app_id}/{MP_DIR}/{upload_id}/"


def upload_row(ctx: Context, app_id: str, bucket: str, key: str, upload_id: str) -> ObjectView:
    """The upload's marker row; S3Error NoSuchUpload unless it exists for ``key``."""
    marker, _ = mp_keys(app_id, upload_id)
    row = object_row(ctx, app_id, bucket, marker)
    if row is None or row.role != "s3-multipart" or row.info.get("key") != key:
        raise S3Error(404, "NoSuchUpload", "The specified upload does not exist.")
    return row


def create_multipart(ctx: Context, app_id: str, bucket: str, key: str, content_type: str) -> Response:
    pb, _pk = phys(app_id, bucket, key)
    require_bucket(ctx, app_id, bucket)
    upload_id = secrets.token_hex(16)
    marker, _ = mp_keys(app_id, upload_id)
    register_object(ctx, app_id, ObjectStat(pb, marker, 0, "", content_type), role="s3-multipart",
                    info={"key": key, "content_type": content_type})
    root = ET.Element("InitiateMultipartUploadResult", xmlns=XMLNS)
    el(root, "Bucket", bucket)
    el(root, "Key", key)
    el(root, "UploadId", upload_id)
    return xml_response(root)


def _parts(ctx: Context, app_id: str, bucket: str, upload_id: str) -> list[ObjectView]:
    _, part_prefix = mp_keys(app_id, upload_id)
    return list_under(ctx, app_id, bucket, part_prefix, role="s3-part")


def drop_upload(ctx: Context, app_id: str, bucket: str, upload_id: str) -> None:
    """Delete the upload's parts (stored bytes and rows) and its marker."""
    marker, part_prefix = mp_keys(app_id, upload_id)
    for row in _parts(ctx, app_id, bucket, upload_id):
        ctx.storage.delete(bucket, row.key)
    delete_object_rows(ctx, app_id, bucket, keys=[marker], key_prefix=part_prefix)


def list_parts(ctx: Context, app_id: str, bucket: str, key: str, upload_id: str) -> Response:
    phys(app_id, bucket, key)
    upload_row(ctx, app_id, bucket, key, upload_id)
    root = ET.Element("ListPartsResult", xmlns=XMLNS)
    el(root, "Bucket", bucket)
    el(root, "Key", key)
    el(root, "UploadId", upload_id)
    el(root, "IsTruncated", "false")
    for row in _parts(ctx, app_id, bucket, upload_id):
        p = el(root, "Part")
        el(p, "PartNumber", int(row.key.rsplit("/", 1)[1]))
        el(p, "LastModified", iso_s_zero_ms(row.created_at))
        el(p, "ETag", f'"{row.etag}"')
        el(p, "Size", row.size)
    return xml_response(root)


def complete_multipart(ctx: Context, app_id: str, bucket: str, key: str, upload_id: str, body: bytes) -> Response:
    pb, pk = phys(app_id, bucket, key)
    up = upload_row(ctx, app_id, bucket, key, upload_id)
    try:
        # Bounded body (1 MiB); expat >= 2.4.1 limits entity amplification, no external entities.
        doc = ET.fromstring(body)  # noqa: S314
    except ET.ParseError as exc:
        raise S3Error(400, "MalformedXML", "The XML you provided was not well-formed.") from exc
    wanted: list[tuple[int, str]] = []
    for part in doc.iter():
        if part.tag.rsplit("}", 1)[-1] != "Part":
            continue
        fields = {c.tag.rsplit("}", 1)[-1]: (c.text or "") for c in part}
        try:
            number = part_number(fields.get("PartNumber", ""))
        except S3Error as exc:
            raise S3Error(400, "MalformedXML", "A PartNumber is not a number 1-10000.") from exc
        wanted.append((number, fields.get("ETag", "").strip().strip('"')))
    if not wanted:
        raise S3Error(400, "MalformedXML", "The request lists no parts.")
    if [n for n, _ in wanted] != sorted({n for n, _ in wanted}):
        raise S3Error(400, "InvalidPartOrder", "The list of parts was not in ascending order.")
    have = {int(r.key.rsplit("/", 1)[1]): r for r in _parts(ctx, app_id, bucket, upload_id)}
    chosen = []
    for n, etag in wanted:
        row = have.get(n)
        if row is None or (etag and etag != row.etag):
            raise S3Error(400, "InvalidPart", f"Part {n} was not uploaded or its ETag does not match.")
        chosen.append(row)
    storage = ctx.storage
    content_type = up.info.get("content_type") or "application/octet-stream"
    handle = storage.begin_append(pb, pk)
    try:
        writer = storage.open_append(handle)
        try:
            for row in chosen:
                for chunk in storage.open(pb, row.key):
                    writer.write(chunk)
            writer.commit()
        finally:
            writer.close()
        stat = storage.finish_append(handle, content_type=content_type)
    except BaseException:
        storage.abort_append(handle)
        raise
    digest = hashlib.md5(b"".join(bytes.fromhex(r.etag) for r in chosen), usedforsecurity=False).hexdigest()
    etag = f"{digest}-{len(chosen)}"
    register_object(ctx, app_id, dataclasses.replace(stat, etag=etag, content_type=content_type), role="upload")
    drop_upload(ctx, app_id, bucket, upload_id)
    root = ET.Element("CompleteMultipartUploadResult", xmlns=XMLNS)
    el(root, "Location", f"/{bucket}/{key}")
    el(root, "Bucket", bucket)
    el(root, "Key", key)
    el(root, "ETag", f'"{etag}"')
    return xml_response(root)
