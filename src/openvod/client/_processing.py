"""Media processing: templates, task flows (procedures), processing a file, task detail.

Templates, flows and details are Tencent-shaped JSON, returned as the server sends them (dicts):
``{"definition", "kind", "type", "name", "comment", "params", ...}`` for a template,
``{"name", "comment", "media_process_task", "steps", ...}`` for a flow, and Tencent's
``DescribeTaskDetail`` answer for a task's detail."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import quote

from openvod.client._base import BaseClient
from openvod.client.models import Task

__all__ = ["ProcessingAPI"]

JSON = dict[str, Any]


def _q(part: str | int) -> str:
    return quote(str(part), safe="")


class ProcessingAPI(BaseClient):
    """Media processing: templates, task flows (procedures), processing a file, task detail."""

    # -- templates -------------------------------------------------------------------------------

    def create_template(self, kind: str, params: Mapping[str, Any], *, name: str = "", comment: str = "") -> JSON:
        """A template of ``kind`` (``Transcode``, ``AnimatedGraphics``, ``SnapshotByTimeOffset``,
        ``SampleSnapshot``, ``ImageSprite``, ``AdaptiveDynamicStreaming``); its ``definition``
        is the number processing tasks name it by."""
        body = {"name": name, "comment": comment, "params": dict(params)}
        return self._json("POST", f"/v1/templates/{_q(kind)}", json=body)

    def template(self, kind: str, definition: int) -> JSON:
        """One template (a system one or the app's)."""
        return self._json("GET", f"/v1/templates/{_q(kind)}/{int(definition)}")

    def list_templates(self, kind: str, *, type: str | None = None, definitions: Iterable[int] | None = None,
                       offset: int = 0, limit: int = 100) -> list[JSON]:
        """One page of templates of ``kind``: the system ones, then the app's; ``type`` is
        ``Preset`` (system) or ``Custom`` (the app's)."""
        params: dict[str, str | int] = {"offset": offset, "limit": limit}
        if type:
            params["type"] = type
        if definitions is not None:
            params["definitions"] = ",".join(str(int(d)) for d in definitions)
        return list(self._json("GET", f"/v1/templates/{_q(kind)}", params=params).get("items", []))

    def update_template(self, kind: str, definition: int, *, params: Mapping[str, Any] | None = None,
                        name: str | None = None, comment: str | None = None) -> JSON:
        """Change an app template; ``params`` are merged into the current ones (Tencent's Modify)."""
        body: JSON = {}
        if params is not None:
            body["params"] = dict(params)
        if name is not None:
            body["name"] = name
        if comment is not None:
            body["comment"] = comment
        return self._json("PUT", f"/v1/templates/{_q(kind)}/{int(definition)}", json=body)

    def delete_template(self, kind: str, definition: int) -> None:
        """Delete an app template (refused while a task flow uses it)."""
        self._request("DELETE", f"/v1/templates/{_q(kind)}/{int(definition)}")

    # -- task flows --------------------------------------------------------------------------------

    def create_procedure(self, name: str, media_process_task: Mapping[str, Any], *, comment: str = "") -> JSON:
        """A task flow: a MediaProcessTask (``TranscodeTaskSet``, ``AnimatedGraphicTaskSet``, ...)
        to run on a file, by name — at upload (``upload(..., procedure=name)``) or later."""
        body = {"name": name, "comment": comment, "media_process_task": dict(media_process_task)}
        return self._json("POST", "/v1/procedures", json=body)

    def procedure(self, name: str) -> JSON:
        return self._json("GET", f"/v1/procedures/{_q(name)}")

    def list_procedures(self, *, names: Iterable[str] | None = None, offset: int = 0, limit: int = 100) -> list[JSON]:
        params: dict[str, str | int] = {"offset": offset, "limit": limit}
        if names is not None:
            params["names"] = ",".join(names)
        return list(self._json("GET", "/v1/procedures", params=params).get("items", []))

    def update_procedure(self, name: str, *, media_process_task: Mapping[str, Any] | None = None,
                         comment: str | None = None) -> JSON:
        """Change a flow; ``media_process_task`` replaces the old one whole."""
        body: JSON = {}
        if media_process_task is not None:
            body["media_process_task"] = dict(media_process_task)
        if comment is not None:
            body["comment"] = comment
        return self._json("PUT", f"/v1/procedures/{_q(name)}", json=body)

    def delete_procedure(self, name: str) -> None:
        self._request("DELETE", f"/v1/procedures/{_q(name)}")

    # -- processing --------------------------------------------------------------------------------

    def process_media(self, file_id: str, media_process_task: Mapping[str, Any], *, priority: int = 0,
                      notify_mode: str = "Finish", session_context: str = "", session_id: str | None = None,
                      ext_info: str = "") -> Task:
        """Queue processing of a file (any mix of transcodes, GIFs, snapshots, sprites, cover, HLS);
        returns the task (see :meth:`wait_task`, :meth:`task_detail`)."""
        body: JSON = {"media_process_task": dict(media_process_task), "priority": priority,
                      "notify_mode": notify_mode, "session_context": session_context, "ext_info": ext_info}
        if session_id is not None:
            body["session_id"] = session_id
        ref = self._json("POST", f"/v1/media/{_q(file_id)}/process", json=body)
        return Task.from_json(self._json("GET", self._task_path(str(ref["task_id"]))))

    def run_procedure(self, file_id: str, name: str, *, priority: int = 0, notify_mode: str = "Finish",
                      session_context: str = "", session_id: str | None = None, ext_info: str = "") -> Task:
        """Run the task flow ``name`` on a file; returns the task."""
        body: JSON = {"priority": priority, "notify_mode": notify_mode, "session_context": session_context,
                      "ext_info": ext_info}
        if session_id is not None:
            body["session_id"] = session_id
        ref = self._json("POST", f"/v1/media/{_q(file_id)}/procedures/{_q(name)}", json=body)
        return Task.from_json(self._json("GET", self._task_path(str(ref["task_id"]))))

    def task_detail(self, task_id: str) -> JSON:
        """A processing task's detail, one result per step (Tencent's ``DescribeTaskDetail``)."""
        return self._json("GET", f"{self._task_path(task_id)}/detail")

    def retry_step(self, task_id: str, index: int) -> JSON:
        """Run a failed step (0-based, in ``MediaProcessResultSet`` order) again, alone; returns the detail."""
        return self._json("POST", f"{self._task_path(task_id)}/steps/{int(index)}/retry")
