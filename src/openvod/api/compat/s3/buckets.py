"""Buckets and their listing (``services.buckets``, ``services.objects``) as S3 XML; the app-namespace helpers."""

from __future__ import annotations

import base64
import binascii
import xml.etree.ElementTree as ET
from datetime import UTC, datetime
from urllib.parse import quote

from fastapi.responses import Response

from openvod.api.compat.s3.common import HIDDEN_ROLES, MP_DIR, XMLNS, S3Error, el, xml_response
from openvod.domain.numbers import parse_uint
from openvod.domain.times import iso_s_zero_ms
from openvod.domain.views.objects import ObjectView
from openvod.errors import Conflict, InvalidParameter
from openvod.runtime import Context
from openvod.services import buckets as bucket_store
from openvod.services import objects
from openvod.services.media import physical

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
    return bucket_store.bucket_exists(ctx, app_id, bucket)


def require_bucket(ctx: Context, app_id: str, bucket: str) -> None:
    """Raise S3Error NoSuchBucket unless the app has ``bucket``."""
    phys(app_id, bucket)
    if not bucket_exists(ctx, app_id, bucket):
        raise S3Error(404, "NoSuchBucket", "The specified bucket does not exist")


def object_row(ctx: Context, app_id: str, pb: str, pk: str) -> ObjectView | None:
    """The app's row of the physical (pb, pk), if any."""
    return objects.find_object(ctx, app_id, pb, pk)


# -- operations ------------------------------------------------------------------------------------

def list_buckets(ctx: Context, app_id: str) -> Response:
    names = bucket_store.list_buckets(ctx, app_id)
    root = ET.Element("ListAllMyBucketsResult", xmlns=XMLNS)
    owner = el(root, "Owner")
    el(owner, "ID", app_id)
    el(owner, "DisplayName", app_id)
    buckets = el(root, "Buckets")
    for name in names:
        b = el(buckets, "Bucket")
        el(b, "Name", name)
        el(b, "CreationDate", iso_s_zero_ms(datetime.now(UTC)))
    return xml_response(root)


def create_bucket(ctx: Context, app_id: str, bucket: str) -> Response:
    pb, _marker = phys(app_id, bucket)
    if bucket_exists(ctx, app_id, bucket):
        raise S3Error(409, "BucketAlreadyOwnedByYou", "Your previous request to create the named bucket succeeded "
                      "and you already own it.")
    bucket_store.create_bucket(ctx, app_id, pb)
    return Response(status_code=200, headers={"Location": f"/{bucket}"})


def delete_bucket(ctx: Context, app_id: str, bucket: str) -> Response:
    require_bucket(ctx, app_id, bucket)
    try:
        bucket_store.delete_bucket(ctx, app_id, bucket)
    except Conflict as exc:
        raise S3Error(409, "BucketNotEmpty", "The bucket you tried to delete is not empty") from exc
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
    page = objects.list_page(ctx, app_id, bucket, prefix=prefix, delimiter=delimiter, after=after,
                             max_keys=max_keys, hidden_roles=HIDDEN_ROLES)
    contents, prefixes, truncated, last = page.objects, page.prefixes, page.truncated, page.last
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
        el(c, "Key", enc(row.logical_key))
        el(c, "LastModified", iso_s_zero_ms(row.created_at))
        el(c, "ETag", f'"{row.etag}"')
        el(c, "Size", row.size)
        el(c, "StorageClass", "STANDARD")
    for p in prefixes:
        el(el(root, "CommonPrefixes"), "Prefix", enc(p))
    return xml_response(root)
