"""``/v1/objects``: an app's stored objects, and ``/objects`` signed URLs."""

from __future__ import annotations

import time
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from sqlalchemy import select

from openvod.api.deps import AuthKey, Ctx
from openvod.api.serving import object_response
from openvod.api.v1.schemas import ObjectList
from openvod.db.models import Object
from openvod.domain.keys import validate_bucket, validate_key
from openvod.domain.times import iso
from openvod.domain.urlsign import verify_object
from openvod.errors import Forbidden, NotFound
from openvod.services.media import physical

__all__ = ["router", "signed_router"]

router = APIRouter(prefix="/v1/objects", tags=["objects"])
signed_router = APIRouter(tags=["objects"])


@router.get("", response_model=ObjectList, summary="List this app's objects")
def list_objects(
    ctx: Ctx,
    key: AuthKey,
    bucket: Annotated[str, Query(max_length=63)] = "vod",
    prefix: Annotated[str, Query(max_length=1024)] = "",
    limit: Annotated[int, Query(ge=1, le=1000)] = 1000,
) -> dict[str, Any]:
    validate_bucket(bucket)
    with ctx.db.session() as s:
        q = (select(Object).where(Object.app_id == key.app_id, Object.bucket == bucket,
                                  Object.key.startswith(f"{key.app_id}/{prefix}", autoescape=True))
             .order_by(Object.key).limit(limit))
        rows = list(s.scalars(q))
    return {"items": [{"bucket": o.bucket, "key": o.key.split("/", 1)[1], "size": o.size, "etag": o.etag,
                       "content_type": o.content_type,
                       "created_at": iso(o.created_at)} for o in rows]}


@router.api_route("/{bucket}/{key:path}", methods=["GET", "HEAD"], summary="Fetch an object (Range supported)")
def get_object(bucket: str, key: str, request: Request, ctx: Ctx, auth: AuthKey) -> Response:
    pb, pk = physical(auth.app_id, bucket, key)
    try:
        stat = ctx.storage.stat(pb, pk)
    except NotFound as exc:
        raise NotFound(f"object {bucket}/{key} does not exist", code="ResourceNotFound.Object") from exc
    return object_response(request, ctx.storage, stat)


@signed_router.api_route("/objects/{bucket}/{key:path}", methods=["GET", "HEAD"], include_in_schema=False)
def get_signed(
    bucket: str, key: str, request: Request, ctx: Ctx,
    expires: Annotated[int, Query()], signature: Annotated[str, Query(max_length=128)],
) -> Response:
    validate_bucket(bucket)
    validate_key(key)
    if not verify_object(ctx.url_secret, "GET", bucket, key, expires, signature, time.time()):
        raise Forbidden("the URL's signature is wrong or has expired", code="AuthFailure.SignatureFailure")
    return object_response(request, ctx.storage, ctx.storage.stat(bucket, key))
