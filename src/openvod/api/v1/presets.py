"""``/v1/presets``: transcoding presets (Kingsoft offline ``param`` schema) and the system presets."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response

from openvod.api.deps import AuthKey, Ctx
from openvod.api.v1.preset_schemas import PresetCreate, PresetList, PresetPublic, PresetUpdate
from openvod.services import presets

__all__ = ["router"]

router = APIRouter(prefix="/v1/presets", tags=["presets"])

@router.post("", response_model=PresetPublic, status_code=201, summary="Create a preset")
def create_preset(body: PresetCreate, ctx: Ctx, key: AuthKey) -> PresetPublic:
    return PresetPublic.from_view(presets.create_preset(ctx, key.app_id, body.name, body.type, body.description,
                                                        body.params))


@router.get("", response_model=PresetList, summary="List the app's presets, then the system presets")
def list_presets(
    ctx: Ctx,
    key: AuthKey,
    type: Annotated[str | None, Query(max_length=32, description="only presets of this type")] = None,
    names: Annotated[str | None, Query(max_length=4096, description="comma-separated preset names")] = None,
    detail: Annotated[bool, Query(description="include params")] = True,
) -> PresetList:
    wanted = [n.strip() for n in names.split(",") if n.strip()] if names else None
    found = presets.list_presets(ctx, key.app_id, type=type, names=wanted, with_detail=detail)
    return PresetList(items=[PresetPublic.from_view(p) for p in found])


@router.get("/{name}", response_model=PresetPublic, summary="Describe one preset (the app's or a system one)")
def get_preset(name: str, ctx: Ctx, key: AuthKey) -> PresetPublic:
    return PresetPublic.from_view(presets.get_preset(ctx, key.app_id, name))


@router.put("/{name}", response_model=PresetPublic, summary="Change a preset's type, description or params")
def update_preset(name: str, body: PresetUpdate, ctx: Ctx, key: AuthKey) -> PresetPublic:
    return PresetPublic.from_view(presets.update_preset(ctx, key.app_id, name, type=body.type,
                                                        description=body.description, params=body.params))


@router.delete("/{name}", status_code=204, summary="Delete a preset")
def delete_preset(name: str, ctx: Ctx, key: AuthKey) -> Response:
    presets.delete_preset(ctx, key.app_id, name)
    return Response(status_code=204)
