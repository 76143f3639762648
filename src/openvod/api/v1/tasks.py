"""``/v1/tasks``: transcoding (and no-op) tasks."""

from __future__ import annotations

import asyncio
import contextlib
import time
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field, model_validator

from openvod.api.deps import AuthKey, Ctx
from openvod.domain.tasks import TERMINAL
from openvod.services import tasks
from openvod.services.tasks import Source, TranscodeRequest

__all__ = ["router"]

router = APIRouter(prefix="/v1/tasks", tags=["tasks"])


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
    state: Literal["init", "exec", "succ", "fail", "canceled"]
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


class TaskList(BaseModel):
    items: list[TaskPublic]
    next_marker: str | None
    total: int


class TaskMeta(BaseModel):
    task_id: str
    sources: list[dict[str, Any]]
    output: dict[str, Any] | None


@router.post("", response_model=TaskPublic, status_code=201, summary="Create a task")
def create_task(body: TaskCreate, ctx: Ctx, key: AuthKey) -> dict[str, Any]:
    if body.kind == "noop":
        return tasks.create_noop(ctx, key.app_id, sleep=body.sleep, priority=body.priority,
                                 ext_param=body.ext_param, cb_url=body.cb_url)
    assert body.preset is not None
    req = TranscodeRequest(
        preset=body.preset,
        sources=[Source(path=s.path, file_id=s.file_id, type=s.type, index=s.index) for s in body.sources],
        dst_bucket=body.dst_bucket, dst_key=body.dst_key, dst_dir=body.dst_dir, dst_acl=body.dst_acl,
        cb_url=body.cb_url, cb_method=body.cb_method, ext_param=body.ext_param, priority=body.priority,
    )
    return tasks.create_transcode(ctx, key.app_id, req)


@router.get("", response_model=TaskList, summary="List tasks created in a date range, oldest first")
def list_tasks(
    ctx: Ctx,
    key: AuthKey,
    start: Annotated[str | None, Query(pattern=r"^\d{8}$", description="YYYYMMDD (UTC), inclusive")] = None,
    end: Annotated[str | None, Query(pattern=r"^\d{8}$", description="YYYYMMDD (UTC), inclusive")] = None,
    marker: Annotated[str | None, Query(max_length=40)] = None,
    limit: Annotated[int, Query(ge=0, le=1000)] = 100,
    state: Annotated[str | None, Query(max_length=16)] = None,
) -> dict[str, Any]:
    items, nxt, total = tasks.list_tasks(ctx, key.app_id, start=start, end=end, marker=marker, limit=limit,
                                         state=state)
    return {"items": items, "next_marker": nxt, "total": total}


@router.get("/{task_id}", response_model=TaskPublic, summary="One task, with progress and queue position")
async def get_task(task_id: str, ctx: Ctx, key: AuthKey) -> dict[str, Any]:
    # The endpoint clients poll: two indexed reads (~0.3 ms on SQLite, which never blocks readers
    # in WAL mode) run right on the event loop — a thread hop would cost more than the query.
    return tasks.get_task(ctx, key.app_id, task_id)


class _Waiters:
    """Long-polls waiting for tasks, woken from the scheduler thread through the event loop."""

    def __init__(self) -> None:
        self._events: set[tuple[asyncio.AbstractEventLoop, asyncio.Event]] = set()

    def wake_all(self) -> None:
        for loop, event in list(self._events):
            loop.call_soon_threadsafe(event.set)

    async def wait(self, ctx: Ctx, app_id: str, task_id: str, timeout: float) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        event = asyncio.Event()
        entry = (asyncio.get_running_loop(), event)
        self._events.add(entry)
        try:
            while True:
                task = tasks.get_task(ctx, app_id, task_id)  # fast read, see get_task below
                left = deadline - time.monotonic()
                if task["state"] in TERMINAL or left <= 0:
                    return task
                event.clear()
                # Woken by this process's scheduler; re-read at least once a second anyway, since
                # workers elsewhere (another server, Celery) finish tasks too.
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(event.wait(), timeout=min(1.0, left))
        finally:
            self._events.discard(entry)


_waiters = _Waiters()


@router.get("/{task_id}/wait", response_model=TaskPublic,
            summary="Long-poll: answers when the task has finished, or after `timeout` seconds")
async def wait_task(task_id: str, ctx: Ctx, key: AuthKey,
                    timeout: Annotated[float, Query(ge=0, le=60)] = 30.0) -> dict[str, Any]:
    if _waiters.wake_all not in ctx.task_listeners:
        ctx.task_listeners.append(_waiters.wake_all)
    return await _waiters.wait(ctx, key.app_id, task_id, timeout)


@router.post("/{task_id}/top", response_model=TaskPublic, summary="Move a queued task to the top")
def top_task(task_id: str, ctx: Ctx, key: AuthKey) -> dict[str, Any]:
    return tasks.top_task(ctx, key.app_id, task_id)


@router.delete("/{task_id}", summary="Cancel a queued or running task; remove a finished one")
def delete_task(task_id: str, ctx: Ctx, key: AuthKey) -> dict[str, str]:
    return {"task_id": task_id, "result": tasks.delete_task(ctx, key.app_id, task_id)}


@router.get("/{task_id}/meta", response_model=TaskMeta, summary="ffprobe JSON of the sources and the output")
def task_meta(task_id: str, ctx: Ctx, key: AuthKey) -> dict[str, Any]:
    return tasks.task_meta(ctx, key.app_id, task_id)
