"""``/v1/keys``: the calling app's key pairs."""

from __future__ import annotations

from fastapi import APIRouter

from openvod.api.deps import AuthKey, Ctx
from openvod.api.v1.key_schemas import KeyCreate, KeyList, KeyPublic
from openvod.services import apps

__all__ = ["router"]

router = APIRouter(prefix="/v1/keys", tags=["keys"])


@router.get("", response_model=KeyList)
def list_keys(ctx: Ctx, key: AuthKey) -> KeyList:
    return KeyList(items=[KeyPublic.from_view(k) for k in apps.list_keys(ctx.db, key.app_id)])


@router.post("", response_model=KeyPublic, status_code=201)
def create_key(body: KeyCreate, ctx: Ctx, key: AuthKey) -> KeyPublic:
    return KeyPublic.from_view(apps.create_key(ctx.db, key.app_id, body.description), with_secret=True)


@router.post("/{secret_id}/disable", response_model=KeyPublic)
def disable_key(secret_id: str, ctx: Ctx, key: AuthKey) -> KeyPublic:
    return KeyPublic.from_view(apps.disable_key(ctx.db, secret_id, app_id=key.app_id))
