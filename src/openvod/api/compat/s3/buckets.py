"""Buckets and their listing, read from the ``object`` table; the app-namespace helpers on that table."""

from __future__ import annotations

import base64
import binascii
import xml.etree.ElementTree as ET
from urllib.parse import quote

from fastapi.responses import Response
from sqlalchemy import delete, distinct, select

from openvod.api.compat.s3.common import HIDDEN_ROLES, MP_DIR, XMLNS, S3Error, el, iso, xml_response
from openvod.db.models import Object
from openvod.domain.numbers import parse_uint
from openvod.errors import InvalidParameter
from openvod.services.context import Context
from openvod.services.media import physical
from openvod.services.objects import register_object
from openvod.storage.base import ObjectStat

__all__ = ["bucket_exists", "create_bucket", "delete_bucket", "list_buckets", "list_objects", "object_row", "phys",
           "require_bucket"]


# -- helpers on the object table -------------------------------------------------------------------

def phys(app_id: str, bucket: str, key: str | None = None) -> tuple[str, str]:
    """The physical (bucket, key) of the app's ``key`` in ``bucket``; without ``key``, the bucket's
    marker key. Raises S3Error for bad names and for keys under the reserved ``.s3mp/``."""
    try:
        if key is None:
            return physical(app_id, bucket, "x")[0], f"{app_id}/"
        if key == MP_DIR or key.startswith(MP_DIR + "/"):
            raise S3Error(400, "InvalidArgument", f"Keys under {MP_DIR}/ are reserved.")
        return physical(app_id, bucket, key)
    except InvalidParameter as exc:
        if "Bucket" in exc.code:
            raise S3Error(400, "InvalidBucketName", str(exc)) from exc
        raise S3Error(400, "InvalidArgument", str(exc)) from exc


def bucket_exists(ctx: Context, app_id: str, bucket: str) -> bool:
    """Whether the app holds any row (the marker or an object) in ``bucket``."""
    with ctx.db.session() as s:
        return s.scalar(select(Object.id).where(Object.app_id == app_id, Object.bucket == bucket).limit(1)) is not None


def require_bucket(ctx: Context, app_id: str, bucket: str) -> None:
    """Raise S3Error NoSuchBucket unless the app has ``bucket``."""
    phys(app_id, bucket)
    if not bucket_exists(ctx, app_id, bucket):
        raise S3Error(404, "NoSuchBucket", "The specified bucket does not exist")


def object_row(ctx: Context, app_id: str, pb: str, pk: str) -> Object | None:
    """The app's (detached) row of the physical (pb, pk), if any."""
    with ctx.db.session() as s:
        row = s.scalar(select(Object).where(Object.app_id == app_id, Object.bucket == pb, Object.key == pk))
        if row is not None:
            s.expunge(row)
        return row


# -- operations ------------------------------------------------------------------------------------

def list_buckets(ctx: Context, app_id: str) -> Response:
    with ctx.db.session() as s:
        names = sorted(s.scalars(select(distinct(Object.bucket)).where(Object.app_id == app_id)))
    root = ET.Element("ListAllMyBucketsResult", xmlns=XMLNS)
    owner = el(root, "Owner")
    el(owner, "ID", app_id)
    el(owner, "DisplayName", app_id)
    buckets = el(root, "Buckets")
    for name in names:
        b = el(buckets, "Bucket")
        el(b, "Name", name)
        el(b, "CreationDate", iso(None))
    return xml_response(root)


def create_bucket(ctx: Context, app_id: str, bucket: str) -> Response:
    pb, marker = phys(app_id, bucket)
    if bucket_exists(ctx, app_id, bucket):
        raise S3Error(409, "BucketAlreadyOwnedByYou", "Your previous request to create the named bucket succeeded "
                      "and you already own it.")
    ctx.storage.ensure_bucket(pb)
    register_object(ctx, app_id, ObjectStat(pb, marker, 0, "", "application/x-directory"), role="bucket")
    return Response(status_code=200, headers={"Location": f"/{bucket}"})


