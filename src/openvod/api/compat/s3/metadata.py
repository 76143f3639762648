"""What an object carries besides its bytes: its Content-Type, the standard headers and user metadata.

Kept in the ``object`` row's ``info["s3"]`` (no schema change; only the gateway writes that key):

    {"headers": {"Content-Type": "video/mp4", "Cache-Control": "max-age=60", ...},
     "meta": {"title": "日本語"},                   # x-amz-meta-* names, lower-case, without the prefix
     "parts": [5242880, 12], "upload_id": "..."}   # a completed multipart upload (multipart.py)

The standard headers (:data:`STANDARD`) and the Content-Type are stored as sent (the header's
bytes, read as Latin-1, so they are sent back byte for byte), ``aws-chunked`` dropped from
Content-Encoding as S3 does. User metadata is text: a header value that is UTF-8 is read as UTF-8
(other SDKs send non-ASCII so; botocore refuses it), otherwise as Latin-1, and RFC 2047 encoded
words (``=?UTF-8?B?...?=``) are decoded; a non-ASCII value is sent back RFC 2047-encoded, as S3
documents ("decoded as per RFC 2047 before storing and encoded ... to make them mail-safe before
returning"). At most 2 KB of user metadata (400 MetadataTooLarge).

What the gateway does not implement is refused by :func:`refuse_unsupported` (501 NotImplemented)
rather than dropped: tags, server-side encryption, object lock, website redirects, storage classes
other than STANDARD, ACLs other than the owner-only ones.
"""

from __future__ import annotations

import base64
import dataclasses
import email.errors
from collections.abc import Mapping
from email.header import decode_header, make_header
from typing import Any

from starlette.datastructures import Headers

from openvod.api.compat.s3.common import S3Error, not_implemented
from openvod.domain.views.objects import ObjectView

__all__ = ["DEFAULT_TYPE", "META_PREFIX", "STANDARD", "Metadata", "overrides", "refuse_unsupported", "s3_info"]

DEFAULT_TYPE = "application/octet-stream"
META_PREFIX = "x-amz-meta-"
STANDARD = ("Cache-Control", "Content-Disposition", "Content-Encoding", "Content-Language", "Expires")
MAX_USER_METADATA = 2048
MAX_ROW_TYPE = 128  # the object table's content_type column; a longer type lives in info only

# GetObject/HeadObject query parameters that replace a header of the reply (signed requests only,
# as in S3: every request to the gateway is signed).
OVERRIDES = {
    "response-content-type": "Content-Type",
    "response-cache-control": "Cache-Control",
    "response-content-disposition": "Content-Disposition",
    "response-content-encoding": "Content-Encoding",
    "response-content-language": "Content-Language",
    "response-expires": "Expires",
}

_ACLS = frozenset({"private", "bucket-owner-full-control"})  # the only ones an owner-only store honours
_REFUSED = ("x-amz-tagging", "x-amz-website-redirect-location")
_REFUSED_PREFIXES = ("x-amz-server-side-encryption", "x-amz-copy-source-server-side-encryption",
                     "x-amz-object-lock-", "x-amz-grant-")


def s3_info(row: ObjectView | None) -> Mapping[str, Any]:
    """The gateway's part of a row's ``info`` (empty for objects other writers made)."""
    s3 = row.info.get("s3") if row is not None else None
    return s3 if isinstance(s3, dict) else {}


