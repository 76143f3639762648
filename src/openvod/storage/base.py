"""The ``Storage`` protocol every object store implements, and its value types."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Protocol, runtime_checkable

__all__ = ["AppendWriter", "ObjectStat", "Storage"]


@dataclass(frozen=True)
class ObjectStat:
    bucket: str
    key: str
    size: int
    etag: str
    content_type: str


@runtime_checkable
class AppendWriter(Protocol):
    """An open resumable write. Bytes written become durable only after ``commit``.

    ``rollback`` discards everything written since the last commit (used when a tus checksum
    does not match).
    """

    @property
    def offset(self) -> int:
        """Committed size plus bytes written since."""
        ...

    def write(self, data: bytes) -> None: ...

    def commit(self) -> int:
        """Make written bytes durable; returns the committed size."""
        ...

    def rollback(self) -> None: ...

    def close(self) -> None: ...


class Storage(Protocol):
    """An object store addressed by (bucket, key). Callers validate keys with ``domain.keys``;
    implementations validate again, so no caller can escape its bucket.

    Streaming everywhere: ``put`` reads from a file object in chunks, ``open`` yields chunks.
    """

    def ensure_bucket(self, bucket: str) -> None: ...

    def put(
        self, bucket: str, key: str, stream: BinaryIO, *, content_type: str = "application/octet-stream"
    ) -> ObjectStat: ...

    def open(
        self, bucket: str, key: str, *, start: int = 0, end: int | None = None, chunk_size: int = 1 << 20
    ) -> Iterator[bytes]:
        """Yield the bytes ``start..end`` (inclusive end, like HTTP ranges; None = to the end)."""
        ...

    def stat(self, bucket: str, key: str) -> ObjectStat:
        """Raise ``NotFound`` (code ``ResourceNotFound.Object``) if missing."""
        ...

    def exists(self, bucket: str, key: str) -> bool: ...

    def delete(self, bucket: str, key: str) -> None:
        """Delete; deleting a missing object is not an error."""
        ...

    def delete_prefix(self, bucket: str, prefix: str) -> int:
        """Delete every object whose key starts with ``prefix``; returns how many."""
        ...

    def list(self, bucket: str, prefix: str = "") -> Iterator[ObjectStat]: ...

    def move(self, bucket: str, src_key: str, dst_key: str) -> ObjectStat:
        """Move within a bucket, replacing ``dst_key`` atomically where the store allows."""
        ...

    def signed_url(self, bucket: str, key: str, *, expires_in: int = 3600, method: str = "GET") -> str: ...

    def local_path(self, bucket: str, key: str) -> AbstractContextManager[Path]:
        """A readable local file with the object's bytes for the duration of the context
        (the file itself for ``local``, a temporary download for ``s3``)."""
        ...

    def media_input(self, bucket: str, key: str, *, expires_in: int) -> AbstractContextManager[Path | str]:
        """Where FFmpeg reads the object from, for the duration of the context: the file itself
        for ``local``; for ``s3`` a presigned GET URL valid ``expires_in`` seconds (FFmpeg reads it
        with range requests, so a worker never holds the source on its disk)."""
        ...

    # Resumable writes (tus): a handle is an opaque string stored in the database, so a write
    # can be resumed by another process after a restart.
    def begin_append(self, bucket: str, key: str) -> str: ...

    def open_append(self, handle: str) -> AppendWriter: ...

    def appended_size(self, handle: str) -> int: ...

    def finish_append(self, handle: str, *, content_type: str = "application/octet-stream") -> ObjectStat:
        """Publish the written bytes at the handle's (bucket, key)."""
        ...

    def abort_append(self, handle: str) -> None: ...
