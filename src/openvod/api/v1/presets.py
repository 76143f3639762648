"""``/v1/presets``: transcoding presets (Kingsoft offline ``param`` schema) and the system presets."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel, ConfigDict, Field

from openvod.api.deps import AuthKey, Ctx
from openvod.services import presets

__all__ = ["PresetCreate", "PresetList", "PresetPublic", "PresetUpdate", "router"]

router = APIRouter(prefix="/v1/presets", tags=["presets"])

_PARAMS_DOC = (
    'Kingsoft offline preset params: {"f": container, "AUDIO": {acodec, ab, ar, channels, an}, '
    '"VIDEO": {vcodec, width, height, as, vr, vb, crf, preset, rotate, vn}}'
)
_EXAMPLE = {
    "f": "mp4",
    "AUDIO": {"acodec": "aac", "ar": "44100", "ab": "64k"},
    "VIDEO": {"vr": 25, "vb": "500k", "vcodec": "h264", "width": 640, "height": 360},
}


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class PresetCreate(_Strict):
    name: str = Field(description="1-128 characters of A-Z a-z 0-9 _ . - ; 'system-' is reserved")
    type: str = Field(default="avop", description="preset type; 'avop' (audio/video transcoding)")
    description: str = ""
    params: dict[str, Any] = Field(description=_PARAMS_DOC, examples=[_EXAMPLE])


class PresetUpdate(_Strict):
    """Fields left out stay as they are; ``params`` replaces the old params as a whole."""

    type: str | None = None
    description: str | None = None
    params: dict[str, Any] | None = Field(default=None, description=_PARAMS_DOC)


class PresetPublic(BaseModel):
    name: str
    type: str
    description: str
    params: dict[str, Any] | None = Field(description="canonical params; null in lists without detail")
    system: bool = Field(description="built in: listed and usable by every app, never changed or deleted")
    created_at: str
    updated_at: str


class PresetList(BaseModel):
    items: list[PresetPublic]


@router.post("", response_model=PresetPublic, status_code=201, summary="Create a preset")
def create_preset(body: PresetCreate, ctx: Ctx, key: AuthKey) -> dict[str, Any]:
    return presets.create_preset(ctx, key.app_id, body.name, body.type, body.description, body.params)


@router.get("", response_model=PresetList, summary="List the app's presets, then the system presets")
def list_presets(
    ctx: Ctx,
    key: AuthKey,
    type: Annotated[str | None, Query(max_length=32, description="only presets of this type")] = None,
    names: Annotated[str | None, Query(max_length=4096, description="comma-separated preset names")] = None,
    detail: Annotated[bool, Query(description="include params")] = True,
) -> dict[str, Any]:
    wanted = [n.strip() for n in names.split(",") if n.strip()] if names else None
    return {"items": presets.list_presets(ctx, key.app_id, type=type, names=wanted, with_detail=detail)}


@router.get("/{name}", response_model=PresetPublic, summary="Describe one preset (the app's or a system one)")
def get_preset(name: str, ctx: Ctx, key: AuthKey) -> dict[str, Any]:
    return presets.get_preset(ctx, key.app_id, name)


@router.put("/{name}", response_model=PresetPublic, summary="Change a preset's type, description or params")
def update_preset(name: str, body: PresetUpdate, ctx: Ctx, key: AuthKey) -> dict[str, Any]:
    return presets.update_preset(ctx, key.app_id, name, type=body.type, description=body.description,
                                 params=body.params)


@router.delete("/{name}", status_code=204, summary="Delete a preset")
def delete_preset(name: str, ctx: Ctx, key: AuthKey) -> Response:
    presets.delete_preset(ctx, key.app_id, name)
    return Response(status_code=204)
