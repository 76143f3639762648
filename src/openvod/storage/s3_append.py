"""Resumable writes (tus) for ``S3Storage``.

Each resumable write maps onto one S3 multipart upload. Bytes arrive in a local *spool* file
named ``{id}.{n}.part`` in ``spool_dir``, where ``n`` is the S3 part number the spool's first
byte belongs to. ``commit`` fsyncs the spool and uploads every full ``part_size`` part it holds,
then carries the remainder over to ``{id}.{n+k}.part`` (written as ``.tmp``, renamed, then the
old spool is deleted). Two invariants make the state recoverable from the handle alone:

* a spool numbered ``n`` exists only once parts ``1..n-1`` are in S3, and
* the spool numbered ``n`` holds every byte from the start of part ``n``.

So the highest-numbered spool wins; parts ``>= n`` that S3 may already hold (a crash between
uploading and carrying over) are ignored and simply uploaded again, and the size is always
``sum(size of parts < n) + size of spool n``.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import secrets
import shutil
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, BinaryIO

from openvod.domain.keys import validate_bucket, validate_key
from openvod.errors import NotFound, StorageError
from openvod.storage.base import ObjectStat
from openvod.storage.disk import disk_errors
from openvod.storage.s3_client import CHUNK, DEFAULT_TYPE, S3ClientBase, resolve_content_type

__all__ = ["S3Appends"]

_MAX_PARTS = 10_000
_HANDLE_ID = re.compile(r"[0-9a-f]{32}")

# CompleteMultipartUpload part entries, and (part number, path) spools.
_PartList = list[dict[str, Any]]
_SpoolList = list[tuple[int, Path]]


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@dataclass(frozen=True)
class _Handle:
    bucket: str
    key: str
    upload_id: str
    id: str

    @classmethod
    def parse(cls, handle: str) -> _Handle:
        try:
            data = json.loads(handle)
            parsed = cls(str(data["bucket"]), str(data["key"]), str(data["upload_id"]), str(data["id"]))
        except (ValueError, TypeError, KeyError) as exc:
            raise StorageError(f"malformed append handle {handle!r}") from exc
        if not _HANDLE_ID.fullmatch(parsed.id):
            raise StorageError(f"malformed append handle {handle!r}")
        validate_bucket(parsed.bucket)
        validate_key(parsed.key, folder=True)
        return parsed

    def dump(self) -> str:
        return json.dumps(asdict(self))


class _FileSlice:
    """A read-only, seekable window of a file, so a part streams from the spool and botocore
    can rewind it to sign or retry the request."""

    def __init__(self, f: BinaryIO, start: int, length: int) -> None:
        self._fd = f.fileno()
        self._start = start
        self._length = length
        self._pos = 0

    def read(self, size: int | None = -1) -> bytes:
        remaining = self._length - self._pos
        n = remaining if size is None or size < 0 else min(size, remaining)
        if n <= 0:
            return b""
        data = os.pread(self._fd, n, self._start + self._pos)
        self._pos += len(data)
        return data

    def seek(self, offset: int, whence: int = os.SEEK_SET) -> int:
        base = {os.SEEK_SET: 0, os.SEEK_CUR: self._pos, os.SEEK_END: self._length}[whence]
        self._pos = max(0, base + offset)
        return self._pos

    def tell(self) -> int:
        return self._pos

    def seekable(self) -> bool:
        return True

    def readable(self) -> bool:
        return True


class _S3Append:
    """Writer returned by ``S3Storage.open_append``; see the module docstring for the scheme."""

    def __init__(self, storage: S3Appends, handle: _Handle, partno: int, spool: Path, base: int) -> None:
        self._storage = storage
        self._handle = handle
        self._partno = partno
        self._spool = spool
        self._base = base  # bytes already in S3 (parts < partno)
        with disk_errors("open the upload spool"):
            # Unbuffered: a failed write (a full disk) leaves no buffered bytes to fail again later.
            self._f = open(spool, "r+b", buffering=0)  # noqa: SIM115 - closed by close()
        self._committed = base + self._f.seek(0, os.SEEK_END)
        self._offset = self._committed

    @property
    def offset(self) -> int:
        return self._offset

    def write(self, data: bytes) -> None:
        view = memoryview(data)
        try:
            with disk_errors("spool upload data"):
                while view:
                    n = self._f.write(view)
                    view = view[n or 0:]
        except BaseException:
            # Drop a partly written block (best effort), so the file holds exactly ``offset``
            # bytes and a caller may still commit what was written whole.
            with contextlib.suppress(OSError):
                self._f.truncate(self._offset - self._base)
                self._f.seek(self._offset - self._base)
            raise
        self._offset += len(data)

    def commit(self) -> int:
        """Fsync the spool, then upload the full parts it holds. If an upload fails the bytes
        stay committed in the spool and the next ``commit`` (or ``finish_append``) retries."""
        with disk_errors("make spooled upload data durable"):
            os.fsync(self._f.fileno())
        self._committed = self._offset
        full = (self._offset - self._base) // self._storage.part_size
        if full:
            cut = full * self._storage.part_size
            self._storage._upload_spool(self._handle, self._spool, self._partno, cut)
            self._carry_over(cut, self._partno + full)
        return self._committed

    def _carry_over(self, cut: int, partno: int) -> None:
        new = self._storage._spool_path(self._handle, partno)
        tmp = new.with_name(new.name + ".tmp")
        try:
            with disk_errors("carry the upload spool over"), open(tmp, "wb") as out:
                self._f.seek(cut)
                shutil.copyfileobj(self._f, out, CHUNK)
                out.flush()
                os.fsync(out.fileno())
        except BaseException:
            tmp.unlink(missing_ok=True)  # the old spool still holds every byte; resume from it
            raise
        os.replace(tmp, new)
        # The new spool must be durable before the old one goes, or a crash could lose both.
        _fsync_dir(new.parent)
        self._f.close()
        self._spool.unlink()
        self._f = open(new, "r+b", buffering=0)  # noqa: SIM115 - closed by close()
        self._f.seek(0, os.SEEK_END)
        self._spool, self._partno, self._base = new, partno, self._base + cut

    def rollback(self) -> None:
        with disk_errors("discard unconfirmed upload data"):
            self._f.truncate(self._committed - self._base)
            self._f.seek(self._committed - self._base)
        self._offset = self._committed

    def close(self) -> None:
        self._f.close()


class S3Appends(S3ClientBase):
    """The resumable-write half of the ``Storage`` protocol (``begin_append`` .. ``abort_append``),
    mixed into ``S3Storage``. Spools live in ``spool_dir``."""

    def _spool_path(self, handle: _Handle, partno: int) -> Path:
        return self.spool_dir / f"{handle.id}.{partno}.part"

    def _spools(self, handle: _Handle) -> _SpoolList:
        found: _SpoolList = []
        for path in self.spool_dir.glob(f"{handle.id}.*.part"):
            number = path.name[len(handle.id) + 1 : -len(".part")]
            if number.isascii() and number.isdigit():
                found.append((int(number), path))
        return sorted(found)

    def _current_spool(self, handle: _Handle, *, tidy: bool) -> tuple[int, Path, int] | None:
        """(part number, path, size) of the live spool, or None if the upload has none.
        ``tidy`` removes what a crash may have left: older spools and half-written copies."""
        for _ in range(3):  # a concurrent commit may replace the spool between glob and stat
            spools = self._spools(handle)
            if not spools:
                return None
            partno, path = spools[-1]
            try:
                size = path.stat().st_size
            except FileNotFoundError:
                continue
            if tidy:
                for _n, old in spools[:-1]:
                    old.unlink(missing_ok=True)
                for tmp in self.spool_dir.glob(f"{handle.id}.*.part.tmp"):
                    tmp.unlink(missing_ok=True)
            return partno, path, size
        raise StorageError(f"the spool of upload {handle.key!r} keeps changing; is another writer active?")

    def _uploaded(self, handle: _Handle, below: int) -> tuple[int, _PartList]:
        """Total size and CompleteMultipartUpload entries of parts ``1..below-1``."""
        parts: dict[int, tuple[str, int]] = {}
        paginator = self._client.get_paginator("list_parts")
        physical = self._physical(handle.bucket)
        with self._boundary("ListParts", handle.bucket, handle.key):
            for page in paginator.paginate(Bucket=physical, Key=handle.key, UploadId=handle.upload_id):
                for part in page.get("Parts", []):
                    parts[int(part["PartNumber"])] = (str(part["ETag"]), int(part["Size"]))
        missing = [n for n in range(1, below) if n not in parts]
        if missing:
            raise StorageError(
                f"multipart upload {handle.upload_id} of {handle.bucket}/{handle.key} lacks parts {missing} "
                f"at {self.endpoint_url}; it cannot be resumed"
            )
        numbers = range(1, below)
        return sum(parts[n][1] for n in numbers), [{"PartNumber": n, "ETag": parts[n][0]} for n in numbers]

    def _upload_spool(self, handle: _Handle, spool: Path, first: int, length: int) -> _PartList:
        """Upload ``spool[:length]`` as parts numbered from ``first``, ``part_size`` each (the last
        may be shorter)."""
        physical = self._physical(handle.bucket)
        done: _PartList = []
        with open(spool, "rb") as f:
            for index, start in enumerate(range(0, length, self.part_size)):
                partno = first + index
                if partno > _MAX_PARTS:
                    raise StorageError(
                        f"upload of {handle.bucket}/{handle.key} needs more than {_MAX_PARTS} parts of "
                        f"{self.part_size} bytes; raise the part size"
                    )
                size = min(self.part_size, length - start)
                with self._boundary(f"UploadPart {partno}", handle.bucket, handle.key):
                    response = self._client.upload_part(
                        Bucket=physical,
                        Key=handle.key,
                        UploadId=handle.upload_id,
                        PartNumber=partno,
                        Body=_FileSlice(f, start, size),
                        ContentLength=size,
                    )
                done.append({"PartNumber": partno, "ETag": str(response["ETag"])})
        return done

    def _remove_spools(self, handle: _Handle) -> None:
        for pattern in (f"{handle.id}.*.part", f"{handle.id}.*.part.tmp"):
            for path in self.spool_dir.glob(pattern):
                path.unlink(missing_ok=True)

    def begin_append(self, bucket: str, key: str) -> str:
        physical, key = self._physical(bucket), validate_key(key, folder=True)
        with self._boundary("CreateMultipartUpload", bucket, key):
            response = self._client.create_multipart_upload(
                Bucket=physical, Key=key, ContentType=resolve_content_type(key, DEFAULT_TYPE)
            )
        handle = _Handle(bucket, key, str(response["UploadId"]), secrets.token_hex(16))
        with disk_errors(f"start the upload spool of {bucket}/{key}"):
            self._spool_path(handle, 1).touch()
            _fsync_dir(self.spool_dir)
        return handle.dump()

    def open_append(self, handle: str) -> _S3Append:
        parsed = _Handle.parse(handle)
        current = self._current_spool(parsed, tidy=True)
        if current is None:
            raise NotFound("the upload's staged data is gone", code="ResourceNotFound.Upload")
        partno, path, _size = current
        base, _parts = self._uploaded(parsed, partno)
        return _S3Append(self, parsed, partno, path, base)

    def appended_size(self, handle: str) -> int:
        parsed = _Handle.parse(handle)
        current = self._current_spool(parsed, tidy=False)
        if current is None:
            return 0
        partno, _path, size = current
        return self._uploaded(parsed, partno)[0] + size

    def finish_append(self, handle: str, *, content_type: str = DEFAULT_TYPE) -> ObjectStat:
        h = _Handle.parse(handle)
        physical = self._physical(h.bucket)
        current = self._current_spool(h, tidy=True)
        if current is None:
            raise NotFound("the upload's staged data is gone", code="ResourceNotFound.Upload")
        partno, spool, size = current
        base, parts = self._uploaded(h, partno)
        wanted = resolve_content_type(h.key, content_type)
        if base + size == 0:
            # S3 refuses to complete a multipart upload without parts: write the empty object.
            with self._boundary("PutObject", h.bucket, h.key):
                self._client.put_object(Bucket=physical, Key=h.key, Body=b"", ContentType=wanted)
            with self._boundary("AbortMultipartUpload", h.bucket, h.key, ignore=frozenset({"NoSuchUpload"})):
                self._client.abort_multipart_upload(Bucket=physical, Key=h.key, UploadId=h.upload_id)
        else:
            parts += self._upload_spool(h, spool, partno, size)
            with self._boundary("CompleteMultipartUpload", h.bucket, h.key):
                self._client.complete_multipart_upload(
                    Bucket=physical, Key=h.key, UploadId=h.upload_id, MultipartUpload={"Parts": parts}
                )
            if wanted != resolve_content_type(h.key, DEFAULT_TYPE):
                # The type was fixed when the upload began; replace it with a server-side copy.
                with self._boundary("CopyObject", h.bucket, h.key):
                    self._client.copy(
                        {"Bucket": physical, "Key": h.key},
                        physical,
                        h.key,
                        ExtraArgs={"ContentType": wanted, "MetadataDirective": "REPLACE"},
                        Config=self._copy,
                    )
        self._remove_spools(h)
        return self.stat(h.bucket, h.key)

    def abort_append(self, handle: str) -> None:
        h = _Handle.parse(handle)
        with self._boundary("AbortMultipartUpload", h.bucket, h.key, ignore=frozenset({"NoSuchUpload"})):
            self._client.abort_multipart_upload(Bucket=self._physical(h.bucket), Key=h.key, UploadId=h.upload_id)
        self._remove_spools(h)
