"""Schemas of ``/v1/templates/{kind}``: Create/Update requests and ``TemplatePublic``/``TemplateList``,
rendered from :mod:`openvod.domain.views.templates`."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from openvod.domain.times import iso_s
from openvod.domain.views.templates import TemplatePage, TemplateView

__all__ = ["TemplateCreate", "TemplateList", "TemplatePublic", "TemplateUpdate"]

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

    @classmethod
    def from_view(cls, v: TemplateView) -> TemplatePublic:
        return cls(definition=v.definition, kind=v.kind, type=v.type, name=v.name, comment=v.comment,
                   params=v.params, created_at=iso_s(v.created_at), updated_at=iso_s(v.updated_at))


class TemplateList(BaseModel):
    items: list[TemplatePublic]
    total: int = Field(description="how many templates match, over all pages")

    @classmethod
    def from_page(cls, page: TemplatePage) -> TemplateList:
        return cls(items=[TemplatePublic.from_view(t) for t in page.items], total=page.total)