@dataclasses.dataclass(frozen=True)
class Metadata:
    """An object's Content-Type, standard headers (canonical names of :data:`STANDARD`) and user
    metadata (lower-case names without ``x-amz-meta-``, text values)."""

    content_type: str = DEFAULT_TYPE
    headers: Mapping[str, str] = dataclasses.field(default_factory=dict)
    user: Mapping[str, str] = dataclasses.field(default_factory=dict)

    @classmethod
    def of_request(cls, headers: Headers) -> Metadata:
        """What a PutObject, CopyObject (REPLACE) or CreateMultipartUpload asks to store."""
        standard: dict[str, str] = {}
        for name in STANDARD:
            value = headers.get(name)
            if name == "Content-Encoding" and value is not None:
                value = ", ".join(t.strip() for t in value.split(",") if t.strip() and t.strip() != "aws-chunked")
            if value:
                standard[name] = value
        user: dict[str, str] = {}
        for raw_name, raw_value in headers.raw:
            name = raw_name.decode("latin-1").lower()
            if not name.startswith(META_PREFIX):
                continue
            short = name[len(META_PREFIX):]
            if not short:
                raise S3Error(400, "InvalidArgument", "A user metadata header has an empty name after x-amz-meta-.")
            value = _text(raw_value)
            user[short] = f"{user[short]},{value}" if short in user else value
        if sum(len(k.encode()) + len(v.encode()) for k, v in user.items()) > MAX_USER_METADATA:
            raise S3Error(400, "MetadataTooLarge", f"Your metadata headers exceed the maximum allowed metadata size "
                          f"({MAX_USER_METADATA} bytes of names and values).")
        return cls(headers.get("content-type") or DEFAULT_TYPE, standard, user)

    @classmethod
    def of_row(cls, row: ObjectView | None, fallback_type: str = DEFAULT_TYPE) -> Metadata:
        """What is stored for ``row`` (only its Content-Type for objects the gateway did not write)."""
        stored = s3_info(row).get("headers")
        meta = s3_info(row).get("meta")
        content_type = row.content_type if row is not None else fallback_type
        if not isinstance(stored, dict):
            return cls(content_type or DEFAULT_TYPE)
        headers = {k: v for k, v in stored.items() if k in STANDARD and isinstance(v, str)}
        user = {k: v for k, v in meta.items() if isinstance(v, str)} if isinstance(meta, dict) else {}
        return cls(str(stored.get("Content-Type") or content_type or DEFAULT_TYPE), headers, user)

    @property
    def row_type(self) -> str:
        """The Content-Type for the row's column (bounded); :meth:`to_info` keeps the whole."""
        return self.content_type if len(self.content_type) <= MAX_ROW_TYPE else DEFAULT_TYPE

    def to_info(self, **more: Any) -> dict[str, Any]:
        """``info`` of a row holding this metadata (``more``: multipart ``parts``/``upload_id``)."""
        return {"s3": {"headers": {"Content-Type": self.content_type, **self.headers}, "meta": dict(self.user),
                       **more}}

    def response_headers(self) -> dict[str, str]:
        """The reply headers of a GetObject/HeadObject (before overrides and content safety)."""
        out = {"Content-Type": self.content_type, **self.headers}
        for name, value in self.user.items():
            out[META_PREFIX + name] = _mail_safe(value)
        return out


def _text(raw: bytes) -> str:
    try:
        value = raw.decode("utf-8")
    except UnicodeDecodeError:
        value = raw.decode("latin-1")
    if "=?" in value:
        try:
            value = str(make_header(decode_header(value)))
        except (ValueError, LookupError, email.errors.HeaderParseError):
            pass  # not RFC 2047 after all: kept as sent
    return value


def _mail_safe(value: str) -> str:
    if value.isascii() and value.isprintable():
        return value
    return "=?UTF-8?B?" + base64.b64encode(value.encode()).decode() + "?="


def overrides(params: Mapping[str, str]) -> dict[str, str]:
    """The reply headers the ``response-*`` parameters ask for (UTF-8 on the wire); 400 for a value
    with control characters (it would split the reply's headers)."""
    out: dict[str, str] = {}
    for query, header in OVERRIDES.items():
        value = params.get(query)
        if value is None:
            continue
        if any(ord(c) < 0x20 or ord(c) == 0x7F for c in value):
            raise S3Error(400, "InvalidArgument", f"{query} holds control characters.")
        out[header] = value.encode().decode("latin-1")
    return out


def refuse_unsupported(headers: Headers) -> None:
    """501 NotImplemented for a request asking for what the gateway does not keep (see the module
    docstring); an ACL only the owner can read is what every object has, so it is accepted."""
    for name in headers:
        if name in _REFUSED or name.startswith(_REFUSED_PREFIXES):
            raise not_implemented(f"the {name} header")
    if headers.get("x-amz-bucket-object-lock-enabled", "").lower() == "true":
        raise not_implemented("object lock (x-amz-bucket-object-lock-enabled)")
    acl = headers.get("x-amz-acl")
    if acl is not None and acl not in _ACLS:
        raise not_implemented(f"x-amz-acl {acl[:40]!r} (objects are readable by their owner only)")
    storage_class = headers.get("x-amz-storage-class")
    if storage_class is not None and storage_class != "STANDARD":
        raise not_implemented(f"x-amz-storage-class {storage_class[:40]!r}")
