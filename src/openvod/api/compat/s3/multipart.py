"""Multipart uploads: an upload is a marker row, each part a temporary object beside it.

The marker is ``{app_id}/.s3mp/{id}`` (role ``s3-multipart``; ``info``: the target key, its
Content-Type and the metadata CreateMultipartUpload was given); part ``n`` is
``{app_id}/.s3mp/{id}/{n:05d}`` (role ``s3-part``). Complete checks the list (ascending, every part
uploaded with that ETag, every part but the last at least the minimum part size: 400
EntityTooSmall), concatenates the parts into the target with an append write, records the part
sizes and the upload id in the object's ``info["s3"]`` (for ``partNumber`` reads, and to answer a
repeated Complete with the same result while the object it made is still there, as S3 does;
afterwards NoSuchUpload), then drops the upload.
"""

from __future__ import annotations

import dataclasses
import hashlib
import secrets
import xml.etree.ElementTree as ET
from collections.abc import Mapping

from fastapi.responses import Response

from openvod.api.compat.s3 import conditions
from openvod.api.compat.s3.buckets import object_row, phys, require_bucket
from openvod.api.compat.s3.common import (
    HIDDEN_ROLES,
    MP_DIR,
    XMLNS,
    S3Error,
    el,
    owner,
    parse_xml,
    part_number,
    xml_response,
)
from openvod.api.compat.s3.listing import encoder, max_items
from openvod.api.compat.s3.metadata import DEFAULT_TYPE, Metadata, s3_info
from openvod.domain.numbers import parse_uint
from openvod.domain.times import iso_s_zero_ms
from openvod.domain.views.objects import ObjectView
from openvod.errors import InvalidParameter
from openvod.runtime import Context
from openvod.services.objects import delete_object_rows, list_under, register_object
from openvod.storage.base import ObjectStat

__all__ = ["abort_multipart", "complete_multipart", "create_multipart", "drop_upload", "list_parts", "list_uploads",
           "mp_keys", "upload_row"]

_NO_UPLOAD = ("The specified upload does not exist. The upload ID may be invalid, or the upload may have been "
              "aborted or completed.")


def mp_keys(app_id: str, upload_id: str) -> tuple[str, str]:
    """The upload's marker key and the prefix of its part keys; S3Error NoSuchUpload for a bad id."""
    if not upload_id or not upload_id.isalnum() or not upload_id.isascii() or len(upload_id) > 64:
        raise S3Error(404, "NoSuchUpload", _NO_UPLOAD)
    return f"{app_id}/{MP_DIR}/{upload_id}", f"{app_id}/{MP_DIR}/{upload_id}/"


def upload_row(ctx: Context, app_id: str, bucket: str, key: str, upload_id: str) -> ObjectView:
    """The upload's marker row; S3Error NoSuchUpload unless it exists for ``key``."""
    marker, _ = mp_keys(app_id, upload_id)
    row = object_row(ctx, app_id, bucket, marker)
    if row is None or row.role != "s3-multipart" or row.info.get("key") != key:
        raise S3Error(404, "NoSuchUpload", _NO_UPLOAD)
    return row


def create_multipart(ctx: Context, app_id: str, bucket: str, key: str, meta: Metadata) -> Response:
    pb, _pk = phys(app_id, bucket, key)
    require_bucket(ctx, app_id, bucket)
    upload_id = secrets.token_hex(16)
    marker, _ = mp_keys(app_id, upload_id)
    register_object(ctx, app_id, ObjectStat(pb, marker, 0, "", meta.row_type), role="s3-multipart",
                    info={"key": key, "content_type": meta.content_type, **meta.to_info()})
    root = ET.Element("InitiateMultipartUploadResult", xmlns=XMLNS)
    el(root, "Bucket", bucket)
    el(root, "Key", key)
    el(root, "UploadId", upload_id)
    return xml_response(root)


def _parts(ctx: Context, app_id: str, bucket: str, upload_id: str) -> list[ObjectView]:
    _, part_prefix = mp_keys(app_id, upload_id)
    return list_under(ctx, app_id, bucket, part_prefix, role="s3-part")


def _number(row: ObjectView) -> int:
    return int(row.key.rsplit("/", 1)[1])


def drop_upload(ctx: Context, app_id: str, bucket: str, upload_id: str) -> None:
    """Delete the upload's parts (stored bytes and rows) and its marker."""
    marker, part_prefix = mp_keys(app_id, upload_id)
    for row in _parts(ctx, app_id, bucket, upload_id):
        ctx.storage.delete(bucket, row.key)
    delete_object_rows(ctx, app_id, bucket, keys=[marker], key_prefix=part_prefix)


