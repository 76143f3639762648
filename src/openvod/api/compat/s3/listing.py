"""ListBuckets, and ListObjects (V1) / ListObjectsV2 from the ``object`` table, as S3 answers them.

* V2 (``list-type=2``): ``continuation-token`` (opaque: the last key or common prefix listed,
  base64), ``start-after`` (ignored once a token is given, echoed), an empty token echoed back,
  ``fetch-owner`` (``<Owner>`` only when asked), ``max-keys=0`` an empty page that is not truncated.
* V1: ``marker``; ``NextMarker`` only with a delimiter (without one, the next marker is the last
  key, as SDKs know), ``<Owner>`` always.
* Both: ``prefix``, ``delimiter``, ``max-keys`` (at most 1000), ``encoding-type=url`` (keys,
  prefixes, markers and the delimiter percent-encoded).
"""

from __future__ import annotations

import base64
import binascii
import xml.etree.ElementTree as ET
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from urllib.parse import quote

from fastapi.responses import Response

from openvod.api.compat.s3.buckets import require_bucket
from openvod.api.compat.s3.common import HIDDEN_ROLES, XMLNS, S3Error, el, owner, xml_response
from openvod.domain.numbers import parse_uint
from openvod.domain.times import iso_s_zero_ms
from openvod.errors import InvalidParameter
from openvod.runtime import Context
from openvod.services import buckets as bucket_store
from openvod.services import objects

__all__ = ["encoder", "list_buckets", "list_objects", "max_items"]

MAX_PAGE = 1000


def max_items(params: Mapping[str, str], name: str, default: int = MAX_PAGE) -> int:
    """A page size parameter (``max-keys``, ``max-uploads``, ``max-parts``): 0..1000 (larger is 1000)."""
    try:
        return min(MAX_PAGE, parse_uint(params.get(name, str(default)), name))
    except InvalidParameter as exc:
        raise S3Error(400, "InvalidArgument", f"{name} must be a non-negative integer") from exc


def encoder(params: Mapping[str, str]) -> Callable[[str], str]:
    """How names are written in the reply: as they are, or percent-encoded with ``encoding-type=url``."""
    kind = params.get("encoding-type")
    if kind is None:
        return lambda v: v
    if kind != "url":
        raise S3Error(400, "InvalidArgument", "Invalid Encoding Method specified in Request")
    return lambda v: quote(v, safe="/")


def _token(raw: str) -> str:
    try:
        return base64.urlsafe_b64decode(raw.encode()).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError) as exc:
        raise S3Error(400, "InvalidArgument", "The continuation token provided is incorrect") from exc


def list_objects(ctx: Context, app_id: str, bucket: str, params: Mapping[str, str]) -> Response:
    """ListObjectsV2 with ``list-type=2``, else ListObjects (V1)."""
    require_bucket(ctx, app_id, bucket)
    v2 = "list-type" in params
    if v2 and params["list-type"] != "2":
        raise S3Error(400, "InvalidArgument", "list-type must be 2")
    prefix, delimiter = params.get("prefix", ""), params.get("delimiter", "")
    max_keys = max_items(params, "max-keys")
    enc = encoder(params)
    token = params.get("continuation-token") if v2 else None
    after = (params.get("start-after", "") if v2 else params.get("marker", "")) if not token else _token(token)
    page = None
    if max_keys:
        page = objects.list_page(ctx, app_id, bucket, prefix=prefix, delimiter=delimiter, after=after,
                                 max_keys=max_keys, hidden_roles=HIDDEN_ROLES)
    contents, prefixes = (page.objects, page.prefixes) if page else ((), ())
    truncated = page is not None and page.truncated
    root = ET.Element("ListBucketResult", xmlns=XMLNS)
    el(root, "Name", bucket)
    el(root, "Prefix", enc(prefix))
    if v2:
        if token is not None:
            el(root, "ContinuationToken", token)
        if "start-after" in params:
            el(root, "StartAfter", enc(params["start-after"]))
        el(root, "KeyCount", len(contents) + len(prefixes))
    else:
        el(root, "Marker", enc(params.get("marker", "")))
    el(root, "MaxKeys", max_keys)
    if delimiter:
        el(root, "Delimiter", enc(delimiter))
    el(root, "IsTruncated", "true" if truncated else "false")
    if truncated and page is not None:
        if v2:
            el(root, "NextContinuationToken", base64.urlsafe_b64encode(page.last.encode()).decode())
        elif delimiter:
            el(root, "NextMarker", enc(page.last))
    if "encoding-type" in params:
        el(root, "EncodingType", "url")
    with_owner = not v2 or params.get("fetch-owner") == "true"
    for row in contents:
        c = el(root, "Contents")
        el(c, "Key", enc(row.logical_key))
        el(c, "LastModified", iso_s_zero_ms(row.created_at))
        el(c, "ETag", f'"{row.etag}"')
        el(c, "Size", row.size)
        if with_owner:
            owner(c, app_id)
        el(c, "StorageClass", "STANDARD")
    for p in prefixes:
        el(el(root, "CommonPrefixes"), "Prefix", enc(p))
    return xml_response(root)


def list_buckets(ctx: Context, app_id: str, params: Mapping[str, str]) -> Response:
    """ListBuckets: ``prefix``, ``max-buckets`` (1..10000) and ``continuation-token`` (a name)."""
    prefix = params.get("prefix", "")
    try:
        limit = parse_uint(params.get("max-buckets", "10000"), "max-buckets", maximum=10000)
    except InvalidParameter as exc:
        raise S3Error(400, "InvalidArgument", "max-buckets must be an integer 1-10000") from exc
    if limit < 1:
        raise S3Error(400, "InvalidArgument", "max-buckets must be an integer 1-10000")
    after = _token(params["continuation-token"]) if params.get("continuation-token") else ""
    found = [(n, d) for n, d in bucket_store.bucket_dates(ctx, app_id) if n.startswith(prefix) and n > after]
    root = ET.Element("ListAllMyBucketsResult", xmlns=XMLNS)
    owner(root, app_id)
    buckets = el(root, "Buckets")
    for name, created in found[:limit]:
        b = el(buckets, "Bucket")
        el(b, "Name", name)
        el(b, "CreationDate", iso_s_zero_ms(created or datetime.now(UTC)))
    if len(found) > limit:
        el(root, "ContinuationToken", base64.urlsafe_b64encode(found[limit - 1][0].encode()).decode())
    if prefix:
        el(root, "Prefix", prefix)
    return xml_response(root)
