"""Python client for the OpenVOD native REST API (``/v1``).

    from openvod.client import Client

    with Client("http://127.0.0.1:8080", SECRET_ID, SECRET_KEY) as vod:
        media = vod.upload(Path("clip.mp4"), on_progress=lambda sent, total: print(sent, total))
        print(media.file_id, media.metadata["Duration"])
        for item in vod.iter_media(name="clip"):
            print(item.name)

Uploads use tus and survive dropped connections, server restarts and (through the resume store)
the end of the process. A client holding only an upload signature (from :func:`sign_upload` in
your backend) passes it as ``upload_signature`` and can upload but not call other endpoints.

Transcoding: pick a preset (``list_presets``; the ``system-…`` ones exist everywhere), create a
task, wait for it::

        task = vod.create_task(preset="system-720p-h264", sources=media.file_id, dst_key="out/a.mp4")
        done = vod.wait_task(task.task_id, timeout=600, on_progress=lambda t: print(t.progress))
        print(done.state, done.output.url if done.output else done.error_message)

Events (uploads, task state changes) are pulled with ``pull_events`` and must be confirmed with
``confirm_events``, or pushed to the URL set with ``set_callback``.

Every failure is an :class:`openvod.errors.OpenVODError`: :class:`ApiError` when the server
answered with an error, :class:`NetworkError` when it could not be reached, :class:`WaitTimeout`
(also a :class:`TimeoutError`) when a wait ran out of time.
"""

from __future__ import annotations

import enum
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import UTC, date, datetime
from pathlib import Path
from types import TracebackType
from typing import Any, TypeVar
from urllib.parse import quote

import httpx

from openvod.client.models import (
    ApiError,
    Callback,
    Delivery,
    Event,
    Media,
    MediaPage,
    NetworkError,
    ObjectInfo,
    Preset,
    SourceObject,
    Task,
    TaskMeta,
    TaskOutput,
    TaskPage,
    WaitTimeout,
    error_from_response,
)
from openvod.client.signing import sign_upload
from openvod.client.tus import DEFAULT_RESUME_STORE, ProgressCallback, ResumeStore, RetryPolicy, TusUploader
from openvod.domain.tasks import TaskState

__all__ = [
    "ApiError",
    "Callback",
    "Client",
    "Delivery",
    "Event",
    "Media",
    "MediaPage",
    "NetworkError",
    "ObjectInfo",
    "Preset",
    "RetryPolicy",
    "SourceArg",
    "SourceObject",
    "Task",
    "TaskMeta",
    "TaskOutput",
    "TaskPage",
    "TaskState",
    "WaitTimeout",
    "sign_upload",
]

DEFAULT_TIMEOUT = httpx.Timeout(60, connect=10)
_UPLOADS = "/v1/uploads"
LONG_POLL_SECONDS = 30.0
"""The longest single long-poll the client asks for; a wait is a series of them."""
LONG_POLL_MARGIN = 15.0
"""How much longer than a long-poll's own timeout its HTTP read may take before the connection
counts as broken."""
PROGRESS_INTERVAL = 1.0
"""Seconds between progress reports while waiting: the floor between two requests of a wait."""
CONFIRM_BATCH = 100


class _Unset(enum.Enum):
    UNSET = enum.auto()


UNSET = _Unset.UNSET
TimeArg = datetime | str
DayArg = date | str
SourceArg = str | Media | Mapping[str, Any]
"""A task source: a FileId, a ``"/bucket/key"`` path, a :class:`Media`, or the API's own
``{"file_id"|"path", "type", "index"}`` object."""
TaskCallback = Callable[[Task], None]
T = TypeVar("T")


def _iso(value: TimeArg) -> str:
    if isinstance(value, str):
        return value
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _day(value: DayArg) -> str:
    return value if isinstance(value, str) else value.strftime("%Y%m%d")


