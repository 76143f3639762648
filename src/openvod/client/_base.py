"""The client's plumbing: the HTTP connection, the tus uploader, errors, shared argument types.
The API calls are grouped in mixins (``_library``, ``_engine``, ``_processing``, ``_events``) that
:class:`openvod.client.Client` combines."""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, date, datetime
from pathlib import Path
from types import TracebackType
from typing import Any, TypeVar
from urllib.parse import quote

import httpx

from openvod.client.models import ApiError, Media, NetworkError, Task, error_from_response
from openvod.client.tus import DEFAULT_RESUME_STORE, ResumeStore, RetryPolicy, TusUploader

__all__ = ["DEFAULT_TIMEOUT", "LONG_POLL_MARGIN", "LONG_POLL_SECONDS", "PROGRESS_INTERVAL", "UNSET", "BaseClient",
           "DayArg", "SourceArg", "TaskCallback", "TimeArg", "day_arg", "iso_arg", "source_list"]

DEFAULT_TIMEOUT = httpx.Timeout(60, connect=10)
_UPLOADS = "/v1/uploads"
LONG_POLL_SECONDS = 30.0
"""The longest single long-poll the client asks for; a wait is a series of them."""
LONG_POLL_MARGIN = 15.0
"""How much longer than a long-poll's own timeout its HTTP read may take before the connection
counts as broken."""
PROGRESS_INTERVAL = 1.0
"""Seconds between progress reports while waiting: the floor between two requests of a wait."""


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
_C = TypeVar("_C", bound="BaseClient")


def iso_arg(value: TimeArg) -> str:
    if isinstance(value, str):
        return value
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def day_arg(value: DayArg) -> str:
    return value if isinstance(value, str) else value.strftime("%Y%m%d")


def source_list(sources: SourceArg | Iterable[SourceArg]) -> list[dict[str, Any]]:
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


class BaseClient:
    """The connection: HTTP (``httpx``), the tus uploader and the request plumbing the API
    mixins share. Constructed through :class:`openvod.client.Client`."""

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

    def __enter__(self: _C) -> _C:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

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

