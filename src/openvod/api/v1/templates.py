"""``/v1/templates/{kind}``: processing templates in Tencent VOD's model, numbered by Definition.

``kind`` is Tencent's name: ``Transcode``, ``AnimatedGraphics``, ``SnapshotByTimeOffset``,
``SampleSnapshot``, ``ImageSprite``, ``AdaptiveDynamicStreaming`` or ``Watermark``. ``params`` use the field names
of Tencent's ``Create<Kind>Template`` request (``{"Fps": 10, "Format": "gif"}``); stored params
have every default filled in. System templates (``type`` ``Preset``, Tencent's own Definitions)
are listed and usable by every app and cannot be changed or deleted.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Annotated

from fastapi import APIRouter, Query, Response

from openvod.api.deps import AuthKey, Ctx
from openvod.api.v1.template_schemas import TemplateCreate, TemplateList, TemplatePublic, TemplateUpdate
from openvod.domain.numbers import parse_uint
from openvod.domain.templates import TemplateKind
from openvod.domain.views.templates import TemplateView
from openvod.errors import InvalidParameter
from openvod.runtime import Context
from openvod.services import templates, watermarks

__all__ = ["router"]

router = APIRouter(prefix="/v1/templates", tags=["templates"])

MAX_DEFINITIONS = 100  # definitions asked for in one list
_KIND_DOC = ("Tencent's template kind: Transcode, AnimatedGraphics, SnapshotByTimeOffset, SampleSnapshot, "
             "ImageSprite, AdaptiveDynamicStreaming or Watermark")
_PARAMS_DOC = "fields of Tencent's Create<Kind>Template request, e.g. {\"Fps\": 10, \"Format\": \"gif\"}"


def _definitions(text: str | None) -> list[int] | None:
    if text is None:
        return None
    parts = [part.strip() for part in text.split(",") if part.strip()]
    if len(parts) > MAX_DEFINITIONS:
        raise InvalidParameter(f"definitions takes at most {MAX_DEFINITIONS} numbers, got {len(parts)}",
                               code="InvalidParameterValue.Definitions")
    return [parse_uint(part, "definitions", code="InvalidParameterValue.Definitions") for part in parts]


def _public(ctx: Context, app_id: str, v: TemplateView) -> TemplatePublic:
    """A watermark's image is shown as its (signed) ``ImageUrl``, as Tencent shows it, never by
    where it is stored."""
    if v.kind == TemplateKind.WATERMARK:
        v = replace(v, params=watermarks.public_params(ctx, app_id, v.params))
    return TemplatePublic.from_view(v)


@router.post("/{kind}", response_model=TemplatePublic, status_code=201, summary="Create a template")
def create_template(kind: str, body: TemplateCreate, ctx: Ctx, key: AuthKey) -> TemplatePublic:
    return _public(ctx, key.app_id, templates.create_template(ctx, key.app_id, kind, body.params, name=body.name,
                                                              comment=body.comment))


@router.get("/{kind}", response_model=TemplateList, summary="List the system templates of a kind, then the app's")
def list_templates(
    kind: str,
    ctx: Ctx,
    key: AuthKey,
    definitions: Annotated[str | None, Query(max_length=2048, description="comma-separated Definitions")] = None,
    type: Annotated[str | None, Query(description="Preset or Custom")] = None,
    offset: Annotated[int, Query(ge=0)] = 0,
    limit: Annotated[int, Query(ge=1, le=templates.MAX_LIMIT)] = templates.DEFAULT_LIMIT,
) -> TemplateList:
    page = templates.list_templates(ctx, key.app_id, kind, definitions=_definitions(definitions), type=type,
                                    offset=offset, limit=limit)
    return TemplateList(items=[_public(ctx, key.app_id, v) for v in page.items], total=page.total)


@router.get("/{kind}/{definition}", response_model=TemplatePublic, summary="Describe one template")
def get_template(kind: str, definition: int, ctx: Ctx, key: AuthKey) -> TemplatePublic:
    return _public(ctx, key.app_id, templates.get_template(ctx, key.app_id, kind, definition))


@router.put("/{kind}/{definition}", response_model=TemplatePublic, summary="Change a template")
def update_template(kind: str, definition: int, body: TemplateUpdate, ctx: Ctx, key: AuthKey) -> TemplatePublic:
    return _public(ctx, key.app_id, templates.update_template(ctx, key.app_id, kind, definition, name=body.name,
                                                              comment=body.comment, params=body.params))


@router.delete("/{kind}/{definition}", status_code=204, summary="Delete a template")
def delete_template(kind: str, definition: int, ctx: Ctx, key: AuthKey) -> Response:
    templates.delete_template(ctx, key.app_id, kind, definition)
    return Response(status_code=204)
