"""``PUT /v1/uploads/{id}/cover``: a cover image for the media a finished upload made.

The upload URL is the capability, as for its HEAD and GET: a browser that uploaded with an upload
signature attaches the cover that went with it (vod-js-sdk-v6's ``coverFile``) without a second
signature. The body is the image, its ``Content-Type`` one of ``domain.covers.COVER_TYPES`` and
its bytes of that type, at most 10 MiB; the answer is the upload's JSON state (as ``GET`` with
``Accept: application/json``) with the new ``cover_url``. Before the last byte of the media:
409 ``FailedOperation.UploadNotFinished``.
"""

from __future__ import annotations

import anyio
from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse

from openvod.api.deps import Ctx
from openvod.api.errors import error_response
from openvod.api.tus import state_json
from openvod.domain.covers import COVER_TYPES, MAX_COVER_BYTES
from openvod.domain.numbers import parse_uint
from openvod.errors import OpenVODError
from openvod.services import upload_results

__all__ = ["router"]

router = APIRouter(prefix="/v1/uploads", tags=["uploads"])


async def _body(request: Request) -> bytes:
    raw = request.headers.get("content-length")
    if raw is not None and parse_uint(raw, "Content-Length", code="InvalidParameter.ContentLength") > MAX_COVER_BYTES:
        raise upload_results.cover_too_large()
    body = bytearray()
    async for piece in request.stream():
        body += piece
        if len(body) > MAX_COVER_BYTES:  # a chunked body: stop reading as soon as it is too long
            raise upload_results.cover_too_large()
    return bytes(body)


_IMAGE_BODY = {"requestBody": {"required": True, "content": {
    kind: {"schema": {"type": "string", "format": "binary"}} for kind in COVER_TYPES}}}


@router.put("/{upload_id}/cover", summary="Attach a cover image to the media of a finished upload",
            openapi_extra=_IMAGE_BODY)
async def put_cover(upload_id: str, request: Request, ctx: Ctx) -> Response:
    try:
        await anyio.to_thread.run_sync(upload_results.check_cover_target, ctx, upload_id)
        data = await _body(request)
    except OpenVODError as exc:  # the body is unread: the connection can't carry another request
        return error_response(exc.status, exc.code, exc.message, {"Connection": "close"})
    content_type = request.headers.get("content-type")
    result = await anyio.to_thread.run_sync(
        lambda: upload_results.attach_cover(ctx, upload_id, data, content_type))
    return JSONResponse(state_json(result), headers={"Cache-Control": "no-store"})
