"""``/v1/media``: the media library, its sharing, embed URLs and subtitles."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

import anyio
from fastapi import APIRouter, Query, Request, Response

from openvod.api.deps import AuthKey, Ctx
from openvod.api.v1.media_schemas import (
    DeleteResult,
    DescribeRequest,
    DescribeResult,
    EmbedRequest,
    EmbedUrl,
    MediaList,
    MediaPublic,
    MediaUpdate,
    PullRequest,
    SharingUpdate,
    SubtitleList,
    SubtitlePublic,
)
from openvod.domain.media_sort import MAX_MARKER
from openvod.domain.numbers import parse_uint
from openvod.domain.subtitles import MAX_SUBTITLE_BYTES, MAX_SUBTITLE_LABEL
from openvod.errors import PayloadTooLarge
from openvod.services import media, pull, sharing, subtitles

__all__ = ["router"]

router = APIRouter(prefix="/v1/media", tags=["media"])


@router.get("", response_model=MediaList, summary="List and search media, newest first or sorted")
def list_media(
    ctx: Ctx,
    key: AuthKey,
    name: Annotated[str | None, Query(max_length=256, description="case-insensitive substring")] = None,
    class_id: Annotated[int | None, Query(ge=0)] = None,
    created_from: datetime | None = None,
    created_to: datetime | None = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    marker: Annotated[str | None, Query(max_length=MAX_MARKER,
                                        description="next_marker of the previous page, same sort and order")] = None,
    sort: Annotated[str | None, Query(description="created (default), name, size or duration; ties by FileId, "
                                                  "media without a size/duration last")] = None,
    order: Annotated[str | None, Query(description="desc (default) or asc")] = None,
) -> MediaList:
    items, nxt = media.list_media(ctx, key.app_id, name=name, class_id=class_id, created_from=created_from,
                                  created_to=created_to, limit=limit, marker=marker, sort=sort, order=order)
    return MediaList(items=[MediaPublic.from_view(m) for m in items], next_marker=nxt)


@router.post("/describe", response_model=DescribeResult, summary="Describe many media files")
def describe(body: DescribeRequest, ctx: Ctx, key: AuthKey) -> DescribeResult:
    items, missing = media.describe_media(ctx, key.app_id, body.file_ids)
    return DescribeResult(items=[MediaPublic.from_view(m) for m in items], not_found=missing)


@router.post("/pull", response_model=MediaPublic, status_code=201, summary="Create media from a URL")
def pull_media(body: PullRequest, ctx: Ctx, key: AuthKey) -> MediaPublic:
    return MediaPublic.from_view(pull.pull_media(ctx, key.app_id, body.url, name=body.name, class_id=body.class_id,
                           procedure=body.procedure, source_context=body.source_context,
                           session_context=body.session_context))


@router.get("/{file_id}", response_model=MediaPublic, summary="Describe one media file")
def get_media(file_id: str, ctx: Ctx, key: AuthKey) -> MediaPublic:
    return MediaPublic.from_view(media.get_media(ctx, key.app_id, file_id))


@router.patch("/{file_id}", response_model=MediaPublic, summary="Modify name, description, class, expiry")
def modify_media(file_id: str, body: MediaUpdate, ctx: Ctx, key: AuthKey) -> MediaPublic:
    fields: dict[str, Any] = {k: v for k, v in body.model_dump(exclude_unset=True).items()}
    return MediaPublic.from_view(media.modify_media(ctx, key.app_id, file_id, **fields))


@router.delete("/{file_id}", response_model=DeleteResult, summary="Delete media or chosen parts of it")
def delete_media(
    file_id: str,
    ctx: Ctx,
    key: AuthKey,
    parts: Annotated[str | None, Query(description="comma-separated: source, cover, outputs")] = None,
) -> DeleteResult:
    chosen = [p.strip() for p in parts.split(",") if p.strip()] if parts else None
    return DeleteResult(file_id=file_id, deleted=media.delete_media(ctx, key.app_id, file_id, chosen))


@router.put("/{file_id}/sharing", response_model=MediaPublic,
            summary="Make one media public or private, or let it follow the app's setting")
def put_sharing(file_id: str, body: SharingUpdate, ctx: Ctx, key: AuthKey) -> MediaPublic:
    return MediaPublic.from_view(sharing.set_sharing(ctx, key.app_id, file_id, body.public))


@router.post("/{file_id}/embed-url", response_model=EmbedUrl,
             summary="The /embed page URL and <iframe> snippet (signed for private media)")
def post_embed_url(file_id: str, ctx: Ctx, key: AuthKey, body: EmbedRequest | None = None) -> EmbedUrl:
    return EmbedUrl.from_view(sharing.embed_url(ctx, key.app_id, file_id, ttl=body.ttl if body else None))


@router.get("/{file_id}/subtitles", response_model=SubtitleList, summary="List a media's subtitles")
def list_subtitles(file_id: str, ctx: Ctx, key: AuthKey) -> SubtitleList:
    return SubtitleList(items=[SubtitlePublic.from_view(v) for v in subtitles.list_subtitles(ctx, key.app_id,
                                                                                            file_id)])


def _too_big() -> PayloadTooLarge:
    return PayloadTooLarge(f"a subtitle file is at most {MAX_SUBTITLE_BYTES} bytes",
                           code="InvalidParameter.SubtitleSize")


async def _subtitle_body(request: Request) -> bytes:
    raw = request.headers.get("content-length")
    if raw is not None and parse_uint(raw, "Content-Length", code="InvalidParameter.ContentLength") \
            > MAX_SUBTITLE_BYTES:
        raise _too_big()
    body = bytearray()
    async for piece in request.stream():
        body += piece
        if len(body) > MAX_SUBTITLE_BYTES:
            raise _too_big()
    return bytes(body)


_SUBTITLE_BODY = {"requestBody": {"required": True, "content": {
    kind: {"schema": {"type": "string", "format": "binary"}} for kind in ("text/vtt", "application/x-subrip")}}}


@router.put("/{file_id}/subtitles/{language}", response_model=SubtitlePublic, openapi_extra=_SUBTITLE_BODY,
            summary="Add or replace a media's subtitles in one language (WebVTT or SRT body)")
async def put_subtitle(
    file_id: str,
    language: str,
    request: Request,
    ctx: Ctx,
    key: AuthKey,
    label: Annotated[str | None, Query(max_length=MAX_SUBTITLE_LABEL,
                                       description="the name players show (default: the language's)")] = None,
) -> SubtitlePublic:
    data = await _subtitle_body(request)
    view = await anyio.to_thread.run_sync(
        lambda: subtitles.put_subtitle(ctx, key.app_id, file_id, language, data, label))
    return SubtitlePublic.from_view(view)


@router.delete("/{file_id}/subtitles/{language}", status_code=204, response_class=Response,
               summary="Delete a media's subtitles in one language")
def delete_subtitle(file_id: str, language: str, ctx: Ctx, key: AuthKey) -> Response:
    subtitles.delete_subtitle(ctx, key.app_id, file_id, language)
    return Response(status_code=204)
