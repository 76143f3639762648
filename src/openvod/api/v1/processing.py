"""Processing: run a MediaProcessTask or a task flow on a media file; read the task detail."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from openvod.api.deps import AuthKey, Ctx
from openvod.api.v1.processing_schemas import ProcessOptions, ProcessRequest, TaskRef
from openvod.domain.procedure_task import task_detail as render_detail
from openvod.services import processing

__all__ = ["router"]

router = APIRouter(tags=["processing"])


@router.post("/v1/media/{file_id}/process", response_model=TaskRef, status_code=201,
             summary="Process a media file (any mix of transcodes, GIFs, snapshots, sprites, cover, HLS)")
def process_media(file_id: str, body: ProcessRequest, ctx: Ctx, key: AuthKey) -> TaskRef:
    tid = processing.process_media(ctx, key.app_id, file_id, body.media_process_task, priority=body.priority,
                                   notify_mode=body.notify_mode, session_context=body.session_context,
                                   session_id=body.session_id, ext_info=body.ext_info)
    return TaskRef(task_id=tid)


@router.post("/v1/media/{file_id}/procedures/{name}", response_model=TaskRef, status_code=201,
             summary="Run a task flow on a media file")
def run_procedure(file_id: str, name: str, body: ProcessOptions, ctx: Ctx, key: AuthKey) -> TaskRef:
    tid = processing.run_procedure(ctx, key.app_id, file_id, name, priority=body.priority,
                                   notify_mode=body.notify_mode, session_context=body.session_context,
                                   session_id=body.session_id, ext_info=body.ext_info)
    return TaskRef(task_id=tid)


@router.get("/v1/tasks/{task_id}/detail", summary="A processing task's detail, one result per step "
                                                  "(Tencent's DescribeTaskDetail shape)")
def task_detail(task_id: str, ctx: Ctx, key: AuthKey) -> dict[str, Any]:
    view = processing.process_task_detail(ctx, key.app_id, task_id)
    return dict(processing.render(ctx, key.app_id, render_detail(view)))  # URLs signed as it is read


@router.post("/v1/tasks/{task_id}/steps/{index}/retry", summary="Run a failed step again, alone")
def retry_step(task_id: str, index: int, ctx: Ctx, key: AuthKey) -> dict[str, Any]:
    view = processing.rerun_step(ctx, key.app_id, task_id, index)
    return dict(processing.render(ctx, key.app_id, render_detail(view)))
