"""An S3-compatible object gateway under ``/s3`` (path-style addressing, SigV4 service ``s3``).

Design:

* Namespaces: every app has its own buckets. A logical (bucket, key) of the app is stored at the
  physical ``(bucket, f"{app_id}/{key}")`` (``services.media.physical``), so two apps may use the
  same bucket name without seeing each other's objects.
* Buckets: an app's bucket exists when the ``object`` table holds a row of that app in that bucket:
  either the marker row CreateBucket writes (role ``bucket``, key ``{app_id}/``, size 0, nothing
  in storage) or any object (so buckets the native API writes to, e.g. ``vod``, are visible too).
  DeleteBucket removes the marker and refuses (409 BucketNotEmpty) while any other row remains.
* Objects are listed from the ``object`` table (every stored byte is registered there); PutObject
  registers role ``upload`` with the MD5 of the bytes as ETag.
* Bodies are streamed into the store through its resumable-append API (never whole in memory):
  plain bodies with a hex SHA-256 (checked at the end), ``UNSIGNED-PAYLOAD``, and ``aws-chunked``
  bodies (``STREAMING-AWS4-HMAC-SHA256-PAYLOAD`` with every chunk signature verified, and
  ``STREAMING-UNSIGNED-PAYLOAD-TRAILER``).
* Multipart uploads: the upload is a row (role ``s3-multipart``, key ``{app_id}/.s3mp/{id}``, the
  target key and content type in ``info``); each part is a temporary object at
  ``{app_id}/.s3mp/{id}/{part:05d}`` (role ``s3-part``). Complete concatenates the listed parts
  into the target with an append write, then deletes the parts. Keys under ``.s3mp/`` are
  reserved and hidden from listings.
* Errors are S3 XML ``<Error>`` documents with S3's codes and statuses.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import hashlib
import hmac
import io
import re
import secrets
import time
import xml.etree.ElementTree as ET
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from typing import Any, BinaryIO, TypeVar, cast
from urllib.parse import quote, unquote

import anyio
from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlalchemy import delete, distinct, select
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Receive, Scope, Send

from openvod.api.serving import object_response
from openvod.auth import sigv4
from openvod.db.models import Object
from openvod.errors import InvalidParameter, NotFound, OpenVODError
from openvod.services import apps, cos_upload
from openvod.services.context import Context
from openvod.services.media import physical
from openvod.services.objects import register_object
from openvod.storage.base import ObjectStat

__all__ = ["router"]

_T = TypeVar("_T")

router = APIRouter(prefix="/s3", include_in_schema=False)

PREFIX = "/s3"
XMLNS = "http://s3.amazonaws.com/doc/2006-03-01/"
MP_DIR = ".s3mp"
HIDDEN_ROLES = ("bucket", "s3-multipart", "s3-part")
MAX_SKEW = 15 * 60
MAX_XML_BODY = 1 << 20
EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()
_FLUSH = 1 << 20


class S3Error(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def _request_id() -> str:
    return secrets.token_hex(8).upper()


def _error_response(exc: S3Error, resource: str, method: str) -> Response:
    rid = _request_id()
    headers = {"x-amz-request-id": rid}
    if method == "HEAD":
        return Response(status_code=exc.status, headers=headers)
    root = ET.Element("Error")
    for tag, text in (("Code", exc.code), ("Message", exc.message), ("Resource", resource), ("RequestId", rid)):
        ET.SubElement(root, tag).text = text
    return Response(_xml_bytes(root), status_code=exc.status, media_type="application/xml", headers=headers)


def _xml_bytes(root: ET.Element) -> bytes:
    return b'<?xml version="1.0" encoding="UTF-8"?>\n' + bytes(ET.tostring(root, encoding="utf-8"))


def _xml(root: ET.Element, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(_xml_bytes(root), status_code=status, media_type="application/xml", headers=headers)


def _el(parent: ET.Element, tag: str, text: Any = None) -> ET.Element:
    e = ET.SubElement(parent, tag)
    if text is not None:
        e.text = str(text)
    return e


def _iso(t: datetime | None) -> str:
    t = t or datetime.now(UTC)
    return t.strftime("%Y-%m-%dT%H:%M:%S.000Z")


# -- authentication ------------------------------------------------------------------------------

@dataclasses.dataclass
class Auth:
    app_id: str
    secret_key: str
    date: str
    region: str
    amz_date: str
    signature: str
    payload: str  # the x-amz-content-sha256 value (or UNSIGNED-PAYLOAD for presigned URLs)


def _canonical_query(raw_query: str, drop: str | None = None) -> str:
    pairs = []
    for piece in raw_query.split("&") if raw_query else []:
        if not piece:
            continue
        k, _, v = piece.partition("=")
        k, v = unquote(k.replace("+", " ")), unquote(v.replace("+", " "))
        if k == drop:
            continue
        pairs.append((quote(k, safe="-_.~"), quote(v, safe="-_.~")))
    return "&".join(f"{k}={v}" for k, v in sorted(pairs))


def _lookup_secret(ctx: Context, access_key: str) -> apps.KeyInfo:
    info = apps.lookup_key(ctx.db, access_key)
    if info is None:
        raise S3Error(403, "InvalidAccessKeyId", "The AWS Access Key Id you provided does not exist in our records.")
    if info.state != "active":
        raise S3Error(403, "InvalidAccessKeyId", "The AWS Access Key Id you provided is disabled.")
    return info


def _authenticate(ctx: Context, request: Request) -> Auth:
    raw_path = request.scope.get("raw_path", b"").decode("latin-1") or request.url.path
    raw_query = request.scope.get("query_string", b"").decode("latin-1")
    header = request.headers.get("authorization")
    q = request.query_params
    if header:
        parsed = sigv4.parse_authorization(header)
        if parsed is None:
            raise S3Error(400, "AuthorizationHeaderMalformed", "The authorization header is malformed.")
        amz_date = request.headers.get("x-amz-date", "")
        when = sigv4.parse_amz_date(amz_date)
        if when is None or not amz_date.startswith(parsed.date):
            raise S3Error(403, "AccessDenied", "X-Amz-Date is missing or does not match the credential scope.")
        if abs(time.time() - when.timestamp()) > MAX_SKEW:
            raise S3Error(403, "RequestTimeTooSkewed", "The difference between the request time and the "
                          "server's time is too large.")
        payload = request.headers.get("x-amz-content-sha256", "")
        if not payload:
            raise S3Error(400, "InvalidRequest", "Missing required header for this request: x-amz-content-sha256")
        access_key, date, region, service = parsed.access_key, parsed.date, parsed.region, parsed.service
        signed, given = parsed.signed_headers, parsed.signature
        query = _canonical_query(raw_query)
    elif "X-Amz-Signature" in q:
        if q.get("X-Amz-Algorithm") != sigv4.ALGORITHM:
            raise S3Error(400, "AuthorizationQueryParametersError", "X-Amz-Algorithm must be AWS4-HMAC-SHA256.")
        parts = q.get("X-Amz-Credential", "").split("/")
        amz_date = q.get("X-Amz-Date", "")
        when = sigv4.parse_amz_date(amz_date)
        try:
            expires = int(q.get("X-Amz-Expires", ""))
        except ValueError:
            expires = -1
        if len(parts) != 5 or parts[4] != "aws4_request" or when is None or not 0 < expires <= 604800:
            raise S3Error(400, "AuthorizationQueryParametersError", "The presigned URL's query is malformed.")
        if time.time() > when.timestamp() + expires:
            raise S3Error(403, "AccessDenied", "Request has expired")
        access_key, date, region, service = parts[:4]
        signed = tuple(q.get("X-Amz-SignedHeaders", "host").split(";"))
        given = q.get("X-Amz-Signature", "")
        payload = "UNSIGNED-PAYLOAD"
        query = _canonical_query(raw_query, drop="X-Amz-Signature")
    else:
        raise S3Error(403, "AccessDenied", "Anonymous access is not allowed: sign the request with SigV4.")
    if service != "s3":
        raise S3Error(400, "AuthorizationHeaderMalformed", f"The credential scope's service must be s3, not {service}.")
    info = _lookup_secret(ctx, access_key)
    creq = "\n".join([request.method, raw_path, query, sigv4.canonical_headers(request.headers.items(), signed),
                      ";".join(signed), payload])
    sts = sigv4.string_to_sign(amz_date, f"{date}/{region}/{service}/aws4_request", creq)
    expected = sigv4.signature(info.secret_key, date, region, service, sts)
    if not sigv4.signatures_equal(expected, given):
        raise S3Error(403, "SignatureDoesNotMatch", "The request signature we calculated does not match the "
                      "signature you provided. Check your key and signing method.")
    return Auth(info.app_id, info.secret_key, date, region, amz_date, given, payload)


# -- bodies ----------------------------------------------------------------------------------------

async def _decoded_body(request: Request, auth: Auth) -> AsyncIterator[bytes]:
    """The request body as stored bytes: aws-chunked framing removed and checked."""
    mode = auth.payload
    if not mode.startswith("STREAMING-"):
        sha = hashlib.sha256() if len(mode) == 64 else None
        async for chunk in request.stream():
            if sha is not None:
                sha.update(chunk)
            if chunk:
                yield chunk
        if sha is not None and not hmac.compare_digest(sha.hexdigest(), mode):
            raise S3Error(400, "XAmzContentSHA256Mismatch", "The provided 'x-amz-content-sha256' header does "
                          "not match what was computed.")
        return
    signed = mode == "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"
    if mode not in ("STREAMING-AWS4-HMAC-SHA256-PAYLOAD", "STREAMING-UNSIGNED-PAYLOAD-TRAILER"):
        raise S3Error(400, "InvalidArgument", f"x-amz-content-sha256 {mode} is not supported.")
    key = sigv4.signing_key(auth.secret_key, auth.date, auth.region, "s3")
    scope = f"{auth.date}/{auth.region}/s3/aws4_request"
    prev = auth.signature
    buf = bytearray()
    stream = request.stream()

    async def fill(n: int) -> bool:
        while len(buf) < n:
            try:
                buf.extend(await stream.__anext__())
            except StopAsyncIteration:
                return False
        return True

    async def line() -> bytes:
        while True:
            i = buf.find(b"\r\n")
            if i >= 0:
                out = bytes(buf[:i])
                del buf[: i + 2]
                return out
            if len(buf) > 4096 or not await fill(len(buf) + 1):
                raise S3Error(400, "IncompleteBody", "The aws-chunked body is malformed.")

    while True:
        head = (await line()).decode("latin-1")
        size_hex, _, ext = head.partition(";")
        try:
            size = int(size_hex.strip(), 16)
        except ValueError as exc:
            raise S3Error(400, "IncompleteBody", "The aws-chunked body is malformed.") from exc
        if not await fill(size):
            raise S3Error(400, "IncompleteBody", "The aws-chunked body ended early.")
        data = bytes(buf[:size])
        del buf[:size]
        if signed:
            name, _, sig = ext.partition("=")
            sts = "\n".join(["AWS4-HMAC-SHA256-PAYLOAD", auth.amz_date, scope, prev, EMPTY_SHA256,
                             hashlib.sha256(data).hexdigest()])
            want = hmac.new(key, sts.encode(), hashlib.sha256).hexdigest()
            if name.strip() != "chunk-signature" or not sigv4.signatures_equal(want, sig.strip()):
                raise S3Error(403, "SignatureDoesNotMatch", "A chunk signature does not match.")
            prev = want
        if size == 0:
            break  # trailers (if any) follow; they are not stored
        if data:
            yield data
        if not await fill(2) or bytes(buf[:2]) != b"\r\n":
            raise S3Error(400, "IncompleteBody", "The aws-chunked body is malformed.")
        del buf[:2]


async def _small_body(request: Request, auth: Auth) -> bytes:
    out = bytearray()
    async for chunk in _decoded_body(request, auth):
        out.extend(chunk)
        if len(out) > MAX_XML_BODY:
            raise S3Error(400, "MaxMessageLengthExceeded", "The request body is too large.")
    return bytes(out)


async def _store(ctx: Context, request: Request, auth: Auth, pb: str, pk: str, content_type: str) -> ObjectStat:
    """Stream the body into (pb, pk); returns its stat with the MD5 of the bytes as ETag."""
    md5 = hashlib.md5(usedforsecurity=False)
    storage = ctx.storage
    handle = await anyio.to_thread.run_sync(storage.begin_append, pb, pk)
    done = False
    try:
        writer = await anyio.to_thread.run_sync(storage.open_append, handle)
        try:
            pending = bytearray()
            async for chunk in _decoded_body(request, auth):
                md5.update(chunk)
                pending.extend(chunk)
                if len(pending) >= _FLUSH:
                    await anyio.to_thread.run_sync(writer.write, bytes(pending))
                    pending.clear()
            if pending:
                await anyio.to_thread.run_sync(writer.write, bytes(pending))
            await anyio.to_thread.run_sync(writer.commit)
        finally:
            await anyio.to_thread.run_sync(writer.close)
        want_md5 = request.headers.get("content-md5")
        if want_md5:
            try:
                ok = base64.b64decode(want_md5, validate=True) == md5.digest()
            except binascii.Error:
                ok = False
            if not ok:
                raise S3Error(400, "BadDigest", "The Content-MD5 you specified did not match what we received.")
        stat = await anyio.to_thread.run_sync(lambda: storage.finish_append(handle, content_type=content_type))
        done = True
    finally:
        if not done:
            await anyio.to_thread.run_sync(storage.abort_append, handle)
    return dataclasses.replace(stat, etag=md5.hexdigest(), content_type=content_type)


# -- helpers on the object table -------------------------------------------------------------------

def _phys(app_id: str, bucket: str, key: str | None = None) -> tuple[str, str]:
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


def _bucket_exists(ctx: Context, app_id: str, bucket: str) -> bool:
    with ctx.db.session() as s:
        return s.scalar(select(Object.id).where(Object.app_id == app_id, Object.bucket == bucket).limit(1)) is not None


def _require_bucket(ctx: Context, app_id: str, bucket: str) -> None:
    _phys(app_id, bucket)
    if not _bucket_exists(ctx, app_id, bucket):
        raise S3Error(404, "NoSuchBucket", "The specified bucket does not exist")


def _object_row(ctx: Context, app_id: str, pb: str, pk: str) -> Object | None:
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
    owner = _el(root, "Owner")
    _el(owner, "ID", app_id)
    _el(owner, "DisplayName", app_id)
    buckets = _el(root, "Buckets")
    for name in names:
        b = _el(buckets, "Bucket")
        _el(b, "Name", name)
        _el(b, "CreationDate", _iso(None))
    return _xml(root)


def create_bucket(ctx: Context, app_id: str, bucket: str) -> Response:
    pb, marker = _phys(app_id, bucket)
    if _bucket_exists(ctx, app_id, bucket):
        raise S3Error(409, "BucketAlreadyOwnedByYou", "Your previous request to create the named bucket succeeded "
                      "and you already own it.")
    ctx.storage.ensure_bucket(pb)
    register_object(ctx, app_id, ObjectStat(pb, marker, 0, "", "application/x-directory"), role="bucket")
    return Response(status_code=200, headers={"Location": f"/{bucket}"})


def delete_bucket(ctx: Context, app_id: str, bucket: str) -> Response:
    _require_bucket(ctx, app_id, bucket)
    with ctx.db.session() as s:
        other = s.scalar(select(Object.id).where(Object.app_id == app_id, Object.bucket == bucket,
                                                 Object.role != "bucket").limit(1))
        if other is not None:
            raise S3Error(409, "BucketNotEmpty", "The bucket you tried to delete is not empty")
        s.execute(delete(Object).where(Object.app_id == app_id, Object.bucket == bucket, Object.role == "bucket"))
    return Response(status_code=204)


def _visible(app_id: str, row: Object) -> bool:
    return row.role not in HIDDEN_ROLES


def list_objects(ctx: Context, app_id: str, bucket: str, params: dict[str, str]) -> Response:
    _require_bucket(ctx, app_id, bucket)
    prefix = params.get("prefix", "")
    delimiter = params.get("delimiter", "")
    try:
        max_keys = max(0, min(1000, int(params.get("max-keys", "1000"))))
    except ValueError as exc:
        raise S3Error(400, "InvalidArgument", "max-keys must be an integer") from exc
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
    _el(root, "Name", bucket)
    _el(root, "Prefix", enc(prefix))
    if delimiter:
        _el(root, "Delimiter", enc(delimiter))
    _el(root, "MaxKeys", max_keys)
    _el(root, "KeyCount", len(contents) + len(prefixes))
    _el(root, "IsTruncated", "true" if truncated else "false")
    if url_encode:
        _el(root, "EncodingType", "url")
    if token:
        _el(root, "ContinuationToken", token)
    if params.get("start-after"):
        _el(root, "StartAfter", enc(params["start-after"]))
    if truncated:
        _el(root, "NextContinuationToken", base64.urlsafe_b64encode(last.encode()).decode())
    for row in contents:
        c = _el(root, "Contents")
        _el(c, "Key", enc(row.key[len(base):]))
        _el(c, "LastModified", _iso(row.created_at))
        _el(c, "ETag", f'"{row.etag}"')
        _el(c, "Size", row.size)
        _el(c, "StorageClass", "STANDARD")
    for p in prefixes:
        _el(_el(root, "CommonPrefixes"), "Prefix", enc(p))
    return _xml(root)


def get_object(ctx: Context, request: Request, app_id: str, bucket: str, key: str) -> Response:
    pb, pk = _phys(app_id, bucket, key)
    row = _object_row(ctx, app_id, pb, pk)
    try:
        stat = ctx.storage.stat(pb, pk)
    except NotFound:
        stat = None
    if stat is None or (row is not None and row.role in HIDDEN_ROLES):
        if not _bucket_exists(ctx, app_id, bucket):
            raise S3Error(404, "NoSuchBucket", "The specified bucket does not exist")
        raise S3Error(404, "NoSuchKey", "The specified key does not exist.")
    if row is not None and row.size == stat.size:
        stat = dataclasses.replace(stat, etag=row.etag or stat.etag, content_type=row.content_type)
    resp = object_response(request, ctx.storage, stat)
    if row is not None:
        resp.headers["Last-Modified"] = row.created_at.strftime("%a, %d %b %Y %H:%M:%S GMT")
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


def _source(ctx: Context, app_id: str, request: Request) -> tuple[str, str, Object]:
    """The physical source of a copy and its row, in the caller's own namespace."""
    sb, sk = _copy_source(request.headers["x-amz-copy-source"])
    spb, spk = _phys(app_id, sb, sk)
    row = _object_row(ctx, app_id, spb, spk)
    if row is None or row.role in HIDDEN_ROLES or not ctx.storage.exists(spb, spk):
        if not _bucket_exists(ctx, app_id, sb):
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
    _el(root, "LastModified", _iso(datetime.now(UTC)))
    _el(root, "ETag", f'"{etag}"')
    return _xml(root)


