"""``s3`` storage: objects in an S3-compatible server (AWS S3, MinIO, Ceph, moto).

``S3Storage`` is built in layers: ``s3_client`` configures the boto3 client and translates its
errors, ``s3_append`` adds resumable writes (tus) on S3 multipart uploads, and this module adds
the plain object operations.
"""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, BinaryIO

from botocore.exceptions import ClientError

from openvod.domain.keys import validate_key
from openvod.errors import InvalidParameter, NotFound, StorageError
from openvod.storage.base import ObjectStat
from openvod.storage.s3_append import S3Appends
from openvod.storage.s3_client import (
    CHUNK,
    DEFAULT_TYPE,
    MISSING,
    TRANSPORT_ERRORS,
    error_code,
    resolve_content_type,
)

__all__ = ["S3Storage"]

_MAX_PRESIGN = 7 * 24 * 3600  # SigV4's limit
_PRESIGN = {"GET": "get_object", "HEAD": "head_object", "PUT": "put_object", "DELETE": "delete_object"}
_SUFFIX = re.compile(r"\.[A-Za-z0-9]{1,16}")


class S3Storage(S3Appends):
    """Objects in an S3-compatible server at ``endpoint_url`` (path-style, SigV4).

    Logical bucket ``b`` lives in the physical bucket ``bucket_prefix + b``. ``spool_dir`` holds
    resumable-write spools (keep it on persistent disk, shared by every process that may resume
    an upload) and temporary downloads for ``local_path``.
    """

    # -- objects -----------------------------------------------------------------------------
    def ensure_bucket(self, bucket: str) -> None:
        physical = self._physical(bucket)
        try:
            self._client.head_bucket(Bucket=physical)
            return
        except ClientError as exc:
            if error_code(exc) not in MISSING:
                raise self._translate(exc, "HeadBucket", bucket, None) from exc
        except TRANSPORT_ERRORS as exc:
            raise self._transport(exc, "HeadBucket", bucket, None) from exc
        args: dict[str, Any] = {"Bucket": physical}
        if self._region != "us-east-1":
            args["CreateBucketConfiguration"] = {"LocationConstraint": self._region}
        with self._boundary("CreateBucket", bucket, ignore=frozenset({"BucketAlreadyOwnedByYou"})):
            self._client.create_bucket(**args)

    def put(self, bucket: str, key: str, stream: BinaryIO, *, content_type: str = DEFAULT_TYPE) -> ObjectStat:
        physical, key = self._physical(bucket), validate_key(key, folder=True)
        extra = {"ContentType": resolve_content_type(key, content_type)}
        with self._boundary("PutObject", bucket, key):
            self._client.upload_fileobj(stream, physical, key, ExtraArgs=extra, Config=self._transfer)
        return self.stat(bucket, key)

    def open(
        self, bucket: str, key: str, *, start: int = 0, end: int | None = None, chunk_size: int = CHUNK
    ) -> Iterator[bytes]:
        physical, key = self._physical(bucket), validate_key(key, folder=True)
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
            if error_code(exc) == "InvalidRange":  # starts past the end: nothing to read
                return iter(())
            raise self._translate(exc, "GetObject", bucket, key) from exc
        except TRANSPORT_ERRORS as exc:
            raise self._transport(exc, "GetObject", bucket, key) from exc
        return self._stream(response["Body"], chunk_size, bucket, key)

    def _stream(self, body: Any, chunk_size: int, bucket: str, key: str) -> Iterator[bytes]:
        try:
            with self._boundary("GetObject (reading the body)", bucket, key):
                yield from body.iter_chunks(chunk_size)
        finally:
            body.close()

    def exists(self, bucket: str, key: str) -> bool:
        try:
            self.stat(bucket, key)
        except NotFound:
            return False
        return True

    def delete(self, bucket: str, key: str) -> None:
        physical, key = self._physical(bucket), validate_key(key, folder=True)
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
                    yield ObjectStat(bucket, key, int(item["Size"]), etag, resolve_content_type(key, DEFAULT_TYPE))

    def move(self, bucket: str, src_key: str, dst_key: str) -> ObjectStat:
        physical = self._physical(bucket)
        src_key, dst_key = validate_key(src_key, folder=True), validate_key(dst_key, folder=True)
        if src_key == dst_key:  # a copy onto itself would fail, and the delete would then lose it
            return self.stat(bucket, src_key)
        with self._boundary("CopyObject", bucket, src_key):
            self._client.copy({"Bucket": physical, "Key": src_key}, physical, dst_key, Config=self._copy)
        self.delete(bucket, src_key)
        return self.stat(bucket, dst_key)

    def signed_url(self, bucket: str, key: str, *, expires_in: int = 3600, method: str = "GET") -> str:
        physical, key = self._physical(bucket), validate_key(key, folder=True)
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
    def media_input(self, bucket: str, key: str, *, expires_in: int) -> Iterator[Path | str]:
        self.stat(bucket, key)  # a missing object is NotFound here, not an FFmpeg error later
        yield self.signed_url(bucket, key, expires_in=max(1, min(expires_in, _MAX_PRESIGN)))

    @contextmanager
    def local_path(self, bucket: str, key: str) -> Iterator[Path]:
        physical, key = self._physical(bucket), validate_key(key, folder=True)
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
