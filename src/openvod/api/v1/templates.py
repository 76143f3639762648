"""``/v1/templates/{kind}``: processing templates in Tencent VOD's model, numbered by Definition.

``kind`` is Tencent's name: ``Transcode``, ``AnimatedGraphics``, ``SnapshotByTimeOffset``,
``SampleSnapshot``, ``ImageSprite`` or ``AdaptiveDynamicStreaming``. ``params`` use the field names
of Tencent's ``Create<Kind>Template`` request (``{"Fps": 10, "Format": "gif"}``); stored params
have every default filled in. System templates (``type`` ``Preset``, Tencent's own Definitions)
are listed and usable by every app and cannot be changed or deleted.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel, ConfigDict, Field

from openvod.api.deps import AuthKey, Ctx
from openvod.domain.numbers import parse_uint
from openvod.errors import InvalidParameter
from openvod.services import templates

__all__ = ["TemplateCreate", "TemplateList", "TemplatePublic", "TemplateUpdate", "router"]

router = APIRouter(prefix="/v1/templates", tags=["templates"])

MAX_DEFINITIONS = 100  # definitions asked for in one list
_KIND_DOC = ("Tencent's template kind: Transcode, AnimatedGraphics, SnapshotByTimeOffset, SampleSnapshot, "
             "ImageSprite or AdaptiveDynamicStreaming")
_PARAMS_DOC = "fields of Tencent's Create<Kind>Template request, e.g. {\"Fps\": 10, \"Format\": \"gif\"}"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class TemplateCreate(_Strict):
    name: str = Field(default="", description="at most 64 characters")
    comment: str = Field(default="", description="at most 256 characters")
    params: dict[str, Any] = Field(description=_PARAMS_DOC, examples=[{"Fps": 10, "Width": 480}])


class TemplateUpdate(_Strict):
    """Fields left out stay as they are; ``params`` are merged into the current ones field by field
    (nested VideoTemplate/AudioTemplate one level down, lists replaced), as Tencent's Modify does."""

    name: str | None = None
    comment: str | None = None
    params: dict[str, Any] | None = Field(default=None, description=_PARAMS_DOC)


class TemplatePublic(BaseModel):
    definition: int = Field(description="the template's number; app templates count from 1000000")
    kind: str
    type: str = Field(description="Preset (built in) or Custom (the app's own)")
    name: str
    comment: str
    params: dict[str, Any] = Field(description="canonical params, every default filled in")
    created_at: str
    updated_at: str


class TemplateList(BaseModel):
    items: list[TemplatePublic]
    total: int = Field(description="how many templates match, over all pages")


def _definitions(text: str | None) -> list[int] | None:
    if text is None:
        return None
    parts = [part.strip() for part in text.split(",") if part.strip()]
    if len(parts) > MAX_DEFINITIONS:
        raise InvalidParameter(f"definitions takes at most {MAX_DEFINITIONS} numbers, got {len(parts)}",
                               code="InvalidParameterValue.Definitions")
    return [parse_uint(part, "definitions", code="InvalidParameterValue.Definitions") for part in parts]


@router.post("/{kind}", response_model=TemplatePublic, status_code=201, summary="Create a template")
def create_template(kind: str, body: TemplateCreate, ctx: Ctx, key: AuthKey) -> dict[str, Any]:
    return templates.create_template(ctx, key.app_id, kind, body.params, name=body.name, comment=body.comment)


@router.get("/{kind}", response_model=TemplateList, summary="List the system templates of a kind, then the app's")
def list_templates(
    kind: str,
    ctx: Ctx,
    key: AuthKey,
    definitions: Annotated[str | None, Query(max_length=2048, description="comma-separated Definitions")] = None,
    type: Annotated[str | None, Query(description="Preset or Custom")] = None,
    offset: Annotated[int, Query(ge=0)] = 0,
    limit: Annotated[int, Query(ge=1, le=templates.MAX_LIMIT)] = templates.DEFAULT_LIMIT,
) -> dict[str, Any]:
    return templates.list_templates(ctx, key.app_id, kind, definitions=_definitions(definitions), type=type,
                                    offset=offset, limit=limit)


@router.get("/{kind}/{definition}", response_model=TemplatePublic, summary="Describe one template")
def get_template(kind: str, definition: int, ctx: Ctx, key: AuthKey) -> dict[str, Any]:
    return templates.get_template(ctx, key.app_id, kind, definition)


@router.put("/{kind}/{definition}", response_model=TemplatePublic, summary="Change a template")
def update_template(kind: str, definition: int, body: TemplateUpdate, ctx: Ctx, key: AuthKey) -> dict[str, Any]:
    return templates.update_template(ctx, key.app_id, kind, definition, name=body.name, comment=body.comment,
                                     params=body.params)


@router.delete("/{kind}/{definition}", status_code=204, summary="Delete a template")
def delete_template(kind: str, definition: int, ctx: Ctx, key: AuthKey) -> Response:
    templates.delete_template(ctx, key.app_id, kind, definition)
    return Response(status_code=204)
