"""``/v1/tasks``: transcoding (and no-op) tasks."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Annotated, Any, Literal, TypeVar

import anyio
from fastapi import APIRouter, Query, Request
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
    file_id: str | None = Field(default=None, description="processing tasks: the media file they work on")
    procedure: str | None = Field(default=None, description="processing tasks: the task flow they run")


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


@router.get("", response_model=TaskList, summary="List tasks created in a date range (long-poll with `since`)")
async def list_tasks(
    request: Request,
    ctx: Ctx,
    key: AuthKey,
    start: Annotated[str | None, Query(pattern=r"^\d{8}$", description="YYYYMMDD (UTC), inclusive")] = None,
    end: Annotated[str | None, Query(pattern=r"^\d{8}$", description="YYYYMMDD (UTC), inclusive")] = None,
    marker: Annotated[str | None, Query(max_length=40)] = None,
    limit: Annotated[int, Query(ge=0, le=1000)] = 100,
    state: Annotated[str | None, Query(max_length=16)] = None,
    file_id: Annotated[str | None, Query(max_length=32, description="only this media file's processing tasks")] = None,
    order: Annotated[Literal["asc", "desc"], Query(description="asc: oldest first; desc: newest first")] = "asc",
    since: Annotated[str | None, Query(max_length=32, description="a `version` from an earlier answer: wait "
                                                                  "until the page differs from it")] = None,
    timeout: Annotated[float, Query(ge=0, le=60, description="longest wait with `since`, seconds")] = 25.0,
) -> dict[str, Any]:
    def read() -> dict[str, Any]:
        items, nxt, total = tasks.list_tasks(ctx, key.app_id, start=start, end=end, marker=marker, limit=limit,
                                             state=state, file_id=file_id, newest_first=order == "desc")
        page = {"items": items, "next_marker": nxt, "total": total}
        digest = hashlib.sha256(json.dumps(page, sort_keys=True, default=str).encode()).hexdigest()[:24]
        return {**page, "version": digest}

    async def read_async() -> dict[str, Any]:
        return await anyio.to_thread.run_sync(read)

    if since is None:
        page = await read_async()
    else:
        _listen(ctx)
        page = await _waiters.until(read_async, lambda p: p["version"] != since, timeout, request.is_disconnected)
    return {**page, "now": datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")}


@router.get("/{task_id}", response_model=TaskPublic, summary="One task, with progress and queue position")
async def get_task(task_id: str, ctx: Ctx, key: AuthKey) -> dict[str, Any]:
    # The endpoint clients poll: two indexed reads (~0.3 ms on SQLite, which never blocks readers
    # in WAL mode) run right on the event loop — a thread hop would cost more than the query.
    return tasks.get_task(ctx, key.app_id, task_id)


_R = TypeVar("_R")


class _Waiters:
    """Long-polls, woken from the scheduler thread through the event loop."""

    def __init__(self) -> None:
        self._events: set[tuple[asyncio.AbstractEventLoop, asyncio.Event]] = set()

    def wake_all(self) -> None:
        for loop, event in list(self._events):
            loop.call_soon_threadsafe(event.set)

    async def until(self, read: Callable[[], Awaitable[_R]], done: Callable[[_R], bool], timeout: float,
                    gone: Callable[[], Awaitable[bool]] | None = None) -> _R:
        """``read()`` again on each wake until ``done`` says so or ``timeout`` seconds pass, or
        until ``gone()`` says the client has disconnected (checked at least once a second)."""
        deadline = time.monotonic() + timeout
        event = asyncio.Event()
        entry = (asyncio.get_running_loop(), event)
        self._events.add(entry)
        try:
            while True:
                event.clear()
                value = await read()
                left = deadline - time.monotonic()
                if done(value) or left <= 0 or (gone is not None and await gone()):
                    return value
                # Woken by this process's scheduler; re-read at least once a second anyway, since
                # workers elsewhere (other processes, another server, Celery) change tasks too.
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(event.wait(), timeout=min(1.0, left))
        finally:
            self._events.discard(entry)


_waiters = _Waiters()


def _listen(ctx: Ctx) -> None:
    if _waiters.wake_all not in ctx.task_listeners:
        ctx.task_listeners.append(_waiters.wake_all)


@router.get("/{task_id}/wait", response_model=TaskPublic,
            summary="Long-poll: answers when the task has finished, or after `timeout` seconds")
async def wait_task(task_id: str, request: Request, ctx: Ctx, key: AuthKey,
                    timeout: Annotated[float, Query(ge=0, le=60)] = 30.0) -> dict[str, Any]:
    _listen(ctx)

    async def read() -> dict[str, Any]:
        return tasks.get_task(ctx, key.app_id, task_id)  # fast read, see get_task

    return await _waiters.until(read, lambda t: t["state"] in TERMINAL, timeout, request.is_disconnected)


@router.post("/{task_id}/top", response_model=TaskPublic, summary="Move a queued task to the top")
def top_task(task_id: str, ctx: Ctx, key: AuthKey) -> dict[str, Any]:
    return tasks.top_task(ctx, key.app_id, task_id)


@router.delete("/{task_id}", summary="Cancel a queued or running task; remove a finished one")
def delete_task(task_id: str, ctx: Ctx, key: AuthKey) -> dict[str, str]:
    return {"task_id": task_id, "result": tasks.delete_task(ctx, key.app_id, task_id)}


@router.get("/{task_id}/meta", response_model=TaskMeta, summary="ffprobe JSON of the sources and the output")
def task_meta(task_id: str, ctx: Ctx, key: AuthKey) -> dict[str, Any]:
    return tasks.task_meta(ctx, key.app_id, task_id)