def _source_list(sources: SourceArg | Iterable[SourceArg]) -> list[dict[str, Any]]:
    items: list[SourceArg] = [sources] if isinstance(sources, str | Media | Mapping) else list(sources)
    out: list[dict[str, Any]] = []
    for index, src in enumerate(items):
        if isinstance(src, Media):
            entry: dict[str, Any] = {"file_id": src.file_id}
        elif isinstance(src, str):
            entry = {"path": src} if src.startswith("/") else {"file_id": src}
        elif isinstance(src, Mapping):
            entry = dict(src)
        else:
            raise TypeError(f"a task source is a FileId, a /bucket/key, a Media or a dict, not {type(src).__name__}")
        entry.setdefault("index", index)  # in the order given, unless told otherwise
        out.append(entry)
    return out


class Client:
    """A connection to one OpenVOD server as one app (key pair) or one upload signature.

    ``transport`` is the httpx seam (e.g. a fault injector in tests); ``chunk_size`` is the tus
    chunk; ``resume_store`` is the JSON file remembering unfinished uploads (default
    ``~/.cache/openvod/uploads.json``). Use as a context manager or call :meth:`close`.
    """

    def __init__(
        self,
        base_url: str,
        secret_id: str | None = None,
        secret_key: str | None = None,
        upload_signature: str | None = None,
        *,
        timeout: httpx.Timeout = DEFAULT_TIMEOUT,
        transport: httpx.BaseTransport | None = None,
        chunk_size: int = 32 * 1024 * 1024,
        resume_store: Path | None = None,
        retry: RetryPolicy = RetryPolicy(),  # noqa: B008 - frozen, shared safely
    ) -> None:
        if (secret_id is None) != (secret_key is None):
            raise ValueError("give both secret_id and secret_key, or neither")
        self.base_url = base_url.rstrip("/")
        self.secret_id = secret_id
        auth = httpx.BasicAuth(secret_id, secret_key) if secret_id and secret_key else None
        self._http = httpx.Client(
            base_url=self.base_url,
            auth=auth,
            timeout=timeout,
            transport=transport,
            headers={"User-Agent": "openvod-client/0.1"},
        )
        self._uploader = TusUploader(
            self._http,
            _UPLOADS,
            chunk_size=chunk_size,
            store=ResumeStore(resume_store or DEFAULT_RESUME_STORE),
            retry=retry,
            creation_headers={"X-VOD-Signature": upload_signature} if upload_signature else None,
        )

    # -- lifecycle -----------------------------------------------------------------------------

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    # -- uploads -------------------------------------------------------------------------------

    def upload(
        self,
        path: Path | str,
        *,
        procedure: str | None = None,
        class_id: int | None = None,
        on_progress: ProgressCallback | None = None,
        checksum: bool = True,
    ) -> Media:
        """Upload a file (resuming an earlier attempt of the same file) and return its media.

        ``on_progress(sent, total)`` is called from this thread as bytes go out. A client with
        only an upload signature may not read media, so it gets a ``Media`` holding just
        ``file_id`` and ``name``.
        """
        path = Path(path)
        metadata: dict[str, str] = {}
        if procedure:
            metadata["procedure"] = procedure
        if class_id is not None:
            metadata["class_id"] = str(class_id)
        # Same file, different options or identity: a different upload.
        extra = [self.secret_id or "", procedure or "", "" if class_id is None else str(class_id)]
        file_id = self._call(
            lambda: self._uploader.upload(
                path, metadata=metadata, fingerprint_extra=extra, on_progress=on_progress, checksum=checksum
            )
        )
        if self.secret_id is None:
            return Media.from_json({"file_id": file_id, "name": path.name})
        return self.media(file_id)

    # -- media ---------------------------------------------------------------------------------

    def media(self, file_id: str) -> Media:
        """``GET /v1/media/{file_id}``."""
        return Media.from_json(self._json("GET", f"/v1/media/{quote(file_id, safe='')}"))

    def describe_media(self, file_ids: Iterable[str]) -> tuple[list[Media], list[str]]:
        """Several media at once: ``(found, not_found_ids)``."""
        body = self._json("POST", "/v1/media/describe", json={"file_ids": list(file_ids)})
        found = [Media.from_json(m) for m in body.get("items", [])]
        return found, [str(i) for i in body.get("not_found", [])]

    def list_media(
        self,
        *,
        name: str | None = None,
        class_id: int | None = None,
        created_from: TimeArg | None = None,
        created_to: TimeArg | None = None,
        limit: int = 20,
        marker: str | None = None,
    ) -> MediaPage:
        """One page of media, newest first; ``name`` matches a case-insensitive substring."""
        params: dict[str, str | int] = {"limit": limit}
        if name is not None:
            params["name"] = name
        if class_id is not None:
            params["class_id"] = class_id
        if created_from is not None:
            params["created_from"] = _iso(created_from)
        if created_to is not None:
            params["created_to"] = _iso(created_to)
        if marker:
            params["marker"] = marker
        body = self._json("GET", "/v1/media", params=params)
        next_marker = body.get("next_marker")
        return MediaPage(
            items=[Media.from_json(m) for m in body.get("items", [])],
            next_marker=str(next_marker) if next_marker else None,
        )

    def iter_media(
        self,
        *,
        name: str | None = None,
        class_id: int | None = None,
        created_from: TimeArg | None = None,
        created_to: TimeArg | None = None,
        page_size: int = 100,
    ) -> Iterator[Media]:
        """Every matching media, fetching pages of ``page_size`` as needed."""
        marker: str | None = None
        while True:
            page = self.list_media(
                name=name,
                class_id=class_id,
                created_from=created_from,
                created_to=created_to,
                limit=page_size,
                marker=marker,
            )
            yield from page.items
            if not page.next_marker or not page.items:
                return
            marker = page.next_marker

    def modify_media(
        self,
        file_id: str,
        *,
        name: str | None = None,
        description: str | None = None,
        class_id: int | None = None,
        expire_at: TimeArg | None | _Unset = UNSET,
    ) -> Media:
        """Change fields of a media; ``expire_at=None`` clears the expiry, leaving it out keeps it."""
        body: dict[str, Any] = {}
        if name is not None:
            body["name"] = name
        if description is not None:
            body["description"] = description
        if class_id is not None:
            body["class_id"] = class_id
        if expire_at is not UNSET:
            body["expire_at"] = None if expire_at is None else _iso(expire_at)
        return Media.from_json(self._json("PATCH", f"/v1/media/{quote(file_id, safe='')}", json=body))

    def delete_media(self, file_id: str, parts: Iterable[str] | None = None) -> list[str]:
        """Delete ``parts`` (``source``, ``cover``, ``outputs``) or, by default, everything and the
        record; returns the parts the server deleted."""
        params = {"parts": ",".join(parts)} if parts is not None else None
        body = self._json("DELETE", f"/v1/media/{quote(file_id, safe='')}", params=params)
        return [str(p) for p in body.get("deleted", [])]

    def pull_media(
        self,
        url: str,
        *,
        name: str | None = None,
        class_id: int | None = None,
        procedure: str | None = None,
    ) -> Media:
        """Have the server fetch ``url`` and create a media from it."""
        body: dict[str, Any] = {"url": url}
        if name is not None:
            body["name"] = name
        if class_id is not None:
            body["class_id"] = class_id
        if procedure is not None:
            body["procedure"] = procedure
        return Media.from_json(self._json("POST", "/v1/media/pull", json=body))

    # -- objects -------------------------------------------------------------------------------

    def list_objects(self, bucket: str, prefix: str = "") -> list[ObjectInfo]:
        """This app's objects in ``bucket`` whose key starts with ``prefix``."""
        body = self._json("GET", "/v1/objects", params={"bucket": bucket, "prefix": prefix})
        return [ObjectInfo.from_json(o) for o in body.get("items", [])]

    def get_object(self, bucket: str, key: str) -> bytes:
        """The bytes of one object (read into memory: meant for small objects and tests)."""
        response = self._request("GET", f"/v1/objects/{quote(bucket, safe='')}/{quote(key, safe='/')}")
        return response.content

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
            "sources": _source_list(sources),
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
            params["start"] = _day(start)
        if end is not None:
            params["end"] = _day(end)
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

    # -- events --------------------------------------------------------------------------------

    def pull_events(self, wait: float = 5.0) -> list[Event]:
        """Up to 16 unconfirmed events, oldest first, waiting up to ``wait`` seconds (capped by the
        server, 5 s by default) for one when none is ready; ``[]`` when none came.

        Each event is hidden for a while (30 s by default) once handed out and comes back unless
        confirmed with :meth:`confirm_events`: process, then confirm, and dedupe on ``event_id``.
        """
        body = self._json("GET", "/v1/events", params={"wait": wait}, timeout=self._long_poll_timeout(wait))
        return [Event.from_json(e) for e in body.get("items", [])]

    def confirm_events(self, handles: Iterable[str | Event]) -> int:
        """Confirm events (by handle or :class:`Event`) so they are never handed out again; returns
        how many of this app's events they named. Unknown or stale handles are ignored, not errors."""
        wanted = [h.handle if isinstance(h, Event) else h for h in handles]
        confirmed = 0
        for i in range(0, len(wanted), CONFIRM_BATCH):
            body = self._json("POST", "/v1/events/confirm", json={"handles": wanted[i : i + CONFIRM_BATCH]})
            confirmed += int(body.get("confirmed") or 0)
        return confirmed

    def callback(self) -> Callback:
        """The app's push settings (URL, method, signing secret)."""
        return Callback.from_json(self._json("GET", "/v1/app/callback"))

    def set_callback(self, url: str, method: str = "POST") -> Callback:
        """Push the app's events to ``url``, signed with the returned ``secret``."""
        return Callback.from_json(self._json("PUT", "/v1/app/callback", json={"url": url, "method": method}))

    def clear_callback(self) -> Callback:
        """Stop pushing the app's events."""
        return Callback.from_json(self._json("DELETE", "/v1/app/callback"))

    def deliveries(self, state: str | None = None, limit: int = 50) -> list[Delivery]:
        """Recent pushes, newest first: ``state`` is ``pending``, ``done`` or ``failed``; ``limit`` ≤ 100."""
        params: dict[str, str | int] = {"limit": limit}
        if state:
            params["state"] = state
        body = self._json("GET", "/v1/events/deliveries", params=params)
        return [Delivery.from_json(d) for d in body.get("items", [])]

    def redeliver(self, delivery_id: int) -> Delivery:
        """Push a delivery again now (also one that has failed for good)."""
        return Delivery.from_json(self._json("POST", f"/v1/events/deliveries/{int(delivery_id)}/redeliver"))

    # -- plumbing ------------------------------------------------------------------------------

    @staticmethod
    def _task_path(task_id: str) -> str:
        return f"/v1/tasks/{quote(task_id, safe='')}"

    def _long_poll_timeout(self, seconds: float) -> httpx.Timeout:
        base = self._http.timeout
        return httpx.Timeout(connect=base.connect, read=seconds + LONG_POLL_MARGIN, write=base.write, pool=base.pool)

    def _call(self, action: Callable[[], T]) -> T:
        try:
            return action()
        except httpx.TransportError as exc:
            raise NetworkError(f"{self.base_url}: {type(exc).__name__}: {exc}") from exc

    def _request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        try:
            response = self._http.request(method, path, **kwargs)
        except httpx.TransportError as exc:
            raise NetworkError(f"{method} {self.base_url}{path}: {type(exc).__name__}: {exc}") from exc
        if response.is_error:
            raise error_from_response(response, f"{method} {path}")
        return response

    def _json(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        response = self._request(method, path, **kwargs)
        try:
            body = response.json()
        except ValueError as exc:
            raise ApiError(response.status_code, "InvalidResponse", f"{method} {path}: not JSON") from exc
        if not isinstance(body, dict):
            raise ApiError(response.status_code, "InvalidResponse", f"{method} {path}: not a JSON object")
        return body