def copy_object(ctx: Context, request: Request, app_id: str, bucket: str, key: str) -> Response:
    """CopyObject within the app (any of its buckets). ``x-amz-metadata-directive: REPLACE`` takes
    the request's Content-Type; ``COPY`` (the default) keeps the source's."""
    pb, pk = _phys(app_id, bucket, key)
    _require_bucket(ctx, app_id, bucket)
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


_COPY_RANGE = re.compile(r"bytes=(\d+)-(\d+)")


def copy_part(ctx: Context, request: Request, app_id: str, bucket: str, key: str, upload_id: str,
              n: int) -> Response:
    """UploadPartCopy: part ``n`` of a multipart upload from (a range of) another object."""
    pb, _pk = _phys(app_id, bucket, key)
    _upload_row(ctx, app_id, bucket, key, upload_id)
    spb, spk, row = _source(ctx, app_id, request)
    size = ctx.storage.stat(spb, spk).size
    start, length = 0, size
    if raw := request.headers.get("x-amz-copy-source-range"):
        m = _COPY_RANGE.fullmatch(raw.strip())
        if m is None or not int(m[1]) <= int(m[2]) < size:
            raise S3Error(400, "InvalidArgument", f"x-amz-copy-source-range must be bytes=first-last within the "
                                                  f"source's {size} bytes, got {raw[:80]!r}.")
        start, length = int(m[1]), int(m[2]) - int(m[1]) + 1
    _, part_prefix = _mp_keys(app_id, upload_id)
    stat = _copy(ctx, (spb, spk), (pb, f"{part_prefix}{n:05d}"), "application/octet-stream", start, length)
    register_object(ctx, app_id, stat, role="s3-part", info={"upload_id": upload_id, "part": n})
    return _copy_result("CopyPartResult", stat.etag)


