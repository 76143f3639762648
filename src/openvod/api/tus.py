"""The tus 1.0.0 resumable upload server at ``/v1/uploads``.

Extensions: creation, creation-with-upload, creation-defer-length, expiration, checksum
(sha1, md5), termination. Authorisation at creation: app key (HTTP Basic) or a client upload
signature (``X-VOD-Signature`` header or the ``signature`` metadata key). The upload URL is then
the capability for the rest of that upload.

A PATCH ends cleanly whatever happens: a body longer than what the upload has left is refused
with 413 from its ``Content-Length`` before a byte is read, or as soon as the stream passes it;
a storage failure stops the reader at once (its queued blocks are dropped); and when the server
shuts down, the request stops reading, keeps what was written and ends with the server. The
header parsers (``parse_*``) take the raw header text and raise only ``InvalidParameter``.

``GET`` on the upload URL (no tus extension; tusd's download) serves a finished upload's bytes.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import re
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import anyio
import anyio.from_thread
from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from starlette.requests import ClientDisconnect

from openvod.api.deps import Ctx, basic_credentials
from openvod.api.errors import error_response
from openvod.api.serving import object_response
from openvod.domain.numbers import parse_uint
from openvod.domain.times import http_date, iso_s
from openvod.domain.views.uploads import UploadResult, UploadView
from openvod.errors import AuthFailure, InvalidParameter, OpenVODError
from openvod.services import apps, upload_results, uploads

__all__ = [
    "check_version",
    "parse_checksum",
    "parse_defer_length",
    "parse_length",
    "format_metadata",
    "parse_metadata",
    "parse_offset",
    "router",
    "state_json",
    "wants_json",
]

router = APIRouter(prefix="/v1/uploads", tags=["uploads"])

TUS_VERSION = "1.0.0"
EXTENSIONS = "creation,creation-with-upload,creation-defer-length,expiration,checksum,termination"
OFFSET_TYPE = "application/offset+octet-stream"
BLOCK = 1 << 20  # bytes handed to the storage thread at a time
QUEUED = 4  # blocks read ahead of the storage thread


def _base_headers(**extra: str) -> dict[str, str]:
    return {"Tus-Resumable": TUS_VERSION, "Cache-Control": "no-store", **extra}


def check_version(got: str | None) -> None:
    """``Tus-Resumable`` must name the one version served."""
    if got != TUS_VERSION:
        shown = got if got is None or len(got) <= 40 else got[:40] + "…"
        raise _TusError(412, "InvalidParameter.TusVersion", f"Tus-Resumable must be {TUS_VERSION}, got {shown!r}")


def _check_version(request: Request) -> None:
    check_version(request.headers.get("tus-resumable"))


class _TusError(InvalidParameter):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message, code=code)
        self.status = status


def parse_metadata(header: str | None) -> dict[str, str]:
    """``Upload-Metadata: key base64,key2 base64`` as a dict of UTF-8 strings."""
    meta: dict[str, str] = {}
    if not header:
        return meta
    for pair in header.split(","):
        pair = pair.strip()
        if not pair:
            continue
        key, _, value = pair.partition(" ")
        try:
            meta[key] = base64.b64decode(value.strip(), validate=True).decode("utf-8") if value else ""
        except (ValueError, UnicodeDecodeError) as exc:  # binascii.Error, or non-ASCII text
            raise InvalidParameter(f"Upload-Metadata value of {key[:40]!r} is not base64 UTF-8",
                                   code="InvalidParameter.Metadata") from exc
    return meta


def parse_length(raw: str) -> int:
    """``Upload-Length``: ASCII digits, at most 19 of them."""
    return parse_uint(raw, "Upload-Length", code="InvalidParameter.UploadLength")


def parse_offset(raw: str) -> int:
    """``Upload-Offset``: ASCII digits, at most 19 of them."""
    return parse_uint(raw, "Upload-Offset", code="InvalidParameter.UploadOffset")


def parse_defer_length(raw: str | None) -> bool:
    """``Upload-Defer-Length``: absent, or exactly ``1``."""
    if raw is None:
        return False
    if raw != "1":
        raise InvalidParameter(f"Upload-Defer-Length must be 1, got {raw[:40]!r}",
                               code="InvalidParameter.UploadDeferLength")
    return True


def parse_checksum(raw: str) -> tuple[str, bytes]:
    """``Upload-Checksum: <algorithm> <base64 digest>``."""
    return uploads.decode_checksum(raw)


def _optional(request: Request, name: str, parse: Callable[[str], int]) -> int | None:
    raw = request.headers.get(name)
    return None if raw is None else parse(raw)


def _check_content_length(request: Request, limit: int | None) -> None:
    raw = request.headers.get("content-length")
    if raw is None or limit is None:
        return
    size = parse_uint(raw, "Content-Length", code="InvalidParameter.ContentLength")
    if size > limit:
        raise uploads.too_long(limit)


def _location(request: Request, ctx: Ctx, upload_id: str) -> str:
    base = ctx.settings.public_url or str(request.base_url).rstrip("/")
    return f"{base}/v1/uploads/{upload_id}"


def format_metadata(metadata: dict[str, str]) -> str:
    """``Upload-Metadata`` as tus writes it: ``key base64(value)`` pairs (a bare key for "")."""
    return ",".join(f"{k} {base64.b64encode(v.encode()).decode()}" if v else k for k, v in metadata.items())


def _state_headers(info: UploadView) -> dict[str, str]:
    h = _base_headers(**{"Upload-Offset": str(info.offset),
                         "Upload-Expires": http_date(info.expires_at)})
    if info.metadata:  # as created, less the upload signature (a credential, never echoed)
        h["Upload-Metadata"] = format_metadata(info.metadata)
    if info.length is None:
        h["Upload-Defer-Length"] = "1"
    else:
        h["Upload-Length"] = str(info.length)
    if info.file_id:
        h["OpenVOD-File-Id"] = info.file_id
    return h


async def _body_blocks(request: Request, limit: int | None) -> AsyncIterator[bytes]:
    buf = bytearray()
    received = 0
    try:
        async for piece in request.stream():
            received += len(piece)
            if limit is not None and received > limit:
                raise uploads.too_long(limit)  # stop reading now, not at the end of the body
            buf += piece
            while len(buf) >= BLOCK:  # whole blocks, however the server framed the body
                yield bytes(buf[:BLOCK])
                del buf[:BLOCK]
    except ClientDisconnect:
        pass  # tus: keep what arrived; the client resumes from the offset HEAD reports
    if buf:
        yield bytes(buf)


# What the reader hands the storage thread: a block, the end of the body (None: store what
# arrived), or an error that must undo the PATCH.
_Item = bytes | OpenVODError | None


def _bridge(queue: asyncio.Queue[_Item]) -> Iterator[bytes]:
    """Pull body blocks from inside the storage worker thread."""
    while (item := anyio.from_thread.run(queue.get)) is not None:
        if isinstance(item, OpenVODError):
            raise item
        yield item


def _finish(queue: asyncio.Queue[_Item], last: _Item) -> None:
    """End the stream now, without waiting for room: drop the blocks not yet taken (the storage
    thread stores a prefix of the body, never a body with a hole) and queue ``last``."""
    while not queue.empty():
        queue.get_nowait()
    queue.put_nowait(last)


async def _append(request: Request, ctx: Ctx, upload_id: str, offset: int, length: int | None,
                  limit: int | None) -> UploadView:
    checksum_header = request.headers.get("upload-checksum")
    checksum = parse_checksum(checksum_header) if checksum_header is not None else None
    # Receiving and storing overlap: the event loop reads ahead up to QUEUED blocks while the
    # worker thread hashes and writes, so the socket is never paused for the disk.
    queue: asyncio.Queue[_Item] = asyncio.Queue(maxsize=QUEUED)

    async def produce() -> None:
        try:
            async for block in _body_blocks(request, limit):
                await queue.put(block)
            await queue.put(None)
        except OpenVODError as exc:
            _finish(queue, exc)
        except asyncio.CancelledError:
            _finish(queue, None)  # the storage thread is done or the server is stopping
            raise

    producer = asyncio.create_task(produce())
    storing = asyncio.ensure_future(anyio.to_thread.run_sync(
        lambda: uploads.append(ctx, upload_id, offset=offset, chunks=_bridge(queue), length=length,
                               checksum=checksum)
    ))
    try:
        # Shielded so that a cancelled request (graceful shutdown past shutdown_timeout) first
        # stops the reader and lets the storage thread commit what it has, then ends.
        return await asyncio.shield(storing)
    except asyncio.CancelledError:
        producer.cancel()
        with contextlib.suppress(BaseException):
            await storing
        raise
    finally:
        producer.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await producer


def _refuse(exc: OpenVODError, **extra: str) -> Response:
    """The error reply of a request whose body may be unread: the connection can't carry another
    request, so it is closed rather than drained."""
    headers = {"Tus-Resumable": TUS_VERSION, "Connection": "close", **extra}
    return error_response(exc.status, exc.code, exc.message, headers)


@router.options("", include_in_schema=False)
@router.options("/{upload_id}", include_in_schema=False)
async def options(ctx: Ctx) -> Response:
    return Response(status_code=204, headers=_base_headers(**{
        "Tus-Version": TUS_VERSION,
        "Tus-Extension": EXTENSIONS,
        "Tus-Max-Size": str(ctx.settings.upload_max_size),
        "Tus-Checksum-Algorithm": ",".join(uploads.CHECKSUM_ALGOS),
    }))


@router.post("", status_code=201, summary="Create an upload (tus creation)")
async def create(request: Request, ctx: Ctx) -> Response:
    _check_version(request)
    metadata = parse_metadata(request.headers.get("upload-metadata"))
    length = _optional(request, "upload-length", parse_length)
    deferred = parse_defer_length(request.headers.get("upload-defer-length"))
    if length is None and not deferred:
        raise InvalidParameter("Upload-Length or Upload-Defer-Length: 1 is required",
                               code="InvalidParameter.UploadLength")
    if length is not None and deferred:
        raise InvalidParameter("send Upload-Length or Upload-Defer-Length: 1, not both",
                               code="InvalidParameter.UploadLength")
    signature = request.headers.get("x-vod-signature") or metadata.pop("signature", None)
    creds = basic_credentials(request)
    grant = None
    if creds is not None:
        key = await anyio.to_thread.run_sync(apps.authenticate, ctx.db, *creds)
        app_id = key.app_id
    elif signature:
        grant = await anyio.to_thread.run_sync(uploads.authorize_signature, ctx, signature)
        app_id = grant.app_id
    else:
        raise AuthFailure("an upload needs an app key (HTTP Basic) or an upload signature (X-VOD-Signature)",
                          code="AuthFailure.MissingCredentials")
    info = await anyio.to_thread.run_sync(
        lambda: uploads.create_upload(ctx, app_id=app_id, length=length, metadata=metadata, grant=grant)
    )
    if request.headers.get("content-type") == OFFSET_TYPE:
        try:
            _check_content_length(request, length)
            info = await _append(request, ctx, info.id, 0, None, length)
        except OpenVODError as exc:
            # The upload exists: its Location lets the client resume from the offset HEAD reports.
            return _refuse(exc, Location=_location(request, ctx, info.id))
    headers = _state_headers(info)
    headers["Location"] = _location(request, ctx, info.id)
    return Response(status_code=201, headers=headers)


@router.head("/{upload_id}", summary="Upload offset (tus)")
async def head(upload_id: str, request: Request, ctx: Ctx) -> Response:
    _check_version(request)
    info = await anyio.to_thread.run_sync(uploads.get_upload, ctx, upload_id)
    return Response(status_code=200, headers=_state_headers(info))


@router.patch("/{upload_id}", summary="Append bytes (tus)")
async def patch(upload_id: str, request: Request, ctx: Ctx) -> Response:
    _check_version(request)
    if request.headers.get("content-type") != OFFSET_TYPE:
        raise _TusError(415, "InvalidParameter.ContentType", f"Content-Type must be {OFFSET_TYPE}")
    offset = _optional(request, "upload-offset", parse_offset)
    if offset is None:
        raise InvalidParameter("Upload-Offset is required", code="InvalidParameter.UploadOffset")
    length = _optional(request, "upload-length", parse_length)
    try:
        limit = await anyio.to_thread.run_sync(
            lambda: uploads.body_limit(ctx, upload_id, offset=offset, length=length))
        _check_content_length(request, limit)
        info = await _append(request, ctx, upload_id, offset, length, limit)
    except OpenVODError as exc:
        return _refuse(exc)
    headers = _state_headers(info)
    return Response(status_code=204, headers=headers)


@router.delete("/{upload_id}", status_code=204, summary="Terminate an upload (tus)")
async def terminate(upload_id: str, request: Request, ctx: Ctx) -> Response:
    _check_version(request)
    await anyio.to_thread.run_sync(uploads.terminate, ctx, upload_id)
    return Response(status_code=204, headers=_base_headers())


@router.post("/{upload_id}", include_in_schema=False)
async def method_override(upload_id: str, request: Request, ctx: Ctx) -> Response:
    """tus: a client behind a proxy that drops PATCH/DELETE sends POST with
    ``X-HTTP-Method-Override``; it is answered as that method."""
    verb = (request.headers.get("x-http-method-override") or "").upper()
    if verb == "PATCH":
        return await patch(upload_id, request, ctx)
    if verb == "DELETE":
        return await terminate(upload_id, request, ctx)
    if verb == "HEAD":
        return await head(upload_id, request, ctx)
    raise _TusError(405, "UnsupportedOperation.Method",
                    "POST to an upload URL needs X-HTTP-Method-Override: PATCH, DELETE or HEAD")


@router.get("/{upload_id}", summary="A finished upload's bytes (Range supported), or its state as JSON")
def get(upload_id: str, request: Request, ctx: Ctx) -> Response:
    """The upload URL's ``GET``, as tusd answers it: the bytes of a finished upload, served as
    every stored object is (``api.serving``: Range, ETag, ``nosniff``, a sandboxed attachment for
    active types), and 409 ``FailedOperation.UploadNotFinished`` before the last byte is in. Like
    HEAD it needs no credentials beyond the URL, nor ``Tus-Resumable``. A request whose ``Accept``
    ranks ``application/json`` above ``*/*`` gets the upload's state as JSON instead."""
    if wants_json(request.headers.get("accept")):
        result = upload_results.upload_result(ctx, upload_id)
        return JSONResponse(state_json(result), headers={"Cache-Control": "no-store", "Vary": "Accept"})
    response = object_response(request, ctx.storage, uploads.finished_object(ctx, upload_id))
    response.headers["Cache-Control"] = "private, no-cache"  # revalidated: the media may be deleted
    response.headers["Vary"] = "Accept"
    return response


def wants_json(accept: str | None) -> bool:
    """Whether ``Accept`` ranks ``application/json`` above ``*/*``: ``application/json`` alone
    does; no header, ``*/*``, a browser's or axios's ``application/json, text/plain, */*`` don't."""
    q = {"application/json": 0.0, "*/*": 0.0}
    for part in (accept or "").split(","):
        kind, _, params = part.partition(";")
        kind = kind.strip().lower()
        if kind in q:
            q[kind] = max(q[kind], _quality(params))
    return q["application/json"] > q["*/*"]


def _quality(params: str) -> float:
    for param in params.split(";"):
        name, _, value = param.partition("=")
        if name.strip().lower() == "q":
            value = value.strip()
            return float(value) if _QVALUE.fullmatch(value) else 0.0  # a malformed weight: not wanted
    return 1.0


_QVALUE = re.compile(r"0(\.[0-9]{0,3})?|1(\.0{0,3})?", re.ASCII)


def state_json(result: UploadResult) -> dict[str, Any]:
    """``GET /v1/uploads/{id}`` with ``Accept: application/json``: the upload's state, and once it
    is done fresh URLs of its media's source and cover (``media_url``, ``cover_url``)."""
    info = result.upload
    return {"id": info.id, "offset": info.offset, "length": info.length, "state": info.state,
            "file_id": info.file_id, "expires_at": iso_s(info.expires_at), "media_url": result.media_url,
            "cover_url": result.cover_url}
