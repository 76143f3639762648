"""Typed views of the native API's JSON, and the client's errors.

Every model keeps the JSON it was built from as ``.raw`` so fields the server adds later are still
reachable. Parsing is lenient about missing optional fields (a newer or older server may omit
them) but strict about types of the fields it does read.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import httpx

from openvod.domain.tasks import TERMINAL
from openvod.errors import OpenVODError

__all__ = [
    "ApiError",
    "Callback",
    "Delivery",
    "Event",
    "Media",
    "MediaPage",
    "NetworkError",
    "ObjectInfo",
    "Preset",
    "SourceObject",
    "Task",
    "TaskMeta",
    "TaskOutput",
    "TaskPage",
    "WaitTimeout",
    "error_from_response",
]

JSON = dict[str, Any]


class ApiError(OpenVODError):
    """The server answered with an error: ``status`` is the HTTP status, ``code`` its stable code.

    Built from the native envelope ``{"error": {"code", "message"}}``; a body without it (a proxy
    page, a HEAD answer) gets a code derived from the status, e.g. ``HTTPError.404``.
    """

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message, code=code)
        self.status = status


class NetworkError(OpenVODError):
    """The server could not be reached or the connection broke (after any retries)."""

    status = 0
    default_code = "ClientError.Network"


class WaitTimeout(OpenVODError, TimeoutError):
    """The client stopped waiting (e.g. for a task) before the server reported the end.

    Also a builtin :class:`TimeoutError`. ``task`` is the last state seen, if any; the task itself
    goes on running on the server.
    """

    status = 0
    default_code = "ClientError.Timeout"

    def __init__(self, message: str, *, task: Task | None = None) -> None:
        super().__init__(message)
        self.task = task


_STATUS_CODES = {
    401: "AuthFailure",
    403: "AuthFailure.Forbidden",
    404: "ResourceNotFound",
    409: "FailedOperation.Conflict",
    410: "ResourceNotFound.Gone",
    412: "InvalidParameter.TusVersion",
    413: "InvalidParameter.TooLarge",
}


def error_from_response(response: httpx.Response, what: str) -> ApiError:
    """Translate an error ``response`` to :class:`ApiError`; ``what`` names the request for context.

    The response must already be read (not a stream left open).
    """
    status = response.status_code
    code = _STATUS_CODES.get(status, f"HTTPError.{status}")
    message = f"{what} answered HTTP {status}"
    try:
        body = response.json()
    except (json.JSONDecodeError, UnicodeDecodeError, httpx.ResponseNotRead):
        body = None
    if isinstance(body, dict) and isinstance(body.get("error"), dict):
        err = body["error"]
        code = str(err.get("code") or code)
        message = str(err.get("message") or message)
    elif response.text:
        message = f"{message}: {response.text[:300]}"
    return ApiError(status, code, message)


def _parse_time(value: object) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        return None


def _opt_dict(value: object) -> dict[str, Any] | None:
    return value if isinstance(value, dict) else None


def _opt_str(value: object) -> str | None:
    return value if isinstance(value, str) else None


def _int(value: object, default: int = 0) -> int:
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.lstrip("-").isdigit():
        return int(value)
    return default


@dataclass(frozen=True)
class SourceObject:
    """Where a media file's original bytes are stored."""

    bucket: str
    key: str
    size: int
    etag: str | None = None
    content_type: str | None = None
    url: str | None = None
    raw: JSON = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_json(cls, data: JSON) -> SourceObject:
        return cls(
            bucket=str(data.get("bucket", "")),
            key=str(data.get("key", "")),
            size=_int(data.get("size")),
            etag=_opt_str(data.get("etag")),
            content_type=_opt_str(data.get("content_type")),
            url=_opt_str(data.get("url")),
            raw=data,
        )