def delete_object(ctx: Context, app_id: str, bucket: str, key: str) -> Response:
    pb, pk = _phys(app_id, bucket, key)
    _require_bucket(ctx, app_id, bucket)
    ctx.storage.delete(pb, pk)
    with ctx.db.session() as s:
        s.execute(delete(Object).where(Object.app_id == app_id, Object.bucket == pb, Object.key == pk))
    return Response(status_code=204)


def _mp_keys(app_id: str, upload_id: str) -> tuple[str, str]:
    if not upload_id or not upload_id.isalnum() or len(upload_id) > 64:
        raise S3Error(404, "NoSuchUpload", "The specified upload does not exist.")
    return f"{app_id}/{MP_DIR}/{upload_id}", f"{app_id}/{MP_DIR}/{upload_id}/"


def _upload_row(ctx: Context, app_id: str, bucket: str, key: str, upload_id: str) -> Object:
    marker, _ = _mp_keys(app_id, upload_id)
    row = _object_row(ctx, app_id, bucket, marker)
    if row is None or row.role != "s3-multipart" or (row.info or {}).get("key") != key:
        raise S3Error(404, "NoSuchUpload", "The specified upload does not exist.")
    return row


def create_multipart(ctx: Context, app_id: str, bucket: str, key: str, content_type: str) -> Response:
    pb, _pk = _phys(app_id, bucket, key)
    _require_bucket(ctx, app_id, bucket)
    upload_id = secrets.token_hex(16)
    marker, _ = _mp_keys(app_id, upload_id)
    register_object(ctx, app_id, ObjectStat(pb, marker, 0, "", content_type), role="s3-multipart",
                    info={"key": key, "content_type": content_type})
    root = ET.Element("InitiateMultipartUploadResult", xmlns=XMLNS)
    _el(root, "Bucket", bucket)
    _el(root, "Key", key)
    _el(root, "UploadId", upload_id)
    return _xml(root)


