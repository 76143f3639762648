"""``/v1/objects``: an app's stored objects, and ``/objects`` signed URLs."""

from __future__ import annotations

import time
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response

from openvod.api.deps import AuthKey, Ctx
from openvod.api.serving import object_response
from openvod.api.v1.object_schemas import ObjectList, ObjectPublic
from openvod.domain.keys import validate_bucket, validate_key
from openvod.domain.urlsign import verify_object
from openvod.errors import Forbidden, NotFound
from openvod.services import objects
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
) -> ObjectList:
    validate_bucket(bucket)
    rows = objects.list_objects(ctx, key.app_id, bucket, prefix, limit=limit)
    return ObjectList(items=[ObjectPublic.from_view(o) for o in rows])


# GET and HEAD as two routes: one route with both methods gives both the same OpenAPI operation id
# (GET keeps the id FastAPI gave it, for clients generated from the schema).
@router.head("/{bucket}/{key:path}", summary="An object's headers (size, type, ETag)",
             operation_id="head_object_v1_objects__bucket___key__head")
@router.get("/{bucket}/{key:path}", summary="Fetch an object (Range supported)",
            operation_id="get_object_v1_objects__bucket___key__get")
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
