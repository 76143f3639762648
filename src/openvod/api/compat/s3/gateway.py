"""Routing an S3 request to its operation, and errors to S3 ``<Error>`` replies; the ``/s3`` router.

An operation is found by (method, what the path names: the service, a bucket or an object, the
routing sub-resources in the query) in :data:`ROUTES`. A query naming a sub-resource S3 defines
and the gateway does not implement (:data:`UNIMPLEMENTED`: ``?acl``, ``?tagging``,
``?versioning``...), a ``versionId`` other than ``null``, or a header asking for what is not kept
(``metadata.refuse_unsupported``) is refused with 501 NotImplemented: a request is never served as
another operation on the same path (``PUT ?tagging`` is not a PutObject).
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar
from urllib.parse import unquote

import anyio
from fastapi import APIRouter, Request
from fastapi.responses import Response

from openvod.api.compat.s3 import listing
from openvod.api.compat.s3.auth import Auth, Authenticator, authenticate
from openvod.api.compat.s3.bodies import check_integrity, small_body, store
from openvod.api.compat.s3.buckets import (
    bucket_location,
    create_bucket,
    delete_bucket,
    head_bucket,
    phys,
    require_bucket,
)
from openvod.api.compat.s3.common import MIN_PART_SIZE, S3Error, error_response, not_implemented, part_number
from openvod.api.compat.s3.metadata import Metadata, refuse_unsupported
from openvod.api.compat.s3.multipart import (
    abort_multipart,
    complete_multipart,
    create_multipart,
    list_parts,
    list_uploads,
    mp_keys,
    upload_row,
)
from openvod.api.compat.s3.objects import (
    check_put,
    copy_object,
    copy_part,
    delete_object,
    delete_objects,
    register_put,
)
from openvod.api.compat.s3.reading import get_object
from openvod.errors import OpenVODError
from openvod.runtime import Context
from openvod.services.objects import register_object

__all__ = ["ROUTES", "UNIMPLEMENTED", "handle", "router", "serve"]

_T = TypeVar("_T")

PREFIX = "/s3"

router = APIRouter(prefix=PREFIX, include_in_schema=False)

# Sub-resources of S3's API (the query keys that name an operation) the gateway does not implement.
UNIMPLEMENTED = frozenset({
    "abac", "accelerate", "acl", "analytics", "annotation", "attributes", "cors", "encryption",
    "intelligent-tiering", "inventory", "legal-hold", "lifecycle", "logging", "metadataAnnotationTable",
    "metadataConfiguration", "metadataInventoryTable", "metadataJournalTable", "metadataTable", "metrics",
    "notification", "object-lock", "ownershipControls", "policy", "policyStatus", "publicAccessBlock",
    "renameObject", "replication", "requestPayment", "restore", "retention", "select", "select-type", "session",
    "tagging", "torrent", "versioning", "versions", "website",
})
# The sub-resources that choose among the operations the gateway implements.
_ROUTING = frozenset({"delete", "location", "uploadId", "uploads"})


@dataclasses.dataclass(frozen=True)
class Call:
    """One authenticated request, as the operations take it."""

    ctx: Context
    request: Request
    auth: Auth
    bucket: str
    key: str
    params: dict[str, str]
    min_part_size: int

    @property
    def app_id(self) -> str:
        return self.auth.app_id


Handler = Callable[[Call], Awaitable[Response]]


async def _run(fn: Callable[..., _T], *args: Any, **kwargs: Any) -> _T:
    return await anyio.to_thread.run_sync(functools.partial(fn, *args, **kwargs))


# -- operations ------------------------------------------------------------------------------------

async def _list_buckets(c: Call) -> Response:
    return await _run(listing.list_buckets, c.ctx, c.app_id, c.params)


async def _create_bucket(c: Call) -> Response:
    await small_body(c.request, c.auth)  # CreateBucketConfiguration: the gateway has one location
    return await _run(create_bucket, c.ctx, c.app_id, c.bucket)


async def _head_bucket(c: Call) -> Response:
    return await _run(head_bucket, c.ctx, c.app_id, c.bucket)


async def _delete_bucket(c: Call) -> Response:
    return await _run(delete_bucket, c.ctx, c.app_id, c.bucket)


async def _list_objects(c: Call) -> Response:
    return await _run(listing.list_objects, c.ctx, c.app_id, c.bucket, c.params)


async def _location(c: Call) -> Response:
    return await _run(bucket_location, c.ctx, c.app_id, c.bucket)


async def _list_uploads(c: Call) -> Response:
    return await _run(list_uploads, c.ctx, c.app_id, c.bucket, c.params)


async def _delete_objects(c: Call) -> Response:
    body = await small_body(c.request, c.auth)
    check_integrity(c.request.headers, body, required=True)
    return await _run(delete_objects, c.ctx, c.app_id, c.bucket, body)


async def _post_object(c: Call) -> Response:
    raise not_implemented("POST Object (browser-based uploads with a POST policy)")


async def _get_object(c: Call) -> Response:
    return await _run(get_object, c.ctx, c.request, c.app_id, c.bucket, c.key, c.params)


async def _put_object(c: Call) -> Response:
    if "partNumber" in c.params:
        raise S3Error(400, "InvalidRequest", "partNumber is for the parts of a multipart upload: give its uploadId.")
    if c.request.headers.get("x-amz-copy-source"):
        await small_body(c.request, c.auth)  # a copy has no body; reading it keeps the connection usable
        return await _run(copy_object, c.ctx, c.request, c.app_id, c.bucket, c.key)
    meta = Metadata.of_request(c.request.headers)
    pb, pk = await _run(check_put, c.ctx, c.request.headers, c.app_id, c.bucket, c.key)
    stat = await store(c.ctx, c.request, c.auth, pb, pk, meta.row_type)
    await _run(register_put, c.ctx, c.app_id, stat, meta)
    return Response(status_code=200, headers={"ETag": f'"{stat.etag}"'})


async def _upload_part(c: Call) -> Response:
    upload_id = c.params["uploadId"]
    n = part_number(c.params.get("partNumber", ""))
    if c.request.headers.get("x-amz-copy-source"):
        await small_body(c.request, c.auth)
        return await _run(copy_part, c.ctx, c.request, c.app_id, c.bucket, c.key, upload_id, n)
    pb, _pk = phys(c.app_id, c.bucket, c.key)
    await _run(require_bucket, c.ctx, c.app_id, c.bucket)
    await _run(upload_row, c.ctx, c.app_id, c.bucket, c.key, upload_id)
    _, part_prefix = mp_keys(c.app_id, upload_id)
    stat = await store(c.ctx, c.request, c.auth, pb, f"{part_prefix}{n:05d}", "application/octet-stream")
    await _run(register_object, c.ctx, c.app_id, stat, role="s3-part", info={"upload_id": upload_id, "part": n})
    return Response(status_code=200, headers={"ETag": f'"{stat.etag}"'})


async def _create_multipart(c: Call) -> Response:
    meta = Metadata.of_request(c.request.headers)
    return await _run(create_multipart, c.ctx, c.app_id, c.bucket, c.key, meta)


async def _complete_multipart(c: Call) -> Response:
    body = await small_body(c.request, c.auth)
    return await _run(complete_multipart, c.ctx, c.request.headers, c.app_id, c.bucket, c.key, c.params["uploadId"],
                      body, min_part_size=c.min_part_size)


async def _abort_multipart(c: Call) -> Response:
    return await _run(abort_multipart, c.ctx, c.app_id, c.bucket, c.key, c.params["uploadId"])


async def _list_parts(c: Call) -> Response:
    return await _run(list_parts, c.ctx, c.app_id, c.bucket, c.key, c.params["uploadId"], c.params)


async def _delete_object(c: Call) -> Response:
    return await _run(delete_object, c.ctx, c.app_id, c.bucket, c.key)


_NONE: frozenset[str] = frozenset()
# (method, what the path names, routing sub-resources in the query) -> the operation.
ROUTES: dict[tuple[str, str, frozenset[str]], Handler] = {
    ("GET", "service", _NONE): _list_buckets,
    ("PUT", "bucket", _NONE): _create_bucket,
    ("HEAD", "bucket", _NONE): _head_bucket,
    ("DELETE", "bucket", _NONE): _delete_bucket,
    ("GET", "bucket", _NONE): _list_objects,
    ("GET", "bucket", frozenset({"location"})): _location,
    ("GET", "bucket", frozenset({"uploads"})): _list_uploads,
    ("POST", "bucket", frozenset({"delete"})): _delete_objects,
    ("POST", "bucket", _NONE): _post_object,
    ("GET", "object", _NONE): _get_object,
    ("HEAD", "object", _NONE): _get_object,
    ("PUT", "object", _NONE): _put_object,
    ("DELETE", "object", _NONE): _delete_object,
    ("POST", "object", frozenset({"uploads"})): _create_multipart,
    ("PUT", "object", frozenset({"uploadId"})): _upload_part,
    ("POST", "object", frozenset({"uploadId"})): _complete_multipart,
    ("DELETE", "object", frozenset({"uploadId"})): _abort_multipart,
    ("GET", "object", frozenset({"uploadId"})): _list_parts,
}


def route(method: str, bucket: str, key: str, params: dict[str, str]) -> Handler:
    """The operation of a request; S3Error 501 for what the gateway does not implement, 405 for
    what S3 has no operation for."""
    refused = sorted(k for k in params if k in UNIMPLEMENTED)
    if refused:
        raise not_implemented(f"the ?{refused[0]} sub-resource")
    version = params.get("versionId")
    if version is not None and version != "null":
        raise not_implemented("a versionId (object versions are not kept)")
    level = "object" if key else "bucket" if bucket else "service"
    handler = ROUTES.get((method, level, frozenset(k for k in params if k in _ROUTING)))
    if handler is None:
        raise S3Error(405, "MethodNotAllowed", "The specified method is not allowed against this resource.")
    return handler


def _split(request: Request) -> tuple[str, str]:
    path = request.url.path
    rest = path[len(PREFIX):] if path.startswith(PREFIX) else path
    rest = rest.lstrip("/")
    bucket, _, key = rest.partition("/")
    return unquote(bucket), key  # request.url.path is already percent-decoded by the server


def _check_owner(request: Request, app_id: str) -> None:
    for header in ("x-amz-expected-bucket-owner", "x-amz-source-expected-bucket-owner"):
        expected = request.headers.get(header)
        if expected is not None and expected != app_id:
            raise S3Error(403, "AccessDenied", f"{header} does not name the bucket's owner.")


async def _dispatch(request: Request, authenticate: Authenticator, bucket: str, key: str,
                    min_part_size: int) -> Response:
    ctx: Context = request.app.state.ctx
    auth = await anyio.to_thread.run_sync(authenticate, ctx, request)
    params = dict(request.query_params)
    handler = route(request.method, bucket, key, params)
    refuse_unsupported(request.headers)
    _check_owner(request, auth.app_id)
    return await handler(Call(ctx, request, auth, bucket, key, params, min_part_size))


_STATUS_CODES = {400: "InvalidArgument", 401: "AccessDenied", 403: "AccessDenied", 404: "NoSuchKey",
                 409: "OperationAborted", 412: "PreconditionFailed", 413: "EntityTooLarge", 416: "InvalidRange",
                 429: "SlowDown", 501: "NotImplemented", 503: "ServiceUnavailable", 507: "InsufficientStorage"}


async def handle(request: Request) -> Response:
    """The ``/s3`` route: path-style ``/s3/{bucket}/{key}``, signed with SigV4."""
    return await serve(request, authenticate, *_split(request))


async def serve(request: Request, authenticate: Authenticator, bucket: str, key: str, *,
                min_part_size: int = MIN_PART_SIZE) -> Response:
    """Run the S3 operation ``request`` asks for on (bucket, key) once ``authenticate`` accepts it;
    every failure becomes an S3 ``<Error>`` reply (native errors mapped by status).
    ``min_part_size``: the smallest multipart part but the last (S3 5 MiB, COS 1 MiB)."""
    resource = request.url.path
    try:
        return await _dispatch(request, authenticate, bucket, key, min_part_size)
    except S3Error as exc:
        resp = error_response(exc, resource, request.method)
    except OpenVODError as exc:
        code = _STATUS_CODES.get(exc.status, "InternalError")
        status = exc.status if exc.status in _STATUS_CODES else 500
        resp = error_response(S3Error(status, code, str(exc)), resource, request.method)
    if request.method in ("PUT", "POST"):
        # The body may be unread (an early refusal, or Expect: 100-continue never answered):
        # don't let its bytes be taken for the next request on this connection.
        resp.headers["Connection"] = "close"
    return resp


_METHODS = ["GET", "HEAD", "PUT", "POST", "DELETE"]
router.add_api_route("", handle, methods=_METHODS)
router.add_api_route("/{rest:path}", handle, methods=_METHODS)