def _parts(ctx: Context, app_id: str, bucket: str, upload_id: str) -> list[Object]:
    _, part_prefix = _mp_keys(app_id, upload_id)
    with ctx.db.session() as s:
        rows = list(s.scalars(select(Object).where(
            Object.app_id == app_id, Object.bucket == bucket, Object.role == "s3-part",
            Object.key.startswith(part_prefix, autoescape=True)).order_by(Object.key)))
        for r in rows:
            s.expunge(r)
    return rows


def _drop_upload(ctx: Context, app_id: str, bucket: str, upload_id: str) -> None:
    marker, part_prefix = _mp_keys(app_id, upload_id)
    for row in _parts(ctx, app_id, bucket, upload_id):
        ctx.storage.delete(bucket, row.key)
    with ctx.db.session() as s:
        s.execute(delete(Object).where(Object.app_id == app_id, Object.bucket == bucket,
                                       Object.key.startswith(part_prefix, autoescape=True)))
        s.execute(delete(Object).where(Object.app_id == app_id, Object.bucket == bucket, Object.key == marker))


def list_parts(ctx: Context, app_id: str, bucket: str, key: str, upload_id: str) -> Response:
    _phys(app_id, bucket, key)
    _upload_row(ctx, app_id, bucket, key, upload_id)
    root = ET.Element("ListPartsResult", xmlns=XMLNS)
    _el(root, "Bucket", bucket)
    _el(root, "Key", key)
    _el(root, "UploadId", upload_id)
    _el(root, "IsTruncated", "false")
    for row in _parts(ctx, app_id, bucket, upload_id):
        p = _el(root, "Part")
        _el(p, "PartNumber", int(row.key.rsplit("/", 1)[1]))
        _el(p, "LastModified", _iso(row.created_at))
        _el(p, "ETag", f'"{row.etag}"')
        _el(p, "Size", row.size)
    return _xml(root)


