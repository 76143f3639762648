"""Schemas of processing (``/v1/media/{file_id}/process``, ``.../procedures/{name}``) and of a
processing task's detail, which is Tencent's ``DescribeTaskDetail`` shape
(:func:`openvod.domain.procedure_task.task_detail`)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["ProcessOptions", "ProcessRequest", "TaskRef"]


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
