"""``/v1/procedures``: task flows (Tencent's procedure templates), a named ``MediaProcessTask`` each.

The task uses Tencent's field names: ``{"TranscodeTaskSet": [{"Definition": 100030}],
"AnimatedGraphicTaskSet": [{"Definition": 20000, "StartTimeOffset": 0, "EndTimeOffset": 3}], ...}``.
Every Definition must be one of the app's templates or a system one.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel, ConfigDict, Field

from openvod.api.deps import AuthKey, Ctx
from openvod.services import procedures
from openvod.services.templates import DEFAULT_LIMIT, MAX_LIMIT

__all__ = ["ProcedureCreate", "ProcedureList", "ProcedurePublic", "ProcedureUpdate", "router"]

router = APIRouter(prefix="/v1/procedures", tags=["procedures"])

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


class ProcedureList(BaseModel):
    items: list[ProcedurePublic]
    total: int


@router.post("", response_model=ProcedurePublic, status_code=201, summary="Create a procedure")
def create_procedure(body: ProcedureCreate, ctx: Ctx, key: AuthKey) -> dict[str, Any]:
    return procedures.create_procedure(ctx, key.app_id, body.name, body.media_process_task, comment=body.comment)


@router.get("", response_model=ProcedureList, summary="List the app's procedures by name")
def list_procedures(
    ctx: Ctx,
    key: AuthKey,
    names: Annotated[str | None, Query(max_length=4096, description="comma-separated names")] = None,
    offset: Annotated[int, Query(ge=0)] = 0,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
) -> dict[str, Any]:
    wanted = [n for n in names.split(",") if n] if names is not None else None
    return procedures.list_procedures(ctx, key.app_id, names=wanted, offset=offset, limit=limit)


@router.get("/{name}", response_model=ProcedurePublic, summary="Describe one procedure")
def get_procedure(name: str, ctx: Ctx, key: AuthKey) -> dict[str, Any]:
    return procedures.get_procedure(ctx, key.app_id, name)


@router.put("/{name}", response_model=ProcedurePublic, summary="Change a procedure's task or comment")
def update_procedure(name: str, body: ProcedureUpdate, ctx: Ctx, key: AuthKey) -> dict[str, Any]:
    return procedures.update_procedure(ctx, key.app_id, name, task=body.media_process_task, comment=body.comment)


@router.delete("/{name}", status_code=204, summary="Delete a procedure")
def delete_procedure(name: str, ctx: Ctx, key: AuthKey) -> Response:
    procedures.delete_procedure(ctx, key.app_id, name)
    return Response(status_code=204)