def complete_multipart(ctx: Context, app_id: str, bucket: str, key: str, upload_id: str, body: bytes) -> Response:
    pb, pk = _phys(app_id, bucket, key)
    up = _upload_row(ctx, app_id, bucket, key, upload_id)
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
            wanted.append((int(fields.get("PartNumber", "")), fields.get("ETag", "").strip().strip('"')))
        except ValueError as exc:
            raise S3Error(400, "MalformedXML", "A PartNumber is not a number.") from exc
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
    content_type = (up.info or {}).get("content_type") or "application/octet-stream"
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
    _drop_upload(ctx, app_id, bucket, upload_id)
    root = ET.Element("CompleteMultipartUploadResult", xmlns=XMLNS)
    _el(root, "Location", f"/{bucket}/{key}")
    _el(root, "Bucket", bucket)
    _el(root, "Key", key)
    _el(root, "ETag", f'"{etag}"')
    return _xml(root)


# -- dispatch --------------------------------------------------------------------------------------

def _split(request: Request) -> tuple[str, str]:
    path = request.url.path
    rest = path[len(PREFIX):] if path.startswith(PREFIX) else path
    rest = rest.lstrip("/")
    bucket, _, key = rest.partition("/")
    return unquote(bucket), key  # request.url.path is already percent-decoded by the server


