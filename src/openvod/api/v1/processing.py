"""Processing: run a MediaProcessTask or a task flow on a media file; read the task detail."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from openvod.api.deps import AuthKey, Ctx
from openvod.services import processing

__all__ = ["router"]

router = APIRouter(tags=["processing"])


class ProcessOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")
    priority: int = Field(default=0, ge=-10, le=10)
    notify_mode: Literal["Finish", "Change", "None"] = "Finish"
    session_context: str = Field(default="", max_length=1000)
    session_id: str | None = Field(default=None, min_length=1, max_length=50)
    ext_info: str = Field(default="", max_length=1000)


class ProcessRequest(ProcessOptions):
    media_process_task: dict[str, Any] = Field(
        description="Tencent's MediaProcessTask: TranscodeTaskSet, AnimatedGraphicTaskSet, "
                    "SnapshotByTimeOffsetTaskSet, SampleSnapshotTaskSet, ImageSpriteTaskSet, "
                    "CoverBySnapshotTaskSet, AdaptiveDynamicStreamingTaskSet")


class TaskRef(BaseModel):
    task_id: str


@router.post("/v1/media/{file_id}/process", response_model=TaskRef, status_code=201,
             summary="Process a media file (any mix of transcodes, GIFs, snapshots, sprites, cover, HLS)")
def process_media(file_id: str, body: ProcessRequest, ctx: Ctx, key: AuthKey) -> dict[str, str]:
    tid = processing.process_media(ctx, key.app_id, file_id, body.media_process_task, priority=body.priority,
                                   notify_mode=body.notify_mode, session_context=body.session_context,
                                   session_id=body.session_id, ext_info=body.ext_info)
    return {"task_id": tid}


@router.post("/v1/media/{file_id}/procedures/{name}", response_model=TaskRef, status_code=201,
             summary="Run a task flow on a media file")
def run_procedure(file_id: str, name: str, body: ProcessOptions, ctx: Ctx, key: AuthKey) -> dict[str, str]:
    tid = processing.run_procedure(ctx, key.app_id, file_id, name, priority=body.priority,
                                   notify_mode=body.notify_mode, session_context=body.session_context,
                                   session_id=body.session_id, ext_info=body.ext_info)
    return {"task_id": tid}


@router.get("/v1/tasks/{task_id}/detail", summary="A processing task's detail, one result per step "
                                                  "(Tencent's DescribeTaskDetail shape)")
def task_detail(task_id: str, ctx: Ctx, key: AuthKey) -> dict[str, Any]:
    return processing.process_task_detail(ctx, key.app_id, task_id)


@router.post("/v1/tasks/{task_id}/steps/{index}/retry", summary="Run a failed step again, alone")
def retry_step(task_id: str, index: int, ctx: Ctx, key: AuthKey) -> dict[str, Any]:
    return processing.rerun_step(ctx, key.app_id, task_id, index)
