"""Routing an S3 request to its operation, and errors to S3 ``<Error>`` replies; the ``/s3`` router."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Callable
from typing import Any, TypeVar
from urllib.parse import unquote

import anyio
from fastapi import APIRouter, Request
from fastapi.responses import Response

from openvod.api.compat.s3.auth import Authenticator, authenticate
from openvod.api.compat.s3.bodies import small_body, store
from openvod.api.compat.s3.buckets import (
    create_bucket,
    delete_bucket,
    list_buckets,
    list_objects,
    phys,
    require_bucket,
)
from openvod.api.compat.s3.common import XMLNS, S3Error, el, error_response, part_number, xml_response
from openvod.api.compat.s3.multipart import (
    complete_multipart,
    create_multipart,
    drop_upload,
    list_parts,
    mp_keys,
    upload_row,
)
from openvod.api.compat.s3.objects import copy_object, copy_part, delete_object, get_object
from openvod.errors import OpenVODError
from openvod.runtime import Context
from openvod.services.objects import register_object

__all__ = ["handle", "router", "serve"]

_T = TypeVar("_T")

PREFIX = "/s3"

router = APIRouter(prefix=PREFIX, include_in_schema=False)


def _split(request: Request) -> tuple[str, str]:
    path = request.url.path
    rest = path[len(PREFIX):] if path.startswith(PREFIX) else path
    rest = rest.lstrip("/")
    bucket, _, key = rest.partition("/")
    return unquote(bucket), key  # request.url.path is already percent-decoded by the server


async def _run(fn: Callable[..., _T], *args: Any) -> _T:
    return await anyio.to_thread.run_sync(lambda: fn(*args))


async def _dispatch(request: Request, authenticate: Authenticator, bucket: str, key: str) -> Response:
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
            await small_body(request, auth)
            return await _run(create_bucket, ctx, app_id, bucket)
        if m == "HEAD":
            await _run(require_bucket, ctx, app_id, bucket)
            return Response(status_code=200)
        if m == "DELETE":
            return await _run(delete_bucket, ctx, app_id, bucket)
        if m == "GET":
            if "location" in params:
                await _run(require_bucket, ctx, app_id, bucket)
                root = ET.Element("LocationConstraint", xmlns=XMLNS)
                return xml_response(root)
            if "uploads" in params:
                await _run(require_bucket, ctx, app_id, bucket)
                root = ET.Element("ListMultipartUploadsResult", xmlns=XMLNS)
                el(root, "Bucket", bucket)
                el(root, "IsTruncated", "false")
                return xml_response(root)
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
            phys(app_id, bucket, key)
            await _run(upload_row, ctx, app_id, bucket, key, upload_id)
            await _run(drop_upload, ctx, app_id, bucket, upload_id)
            return Response(status_code=204)
        return await _run(delete_object, ctx, app_id, bucket, key)
    if m == "POST":
        if "uploads" in params:
            return await _run(create_multipart, ctx, app_id, bucket, key, content_type)
        if upload_id is not None:
            body = await small_body(request, auth)
            return await _run(complete_multipart, ctx, app_id, bucket, key, upload_id, body)
        raise S3Error(400, "InvalidRequest", "Unsupported POST on an object.")
    if m == "PUT":
        copying = bool(request.headers.get("x-amz-copy-source"))
        if copying:
            await small_body(request, auth)  # a copy has no body; reading it keeps the connection usable
            if upload_id is None:
                return await _run(copy_object, ctx, request, app_id, bucket, key)
        pb, pk = phys(app_id, bucket, key)
        await _run(require_bucket, ctx, app_id, bucket)
        if upload_id is not None:
            n = part_number(params.get("partNumber", ""))
            if copying:
                return await _run(copy_part, ctx, request, app_id, bucket, key, upload_id, n)
            await _run(upload_row, ctx, app_id, bucket, key, upload_id)
            _, part_prefix = mp_keys(app_id, upload_id)
            stat = await store(ctx, request, auth, pb, f"{part_prefix}{n:05d}", "application/octet-stream")
            await anyio.to_thread.run_sync(lambda: register_object(ctx, app_id, stat, role="s3-part",
                                                                   info={"upload_id": upload_id, "part": n}))
            return Response(status_code=200, headers={"ETag": f'"{stat.etag}"'})
        stat = await store(ctx, request, auth, pb, pk, content_type)
        await anyio.to_thread.run_sync(lambda: register_object(ctx, app_id, stat, role="upload"))
        return Response(status_code=200, headers={"ETag": f'"{stat.etag}"'})
    raise S3Error(405, "MethodNotAllowed", "The specified method is not allowed against this resource.")


_STATUS_CODES = {400: "InvalidArgument", 401: "AccessDenied", 403: "AccessDenied", 404: "NoSuchKey",
                 409: "OperationAborted", 413: "EntityTooLarge", 503: "ServiceUnavailable",
                 507: "InsufficientStorage"}


async def handle(request: Request) -> Response:
    """The ``/s3`` route: path-style ``/s3/{bucket}/{key}``, signed with SigV4."""
    return await serve(request, authenticate, *_split(request))


async def serve(request: Request, authenticate: Authenticator, bucket: str, key: str) -> Response:
    """Run the S3 operation ``request`` asks for on (bucket, key) once ``authenticate`` accepts it;
    every failure becomes an S3 ``<Error>`` reply (native errors mapped by status)."""
    resource = request.url.path
    try:
        return await _dispatch(request, authenticate, bucket, key)
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