async def _run(fn: Callable[..., _T], *args: Any) -> _T:
    return await anyio.to_thread.run_sync(lambda: fn(*args))


async def _dispatch(request: Request, authenticate: Callable[[Context, Request], Auth],
                    bucket: str, key: str) -> Response:
    ctx: Context = request.app.state.ctx
    auth = await anyio.to_thread.run_sync(authenticate, ctx, request)
    app_id = auth.app_id
    params = dict(request.query_params)
    m = request.method
    if not bucket:
        if m == "GET":
            return await _run(list_buckets, ctx, app_id)
        raise S3Error(405, "MethodNotAllowed", "The specified method is not allowed against this resource.")
    if not key:
        if m == "PUT":
            await _small_body(request, auth)
            return await _run(create_bucket, ctx, app_id, bucket)
        if m == "HEAD":
            await _run(_require_bucket, ctx, app_id, bucket)
            return Response(status_code=200)
        if m == "DELETE":
            return await _run(delete_bucket, ctx, app_id, bucket)
        if m == "GET":
            if "location" in params:
                await _run(_require_bucket, ctx, app_id, bucket)
                root = ET.Element("LocationConstraint", xmlns=XMLNS)
                return _xml(root)
            if "uploads" in params:
                await _run(_require_bucket, ctx, app_id, bucket)
                root = ET.Element("ListMultipartUploadsResult", xmlns=XMLNS)
                _el(root, "Bucket", bucket)
                _el(root, "IsTruncated", "false")
                return _xml(root)
            return await _run(list_objects, ctx, app_id, bucket, params)
        raise S3Error(405, "MethodNotAllowed", "The specified method is not allowed against this resource.")
    content_type = request.headers.get("content-type") or "application/octet-stream"
    upload_id = params.get("uploadId")
    if m in ("GET", "HEAD"):
        if upload_id is not None and m == "GET":
            return await _run(list_parts, ctx, app_id, bucket, key, upload_id)
        return await _run(get_object, ctx, request, app_id, bucket, key)
    if m == "DELETE":
        if upload_id is not None:
            _phys(app_id, bucket, key)
            await _run(_upload_row, ctx, app_id, bucket, key, upload_id)
            await _run(_drop_upload, ctx, app_id, bucket, upload_id)
            return Response(status_code=204)
        return await _run(delete_object, ctx, app_id, bucket, key)
    if m == "POST":
        if "uploads" in params:
            return await _run(create_multipart, ctx, app_id, bucket, key, content_type)
        if upload_id is not None:
            body = await _small_body(request, auth)
            return await _run(complete_multipart, ctx, app_id, bucket, key, upload_id, body)
        raise S3Error(400, "InvalidRequest", "Unsupported POST on an object.")
    if m == "PUT":
        copying = bool(request.headers.get("x-amz-copy-source"))
        if copying:
            await _small_body(request, auth)  # a copy has no body; reading it keeps the connection usable
            if upload_id is None:
                return await _run(copy_object, ctx, request, app_id, bucket, key)
        pb, pk = _phys(app_id, bucket, key)
        await _run(_require_bucket, ctx, app_id, bucket)
        if upload_id is not None:
            try:
                n = int(params.get("partNumber", ""))
            except ValueError as exc:
                raise S3Error(400, "InvalidArgument", "partNumber must be an integer 1-10000.") from exc
            if not 1 <= n <= 10000:
                raise S3Error(400, "InvalidArgument", "partNumber must be an integer 1-10000.")
            if copying:
                return await _run(copy_part, ctx, request, app_id, bucket, key, upload_id, n)
            await _run(_upload_row, ctx, app_id, bucket, key, upload_id)
            _, part_prefix = _mp_keys(app_id, upload_id)
            stat = await _store(ctx, request, auth, pb, f"{part_prefix}{n:05d}", "application/octet-stream")
            await anyio.to_thread.run_sync(lambda: register_object(ctx, app_id, stat, role="s3-part",
                                                                   info={"upload_id": upload_id, "part": n}))
            return Response(status_code=200, headers={"ETag": f'"{stat.etag}"'})
        stat = await _store(ctx, request, auth, pb, pk, content_type)
        await anyio.to_thread.run_sync(lambda: register_object(ctx, app_id, stat, role="upload"))
        return Response(status_code=200, headers={"ETag": f'"{stat.etag}"'})
    raise S3Error(405, "MethodNotAllowed", "The specified method is not allowed against this resource.")


