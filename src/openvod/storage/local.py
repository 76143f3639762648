"""``local`` storage: objects are files under ``root/bucket/``.

Layout: the directories of a key are its segments as they are, and the object itself is a file
named ``\\`` + its last segment, so ``a/b`` is ``a/\\b`` and ``a/b/c`` is ``a/b/\\c``: a key that
is a prefix of another (``a/b`` beside ``a/b/c``), and a folder marker (``a/``, the file ``a/\\``
beside ``a/\\x``) never collide with a directory. No key holds a backslash (``domain.keys``), so a
directory is never taken for an object; the extension stays (``\\clip.mp4``) for tools that look
at it. A data directory of the layout before (objects at ``root/bucket/key``) is upgraded once,
by renaming its files, when a :class:`LocalStorage` first opens it (``root/.layout`` records it).
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import mimetypes
import os
import secrets
import shutil
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

from openvod.domain.keys import validate_bucket, validate_key
from openvod.errors import NotFound, StorageError
from openvod.storage.base import ObjectStat
from openvod.storage.disk import disk_errors

__all__ = ["LocalStorage"]

_CHUNK = 1 << 20
_STAGING = ".staging"
_LAYOUT = ".layout"  # holds "2" once every object file is named OBJECT_MARK + its last segment
OBJECT_MARK = "\\"

UrlSigner = Callable[[str, str, int, str], str]  # (bucket, key, expires_at, method) -> url


def _etag_of(path: Path) -> str:
    st = path.stat()
    # Cheap, stable across reads: identity of the file version, not a content hash.
    return hashlib.md5(f"{st.st_ino}-{st.st_size}-{st.st_mtime_ns}".encode(), usedforsecurity=False).hexdigest()


class _LocalAppend:
    # Every WRITEBACK bytes, start the kernel's writeback of what was written, so the fdatasync
    # in commit() finds little left to flush and the ack after a chunk isn't a long disk stall.
    WRITEBACK = 8 << 20

    def __init__(self, path: Path) -> None:
        self._f = open(path, "r+b", buffering=0)  # noqa: SIM115 - closed by close()
        self._committed = self._f.seek(0, os.SEEK_END)
        self._offset = self._committed
        self._flushed = self._committed

    @property
    def offset(self) -> int:
        return self._offset

    def write(self, data: bytes) -> None:
        view = memoryview(data)
        try:
            with disk_errors("write upload data"):
                while view:
                    n = self._f.write(view)
                    view = view[n or 0:]
        except BaseException:
            # Drop a partly written block (best effort), so the file holds exactly ``offset``
            # bytes and a caller may still commit what was written whole.
            with contextlib.suppress(OSError):
                self._f.truncate(self._offset)
                self._f.seek(self._offset)
            raise
        self._offset += len(data)
        if self._offset - self._flushed >= self.WRITEBACK:
            os.posix_fadvise(self._f.fileno(), self._flushed, self._offset - self._flushed, os.POSIX_FADV_DONTNEED)
            self._flushed = self._offset

    def commit(self) -> int:
        with disk_errors("make upload data durable"):
            os.fdatasync(self._f.fileno())
        self._committed = self._flushed = self._offset
        return self._committed

    def rollback(self) -> None:
        # Also after a failed (partial) write: the file may hold more than ``_offset`` says.
        with disk_errors("discard unconfirmed upload data"):
            self._f.truncate(self._committed)
            self._f.seek(self._committed)
        self._offset = self._flushed = self._committed

    def close(self) -> None:
        self._f.close()


class LocalStorage:
    """Files on the local disk. ``signer`` turns (bucket, key, expires, method) into a URL served
    by OpenVOD itself, since a plain directory has no URLs of its own."""

    def __init__(self, root: Path, signer: UrlSigner | None = None) -> None:
        self.root = root.resolve()
        self.root.mkdir(parents=True, exist_ok=True)
        (self.root / _STAGING).mkdir(exist_ok=True)
        self._signer = signer
        self._upgrade_layout()

    def _upgrade_layout(self) -> None:
        """Rename the object files of a data directory of the first layout (``bucket/key``), once;
        under a lock, so processes opening the same directory together do it once."""
        marker = self.root / _LAYOUT
        if marker.exists():
            return
        with disk_errors("upgrade the layout of the local object store"):
            with open(self.root / f"{_LAYOUT}.lock", "a") as lock:
                fcntl.flock(lock.fileno(), fcntl.LOCK_EX)
                if marker.exists():
                    return
                for top in sorted(self.root.iterdir()):
                    if top.name.startswith(".") or not top.is_dir():
                        continue
                    for dirpath, _dirs, files in os.walk(top):
                        for name in files:
                            if not name.startswith(OBJECT_MARK):
                                os.replace(Path(dirpath) / name, Path(dirpath) / (OBJECT_MARK + name))
                staged = self.root / f"{_LAYOUT}.tmp"
                staged.write_text("2\n")
                os.replace(staged, marker)

    # -- paths -------------------------------------------------------------------------------
    def _bucket_dir(self, bucket: str) -> Path:
        return self.root / validate_bucket(bucket)

    def _path(self, bucket: str, key: str) -> Path:
        top = self._bucket_dir(bucket)
        directory, _, name = validate_key(key, folder=True).rpartition("/")
        path = (top / directory if directory else top) / (OBJECT_MARK + name)
        # Belt and braces: the validated key can't escape, but check the resolved path anyway.
        if not path.resolve().is_relative_to(top.resolve()):
            raise StorageError(f"object key {key!r} resolves outside bucket {bucket!r}")
        return path

    def _stat(self, bucket: str, key: str, path: Path) -> ObjectStat:
        ctype = mimetypes.guess_type(key)[0] or "application/octet-stream"
        return ObjectStat(bucket, key, path.stat().st_size, _etag_of(path), ctype)

    @staticmethod
    def _mkparent(path: Path) -> None:
        with disk_errors(f"create the directory of object {path.name[1:]!r}"):
            path.parent.mkdir(parents=True, exist_ok=True)

    # -- objects -----------------------------------------------------------------------------
    def ensure_bucket(self, bucket: str) -> None:
        with disk_errors(f"create bucket {bucket}"):
            self._bucket_dir(bucket).mkdir(parents=True, exist_ok=True)

    def put(
        self, bucket: str, key: str, stream: BinaryIO, *, content_type: str = "application/octet-stream"
    ) -> ObjectStat:
        path = self._path(bucket, key)
        self._mkparent(path)
        tmp = self.root / _STAGING / f"put-{secrets.token_hex(8)}"
        try:  # nothing half-written is ever visible: the object appears whole, by rename, or not at all
            with disk_errors(f"store object {bucket}/{key}"):
                with open(tmp, "wb") as out:
                    shutil.copyfileobj(stream, out, _CHUNK)
                    out.flush()
                    os.fdatasync(out.fileno())
                os.replace(tmp, path)
        finally:
            tmp.unlink(missing_ok=True)
        return self._stat(bucket, key, path)

    def open(
        self, bucket: str, key: str, *, start: int = 0, end: int | None = None, chunk_size: int = _CHUNK
    ) -> Iterator[bytes]:
        path = self._path(bucket, key)
        try:
            f = open(path, "rb")  # noqa: SIM115 - closed in the generator
        except FileNotFoundError as exc:
            raise NotFound(f"object {bucket}/{key} does not exist", code="ResourceNotFound.Object") from exc
        return self._read(f, start, end, chunk_size)

    @staticmethod
    def _read(f: BinaryIO, start: int, end: int | None, chunk_size: int) -> Iterator[bytes]:
        with f:
            f.seek(start)
            remaining = None if end is None else end - start + 1
            while remaining is None or remaining > 0:
                data = f.read(chunk_size if remaining is None else min(chunk_size, remaining))
                if not data:
                    return
                if remaining is not None:
                    remaining -= len(data)
                yield data

    def stat(self, bucket: str, key: str) -> ObjectStat:
        path = self._path(bucket, key)
        if not path.is_file():
            raise NotFound(f"object {bucket}/{key} does not exist", code="ResourceNotFound.Object")
        return self._stat(bucket, key, path)

    def exists(self, bucket: str, key: str) -> bool:
        return self._path(bucket, key).is_file()

    def delete(self, bucket: str, key: str) -> None:
        path = self._path(bucket, key)
        path.unlink(missing_ok=True)
        self._prune(bucket, path.parent)

    def _prune(self, bucket: str, directory: Path) -> None:
        top = self._bucket_dir(bucket)
        while directory != top and directory.is_relative_to(top):
            try:
                directory.rmdir()
            except OSError:
                return
            directory = directory.parent

    def delete_prefix(self, bucket: str, prefix: str) -> int:
        victims = list(self.list(bucket, prefix))
        for obj in victims:
            self.delete(bucket, obj.key)
        return len(victims)

    def list(self, bucket: str, prefix: str = "") -> Iterator[ObjectStat]:
        top = self._bucket_dir(bucket)
        if not top.is_dir():
            return
        for dirpath, dirs, files in os.walk(top):
            dirs.sort()
            directory = Path(dirpath).relative_to(top).as_posix()
            base = "" if directory == "." else directory + "/"
            for name in sorted(files):
                key = base + name[len(OBJECT_MARK):]
                if name.startswith(OBJECT_MARK) and key and key.startswith(prefix):
                    yield self._stat(bucket, key, Path(dirpath) / name)

    def move(self, bucket: str, src_key: str, dst_key: str) -> ObjectStat:
        src, dst = self._path(bucket, src_key), self._path(bucket, dst_key)
        if not src.is_file():
            raise NotFound(f"object {bucket}/{src_key} does not exist", code="ResourceNotFound.Object")
        self._mkparent(dst)
        with disk_errors(f"move object {bucket}/{src_key}"):
            os.replace(src, dst)
        self._prune(bucket, src.parent)
        return self._stat(bucket, dst_key, dst)

    def signed_url(self, bucket: str, key: str, *, expires_in: int = 3600, method: str = "GET") -> str:
        self._path(bucket, key)
        if self._signer is None:
            raise StorageError("local storage has no URL signer configured")
        return self._signer(bucket, key, int(time.time()) + expires_in, method)

    @contextmanager
    def media_input(self, bucket: str, key: str, *, expires_in: int) -> Iterator[Path | str]:
        with self.local_path(bucket, key) as path:
            yield path

    @contextmanager
    def local_path(self, bucket: str, key: str) -> Iterator[Path]:
        path = self._path(bucket, key)
        if not path.is_file():
            raise NotFound(f"object {bucket}/{key} does not exist", code="ResourceNotFound.Object")
        yield path

    # -- resumable writes ----------------------------------------------------------------------
    def _staging(self, handle: str) -> tuple[str, str, Path]:
        try:
            data = json.loads(handle)
            name, bucket, key = data["id"], data["bucket"], data["key"]
        except (ValueError, KeyError, TypeError) as exc:
            raise StorageError(f"malformed append handle {handle!r}") from exc
        if not isinstance(name, str) or not name.isalnum():
            raise StorageError(f"malformed append handle {handle!r}")
        return bucket, key, self.root / _STAGING / f"append-{name}"

    def begin_append(self, bucket: str, key: str) -> str:
        self._path(bucket, key)
        handle = json.dumps({"bucket": bucket, "key": key, "id": secrets.token_hex(16)})
        with disk_errors(f"start an upload of {bucket}/{key}"):
            self._staging(handle)[2].touch()
        return handle

    def open_append(self, handle: str) -> _LocalAppend:
        path = self._staging(handle)[2]
        if not path.exists():
            raise NotFound("the upload's staged data is gone", code="ResourceNotFound.Upload")
        with disk_errors("open upload data"):
            return _LocalAppend(path)

    def appended_size(self, handle: str) -> int:
        path = self._staging(handle)[2]
        return path.stat().st_size if path.exists() else 0

    def finish_append(self, handle: str, *, content_type: str = "application/octet-stream") -> ObjectStat:
        bucket, key, staged = self._staging(handle)
        dst = self._path(bucket, key)
        if not staged.exists():
            raise NotFound("the upload's staged data is gone", code="ResourceNotFound.Upload")
        self._mkparent(dst)
        with disk_errors(f"publish object {bucket}/{key}"):
            os.replace(staged, dst)  # a rename: no second copy of the bytes
        return self._stat(bucket, key, dst)

    def abort_append(self, handle: str) -> None:
        self._staging(handle)[2].unlink(missing_ok=True)