@dataclass(frozen=True)
class Media:
    """A media file as the server describes it (``GET /v1/media/{file_id}``).

    ``metadata`` holds the Tencent-style summary (``Duration``, ``Width``, ``Height``, ``Size``…),
    ``probe`` the full probe JSON (``format`` and ``streams``); both are ``None`` until probed, and
    ``probe_error`` says why probing failed, if it did.
    """

    file_id: str
    name: str
    description: str = ""
    class_id: int = 0
    state: str = ""
    media_type: str | None = None
    source: SourceObject | None = None
    cover_url: str | None = None
    metadata: dict[str, Any] | None = None
    probe: dict[str, Any] | None = None
    probe_error: str | None = None
    procedure: str = ""
    source_context: str = ""
    session_context: str = ""
    task_priority: int = 0
    created_at: datetime | None = None
    updated_at: datetime | None = None
    expire_at: datetime | None = None
    raw: JSON = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_json(cls, data: JSON) -> Media:
        source = data.get("source")
        return cls(
            file_id=str(data["file_id"]),
            name=str(data.get("name") or ""),
            description=str(data.get("description") or ""),
            class_id=_int(data.get("class_id")),
            state=str(data.get("state") or ""),
            media_type=_opt_str(data.get("media_type")),
            source=SourceObject.from_json(source) if isinstance(source, dict) else None,
            cover_url=_opt_str(data.get("cover_url")),
            metadata=_opt_dict(data.get("metadata")),
            probe=_opt_dict(data.get("probe")),
            probe_error=_opt_str(data.get("probe_error")),
            procedure=str(data.get("procedure") or ""),
            source_context=str(data.get("source_context") or ""),
            session_context=str(data.get("session_context") or ""),
            task_priority=_int(data.get("task_priority")),
            created_at=_parse_time(data.get("created_at")),
            updated_at=_parse_time(data.get("updated_at")),
            expire_at=_parse_time(data.get("expire_at")),
            raw=data,
        )


@dataclass(frozen=True)
class MediaPage:
    """One page of ``GET /v1/media``; pass ``next_marker`` as ``marker`` for the next one."""

    items: list[Media]
    next_marker: str | None


@dataclass(frozen=True)
class ObjectInfo:
    """An entry of ``GET /v1/objects``."""

    bucket: str
    key: str
    size: int
    etag: str | None = None
    content_type: str | None = None
    created_at: datetime | None = None
    raw: JSON = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_json(cls, data: JSON) -> ObjectInfo:
        return cls(
            bucket=str(data.get("bucket", "")),
            key=str(data.get("key", "")),
            size=_int(data.get("size")),
            etag=_opt_str(data.get("etag")),
            content_type=_opt_str(data.get("content_type")),
            created_at=_parse_time(data.get("created_at")),
            raw=data,
        )


def _opt_int(value: object) -> int | None:
    return None if value is None or isinstance(value, bool) or not isinstance(value, int | str) else _int(value)


def _float(value: object) -> float:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else 0.0


def _dicts(value: object) -> list[dict[str, Any]]:
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []


@dataclass(frozen=True)
class Preset:
    """A transcoding preset (``GET /v1/presets/{name}``): the app's own, or a built-in one
    (``system``, named ``system-…``). ``params`` is the canonical Kingsoft-style param object, or
    ``None`` in a list fetched without detail."""

    name: str
    type: str
    description: str = ""
    params: dict[str, Any] | None = None
    system: bool = False
    created_at: datetime | None = None
    updated_at: datetime | None = None
    raw: JSON = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_json(cls, data: JSON) -> Preset:
        return cls(
            name=str(data["name"]),
            type=str(data.get("type") or ""),
            description=str(data.get("description") or ""),
            params=_opt_dict(data.get("params")),
            system=bool(data.get("system")),
            created_at=_parse_time(data.get("created_at")),
            updated_at=_parse_time(data.get("updated_at")),
            raw=data,
        )


@dataclass(frozen=True)
class TaskOutput:
    """What a finished transcode wrote: ``url`` is a signed URL, fetchable as given."""

    bucket: str
    key: str
    size: int | None = None
    url: str | None = None
    duration: float | None = None
    raw: JSON = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_json(cls, data: JSON) -> TaskOutput:
        duration = data.get("duration")
        return cls(
            bucket=str(data.get("bucket") or ""),
            key=str(data.get("key") or ""),
            size=_opt_int(data.get("size")),
            url=_opt_str(data.get("url")),
            duration=float(duration) if isinstance(duration, int | float) else None,
            raw=data,
        )