_STATUS_CODES = {400: "InvalidArgument", 401: "AccessDenied", 403: "AccessDenied", 404: "NoSuchKey",
                 409: "OperationAborted", 413: "EntityTooLarge"}


async def handle(request: Request) -> Response:
    return await _handle(request, _authenticate, *_split(request))


async def _handle(request: Request, authenticate: Callable[[Context, Request], Auth],
                  bucket: str, key: str) -> Response:
    resource = request.url.path
    try:
        return await _dispatch(request, authenticate, bucket, key)
    except S3Error as exc:
        resp = _error_response(exc, resource, request.method)
    except OpenVODError as exc:
        code = _STATUS_CODES.get(exc.status, "InternalError")
        status = exc.status if exc.status in _STATUS_CODES else 500
        resp = _error_response(S3Error(status, code, str(exc)), resource, request.method)
    if request.method in ("PUT", "POST"):
        # The body may be unread (an early refusal, or Expect: 100-continue never answered):
        # don't let its bytes be taken for the next request on this connection.
        resp.headers["Connection"] = "close"
    return resp


# -- Tencent COS: the same operations, addressed by Host and signed with q-sign-algorithm=sha1 ---------

_COS_HOST = re.compile(
    r"^(?P<bucket>[a-z0-9][a-z0-9.-]*[a-z0-9])\.cos\.(?P<region>[a-z0-9-]+)\.myqcloud\.com(?::\d+)?$")
