"""What both halves of ``S3Storage`` share: the configured boto3 client, logical-to-physical
bucket names, translation of boto errors into ``OpenVODError`` (``raise ... from exc``), and ``stat``.
"""

from __future__ import annotations

import mimetypes
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import boto3
from boto3.exceptions import Boto3Error
from boto3.s3.transfer import TransferConfig
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError
from s3transfer.exceptions import RetriesExceededError, S3UploadFailedError

from openvod.domain.keys import validate_bucket, validate_key
from openvod.errors import NotFound, OpenVODError, StorageError
from openvod.storage.base import ObjectStat

__all__ = [
    "CHUNK",
    "DEFAULT_TYPE",
    "MISSING",
    "TRANSPORT_ERRORS",
    "S3ClientBase",
    "error_code",
    "resolve_content_type",
]

CHUNK = 1 << 20
DEFAULT_TYPE = "application/octet-stream"
MISSING = frozenset({"404", "NoSuchKey", "NotFound", "NoSuchBucket"})
TRANSPORT_ERRORS = (BotoCoreError, Boto3Error, RetriesExceededError, S3UploadFailedError)
_MIN_PART = 5 * 1024**2  # S3's floor for every part but the last
_MAX_PART = 5 * 1024**3
_COPY_THRESHOLD = 5 * 1024**3  # CopyObject's own limit; bigger objects are copied in parts
_CONNECT_TIMEOUT = 10.0
_READ_TIMEOUT = 60.0
_MAX_ATTEMPTS = 5


def error_code(exc: Any) -> str:
    """The S3 error code of a botocore ``ClientError`` (``""`` if it carries none)."""
    return str(exc.response.get("Error", {}).get("Code", ""))


def resolve_content_type(key: str, given: str) -> str:
    """``given``, or a type guessed from ``key`` when ``given`` is the protocol's default."""
    # The protocol's default can't be told apart from an explicit octet-stream, so guess then,
    # as ``local`` always does.
    if given != DEFAULT_TYPE:
        return given
    return mimetypes.guess_type(key)[0] or DEFAULT_TYPE


class S3ClientBase:
    """The boto3 client and error boundary under ``S3Storage``; see that class for the arguments."""

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
        code = error_code(exc)
        resource = bucket if key is None else f"{bucket}/{key}"
        if key is not None and code in MISSING:
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
            if error_code(exc) in ignore:
                return
            raise self._translate(exc, action, bucket, key) from exc
        except TRANSPORT_ERRORS as exc:
            raise self._transport(exc, action, bucket, key) from exc

    def _transport(self, exc: Exception, action: str, bucket: str, key: str | None) -> StorageError:
        resource = bucket if key is None else f"{bucket}/{key}"
        return StorageError(f"S3 {action} on {resource} failed at {self.endpoint_url}: {exc}")

    # -- the one read both halves need ------------------------------------------------------
    def stat(self, bucket: str, key: str) -> ObjectStat:
        physical, key = self._physical(bucket), validate_key(key, folder=True)
        with self._boundary("HeadObject", bucket, key):
            head = self._client.head_object(Bucket=physical, Key=key)
        etag = str(head.get("ETag", "")).strip('"')
        return ObjectStat(bucket, key, int(head["ContentLength"]), etag, str(head.get("ContentType") or DEFAULT_TYPE))
