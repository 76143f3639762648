"""Schemas of ``/v1/tasks``: what a client sends (``TaskCreate``) and what it gets (``TaskPublic``,
rendered from :class:`~openvod.domain.views.tasks.TaskView` by :meth:`TaskPublic.from_view`)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from openvod.domain.times import iso_s, iso_s_or_none
from openvod.domain.views.tasks import TaskMetaView, TaskView

__all__ = ["SourceIn", "StateName", "TaskCreate", "TaskList", "TaskMeta", "TaskPublic"]

StateName = Literal["init", "exec", "succ", "fail", "canceled"]  # TaskState's values, for the OpenAPI schema


class SourceIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    path: str | None = Field(default=None, max_length=1100, description="/bucket/key in this app's storage")
    file_id: str | None = Field(default=None, max_length=32)
    type: Literal["video", "audio", "image"] = "video"
    index: int = Field(default=0, ge=0, le=1000)

    @model_validator(mode="after")
    def _one(self) -> SourceIn:
        if bool(self.path) == bool(self.file_id):
            raise ValueError("give exactly one of path or file_id")
        return self


class TaskCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    kind: Literal["transcode", "noop"] = "transcode"
    preset: str | None = Field(default=None, max_length=300)
    sources: list[SourceIn] = Field(default_factory=list, max_length=20)
    dst_bucket: str | None = Field(default=None, max_length=63)
    dst_key: str | None = Field(default=None, max_length=1024)
    dst_dir: str | None = Field(default=None, max_length=900)
    dst_acl: Literal["private", "public-read"] = "private"
    cb_url: str | None = Field(default=None, max_length=1024)
    cb_method: Literal["POST", "PUT"] = "POST"
    ext_param: str = Field(default="", max_length=4096)
    priority: int = Field(default=0, ge=-100, le=100)
    sleep: float = Field(default=0.0, ge=0, le=3600, description="noop only")

    @model_validator(mode="after")
    def _transcode_needs(self) -> TaskCreate:
        if self.kind == "transcode" and (not self.preset or not self.sources):
            raise ValueError("a transcode task needs a preset and at least one source")
        return self


class TaskPublic(BaseModel):
    task_id: str
    kind: str
    state: StateName
    progress: float
    queue_position: int | None
    priority: int
    topped: bool
    attempts: int
    ext_param: str
    cb_url: str | None
    cb_method: str
    error: dict[str, Any] | None
    created_at: str
    started_at: str | None
    finished_at: str | None
    output: dict[str, Any] | None
    preset: str | None = None
    sources: list[dict[str, Any]] | None = None
    dst: dict[str, Any] | None = None
    file_id: str | None = Field(default=None, description="processing tasks: the media file they work on")
    procedure: str | None = Field(default=None, description="processing tasks: the task flow they run")

    @classmethod
    def from_view(cls, v: TaskView) -> TaskPublic:
        out = v.transcode_output
        return cls(
            task_id=v.task_id, kind=v.kind, state=v.state.value, progress=v.progress,
            queue_position=v.queue_position, priority=v.priority, topped=v.topped, attempts=v.attempts,
            ext_param=v.ext_param, cb_url=v.cb_url, cb_method=v.cb_method,
            error={"code": v.error.code, "message": v.error.message} if v.error else None,
            created_at=iso_s(v.created_at), started_at=iso_s_or_none(v.started_at),
            finished_at=iso_s_or_none(v.finished_at),
            output={"bucket": out.bucket, "key": out.key, "size": out.size, "url": out.url, "files": out.files}
            if out is not None else v.result,
            preset=v.preset,
            sources=[{"name": s.name, "type": s.type, "index": s.index, "file_id": s.file_id} for s in v.sources]
            if v.sources is not None else None,
            dst={"bucket": v.dst.bucket, "key": v.dst.key, "acl": v.dst.acl} if v.dst is not None else None,
            file_id=v.file_id, procedure=v.procedure,
        )


class TaskList(BaseModel):
    items: list[TaskPublic]
    next_marker: str | None
    total: int
    version: str = Field(description="changes whenever this page would read differently; pass it back as "
                                     "`since` to long-poll for the next change")
    now: str = Field(description="the server's clock, for ETAs from `started_at` and `progress`")


class TaskMeta(BaseModel):
    task_id: str
    sources: list[dict[str, Any]]
    output: dict[str, Any] | None

    @classmethod
    def from_view(cls, v: TaskMetaView) -> TaskMeta:
        return cls(task_id=v.task_id, sources=v.sources, output=v.output)