def abort_multipart(ctx: Context, app_id: str, bucket: str, key: str, upload_id: str) -> Response:
    phys(app_id, bucket, key)
    upload_row(ctx, app_id, bucket, key, upload_id)
    drop_upload(ctx, app_id, bucket, upload_id)
    return Response(status_code=204)


def list_parts(ctx: Context, app_id: str, bucket: str, key: str, upload_id: str,
               params: Mapping[str, str]) -> Response:
    """ListParts: parts after ``part-number-marker``, at most ``max-parts`` (1000)."""
    phys(app_id, bucket, key)
    upload_row(ctx, app_id, bucket, key, upload_id)
    try:
        marker = parse_uint(params.get("part-number-marker", "0"), "part-number-marker", maximum=10000)
    except InvalidParameter as exc:
        raise S3Error(400, "InvalidArgument", "part-number-marker must be an integer 0-10000") from exc
    limit = max_items(params, "max-parts")
    _, part_prefix = mp_keys(app_id, upload_id)
    # Part keys are zero-padded numbers, so the parts after the marker are a key range: read the
    # page and one more (is it truncated?), not every part of the upload.
    after = list_under(ctx, app_id, bucket, part_prefix, role="s3-part", after=f"{part_prefix}{marker:05d}",
                       limit=limit + 1)
    page, truncated = after[:limit], len(after) > limit
    root = ET.Element("ListPartsResult", xmlns=XMLNS)
    el(root, "Bucket", bucket)
    el(root, "Key", key)
    el(root, "UploadId", upload_id)
    owner(root, app_id, "Initiator")
    owner(root, app_id)
    el(root, "StorageClass", "STANDARD")
    el(root, "PartNumberMarker", marker)
    if page:
        el(root, "NextPartNumberMarker", _number(page[-1]))
    el(root, "MaxParts", limit)
    el(root, "IsTruncated", "true" if truncated else "false")
    for row in page:
        p = el(root, "Part")
        el(p, "PartNumber", _number(row))
        el(p, "LastModified", iso_s_zero_ms(row.created_at))
        el(p, "ETag", f'"{row.etag}"')
        el(p, "Size", row.size)
    return xml_response(root)


def list_uploads(ctx: Context, app_id: str, bucket: str, params: Mapping[str, str]) -> Response:
    """ListMultipartUploads: uploads in progress by key, then by start, after ``key-marker`` (and
    ``upload-id-marker`` within that key); ``prefix``, ``delimiter``, ``max-uploads`` (1000)."""
    require_bucket(ctx, app_id, bucket)
    prefix, delimiter = params.get("prefix", ""), params.get("delimiter", "")
    key_marker, id_marker = params.get("key-marker", ""), params.get("upload-id-marker", "")
    limit = max_items(params, "max-uploads")
    enc = encoder(params)
    uploads = sorted(((str(r.info.get("key", "")), r.created_at, r.key.rsplit("/", 1)[1], r)
                      for r in list_under(ctx, app_id, bucket, f"{app_id}/{MP_DIR}/", role="s3-multipart")
                      if str(r.info.get("key", "")).startswith(prefix)), key=lambda u: u[:3])
    if key_marker:
        ids = [u[2] for u in uploads if u[0] == key_marker]
        skip_to = ids.index(id_marker) + 1 if id_marker in ids else len(ids)
        same = [u for u in uploads if u[0] == key_marker][skip_to:]
        uploads = same + [u for u in uploads if u[0] > key_marker]
    listed: list[tuple[str, str, ObjectView]] = []
    prefixes: list[str] = []
    truncated = False
    for key, _started, upload_id, row in uploads:
        i = key.find(delimiter, len(prefix)) if delimiter else -1
        common = key[: i + len(delimiter)] if i >= 0 else None
        if common is not None and ((prefixes and prefixes[-1] == common) or (key_marker and common <= key_marker)):
            continue
        if len(listed) + len(prefixes) >= limit:
            truncated = limit > 0
            break
        if common is not None:
            prefixes.append(common)
        else:
            listed.append((key, upload_id, row))
    root = ET.Element("ListMultipartUploadsResult", xmlns=XMLNS)
    el(root, "Bucket", bucket)
    el(root, "KeyMarker", enc(key_marker))
    el(root, "UploadIdMarker", id_marker)
    if truncated:
        last_key = max([*(k for k, _, _ in listed[-1:]), *prefixes[-1:]])
        el(root, "NextKeyMarker", enc(last_key))
        el(root, "NextUploadIdMarker", listed[-1][1] if listed and listed[-1][0] == last_key else "")
    el(root, "Prefix", enc(prefix))
    if delimiter:
        el(root, "Delimiter", enc(delimiter))
    el(root, "MaxUploads", limit)
    el(root, "IsTruncated", "true" if truncated else "false")
    if "encoding-type" in params:
        el(root, "EncodingType", "url")
    for key, upload_id, row in listed:
        u = el(root, "Upload")
        el(u, "Key", enc(key))
        el(u, "UploadId", upload_id)
        owner(u, app_id, "Initiator")
        owner(u, app_id)
        el(u, "StorageClass", "STANDARD")
        el(u, "Initiated", iso_s_zero_ms(row.created_at))
    for p in prefixes:
        el(el(root, "CommonPrefixes"), "Prefix", enc(p))
    return xml_response(root)


