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

Every failure is an :class:`openvod.errors.OpenVODError`: :class:`ApiError` when the server
answered with an error, :class:`NetworkError` when it could not be reached.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Any, TypeVar
from urllib.parse import quote

import httpx

from openvod.client.models import (
    ApiError,
    Media,
    MediaPage,
    NetworkError,
    ObjectInfo,
    SourceObject,
    error_from_response,
)
from openvod.client.signing import sign_upload
from openvod.client.tus import DEFAULT_RESUME_STORE, ProgressCallback, ResumeStore, RetryPolicy, TusUploader

__all__ = [
    "ApiError",
    "Client",
    "Media",
    "MediaPage",
    "NetworkError",
    "ObjectInfo",
    "RetryPolicy",
    "SourceObject",
    "sign_upload",
]

DEFAULT_TIMEOUT = httpx.Timeout(60, connect=10)
_UPLOADS = "/v1/uploads"


class _Unset(enum.Enum):
    UNSET = enum.auto()


UNSET = _Unset.UNSET
TimeArg = datetime | str
T = TypeVar("T")


def _iso(value: TimeArg) -> str:
    if isinstance(value, str):
        return value
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


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

    # -- plumbing ------------------------------------------------------------------------------

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