@dataclass(frozen=True)
class Task:
    """A task as the server describes it (``GET /v1/tasks/{task_id}``).

    ``state`` is one of :class:`openvod.domain.tasks.TaskState` (``init`` queued, ``exec``
    running, then ``succ``, ``fail`` or ``canceled``); ``progress`` is 0-100; ``queue_position``
    counts the tasks ahead while queued (else ``None``); ``error`` is ``{"code", "message"}`` once
    failed or cancelled. ``output`` is set once a transcode has succeeded (a no-op task's output
    is in ``raw["output"]``).
    """

    task_id: str
    kind: str
    state: str
    progress: float = 0.0
    queue_position: int | None = None
    priority: int = 0
    topped: bool = False
    attempts: int = 0
    ext_param: str = ""
    error: dict[str, Any] | None = None
    preset: str | None = None
    file_id: str | None = None  # processing tasks: the media file they work on
    procedure: str | None = None  # processing tasks: the task flow they run
    output: TaskOutput | None = None
    created_at: datetime | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None
    raw: JSON = field(default_factory=dict, repr=False, compare=False)

    @property
    def finished(self) -> bool:
        """True once the task can change no more (``succ``, ``fail`` or ``canceled``)."""
        return self.state in TERMINAL

    @property
    def error_code(self) -> str | None:
        return str(self.error["code"]) if self.error and self.error.get("code") else None

    @property
    def error_message(self) -> str | None:
        return str(self.error["message"]) if self.error and self.error.get("message") else None

    @classmethod
    def from_json(cls, data: JSON) -> Task:
        output = data.get("output")
        return cls(
            task_id=str(data["task_id"]),
            kind=str(data.get("kind") or ""),
            state=str(data.get("state") or ""),
            progress=_float(data.get("progress")),
            queue_position=_opt_int(data.get("queue_position")),
            priority=_int(data.get("priority")),
            topped=bool(data.get("topped")),
            attempts=_int(data.get("attempts")),
            ext_param=str(data.get("ext_param") or ""),
            error=_opt_dict(data.get("error")),
            preset=_opt_str(data.get("preset")),
            file_id=_opt_str(data.get("file_id")),
            procedure=_opt_str(data.get("procedure")),
            output=TaskOutput.from_json(output)
            if data.get("kind") == "transcode" and isinstance(output, dict)
            else None,
            created_at=_parse_time(data.get("created_at")),
            started_at=_parse_time(data.get("started_at")),
            finished_at=_parse_time(data.get("finished_at")),
            raw=data,
        )


@dataclass(frozen=True)
class TaskPage:
    """One page of ``GET /v1/tasks`` (oldest first); ``total`` counts the whole filtered range."""

    items: list[Task]
    next_marker: str | None
    total: int


@dataclass(frozen=True)
class TaskMeta:
    """``GET /v1/tasks/{task_id}/meta``: ffprobe JSON of each source (``{"error": …}`` for one that
    could not be read) and of the output, once there is one."""

    task_id: str
    sources: list[dict[str, Any]]
    output: dict[str, Any] | None
    raw: JSON = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_json(cls, data: JSON) -> TaskMeta:
        return cls(str(data["task_id"]), _dicts(data.get("sources")), _opt_dict(data.get("output")), raw=data)


@dataclass(frozen=True)
class Event:
    """A pulled event. Confirm it with ``handle`` (one hand-out); dedupe on ``event_id`` (stable).

    ``type`` is e.g. ``NewFileUpload``, ``TaskStateChanged``, ``FileDeleted``; ``payload`` is its
    Tencent-style body.
    """

    handle: str
    event_id: str
    type: str
    payload: dict[str, Any]
    created_at: datetime | None = None
    raw: JSON = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_json(cls, data: JSON) -> Event:
        return cls(
            handle=str(data["event_handle"]),
            event_id=str(data.get("event_id") or ""),
            type=str(data.get("type") or ""),
            payload=_opt_dict(data.get("payload")) or {},
            created_at=_parse_time(data.get("created_at")),
            raw=data,
        )


@dataclass(frozen=True)
class Callback:
    """The app's push settings; ``secret`` keys the HMAC-SHA256 ``OpenVOD-Signature`` header."""

    url: str | None
    method: str
    secret: str | None
    raw: JSON = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_json(cls, data: JSON) -> Callback:
        return cls(_opt_str(data.get("url")), str(data.get("method") or "POST"), _opt_str(data.get("secret")), data)


@dataclass(frozen=True)
class Delivery:
    """One push of one event to one URL: ``state`` is ``pending``, ``done`` or ``failed``; ``log``
    holds the last attempts (``{"at", "attempt", "status", "error", "ms"}``), oldest first."""

    id: int
    event_id: str
    event_type: str
    url: str
    method: str
    state: str
    attempts: int = 0
    last_status: int | None = None
    last_error: str | None = None
    next_attempt_at: datetime | None = None
    deadline_at: datetime | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None
    log: list[dict[str, Any]] = field(default_factory=list)
    raw: JSON = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_json(cls, data: JSON) -> Delivery:
        return cls(
            id=_int(data["id"]),
            event_id=str(data.get("event_id") or ""),
            event_type=str(data.get("event_type") or ""),
            url=str(data.get("url") or ""),
            method=str(data.get("method") or ""),
            state=str(data.get("state") or ""),
            attempts=_int(data.get("attempts")),
            last_status=_opt_int(data.get("last_status")),
            last_error=_opt_str(data.get("last_error")),
            next_attempt_at=_parse_time(data.get("next_attempt_at")),
            deadline_at=_parse_time(data.get("deadline_at")),
            created_at=_parse_time(data.get("created_at")),
            updated_at=_parse_time(data.get("updated_at")),
            log=_dicts(data.get("log")),
            raw=data,
        )
