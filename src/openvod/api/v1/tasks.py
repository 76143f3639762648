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

from openvod.api.deps import AuthKey, Ctx
from openvod.api.v1.task_schemas import TaskCreate, TaskList, TaskMeta, TaskPublic
from openvod.domain.tasks import TERMINAL
from openvod.domain.times import iso_ms
from openvod.domain.views.tasks import TaskView
from openvod.runtime import Signals, Topic
from openvod.services import tasks
from openvod.services.tasks import Source, TranscodeRequest

__all__ = ["router"]

router = APIRouter(prefix="/v1/tasks", tags=["tasks"])


@router.post("", response_model=TaskPublic, status_code=201, summary="Create a task")
def create_task(body: TaskCreate, ctx: Ctx, key: AuthKey) -> TaskPublic:
    if body.kind == "noop":
        return TaskPublic.from_view(tasks.create_noop(ctx, key.app_id, sleep=body.sleep, priority=body.priority,
                                                      ext_param=body.ext_param, cb_url=body.cb_url))
    assert body.preset is not None
    req = TranscodeRequest(
        preset=body.preset,
        sources=[Source(path=s.path, file_id=s.file_id, type=s.type, index=s.index) for s in body.sources],
        dst_bucket=body.dst_bucket, dst_key=body.dst_key, dst_dir=body.dst_dir, dst_acl=body.dst_acl,
        cb_url=body.cb_url, cb_method=body.cb_method, ext_param=body.ext_param, priority=body.priority,
    )
    return TaskPublic.from_view(tasks.create_transcode(ctx, key.app_id, req))


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
        page = {"items": [TaskPublic.from_view(t).model_dump() for t in items], "next_marker": nxt, "total": total}
        digest = hashlib.sha256(json.dumps(page, sort_keys=True, default=str).encode()).hexdigest()[:24]
        return {**page, "version": digest}

    async def read_async() -> dict[str, Any]:
        return await anyio.to_thread.run_sync(read)

    if since is None:
        page = await read_async()
    else:
        page = await _waiters.until(ctx.signals, read_async, lambda p: p["version"] != since, timeout,
                                    request.is_disconnected)
    return {**page, "now": iso_ms(datetime.now(UTC))}


@router.get("/{task_id}", response_model=TaskPublic, summary="One task, with progress and queue position")
async def get_task(task_id: str, ctx: Ctx, key: AuthKey) -> TaskPublic:
    # The endpoint clients poll: two indexed reads (~0.3 ms on SQLite, which never blocks readers
    # in WAL mode) run right on the event loop — a thread hop would cost more than the query.
    return TaskPublic.from_view(tasks.get_task(ctx, key.app_id, task_id))


_R = TypeVar("_R")


class _Waiters:
    """Long-polls, woken through ``ctx.signals`` ("task changed", sent from the scheduler
    thread) on the event loop."""

    def __init__(self) -> None:
        self._events: set[tuple[asyncio.AbstractEventLoop, asyncio.Event]] = set()  # waiting now

    async def until(self, signals: Signals, read: Callable[[], Awaitable[_R]], done: Callable[[_R], bool],
                    timeout: float, gone: Callable[[], Awaitable[bool]] | None = None, *,
                    task_id: str | None = None) -> _R:
        """``read()`` again on each wake (of ``task_id``, or of any task) until ``done`` says so or
        ``timeout`` seconds pass, or until ``gone()`` says the client has disconnected (checked at
        least once a second)."""
        deadline = time.monotonic() + timeout
        event = asyncio.Event()
        loop = asyncio.get_running_loop()
        entry = (loop, event)

        def wake(key: str | None) -> None:
            if task_id is None or key is None or key == task_id:
                with contextlib.suppress(RuntimeError):  # the loop has closed; nobody waits any more
                    loop.call_soon_threadsafe(event.set)

        self._events.add(entry)
        try:
            with signals.listening(Topic.TASK, wake):
                while True:
                    event.clear()
                    value = await read()
                    read_at = time.monotonic()
                    left = deadline - read_at
                    if done(value) or left <= 0 or (gone is not None and await gone()):
                        return value
                    # Woken by a signal (this process's, or another's through the database's
                    # LISTEN/NOTIFY); re-read every ``signals.recheck_seconds`` anyway (1 s on
                    # SQLite, where other processes cannot signal), and look for a client that
                    # left once a second.
                    while (left := deadline - time.monotonic()) > 0:
                        try:
                            await asyncio.wait_for(event.wait(), timeout=min(1.0, left))
                            break
                        except TimeoutError:
                            if gone is not None and await gone():
                                return value
                            if time.monotonic() - read_at >= signals.recheck_seconds:
                                break
        finally:
            self._events.discard(entry)


_waiters = _Waiters()


@router.get("/{task_id}/wait", response_model=TaskPublic,
            summary="Long-poll: answers when the task has finished, or after `timeout` seconds")
async def wait_task(task_id: str, request: Request, ctx: Ctx, key: AuthKey,
                    timeout: Annotated[float, Query(ge=0, le=60)] = 30.0) -> TaskPublic:
    async def read() -> TaskView:
        return tasks.get_task(ctx, key.app_id, task_id)  # fast read, see get_task

    view = await _waiters.until(ctx.signals, read, lambda t: t.state in TERMINAL, timeout, request.is_disconnected,
                                task_id=task_id)
    return TaskPublic.from_view(view)


@router.post("/{task_id}/top", response_model=TaskPublic, summary="Move a queued task to the top")
def top_task(task_id: str, ctx: Ctx, key: AuthKey) -> TaskPublic:
    return TaskPublic.from_view(tasks.top_task(ctx, key.app_id, task_id))


@router.delete("/{task_id}", summary="Cancel a queued or running task; remove a finished one")
def delete_task(task_id: str, ctx: Ctx, key: AuthKey) -> dict[str, str]:
    return {"task_id": task_id, "result": tasks.delete_task(ctx, key.app_id, task_id)}


@router.get("/{task_id}/meta", response_model=TaskMeta, summary="ffprobe JSON of the sources and the output")
def task_meta(task_id: str, ctx: Ctx, key: AuthKey) -> TaskMeta:
    return TaskMeta.from_view(tasks.task_meta(ctx, key.app_id, task_id))
