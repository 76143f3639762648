"""Typed views of the native API's JSON, and the client's errors.

The models are frozen dataclasses parsed by pydantic (one ``TypeAdapter`` per model, built on first
use); each field's annotation says how its JSON value is read. Every model keeps the JSON it was
built from as ``.raw`` so fields the server adds later are still reachable. Parsing is lenient, as
a client of a newer or older server must be: a missing optional field, or one of an unexpected
type, reads as its default; only a missing required field (a task without ``task_id``) fails, as
:class:`ApiError` ``InvalidResponse``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Annotated, Any, Self

import httpx
from pydantic import (
    AfterValidator,
    BeforeValidator,
    Field,
    SkipValidation,
    TypeAdapter,
    ValidationError,
    ValidationInfo,
)

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


# -- how a JSON value is read (each never fails, but for a required field that is missing) ------


def _int(value: object, default: int = 0) -> int:
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.isascii() and value.lstrip("-").isdigit():
        return int(value)
    return default


def _opt_int(value: object) -> int | None:
    return None if value is None or isinstance(value, bool) or not isinstance(value, int | str) else _int(value)


def _time(value: object) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        return None


def _nested(value: object) -> dict[str, Any] | None:
    """A nested model's JSON, given its own ``raw``; anything but an object reads as absent."""
    return {**value, "raw": value} if isinstance(value, dict) else None


Id = Annotated[str, BeforeValidator(str)]
"""Any JSON value, as ``str()`` writes it: for identifiers, which are never null."""
Text = Annotated[str, BeforeValidator(lambda v: str(v or ""))]
"""``""`` when absent or null."""
OptText = Annotated[str | None, BeforeValidator(lambda v: v if isinstance(v, str) else None)]
Int = Annotated[int, BeforeValidator(_int)]
"""An integer, or a string of digits; ``0`` otherwise."""
OptInt = Annotated[int | None, BeforeValidator(_opt_int)]
Float = Annotated[
    float, BeforeValidator(lambda v: float(v) if isinstance(v, int | float) and not isinstance(v, bool) else 0.0)
]
OptFloat = Annotated[float | None, BeforeValidator(lambda v: float(v) if isinstance(v, int | float) else None)]
Flag = Annotated[bool, BeforeValidator(bool)]
Time = Annotated[datetime | None, BeforeValidator(_time)]
"""An ISO 8601 time; ``None`` when absent or unreadable."""
OptObject = Annotated[
    dict[str, Any] | None, SkipValidation, BeforeValidator(lambda v: v if isinstance(v, dict) else None)
]
Objects = Annotated[
    list[dict[str, Any]],
    SkipValidation,
    BeforeValidator(lambda v: [x for x in v if isinstance(x, dict)] if isinstance(v, list) else []),
]
"""The objects of a list; anything else in it is dropped."""
Raw = Annotated[JSON, SkipValidation]


def _raw() -> Any:
    """The ``raw`` field every model ends with: the JSON it was parsed from, kept as given."""
    return field(default_factory=dict, repr=False, compare=False)


class _Model:
    """What the models share: :meth:`from_json`."""

    @classmethod
    def from_json(cls, data: JSON) -> Self:
        """Parse the API's JSON object ``data`` (kept as ``.raw``)."""
        try:
            parsed: Self = _adapter(cls).validate_python({**data, "raw": data})
        except ValidationError as exc:
            raise ApiError(0, "InvalidResponse", f"the server's {cls.__name__} JSON is unreadable: {exc}") from exc
        return parsed


_ADAPTERS: dict[type[Any], TypeAdapter[Any]] = {}


def _adapter(cls: type[Any]) -> TypeAdapter[Any]:
    # Built on first use: a TypeAdapter costs milliseconds, and a client uses few of the models.
    adapter = _ADAPTERS.get(cls)
    if adapter is None:
        adapter = _ADAPTERS[cls] = TypeAdapter(cls)
    return adapter


@dataclass(frozen=True)
class SourceObject(_Model):
    """Where a media file's original bytes are stored."""

    bucket: Id = ""
    key: Id = ""
    size: Int = 0
    etag: OptText = None
    content_type: OptText = None
    url: OptText = None
    raw: Raw = _raw()


@dataclass(frozen=True)
class Media(_Model):
    """A media file as the server describes it (``GET /v1/media/{file_id}``).

    ``metadata`` holds the Tencent-style summary (``Duration``, ``Width``, ``Height``, ``Size``…),
    ``probe`` the full probe JSON (``format`` and ``streams``); both are ``None`` until probed, and
    ``probe_error`` says why probing failed, if it did.
    """

    file_id: Id
    name: Text = ""
    description: Text = ""
    class_id: Int = 0
    state: Text = ""
    media_type: OptText = None
    source: Annotated[SourceObject | None, BeforeValidator(_nested)] = None
    cover_url: OptText = None
    metadata: OptObject = None
    probe: OptObject = None
    # The server sends {"code", "message"} (older servers a string): the message, or the string.
    probe_error: Annotated[str | None, BeforeValidator(
        lambda v: v.get("message") if isinstance(v, dict) else v if isinstance(v, str) else None)] = None
    procedure: Text = ""
    source_context: Text = ""
    session_context: Text = ""
    task_priority: Int = 0
    created_at: Time = None
    updated_at: Time = None
    expire_at: Time = None
    raw: Raw = _raw()


