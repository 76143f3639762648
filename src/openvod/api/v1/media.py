"""``/v1/media``: the media library."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query

from openvod.api.deps import AuthKey, Ctx
from openvod.api.v1.media_schemas import (
    DeleteResult,
    DescribeRequest,
    DescribeResult,
    MediaList,
    MediaPublic,
    MediaUpdate,
    PullRequest,
)
from openvod.services import media, pull

__all__ = ["router"]

router = APIRouter(prefix="/v1/media", tags=["media"])


@router.get("", response_model=MediaList, summary="List and search media, newest first")
def list_media(
    ctx: Ctx,
    key: AuthKey,
    name: Annotated[str | None, Query(max_length=256, description="case-insensitive substring")] = None,
    class_id: Annotated[int | None, Query(ge=0)] = None,
    created_from: datetime | None = None,
    created_to: datetime | None = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    marker: Annotated[str | None, Query(max_length=32)] = None,
) -> MediaList:
    items, nxt = media.list_media(ctx, key.app_id, name=name, class_id=class_id, created_from=created_from,
                                  created_to=created_to, limit=limit, marker=marker)
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
