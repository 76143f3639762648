"""The tus 1.0.0 resumable upload server at ``/v1/uploads``.

Extensions: creation, creation-with-upload, creation-defer-length, expiration, checksum
(sha1, md5), termination. Authorisation at creation: app key (HTTP Basic) or a client upload
signature (``X-VOD-Signature`` header or the ``signature`` metadata key). The upload URL is then
the capability for the rest of that upload.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
from collections.abc import AsyncIterator, Iterator
from email.utils import format_datetime

import anyio
import anyio.from_thread
from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from starlette.requests import ClientDisconnect

from openvod.api.deps import Ctx, basic_credentials
from openvod.domain.times import iso
from openvod.errors import AuthFailure, InvalidParameter
from openvod.services import apps, uploads
from openvod.services.uploads import UploadInfo

__all__ = ["router"]

router = APIRouter(prefix="/v1/uploads", tags=["uploads"])

TUS_VERSION = "1.0.0"
EXTENSIONS = "creation,creation-with-upload,creation-defer-length,expiration,checksum,termination"
OFFSET_TYPE = "application/offset+octet-stream"
BLOCK = 1 << 20  # bytes handed to the storage thread at a time
QUEUED = 4  # blocks read ahead of the storage thread


def _base_headers(**extra: str) -> dict[str, str]:
    return {"Tus-Resumable": TUS_VERSION, "Cache-Control": "no-store", **extra}


def _check_version(request: Request) -> None:
    got = request.headers.get("tus-resumable")
    if got != TUS_VERSION:
        raise _TusError(412, "InvalidParameter.TusVersion", f"Tus-Resumable must be {TUS_VERSION}, got {got!r}")


class _TusError(InvalidParameter):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message, code=code)
        self.status = status


def parse_metadata(header: str | None) -> dict[str, str]:
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
        except (binascii.Error, UnicodeDecodeError) as exc:
            raise InvalidParameter(f"Upload-Metadata value of {key!r} is not base64 UTF-8",
                                   code="InvalidParameter.Metadata") from exc
    return meta


def _int_header(request: Request, name: str) -> int | None:
    raw = request.headers.get(name)
    if raw is None:
        return None
    if not raw.isdigit():
        raise InvalidParameter(f"{name} must be a non-negative integer, got {raw!r}",
                               code=f"InvalidParameter.{name.replace('-', '')}")
    return int(raw)


def _location(request: Request, ctx: Ctx, upload_id: str) -> str:
    base = ctx.settings.public_url or str(request.base_url).rstrip("/")
    return f"{base}/v1/uploads/{upload_id}"


def _state_headers(info: UploadInfo) -> dict[str, str]:
    h = _base_headers(**{"Upload-Offset": str(info.offset),
                         "Upload-Expires": format_datetime(info.expires_at, usegmt=True)})
    if info.length is None:
        h["Upload-Defer-Length"] = "1"
    else:
        h["Upload-Length"] = str(info.length)
    if info.file_id:
        h["OpenVOD-File-Id"] = info.file_id
    return h


async def _body_blocks(request: Request) -> AsyncIterator[bytes]:
    buf = bytearray()
    try:
        async for piece in request.stream():
            buf += piece
            if len(buf) >= BLOCK:
                yield bytes(buf)
                buf.clear()
    except ClientDisconnect:
        pass  # tus: keep what arrived; the client resumes from the offset HEAD reports
    if buf:
        yield bytes(buf)


def _bridge(queue: asyncio.Queue[bytes | None]) -> Iterator[bytes]:
    """Pull body blocks from inside the storage worker thread."""
    while (block := anyio.from_thread.run(queue.get)) is not None:
        yield block


async def _append(request: Request, ctx: Ctx, upload_id: str, offset: int, length: int | None) -> UploadInfo:
    checksum_header = request.headers.get("upload-checksum")
    checksum = uploads.decode_checksum(checksum_header) if checksum_header else None
    # Receiving and storing overlap: the event loop reads ahead up to QUEUED blocks while the
    # worker thread hashes and writes, so the socket is never paused for the disk.
    queue: asyncio.Queue[bytes | None] = asyncio.Queue(maxsize=QUEUED)

    async def produce() -> None:
        try:
            async for block in _body_blocks(request):
                await queue.put(block)
        finally:
            await queue.put(None)

    producer = asyncio.create_task(produce())
    try:
        return await anyio.to_thread.run_sync(
            lambda: uploads.append(ctx, upload_id, offset=offset, chunks=_bridge(queue), length=length,
                                   checksum=checksum)
        )
    finally:
        producer.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await producer


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
    length = _int_header(request, "Upload-Length")
    if length is None and request.headers.get("upload-defer-length") != "1":
        raise InvalidParameter("Upload-Length or Upload-Defer-Length: 1 is required",
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
        info = await _append(request, ctx, info.id, 0, None)
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
    offset = _int_header(request, "Upload-Offset")
    if offset is None:
        raise InvalidParameter("Upload-Offset is required", code="InvalidParameter.UploadOffset")
    info = await _append(request, ctx, upload_id, offset, _int_header(request, "Upload-Length"))
    headers = _state_headers(info)
    return Response(status_code=204, headers=headers)


@router.delete("/{upload_id}", status_code=204, summary="Terminate an upload (tus)")
async def terminate(upload_id: str, request: Request, ctx: Ctx) -> Response:
    _check_version(request)
    await anyio.to_thread.run_sync(uploads.terminate, ctx, upload_id)
    return Response(status_code=204, headers=_base_headers())


@router.get("/{upload_id}", summary="Upload state as JSON")
async def get(upload_id: str, ctx: Ctx) -> JSONResponse:
    info = await anyio.to_thread.run_sync(uploads.get_upload, ctx, upload_id)
    return JSONResponse({
        "id": info.id, "offset": info.offset, "length": info.length, "state": info.state,
        "file_id": info.file_id, "expires_at": iso(info.expires_at),
    })
