"""Transcoding presets and tasks."""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator, Mapping
from typing import Any
from urllib.parse import quote

from openvod.client._base import (
    LONG_POLL_SECONDS,
    PROGRESS_INTERVAL,
    BaseClient,
    DayArg,
    SourceArg,
    TaskCallback,
    day_arg,
    source_list,
)
from openvod.client.models import Preset, Task, TaskMeta, TaskPage, WaitTimeout

__all__ = ["EngineAPI"]


class EngineAPI(BaseClient):
    """Transcoding presets and tasks."""

    # -- presets -------------------------------------------------------------------------------

    def create_preset(
        self, name: str, params: Mapping[str, Any], *, type: str = "avop", description: str = ""
    ) -> Preset:
        """Create the app's preset ``name`` from Kingsoft-style ``params`` (``{"f", "VIDEO", "AUDIO"}``).

        Bad params are ``ApiError`` ``InvalidParameter.PresetParam``; a taken name is
        ``FailedOperation.PresetExists``; names starting with ``system-`` are reserved.
        """
        body = {"name": name, "type": type, "description": description, "params": dict(params)}
        return Preset.from_json(self._json("POST", "/v1/presets", json=body))

    def preset(self, name: str) -> Preset:
        """The app's preset ``name``, or the system preset of that name."""
        return Preset.from_json(self._json("GET", f"/v1/presets/{quote(name, safe='')}"))

    def list_presets(
        self, *, type: str | None = None, names: Iterable[str] | None = None, detail: bool = True
    ) -> list[Preset]:
        """The app's presets by name, then the system presets; ``names`` keeps only those (missing
        ones are left out); without ``detail`` each ``params`` is ``None``."""
        params: dict[str, str] = {"detail": "true" if detail else "false"}
        if type:
            params["type"] = type
        if names is not None:
            params["names"] = ",".join(names)
        body = self._json("GET", "/v1/presets", params=params)
        return [Preset.from_json(p) for p in body.get("items", [])]

    def update_preset(
        self,
        name: str,
        *,
        params: Mapping[str, Any] | None = None,
        description: str | None = None,
        type: str | None = None,
    ) -> Preset:
        """Change an app preset; ``None`` keeps a field, ``params`` replaces the old params whole."""
        body: dict[str, Any] = {}
        if params is not None:
            body["params"] = dict(params)
        if description is not None:
            body["description"] = description
        if type is not None:
            body["type"] = type
        return Preset.from_json(self._json("PUT", f"/v1/presets/{quote(name, safe='')}", json=body))

    def delete_preset(self, name: str) -> None:
        """Delete an app preset (refused while an unfinished task uses it)."""
        self._request("DELETE", f"/v1/presets/{quote(name, safe='')}")

    # -- tasks ---------------------------------------------------------------------------------

    def create_task(
        self,
        *,
        preset: str,
        sources: SourceArg | Iterable[SourceArg],
        dst_bucket: str | None = None,
        dst_key: str | None = None,
        dst_dir: str | None = None,
        dst_acl: str = "private",
        cb_url: str | None = None,
        cb_method: str = "POST",
        ext_param: str = "",
        priority: int = 0,
    ) -> Task:
        """Queue a transcode of ``sources`` (one, or several concatenated in order) with ``preset``.

        Without ``dst_key`` the output goes to ``dst_dir/<source name>.<ext>`` or, without that,
        ``transcode/<task_id>/…`` in ``dst_bucket`` (default: the server's bucket). ``cb_url`` gets
        the task's state changes pushed to it. Returns the queued task; see :meth:`wait_task`.
        """
        body: dict[str, Any] = {
            "kind": "transcode",
            "preset": preset,
            "sources": source_list(sources),
            "dst_acl": dst_acl,
            "cb_method": cb_method,
            "ext_param": ext_param,
            "priority": priority,
        }
        for name, value in (("dst_bucket", dst_bucket), ("dst_key", dst_key), ("dst_dir", dst_dir), ("cb_url", cb_url)):
            if value is not None:
                body[name] = value
        return Task.from_json(self._json("POST", "/v1/tasks", json=body))

    def create_noop_task(
        self, sleep: float = 0.0, *, priority: int = 0, ext_param: str = "", cb_url: str | None = None
    ) -> Task:
        """Queue a task that does nothing for ``sleep`` seconds: to test queues and callbacks."""
        body: dict[str, Any] = {"kind": "noop", "sleep": sleep, "priority": priority, "ext_param": ext_param}
        if cb_url is not None:
            body["cb_url"] = cb_url
        return Task.from_json(self._json("POST", "/v1/tasks", json=body))

    def task(self, task_id: str) -> Task:
        """``GET /v1/tasks/{task_id}``: state, progress, queue position, error, output."""
        return Task.from_json(self._json("GET", self._task_path(task_id)))

    def list_tasks(
        self,
        *,
        start: DayArg | None = None,
        end: DayArg | None = None,
        marker: str | None = None,
        limit: int = 100,
        state: str | None = None,
        file_id: str | None = None,
        newest_first: bool = False,
    ) -> TaskPage:
        """One page of tasks created on the days ``start`` to ``end`` (inclusive, UTC; a ``date``
        or ``"YYYYMMDD"``), oldest first (or newest first), optionally only those in ``state``
        or only the processing tasks of media ``file_id``."""
        params: dict[str, str | int] = {"limit": limit, "order": "desc" if newest_first else "asc"}
        if file_id:
            params["file_id"] = file_id
        if start is not None:
            params["start"] = day_arg(start)
        if end is not None:
            params["end"] = day_arg(end)
        if marker:
            params["marker"] = marker
        if state:
            params["state"] = state
        body = self._json("GET", "/v1/tasks", params=params)
        next_marker = body.get("next_marker")
        return TaskPage(
            items=[Task.from_json(t) for t in body.get("items", [])],
            next_marker=str(next_marker) if next_marker else None,
            total=int(body.get("total") or 0),
        )

    def iter_tasks(
        self,
        *,
        start: DayArg | None = None,
        end: DayArg | None = None,
        state: str | None = None,
        page_size: int = 100,
    ) -> Iterator[Task]:
        """Every matching task, oldest first, fetching pages of ``page_size`` as needed."""
        marker: str | None = None
        while True:
            page = self.list_tasks(start=start, end=end, marker=marker, limit=page_size, state=state)
            yield from page.items
            if not page.next_marker or not page.items:
                return
            marker = page.next_marker

    def top_task(self, task_id: str) -> Task:
        """Move a queued task to the head of the queue (``FailedOperation.TaskNotQueued`` otherwise)."""
        return Task.from_json(self._json("POST", f"{self._task_path(task_id)}/top"))

    def delete_task(self, task_id: str) -> str:
        """Cancel a queued or running task (``"canceled"``) or remove a finished one (``"deleted"``)."""
        return str(self._json("DELETE", self._task_path(task_id)).get("result", ""))

    def task_meta(self, task_id: str) -> TaskMeta:
        """ffprobe JSON of the task's sources and of its output."""
        return TaskMeta.from_json(self._json("GET", f"{self._task_path(task_id)}/meta"))

    def wait_task(self, task_id: str, timeout: float | None = None, on_progress: TaskCallback | None = None) -> Task:
        """Block until the task has finished (``succ``, ``fail`` or ``canceled``) and return it.

        A failed task is returned, not raised: check ``state``. After ``timeout`` seconds (``None``:
        no limit, ``0``: look once) raises :class:`WaitTimeout` with the last state seen; the task
        runs on. The wait is a series of server long-polls, so a finished task returns at once.
        ``on_progress(task)`` gets every state seen, the final one included; with it the polls are
        cut to :data:`PROGRESS_INTERVAL` so progress moves, never more than one request a second.
        """
        deadline = None if timeout is None else time.monotonic() + max(0.0, timeout)
        cap = PROGRESS_INTERVAL if on_progress is not None else LONG_POLL_SECONDS
        path = f"{self._task_path(task_id)}/wait"
        while True:
            left = cap if deadline is None else deadline - time.monotonic()
            poll = max(0.0, min(cap, left))
            began = time.monotonic()
            task = Task.from_json(
                self._json("GET", path, params={"timeout": round(poll, 3)}, timeout=self._long_poll_timeout(poll))
            )
            if on_progress is not None:
                on_progress(task)
            if task.finished:
                return task
            if deadline is not None and time.monotonic() >= deadline:
                raise WaitTimeout(
                    f"task {task_id} is still {task.state} ({task.progress:g}%) after waiting {timeout:g} s; "
                    "it goes on on the server: wait again, or cancel it with delete_task",
                    task=task,
                )
            # A server that answers a long-poll early (an old one, a proxy) must not make us spin.
            floor = min(poll, PROGRESS_INTERVAL) - (time.monotonic() - began)
            if floor > 0:
                time.sleep(floor if deadline is None else min(floor, max(0.0, deadline - time.monotonic())))
