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

from openvod.errors import OpenVODError

__all__ = [
    "ApiError",
    "Media",
    "MediaPage",
    "NetworkError",
    "ObjectInfo",
    "SourceObject",
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
