"""Schemas of ``/v1/presets``: Create/Update requests and ``PresetPublic``, rendered from
:class:`~openvod.domain.views.presets.PresetView`."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from openvod.domain.times import iso_s
from openvod.domain.views.presets import PresetView

__all__ = ["PresetCreate", "PresetList", "PresetPublic", "PresetUpdate"]

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

    @classmethod
    def from_view(cls, v: PresetView) -> PresetPublic:
        return cls(name=v.name, type=v.type, description=v.description, params=v.params, system=v.system,
                   created_at=iso_s(v.created_at), updated_at=iso_s(v.updated_at))


class PresetList(BaseModel):
    items: list[PresetPublic]