@dataclass(frozen=True)
class MediaPage:
    """One page of ``GET /v1/media``; pass ``next_marker`` as ``marker`` for the next one."""

    items: list[Media]
    next_marker: str | None


@dataclass(frozen=True)
class ObjectInfo(_Model):
    """An entry of ``GET /v1/objects``."""

    bucket: Id = ""
    key: Id = ""
    size: Int = 0
    etag: OptText = None
    content_type: OptText = None
    created_at: Time = None
    raw: Raw = _raw()


@dataclass(frozen=True)
class Preset(_Model):
    """A transcoding preset (``GET /v1/presets/{name}``): the app's own, or a built-in one
    (``system``, named ``system-…``). ``params`` is the canonical Kingsoft-style param object, or
    ``None`` in a list fetched without detail."""

    name: Id
    type: Text = ""
    description: Text = ""
    params: OptObject = None
    system: Flag = False
    created_at: Time = None
    updated_at: Time = None
    raw: Raw = _raw()


@dataclass(frozen=True)
class TaskOutput(_Model):
    """What a finished transcode wrote: ``url`` is a signed URL, fetchable as given."""

    bucket: Text = ""
    key: Text = ""
    size: OptInt = None
    url: OptText = None
    duration: OptFloat = None
    raw: Raw = _raw()


def _transcode_only(output: TaskOutput | None, info: ValidationInfo) -> TaskOutput | None:
    # Other kinds' outputs have other shapes; they stay in ``raw["output"]``.
    return output if info.data.get("kind") == "transcode" else None


@dataclass(frozen=True)
class Task(_Model):
    """A task as the server describes it (``GET /v1/tasks/{task_id}``).

    ``state`` is one of :class:`openvod.domain.tasks.TaskState` (``init`` queued, ``exec``
    running, then ``succ``, ``fail`` or ``canceled``); ``progress`` is 0-100; ``queue_position``
    counts the tasks ahead while queued (else ``None``); ``error`` is ``{"code", "message"}`` once
    failed or cancelled. ``output`` is set once a transcode has succeeded (a no-op task's output
    is in ``raw["output"]``).
    """

    task_id: Id
    kind: Text = ""
    state: Text = ""
    progress: Float = 0.0
    queue_position: OptInt = None
    priority: Int = 0
    topped: Flag = False
    attempts: Int = 0
    ext_param: Text = ""
    error: OptObject = None
    preset: OptText = None
    file_id: OptText = None  # processing tasks: the media file they work on
    procedure: OptText = None  # processing tasks: the task flow they run
    output: Annotated[TaskOutput | None, BeforeValidator(_nested), AfterValidator(_transcode_only)] = None
    created_at: Time = None
    started_at: Time = None
    finished_at: Time = None
    raw: Raw = _raw()

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


@dataclass(frozen=True)
class TaskPage:
    """One page of ``GET /v1/tasks`` (oldest first); ``total`` counts the whole filtered range."""

    items: list[Task]
    next_marker: str | None
    total: int


@dataclass(frozen=True)
class TaskMeta(_Model):
    """``GET /v1/tasks/{task_id}/meta``: ffprobe JSON of each source (``{"error": …}`` for one that
    could not be read) and of the output, once there is one."""

    task_id: Id
    sources: Objects = field(default_factory=list)
    output: OptObject = None
    raw: Raw = _raw()


@dataclass(frozen=True)
class Event(_Model):
    """A pulled event. Confirm it with ``handle`` (one hand-out); dedupe on ``event_id`` (stable).

    ``type`` is e.g. ``NewFileUpload``, ``TaskStateChanged``, ``FileDeleted``; ``payload`` is its
    Tencent-style body.
    """

    handle: Annotated[Id, Field(alias="event_handle")]
    event_id: Text = ""
    type: Text = ""
    payload: Annotated[
        dict[str, Any], SkipValidation, BeforeValidator(lambda v: v if isinstance(v, dict) else {})
    ] = field(default_factory=dict)
    created_at: Time = None
    raw: Raw = _raw()


@dataclass(frozen=True)
class Callback(_Model):
    """The app's push settings; ``secret`` keys the HMAC-SHA256 ``OpenVOD-Signature`` header."""

    url: OptText = None
    method: Annotated[str, BeforeValidator(lambda v: str(v or "POST"))] = "POST"
    secret: OptText = None
    raw: Raw = _raw()


@dataclass(frozen=True)
class Delivery(_Model):
    """One push of one event to one URL: ``state`` is ``pending``, ``done`` or ``failed``; ``log``
    holds the last attempts (``{"at", "attempt", "status", "error", "ms"}``), oldest first."""

    id: Annotated[int, BeforeValidator(_int)]  # required: no default
    event_id: Text = ""
    event_type: Text = ""
    url: Text = ""
    method: Text = ""
    state: Text = ""
    attempts: Int = 0
    last_status: OptInt = None
    last_error: OptText = None
    next_attempt_at: Time = None
    deadline_at: Time = None
    created_at: Time = None
    updated_at: Time = None
    log: Objects = field(default_factory=list)
    raw: Raw = _raw()
