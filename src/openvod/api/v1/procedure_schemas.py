"""Schemas of ``/v1/procedures``: Create/Update requests and ``ProcedurePublic``/``ProcedureList``,
rendered from :mod:`openvod.domain.views.procedures`."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from openvod.domain.times import iso_s
from openvod.domain.views.procedures import ProcedurePage, ProcedureView

__all__ = ["ProcedureCreate", "ProcedureList", "ProcedurePublic", "ProcedureStep", "ProcedureUpdate"]

_TASK_DOC = ("Tencent's MediaProcessTask: TranscodeTaskSet, AnimatedGraphicTaskSet, SnapshotByTimeOffsetTaskSet, "
             "SampleSnapshotTaskSet, ImageSpriteTaskSet, CoverBySnapshotTaskSet, AdaptiveDynamicStreamingTaskSet")
_EXAMPLE = {"AnimatedGraphicTaskSet": [{"Definition": 20000, "StartTimeOffset": 0, "EndTimeOffset": 3}],
            "CoverBySnapshotTaskSet": [{"Definition": 10, "PositionType": "Time", "PositionValue": 1.5}]}


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ProcedureCreate(_Strict):
    name: str = Field(description="1-20 characters, unique in the app")
    comment: str = Field(default="", description="at most 256 characters")
    media_process_task: dict[str, Any] = Field(description=_TASK_DOC, examples=[_EXAMPLE])


class ProcedureUpdate(_Strict):
    """Fields left out stay as they are; ``media_process_task`` replaces the old one whole."""

    comment: str | None = None
    media_process_task: dict[str, Any] | None = Field(default=None, description=_TASK_DOC)


class ProcedureStep(BaseModel):
    kind: str = Field(description="as MediaProcessResultSet's Type: Transcode, AnimatedGraphics, ...")
    definition: int
    params: dict[str, Any] = Field(description="the step's own settings (offsets, time points, position)")


class ProcedurePublic(BaseModel):
    name: str
    type: str = Field(description="always Custom: OpenVOD has no built-in procedures")
    comment: str
    media_process_task: dict[str, Any] = Field(description="canonical, only the non-empty sets")
    steps: list[ProcedureStep] = Field(description="the steps in the order they run and report")
    created_at: str
    updated_at: str

    @classmethod
    def from_view(cls, v: ProcedureView) -> ProcedurePublic:
        return cls(name=v.name, type=v.type, comment=v.comment, media_process_task=v.media_process_task,
                   steps=[ProcedureStep(kind=s.kind, definition=s.definition, params=s.params) for s in v.steps],
                   created_at=iso_s(v.created_at), updated_at=iso_s(v.updated_at))


class ProcedureList(BaseModel):
    items: list[ProcedurePublic]
    total: int

    @classmethod
    def from_page(cls, page: ProcedurePage) -> ProcedureList:
        return cls(items=[ProcedurePublic.from_view(p) for p in page.items], total=page.total)
