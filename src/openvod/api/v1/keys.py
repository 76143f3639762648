"""``/v1/keys``: the calling app's key pairs."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from openvod.api.deps import AuthKey, Ctx
from openvod.api.v1.schemas import KeyCreate, KeyList, KeyPublic
from openvod.domain.times import iso, iso_or_none
from openvod.services import apps
from openvod.services.apps import KeyInfo

__all__ = ["router"]

router = APIRouter(prefix="/v1/keys", tags=["keys"])


def _public(k: KeyInfo, *, with_secret: bool = False) -> dict[str, Any]:
    return {
        "secret_id": k.secret_id, "state": k.state, "description": k.description,
        "created_at": iso(k.created_at),
        "last_used_at": iso_or_none(k.last_used_at),
        "secret_key": k.secret_key if with_secret else None,
    }


@router.get("", response_model=KeyList)
def list_keys(ctx: Ctx, key: AuthKey) -> dict[str, Any]:
    return {"items": [_public(k) for k in apps.list_keys(ctx.db, key.app_id)]}


@router.post("", response_model=KeyPublic, status_code=201)
def create_key(body: KeyCreate, ctx: Ctx, key: AuthKey) -> dict[str, Any]:
    return _public(apps.create_key(ctx.db, key.app_id, body.description), with_secret=True)


@router.post("/{secret_id}/disable", response_model=KeyPublic)
def disable_key(secret_id: str, ctx: Ctx, key: AuthKey) -> dict[str, Any]:
    return _public(apps.disable_key(ctx.db, secret_id, app_id=key.app_id))