def _result(bucket: str, key: str, etag: str) -> Response:
    root = ET.Element("CompleteMultipartUploadResult", xmlns=XMLNS)
    el(root, "Location", f"/{bucket}/{key}")
    el(root, "Bucket", bucket)
    el(root, "Key", key)
    el(root, "ETag", f'"{etag}"')
    return xml_response(root)


def _wanted(body: bytes) -> list[tuple[int, str]]:
    wanted: list[tuple[int, str]] = []
    for part in parse_xml(body).iter():
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
        raise S3Error(400, "InvalidPartOrder", "The list of parts was not in ascending order. The parts list must "
                      "be specified in order by part number.")
    return wanted


def complete_multipart(ctx: Context, headers: Mapping[str, str], app_id: str, bucket: str, key: str,
                       upload_id: str, body: bytes, *, min_part_size: int) -> Response:
    """CompleteMultipartUpload (see the module docstring); ``If-None-Match``/``If-Match`` as PutObject."""
    pb, pk = phys(app_id, bucket, key)
    mp_keys(app_id, upload_id)
    target = object_row(ctx, app_id, pb, pk)
    visible = target if target is not None and target.role not in HIDDEN_ROLES else None
    try:
        up = upload_row(ctx, app_id, bucket, key, upload_id)
    except S3Error:
        if visible is not None and s3_info(visible).get("upload_id") == upload_id:
            return _result(bucket, key, visible.etag)  # completed before: the same answer
        raise
    conditions.check_write(headers, visible.etag if visible is not None else None)
    wanted = _wanted(body)
    have = {_number(r): r for r in _parts(ctx, app_id, bucket, upload_id)}
    chosen = []
    for n, etag in wanted:
        row = have.get(n)
        if row is None or (etag and etag != row.etag):
            raise S3Error(400, "InvalidPart", f"One or more of the specified parts could not be found: part {n} was "
                          "not uploaded or its ETag does not match.")
        chosen.append(row)
    for row in chosen[:-1]:
        if row.size < min_part_size:
            raise S3Error(400, "EntityTooSmall", f"Your proposed upload is smaller than the minimum allowed object "
                          f"size: part {_number(row)} has {row.size} bytes, every part but the last needs "
                          f"{min_part_size}.")
    meta = Metadata.of_row(up) if "s3" in up.info else Metadata(str(up.info.get("content_type") or DEFAULT_TYPE))
    stat = _concatenate(ctx, pb, pk, chosen, meta.row_type)
    digest = hashlib.md5(b"".join(bytes.fromhex(r.etag) for r in chosen), usedforsecurity=False).hexdigest()
    etag = f"{digest}-{len(chosen)}"
    register_object(ctx, app_id, dataclasses.replace(stat, etag=etag, content_type=meta.row_type), role="upload",
                    info=meta.to_info(parts=[r.size for r in chosen], upload_id=upload_id), replaced=True)
    drop_upload(ctx, app_id, bucket, upload_id)
    return _result(bucket, key, etag)


def _concatenate(ctx: Context, pb: str, pk: str, parts: list[ObjectView], content_type: str) -> ObjectStat:
    storage = ctx.storage
    handle = storage.begin_append(pb, pk)
    try:
        writer = storage.open_append(handle)
        try:
            for row in parts:
                for chunk in storage.open(pb, row.key):
                    writer.write(chunk)
            writer.commit()
        finally:
            writer.close()
        return storage.finish_append(handle, content_type=content_type)
    except BaseException:
        storage.abort_append(handle)
        raise