COS_MAX_SKEW = 15 * 60


def _cos_secret(ctx: Context, access_key: str, token: str | None) -> apps.KeyInfo:
    """The key pair a COS request is signed with: a temporary pair issued by ApplyUpload (when
    ``services.cos_upload`` knows it), else a permanent API key of the app."""
    temp = cos_upload.lookup_temp_key(ctx, access_key, token)
    return temp if temp is not None else _lookup_secret(ctx, access_key)


def _cos_authenticate(ctx: Context, request: Request) -> Auth:
    header = request.headers.get("authorization", "")
    fields: dict[str, str] = {}
    for piece in header.split("&"):
        k, _, v = piece.partition("=")
        fields[k.strip()] = v.strip()
    need = ("q-ak", "q-sign-time", "q-key-time", "q-header-list", "q-url-param-list", "q-signature")
    if fields.get("q-sign-algorithm") != "sha1" or any(n not in fields for n in need):
        raise S3Error(403, "AccessDenied", "The request must carry a q-sign-algorithm=sha1 Authorization header.")
    try:
        start, end = (int(x) for x in fields["q-sign-time"].split(";"))
    except ValueError as exc:
        raise S3Error(403, "AccessDenied", "q-sign-time is malformed.") from exc
    now = time.time()
    if now > end or now < start - COS_MAX_SKEW:
        raise S3Error(403, "RequestTimeTooSkewed", "The request's q-sign-time does not include the current time.")
    info = _cos_secret(ctx, fields["q-ak"], request.headers.get("x-cos-security-token"))

    def enc(v: str) -> str:
        return quote(v.encode("utf-8"), safe="-_.~")

    headers = []
    for name in filter(None, fields["q-header-list"].split(";")):
        value = request.headers.get(name, "")
        if name == "host":
            value = value.rsplit(":", 1)[0] if re.search(r":\d+$", value) else value
        headers.append((name, enc(value)))
    lowered = {k.lower(): v for k, v in request.query_params.multi_items()}
    params = [(name, enc(lowered.get(name, ""))) for name in filter(None, fields["q-url-param-list"].split(";"))]
    fmt = "\n".join([request.method.lower(), request.url.path,
                     "&".join(f"{k}={v}" for k, v in sorted(params)),
                     "&".join(f"{k}={v}" for k, v in sorted(headers)), ""])
    sts = f"sha1\n{fields['q-sign-time']}\n{hashlib.sha1(fmt.encode('utf-8'), usedforsecurity=False).hexdigest()}\n"
    sign_key = hmac.new(info.secret_key.encode(), fields["q-key-time"].encode(), hashlib.sha1).hexdigest()
    want = hmac.new(sign_key.encode(), sts.encode(), hashlib.sha1).hexdigest()
    if not sigv4.signatures_equal(want, fields["q-signature"]):
        raise S3Error(403, "SignatureDoesNotMatch", "The request signature we calculated does not match the "
                      "signature you provided.")
    return Auth(info.app_id, info.secret_key, "", "", "", fields["q-signature"], "UNSIGNED-PAYLOAD")


class CosGateway:
    """ASGI wrapper: requests whose Host is ``{bucket}.cos.{region}.myqcloud.com`` (what
    cos-python-sdk-v5 sends in IP mode) are COS object requests on the bucket; the rest pass on."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            m = _COS_HOST.match(Headers(scope=scope).get("host", "").lower())
            if m is not None:
                request = Request(scope, receive)
                response = await _handle(request, _cos_authenticate, m["bucket"], scope["path"].lstrip("/"))
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)



_METHODS = ["GET", "HEAD", "PUT", "POST", "DELETE"]
router.add_api_route("", handle, methods=_METHODS)
router.add_api_route("/{rest:path}", handle, methods=_METHODS)
