"""``/v1/procedures``: task flows (Tencent's procedure templates), a named ``MediaProcessTask`` each.

The task uses Tencent's field names: ``{"TranscodeTaskSet": [{"Definition": 100030}],
"AnimatedGraphicTaskSet": [{"Definition": 20000, "StartTimeOffset": 0, "EndTimeOffset": 3}], ...}``.
Every Definition must be one of the app's templates or a system one.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response

from openvod.api.deps import AuthKey, Ctx
from openvod.api.v1.procedure_schemas import ProcedureCreate, ProcedureList, ProcedurePublic, ProcedureUpdate
from openvod.services import procedures
from openvod.services.templates import DEFAULT_LIMIT, MAX_LIMIT

__all__ = ["router"]

router = APIRouter(prefix="/v1/procedures", tags=["procedures"])

@router.post("", response_model=ProcedurePublic, status_code=201, summary="Create a procedure")
def create_procedure(body: ProcedureCreate, ctx: Ctx, key: AuthKey) -> ProcedurePublic:
    return ProcedurePublic.from_view(procedures.create_procedure(ctx, key.app_id, body.name, body.media_process_task,
                                                                 comment=body.comment))


@router.get("", response_model=ProcedureList, summary="List the app's procedures by name")
def list_procedures(
    ctx: Ctx,
    key: AuthKey,
    names: Annotated[str | None, Query(max_length=4096, description="comma-separated names")] = None,
    offset: Annotated[int, Query(ge=0)] = 0,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
) -> ProcedureList:
    wanted = [n for n in names.split(",") if n] if names is not None else None
    return ProcedureList.from_page(procedures.list_procedures(ctx, key.app_id, names=wanted, offset=offset,
                                                              limit=limit))


@router.get("/{name}", response_model=ProcedurePublic, summary="Describe one procedure")
def get_procedure(name: str, ctx: Ctx, key: AuthKey) -> ProcedurePublic:
    return ProcedurePublic.from_view(procedures.get_procedure(ctx, key.app_id, name))


@router.put("/{name}", response_model=ProcedurePublic, summary="Change a procedure's task or comment")
def update_procedure(name: str, body: ProcedureUpdate, ctx: Ctx, key: AuthKey) -> ProcedurePublic:
    return ProcedurePublic.from_view(procedures.update_procedure(ctx, key.app_id, name, task=body.media_process_task,
                                                                 comment=body.comment))


@router.delete("/{name}", status_code=204, summary="Delete a procedure")
def delete_procedure(name: str, ctx: Ctx, key: AuthKey) -> Response:
    procedures.delete_procedure(ctx, key.app_id, name)
    return Response(status_code=204)
