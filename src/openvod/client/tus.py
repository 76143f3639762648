"""Resumable uploads over tus 1.0.0 (creation, creation-with-upload, checksum) on httpx.

:class:`TusUploader` sends one file: it creates the upload (with the body in the ``POST`` when the
file fits in one chunk), then ``PATCH``es chunks streamed from disk in 1 MiB pieces, each with an
``Upload-Checksum``. A broken connection, a timeout or a 5xx is retried with capped exponential
backoff and jitter; every retry first asks the server (``HEAD``) how much it has and continues
from there, so nothing is sent twice and nothing is skipped. Other 4xx answers are final.

A :class:`ResumeStore` remembers upload URLs by file fingerprint, so an upload interrupted by the
end of the process continues where it stopped when the same file is uploaded again.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import mimetypes
import os
import random
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import IO, Any, TypeVar

import httpx

from openvod.client.models import ApiError, NetworkError, error_from_response

__all__ = [
    "DEFAULT_RESUME_STORE",
    "PIECE_SIZE",
    "TUS_VERSION",
    "Backoff",
    "ProgressCallback",
    "ResumeStore",
    "RetryPolicy",
    "TusUploader",
    "encode_metadata",
]

TUS_VERSION = "1.0.0"
PIECE_SIZE = 1024 * 1024
FILE_ID_HEADER = "OpenVOD-File-Id"
DEFAULT_RESUME_STORE = Path.home() / ".cache" / "openvod" / "uploads.json"
OCTET_STREAM = "application/offset+octet-stream"

ProgressCallback = Callable[[int, int], None]
T = TypeVar("T")

# Statuses that mean "try again later" rather than "this request is wrong".
_TRANSIENT_STATUSES = frozenset({423, 429})


def _is_transient(exc: Exception) -> bool:
    if isinstance(exc, ApiError):
        return exc.status >= 500 or exc.status in _TRANSIENT_STATUSES
    return isinstance(exc, httpx.TransportError) and not isinstance(exc, httpx.UnsupportedProtocol)


@dataclass(frozen=True)
class RetryPolicy:
    """How long to keep retrying a stalled upload.

    Delays grow ``initial * 2**n`` up to ``cap`` with jitter (between half and all of the delay).
    The budget (``max_attempts`` tries within ``deadline`` seconds) starts again whenever the
    server's offset moves forward, so a long upload survives many separate interruptions.
    """

    initial: float = 0.5
    cap: float = 10.0
    max_attempts: int = 10
    deadline: float = 300.0


class Backoff:
    """Sleeps between retries of one stalled operation; raises when the budget is spent."""

    def __init__(
        self,
        policy: RetryPolicy,
        what: str,
        *,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._policy = policy
        self._what = what
        self._sleep = sleep
        self._clock = clock
        self.reset()

    def reset(self) -> None:
        """Progress was made: the next failure starts a fresh budget."""
        self.attempts = 0
        self._started = self._clock()

    def wait(self, cause: Exception) -> None:
        """Sleep before the next try, or raise (from ``cause``) when the budget is spent."""
        self.attempts += 1
        elapsed = self._clock() - self._started
        policy = self._policy
        if self.attempts >= policy.max_attempts or elapsed >= policy.deadline:
            detail = f"{self._what}: gave up after {self.attempts} attempts in {elapsed:.1f}s"
            if isinstance(cause, ApiError):
                raise ApiError(cause.status, cause.code, f"{detail}: {cause.message}") from cause
            raise NetworkError(f"{detail}: {type(cause).__name__}: {cause}") from cause
        delay = min(policy.cap, policy.initial * 2 ** (self.attempts - 1))
        delay = delay / 2 + random.random() * delay / 2
        self._sleep(min(delay, policy.deadline - elapsed))


def encode_metadata(items: Mapping[str, str]) -> str:
    """Render tus ``Upload-Metadata``: ``key base64(value)`` pairs joined by commas."""
    parts = []
    for key, value in items.items():
        if not key or any(c in key for c in " ,") or not key.isascii():
            raise ValueError(f"invalid tus metadata key {key!r}")
        encoded = base64.b64encode(value.encode()).decode("ascii")
        parts.append(f"{key} {encoded}" if value else key)
    return ",".join(parts)


def _parse_expires(value: str | None) -> datetime | None:
    if not value:
        return None
    with contextlib.suppress(TypeError, ValueError):
        parsed = parsedate_to_datetime(value)
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    with contextlib.suppress(ValueError):
        parsed = datetime.fromisoformat(value)
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    return None


class ResumeStore:
    """A small JSON file mapping file fingerprints to unfinished upload URLs.

    Writes go through a temporary file and ``os.replace`` so a crash never leaves it half written;
    an unreadable file is treated as empty (it only ever holds hints).
    """

    def __init__(self, path: Path = DEFAULT_RESUME_STORE) -> None:
        self.path = path

    @staticmethod
    def fingerprint(path: Path, stat: os.stat_result, server: str, extra: Sequence[str] = ()) -> str:
        """Identify one version of one file uploaded to one server (with ``extra`` options)."""
        ident = [str(path.resolve()), stat.st_size, stat.st_mtime_ns, server.rstrip("/"), *extra]
        return hashlib.sha256(json.dumps(ident).encode()).hexdigest()

    def get(self, fingerprint: str) -> str | None:
        """The stored upload URL for ``fingerprint``, unless missing or known to be expired."""
        entry = self._load().get(fingerprint)
        if not isinstance(entry, dict) or not isinstance(entry.get("url"), str):
            return None
        expires = _parse_expires(entry.get("expires"))
        if expires is not None and expires <= datetime.now(UTC):
            self.remove(fingerprint)
            return None
        url: str = entry["url"]
        return url

    def put(self, fingerprint: str, url: str, expires: datetime | None) -> None:
        data = self._load()
        data[fingerprint] = {
            "url": url,
            "expires": expires.isoformat() if expires else None,
            "saved_at": datetime.now(UTC).isoformat(),
        }
        self._save(data)

    def remove(self, fingerprint: str) -> None:
        data = self._load()
        if data.pop(fingerprint, None) is not None:
            self._save(data)

    def _load(self) -> dict[str, Any]:
        try:
            data = json.loads(self.path.read_text())
        except (OSError, ValueError):
            return {}
        return data if isinstance(data, dict) else {}

    def _save(self, data: dict[str, Any]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=".uploads-", suffix=".json")
        try:
            with os.fdopen(fd, "w") as out:
                json.dump(data, out, indent=1)
            os.replace(tmp, self.path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise


@dataclass
class _Upload:
    """The state of one upload in progress."""

    file: IO[bytes]
    size: int
    url: str = ""
    offset: int = 0
    file_id: str | None = None


class TusUploader:
    """Uploads files to one tus endpoint through an ``httpx.Client`` (which carries auth/timeouts).

    ``creation_headers`` go on the creating ``POST`` only (e.g. ``X-VOD-Signature``).
    """

    def __init__(
        self,
        http: httpx.Client,
        endpoint: str,
        *,
        chunk_size: int = 32 * 1024 * 1024,
        store: ResumeStore | None = None,
        retry: RetryPolicy = RetryPolicy(),  # noqa: B008 - frozen, shared safely
        creation_headers: Mapping[str, str] | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if chunk_size <= 0:
            raise ValueError("chunk_size must be positive")
        self._http = http
        self._endpoint = endpoint
        self._chunk_size = chunk_size
        self._store = store
        self._retry = retry
        self._creation_headers = dict(creation_headers or {})
        self._sleep = sleep

    def upload(
        self,
        path: Path,
        *,
        metadata: Mapping[str, str] | None = None,
        fingerprint_extra: Sequence[str] = (),
        on_progress: ProgressCallback | None = None,
        checksum: bool = True,
    ) -> str:
        """Upload ``path`` and return the server's FileId.

        ``metadata`` is added to ``filename`` and ``filetype`` (guessed from the name).
        ``on_progress(sent, total)`` is called as bytes go out; ``sent`` can move back after a
        retry when the server kept less than was sent.
        """
        stat = path.stat()
        meta = {
            "filename": path.name,
            "filetype": mimetypes.guess_type(path.name)[0] or "application/octet-stream",
            **(metadata or {}),
        }
        fingerprint = ResumeStore.fingerprint(path, stat, self._server(), [*fingerprint_extra])
        report = on_progress or (lambda sent, total: None)
        with path.open("rb") as file:
            up = _Upload(file=file, size=stat.st_size)
            if not self._resume(up, fingerprint):
                self._create(up, fingerprint, meta, report, checksum)
            report(up.offset, up.size)
            self._finish(up, report, checksum)
        if self._store is not None:
            self._store.remove(fingerprint)
        assert up.file_id is not None  # _finish loops until it is set
        return up.file_id

    # -- steps ---------------------------------------------------------------------------------

    def _resume(self, up: _Upload, fingerprint: str) -> bool:
        """Continue a stored upload of this file if the server still has it."""
        if self._store is None or (url := self._store.get(fingerprint)) is None:
            return False
        up.url = url
        try:
            self._retrying(lambda: self._head(up), Backoff(self._retry, f"HEAD {url}", sleep=self._sleep))
            return True
        except ApiError as exc:
            if exc.status not in (403, 404, 410):
                raise
        # Expired, terminated or not this file's any more: start over.
        self._store.remove(fingerprint)
        up.url, up.offset = "", 0
        return False

    def _create(
        self,
        up: _Upload,
        fingerprint: str,
        metadata: Mapping[str, str],
        report: ProgressCallback,
        checksum: bool,
    ) -> None:
        def post() -> httpx.Response:
            headers = {
                "Tus-Resumable": TUS_VERSION,
                "Upload-Length": str(up.size),
                "Upload-Metadata": encode_metadata(metadata),
                **self._creation_headers,
            }
            with_body = 0 < up.size <= self._chunk_size
            if with_body:
                headers.update(self._body_headers(up.file, 0, up.size, checksum))
            body = self._pieces(up, 0, up.size, report) if with_body else None
            response = self._http.post(self._endpoint, headers=headers, content=body)
            if response.status_code != 201:
                raise error_from_response(response, f"POST {self._endpoint} (create upload)")
            return response

        backoff = Backoff(self._retry, f"POST {self._endpoint}", sleep=self._sleep)
        response = self._retrying(post, backoff)
        location = response.headers.get("Location")
        if not location:
            raise ApiError(response.status_code, "InvalidResponse.Tus", "upload created without Location")
        up.url = str(response.request.url.join(location))
        up.offset = self._offset_header(response, default=0)
        up.file_id = response.headers.get(FILE_ID_HEADER)
        if self._store is not None and up.file_id is None:
            self._store.put(fingerprint, up.url, _parse_expires(response.headers.get("Upload-Expires")))

    def _finish(self, up: _Upload, report: ProgressCallback, checksum: bool) -> None:
        backoff = Backoff(self._retry, f"upload {up.url}", sleep=self._sleep)
        while up.file_id is None:
            before = up.offset
            try:
                if up.offset < up.size:
                    self._patch(up, report, checksum)
                else:
                    self._head(up)
                    if up.file_id is None:
                        raise ApiError(200, "InvalidResponse.Tus", f"upload {up.url} is complete but names no FileId")
            except (httpx.TransportError, ApiError) as exc:
                if not _is_transient(exc):
                    raise
                backoff.wait(exc)
                # Ask where the server is before sending more: it may have kept all, part or none.
                self._retrying(lambda: self._head(up), backoff)
                report(up.offset, up.size)
            if up.offset > before:
                backoff.reset()

    def _patch(self, up: _Upload, report: ProgressCallback, checksum: bool) -> None:
        start = up.offset
        length = min(self._chunk_size, up.size - start)
        headers = {
            "Tus-Resumable": TUS_VERSION,
            "Upload-Offset": str(start),
            **self._body_headers(up.file, start, length, checksum),
        }
        response = self._http.patch(up.url, headers=headers, content=self._pieces(up, start, length, report))
        if response.status_code not in (200, 204):
            raise error_from_response(response, f"PATCH {up.url} at offset {start}")
        offset = self._offset_header(response)
        if not start < offset <= start + length:
            raise ApiError(
                response.status_code,
                "InvalidResponse.Tus",
                f"PATCH {up.url} at offset {start} with {length} bytes answered Upload-Offset {offset}",
            )
        up.offset = offset
        up.file_id = response.headers.get(FILE_ID_HEADER)
        report(up.offset, up.size)

    def _head(self, up: _Upload) -> None:
        response = self._http.head(up.url, headers={"Tus-Resumable": TUS_VERSION})
        if response.status_code != 200:
            raise error_from_response(response, f"HEAD {up.url}")
        offset = self._offset_header(response)
        length = response.headers.get("Upload-Length")
        if offset > up.size or (length is not None and length.isascii() and length.isdigit()
                                   and int(length) != up.size):
            # Not this file's upload (any more): treat like a vanished upload.
            raise ApiError(410, "ResourceNotFound.Upload", f"{up.url} holds a different upload length")
        up.offset = offset
        up.file_id = response.headers.get(FILE_ID_HEADER)

    # -- helpers -------------------------------------------------------------------------------

    def _server(self) -> str:
        return str(self._http.base_url)

    def _retrying(self, action: Callable[[], T], backoff: Backoff) -> T:
        while True:
            try:
                return action()
            except (httpx.TransportError, ApiError) as exc:
                if not _is_transient(exc):
                    raise
                backoff.wait(exc)

    @staticmethod
    def _offset_header(response: httpx.Response, default: int | None = None) -> int:
        value = response.headers.get("Upload-Offset")
        if value is not None and value.isascii() and value.isdigit():
            return int(value)
        if default is not None:
            return default
        raise ApiError(
            response.status_code,
            "InvalidResponse.Tus",
            f"{response.request.method} {response.request.url} answered without a valid Upload-Offset",
        )

    @staticmethod
    def _body_headers(file: IO[bytes], start: int, length: int, checksum: bool) -> dict[str, str]:
        headers = {"Content-Type": OCTET_STREAM, "Content-Length": str(length)}
        if checksum:
            # A first pass over the chunk: the header must precede the body, and holding the
            # chunk in memory to hash it would cost chunk_size of RAM.
            digest = hashlib.sha1()  # noqa: S324 - tus checksum, not security
            file.seek(start)
            remaining = length
            while remaining:
                piece = file.read(min(PIECE_SIZE, remaining))
                if not piece:
                    raise OSError(f"{getattr(file, 'name', 'file')} shrank during upload")
                digest.update(piece)
                remaining -= len(piece)
            headers["Upload-Checksum"] = "sha1 " + base64.b64encode(digest.digest()).decode("ascii")
        return headers

    @staticmethod
    def _pieces(up: _Upload, start: int, length: int, report: ProgressCallback) -> Iterator[bytes]:
        """Stream ``length`` bytes from ``start``, holding one piece at a time."""

        def generate() -> Iterator[bytes]:
            up.file.seek(start)
            sent = 0
            while sent < length:
                piece = up.file.read(min(PIECE_SIZE, length - sent))
                if not piece:
                    raise OSError(f"{getattr(up.file, 'name', 'file')} shrank during upload")
                yield piece
                sent += len(piece)
                report(start + sent, up.size)

        return generate()