def delete_bucket(ctx: Context, app_id: str, bucket: str) -> Response:
    require_bucket(ctx, app_id, bucket)
    with ctx.db.session() as s:
        other = s.scalar(select(Object.id).where(Object.app_id == app_id, Object.bucket == bucket,
                                                 Object.role != "bucket").limit(1))
        if other is not None:
            raise S3Error(409, "BucketNotEmpty", "The bucket you tried to delete is not empty")
        s.execute(delete(Object).where(Object.app_id == app_id, Object.bucket == bucket, Object.role == "bucket"))
    return Response(status_code=204)


def list_objects(ctx: Context, app_id: str, bucket: str, params: dict[str, str]) -> Response:
    """ListObjectsV2 (and V1's ``start-after``-style paging): prefix, delimiter, max-keys, url encoding."""
    require_bucket(ctx, app_id, bucket)
    prefix = params.get("prefix", "")
    delimiter = params.get("delimiter", "")
    try:
        max_keys = min(1000, parse_uint(params.get("max-keys", "1000"), "max-keys"))
    except InvalidParameter as exc:
        raise S3Error(400, "InvalidArgument", "max-keys must be a non-negative integer") from exc
    token = params.get("continuation-token")
    after = params.get("start-after", "")
    if token:
        try:
            after = base64.urlsafe_b64decode(token.encode()).decode()
        except (binascii.Error, UnicodeDecodeError) as exc:
            raise S3Error(400, "InvalidArgument", "The continuation token is invalid") from exc
    url_encode = params.get("encoding-type") == "url"
    base = f"{app_id}/"
    contents: list[Object] = []
    prefixes: list[str] = []
    truncated, last = False, ""
    with ctx.db.session() as s:
        q = (select(Object).where(Object.app_id == app_id, Object.bucket == bucket,
                                  Object.key.startswith(base + prefix, autoescape=True),
                                  Object.role.not_in(HIDDEN_ROLES))
             .order_by(Object.key))
        if after:
            q = q.where(Object.key > base + after)
        for row in s.scalars(q.execution_options(yield_per=500)):
            key = row.key[len(base):]
            if after and (key <= after or (after.endswith(delimiter or "\0") and key.startswith(after))):
                continue
            entry: str | None = None
            if delimiter:
                i = key.find(delimiter, len(prefix))
                if i >= 0:
                    entry = key[: i + len(delimiter)]
                    if prefixes and prefixes[-1] == entry:
                        continue
            if len(contents) + len(prefixes) >= max_keys:
                truncated = True
                break
            if entry is not None:
                prefixes.append(entry)
                last = entry
            else:
                s.expunge(row)
                contents.append(row)
                last = key
    enc = (lambda v: quote(v, safe="/")) if url_encode else (lambda v: v)
    root = ET.Element("ListBucketResult", xmlns=XMLNS)
    el(root, "Name", bucket)
    el(root, "Prefix", enc(prefix))
    if delimiter:
        el(root, "Delimiter", enc(delimiter))
    el(root, "MaxKeys", max_keys)
    el(root, "KeyCount", len(contents) + len(prefixes))
    el(root, "IsTruncated", "true" if truncated else "false")
    if url_encode:
        el(root, "EncodingType", "url")
    if token:
        el(root, "ContinuationToken", token)
    if params.get("start-after"):
        el(root, "StartAfter", enc(params["start-after"]))
    if truncated:
        el(root, "NextContinuationToken", base64.urlsafe_b64encode(last.encode()).decode())
    for row in contents:
        c = el(root, "Contents")
        el(c, "Key", enc(row.key[len(base):]))
        el(c, "LastModified", iso(row.created_at))
        el(c, "ETag", f'"{row.etag}"')
        el(c, "Size", row.size)
        el(c, "StorageClass", "STANDARD")
    for p in prefixes:
        el(el(root, "CommonPrefixes"), "Prefix", enc(p))
    return xml_response(root)
