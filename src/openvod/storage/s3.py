"""``s3`` storage: objects in an S3-compatible server (AWS S3, MinIO, Ceph, moto).

Resumable writes (tus) map onto one S3 multipart upload. Bytes arrive in a local *spool* file
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

import json
import mimetypes
import os
import re
import secrets
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, BinaryIO

import boto3
from boto3.exceptions import Boto3Error
from boto3.s3.transfer import TransferConfig
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError
from s3transfer.exceptions import RetriesExceededError, S3UploadFailedError

from openvod.domain.keys import validate_bucket, validate_key
from openvod.errors import InvalidParameter, NotFound, OpenVODError, StorageError
from openvod.storage.base import ObjectStat

__all__ = ["S3Storage"]

_CHUNK = 1 << 20
_DEFAULT_TYPE = "application/octet-stream"
_MIN_PART = 5 * 1024**2  # S3's floor for every part but the last
_MAX_PART = 5 * 1024**3
_MAX_PARTS = 10_000
_COPY_THRESHOLD = 5 * 1024**3  # CopyObject's own limit; bigger objects are copied in parts
_CONNECT_TIMEOUT = 10.0
_READ_TIMEOUT = 60.0
_MAX_ATTEMPTS = 5
_MAX_PRESIGN = 7 * 24 * 3600  # SigV4's limit
_MISSING = frozenset({"404", "NoSuchKey", "NotFound", "NoSuchBucket"})
_TRANSPORT_ERRORS = (BotoCoreError, Boto3Error, RetriesExceededError, S3UploadFailedError)
_PRESIGN = {"GET": "get_object", "HEAD": "head_object", "PUT": "put_object", "DELETE": "delete_object"}
_HANDLE_ID = re.compile(r"[0-9a-f]{32}")
_SUFFIX = re.compile(r"\.[A-Za-z0-9]{1,16}")

# Aliases, since the ``list`` method shadows the builtin inside ``S3Storage``.
_PartList = list[dict[str, Any]]
_SpoolList = list[tuple[int, Path]]


def _code(exc: Any) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def _content_type(key: str, given: str) -> str:
    # The protocol's default can't be told apart from an explicit octet-stream, so guess then,
    # as ``local`` always does.
    if given != _DEFAULT_TYPE:
        return given
    return mimetypes.guess_type(key)[0] or _DEFAULT_TYPE


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
        validate_key(parsed.key)
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

    def __init__(self, storage: S3Storage, handle: _Handle, partno: int, spool: Path, base: int) -> None:
        self._storage = storage
        self._handle = handle
        self._partno = partno
        self._spool = spool
        self._base = base  # bytes already in S3 (parts < partno)
        self._f = open(spool, "r+b")  # noqa: SIM115 - closed by close()
        self._committed = base + self._f.seek(0, os.SEEK_END)
        self._offset = self._committed

    @property
    def offset(self) -> int:
        return self._offset

    def write(self, data: bytes) -> None:
        self._f.write(data)
        self._offset += len(data)

    def commit(self) -> int:
        """Fsync the spool, then upload the full parts it holds. If an upload fails the bytes
        stay committed in the spool and the next ``commit`` (or ``finish_append``) retries."""
        self._f.flush()
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
        with open(tmp, "wb") as out:
            self._f.seek(cut)
            shutil.copyfileobj(self._f, out, _CHUNK)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, new)
        # The new spool must be durable before the old one goes, or a crash could lose both.
        _fsync_dir(new.parent)
        self._f.close()
        self._spool.unlink()
        self._f = open(new, "r+b")  # noqa: SIM115 - closed by close()
        self._f.seek(0, os.SEEK_END)
        self._spool, self._partno, self._base = new, partno, self._base + cut

    def rollback(self) -> None:
        self._f.flush()
        self._f.truncate(self._committed - self._base)
        self._f.seek(self._committed - self._base)
        self._offset = self._committed

    def close(self) -> None:
        self._f.close()


class S3Storage:
    """Objects in an S3-compatible server at ``endpoint_url`` (path-style, SigV4).

    Logical bucket ``b`` lives in the physical bucket ``bucket_prefix + b``. ``spool_dir`` holds
    resumable-write spools (keep it on persistent disk, shared by every process that may resume
    an upload) and temporary downloads for ``local_path``.
    """

    def __init__(
        self,
        endpoint_url: str,
        access_key: str | None,
        secret_key: str | None,
        region: str = "us-east-1",
        *,
        bucket_prefix: str = "",
        part_size: int = 8 * 1024 * 1024,
        spool_dir: Path,
    ) -> None:
        if not _MIN_PART <= part_size <= _MAX_PART:
            raise ValueError(f"part_size must be between {_MIN_PART} and {_MAX_PART} bytes, got {part_size}")
        self.endpoint_url = endpoint_url
        self.bucket_prefix = bucket_prefix
        self.part_size = part_size
        self.spool_dir = spool_dir.resolve()
        self.spool_dir.mkdir(parents=True, exist_ok=True)
        self._region = region
        options: dict[str, Any] = {}
        if "request_checksum_calculation" in Config.OPTION_DEFAULTS:  # botocore >= 1.36
            # Its default, flexible checksums on every request, breaks many S3-compatible
            # servers; send checksums only where the API requires one.
            options.update(request_checksum_calculation="when_required", response_checksum_validation="when_required")
        config = Config(
            region_name=region,
            signature_version="s3v4",
            s3={"addressing_style": "path"},
            connect_timeout=_CONNECT_TIMEOUT,
            read_timeout=_READ_TIMEOUT,
            retries={"max_attempts": _MAX_ATTEMPTS, "mode": "standard"},
            **options,
        )
        session = boto3.session.Session(
            aws_access_key_id=access_key, aws_secret_access_key=secret_key, region_name=region
        )
        self._client: Any = session.client("s3", endpoint_url=endpoint_url, config=config)
        self._transfer = TransferConfig(multipart_threshold=part_size, multipart_chunksize=part_size, max_concurrency=4)
        self._copy = TransferConfig(
            multipart_threshold=_COPY_THRESHOLD, multipart_chunksize=part_size, max_concurrency=4
        )

    # -- names and errors --------------------------------------------------------------------
    def _physical(self, bucket: str) -> str:
        validate_bucket(bucket)
        return validate_bucket(self.bucket_prefix + bucket)

    def _translate(self, exc: Any, action: str, bucket: str, key: str | None) -> OpenVODError:
        code = _code(exc)
        resource = bucket if key is None else f"{bucket}/{key}"
        if key is not None and code in _MISSING:
            return NotFound(f"object {resource} does not exist", code="ResourceNotFound.Object")
        if code == "NoSuchUpload":
            return NotFound(
                f"the multipart upload for {resource} is gone (finished or aborted)",
                code="ResourceNotFound.Upload",
            )
        message = exc.response.get("Error", {}).get("Message", "")
        return StorageError(
            f"S3 {action} on {resource} failed: {code} {message} "
            f"(bucket {self.bucket_prefix + bucket!r} at {self.endpoint_url})"
        )

    @contextmanager
    def _boundary(
        self, action: str, bucket: str, key: str | None = None, *, ignore: frozenset[str] = frozenset()
    ) -> Iterator[None]:
        """Translate boto errors raised in the block; S3 error codes in ``ignore`` end the block
        quietly."""
        try:
            yield
        except ClientError as exc:
            if _code(exc) in ignore:
                return
            raise self._translate(exc, action, bucket, key) from exc
        except _TRANSPORT_ERRORS as exc:
            raise self._transport(exc, action, bucket, key) from exc

    def _transport(self, exc: Exception, action: str, bucket: str, key: str | None) -> StorageError:
        resource = bucket if key is None else f"{bucket}/{key}"
        return StorageError(f"S3 {action} on {resource} failed at {self.endpoint_url}: {exc}")

    # -- objects -----------------------------------------------------------------------------
    def ensure_bucket(self, bucket: str) -> None:
        physical = self._physical(bucket)
        try:
            self._client.head_bucket(Bucket=physical)
            return
        except ClientError as exc:
            if _code(exc) not in _MISSING:
                raise self._translate(exc, "HeadBucket", bucket, None) from exc
        except _TRANSPORT_ERRORS as exc:
            raise self._transport(exc, "HeadBucket", bucket, None) from exc
        args: dict[str, Any] = {"Bucket": physical}
        if self._region != "us-east-1":
            args["CreateBucketConfiguration"] = {"LocationConstraint": self._region}
        with self._boundary("CreateBucket", bucket, ignore=frozenset({"BucketAlreadyOwnedByYou"})):
            self._client.create_bucket(**args)

    def put(self, bucket: str, key: str, stream: BinaryIO, *, content_type: str = _DEFAULT_TYPE) -> ObjectStat:
        physical, key = self._physical(bucket), validate_key(key)
        extra = {"ContentType": _content_type(key, content_type)}
        with self._boundary("PutObject", bucket, key):
            self._client.upload_fileobj(stream, physical, key, ExtraArgs=extra, Config=self._transfer)
        return self.stat(bucket, key)

    def open(
        self, bucket: str, key: str, *, start: int = 0, end: int | None = None, chunk_size: int = _CHUNK
    ) -> Iterator[bytes]:
        physical, key = self._physical(bucket), validate_key(key)
        if start < 0:
            raise InvalidParameter(f"range start {start} of {bucket}/{key} is negative", code="InvalidParameter.Range")
        if end is not None and end < start:
            self.stat(bucket, key)  # still refuse a missing object, as ``local`` does
            return iter(())
        args = {"Bucket": physical, "Key": key}
        if start or end is not None:
            args["Range"] = f"bytes={start}-{'' if end is None else end}"
        try:
            response = self._client.get_object(**args)
        except ClientError as exc:
            if _code(exc) == "InvalidRange":  # starts past the end: nothing to read
                return iter(())
            raise self._translate(exc, "GetObject", bucket, key) from exc
        except _TRANSPORT_ERRORS as exc:
            raise self._transport(exc, "GetObject", bucket, key) from exc
        return self._stream(response["Body"], chunk_size, bucket, key)

    def _stream(self, body: Any, chunk_size: int, bucket: str, key: str) -> Iterator[bytes]:
        try:
            with self._boundary("GetObject (reading the body)", bucket, key):
                yield from body.iter_chunks(chunk_size)
        finally:
            body.close()

    def stat(self, bucket: str, key: str) -> ObjectStat:
        physical, key = self._physical(bucket), validate_key(key)
        with self._boundary("HeadObject", bucket, key):
            head = self._client.head_object(Bucket=physical, Key=key)
        etag = str(head.get("ETag", "")).strip('"')
        return ObjectStat(bucket, key, int(head["ContentLength"]), etag, str(head.get("ContentType") or _DEFAULT_TYPE))

    def exists(self, bucket: str, key: str) -> bool:
        try:
            self.stat(bucket, key)
        except NotFound:
            return False
        return True

    def delete(self, bucket: str, key: str) -> None:
        physical, key = self._physical(bucket), validate_key(key)
        with self._boundary("DeleteObject", bucket, key, ignore=frozenset({"NoSuchBucket"})):
            self._client.delete_object(Bucket=physical, Key=key)

    def delete_prefix(self, bucket: str, prefix: str) -> int:
        physical = self._physical(bucket)
        count = 0
        batch: list[str] = []
        for obj in self.list(bucket, prefix):
            batch.append(obj.key)
            if len(batch) == 1000:  # DeleteObjects' limit
                count += self._delete_batch(bucket, physical, batch)
                batch = []
        return count + (self._delete_batch(bucket, physical, batch) if batch else 0)

    def _delete_batch(self, bucket: str, physical: str, keys: list[str]) -> int:
        with self._boundary("DeleteObjects", bucket):
            response = self._client.delete_objects(
                Bucket=physical, Delete={"Objects": [{"Key": k} for k in keys], "Quiet": True}
            )
        errors = response.get("Errors") or []
        if errors:
            first = errors[0]
            raise StorageError(
                f"S3 DeleteObjects on {bucket} failed for {len(errors)} of {len(keys)} objects, e.g. "
                f"{first.get('Key')!r}: {first.get('Code')} {first.get('Message')} (at {self.endpoint_url})"
            )
        return len(keys)

    def list(self, bucket: str, prefix: str = "") -> Iterator[ObjectStat]:
        """Objects under ``prefix`` in key order. ListObjectsV2 carries no content type, so it is
        guessed from the key (as ``local`` does)."""
        physical = self._physical(bucket)
        paginator = self._client.get_paginator("list_objects_v2")
        with self._boundary("ListObjectsV2", bucket, ignore=frozenset({"NoSuchBucket"})):
            for page in paginator.paginate(Bucket=physical, Prefix=prefix):
                for item in page.get("Contents", []):
                    key = str(item["Key"])
                    etag = str(item.get("ETag", "")).strip('"')
                    yield ObjectStat(bucket, key, int(item["Size"]), etag, _content_type(key, _DEFAULT_TYPE))

    def move(self, bucket: str, src_key: str, dst_key: str) -> ObjectStat:
        physical, src_key, dst_key = self._physical(bucket), validate_key(src_key), validate_key(dst_key)
        if src_key == dst_key:  # a copy onto itself would fail, and the delete would then lose it
            return self.stat(bucket, src_key)
        with self._boundary("CopyObject", bucket, src_key):
            self._client.copy({"Bucket": physical, "Key": src_key}, physical, dst_key, Config=self._copy)
        self.delete(bucket, src_key)
        return self.stat(bucket, dst_key)

    def signed_url(self, bucket: str, key: str, *, expires_in: int = 3600, method: str = "GET") -> str:
        physical, key = self._physical(bucket), validate_key(key)
        if not 0 < expires_in <= _MAX_PRESIGN:
            raise InvalidParameter(
                f"a signed URL for {bucket}/{key} must expire within 1..{_MAX_PRESIGN} s, not {expires_in}",
                code="InvalidParameter.Expires",
            )
        operation = _PRESIGN.get(method.upper())
        if operation is None:
            raise InvalidParameter(
                f"cannot sign {method!r} for {bucket}/{key}: use one of {', '.join(_PRESIGN)}",
                code="InvalidParameter.Method",
            )
        with self._boundary("presign", bucket, key):
            url = self._client.generate_presigned_url(
                operation, Params={"Bucket": physical, "Key": key}, ExpiresIn=expires_in
            )
        return str(url)

    @contextmanager
    def local_path(self, bucket: str, key: str) -> Iterator[Path]:
        physical, key = self._physical(bucket), validate_key(key)
        suffix = Path(key).suffix  # kept: tools such as FFmpeg look at the extension
        fd, name = tempfile.mkstemp(
            prefix="get-", suffix=suffix if _SUFFIX.fullmatch(suffix) else "", dir=self.spool_dir
        )
        path = Path(name)
        try:
            with os.fdopen(fd, "wb") as out, self._boundary("GetObject", bucket, key):
                self._client.download_fileobj(physical, key, out, Config=self._transfer)
            yield path
        finally:
            path.unlink(missing_ok=True)

    # -- resumable writes ----------------------------------------------------------------------
    def _spool_path(self, handle: _Handle, partno: int) -> Path:
        return self.spool_dir / f"{handle.id}.{partno}.part"

    def _spools(self, handle: _Handle) -> _SpoolList:
        found: _SpoolList = []
        for path in self.spool_dir.glob(f"{handle.id}.*.part"):
            number = path.name[len(handle.id) + 1 : -len(".part")]
            if number.isdigit():
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
        physical, key = self._physical(bucket), validate_key(key)
        with self._boundary("CreateMultipartUpload", bucket, key):
            response = self._client.create_multipart_upload(
                Bucket=physical, Key=key, ContentType=_content_type(key, _DEFAULT_TYPE)
            )
        handle = _Handle(bucket, key, str(response["UploadId"]), secrets.token_hex(16))
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

    def finish_append(self, handle: str, *, content_type: str = _DEFAULT_TYPE) -> ObjectStat:
        h = _Handle.parse(handle)
        physical = self._physical(h.bucket)
        current = self._current_spool(h, tidy=True)
        if current is None:
            raise NotFound("the upload's staged data is gone", code="ResourceNotFound.Upload")
        partno, spool, size = current
        base, parts = self._uploaded(h, partno)
        wanted = _content_type(h.key, content_type)
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
            if wanted != _content_type(h.key, _DEFAULT_TYPE):
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
