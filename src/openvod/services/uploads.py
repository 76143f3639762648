"""Resumable uploads (the tus protocol's state, independent of HTTP).

The bytes go straight to storage through a resumable write whose handle lives in the database,
so an upload resumes after a client reconnect and after a server restart. The FileId is chosen
when the upload is created; completion is idempotent (a crash between publishing the object and
creating the media is finished by the next HEAD or PATCH).
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import queue
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from openvod.db.models import Upload, UsedSignature, utcnow
from openvod.domain import signature as sigs
from openvod.domain.media import guess_type, media_key, validate_class_id, validate_name
from openvod.domain.numbers import parse_int
from openvod.domain.uploads import UploadState
from openvod.domain.views.uploads import UploadView
from openvod.errors import (
    AuthFailure,
    Conflict,
    InvalidParameter,
    NotFound,
    OpenVODError,
    PayloadTooLarge,
    StorageError,
)
from openvod.ids import new_file_id, new_id
from openvod.runtime import Context
from openvod.services import apps, metrics
from openvod.services.media import IngestOptions, ingest, physical
from openvod.storage.base import AppendWriter, ObjectStat

__all__ = [
    "ChecksumMismatch",
    "UploadInfo",
    "UploadView",
    "append",
    "authorize_signature",
    "body_limit",
    "create_upload",
    "expire_uploads",
    "finished_object",
    "get_upload",
    "terminate",
    "too_long",
]

CHECKSUM_ALGOS = {"sha1": hashlib.sha1, "md5": hashlib.md5}


class ChecksumMismatch(OpenVODError):
    status = 460  # tus: "Checksum Mismatch"
    default_code = "InvalidParameter.ChecksumMismatch"


UploadInfo = UploadView  # the read model (domain/views/uploads.py), by its older name


@dataclass(frozen=True)
class SignatureGrant:
    """What a verified client upload signature allows: which app, with which options."""

    app_id: str
    options: dict[str, Any]
    digest: str | None  # set for one-time signatures: consumed when the upload is created
    expires_at: datetime


# Per-process state: one writer at a time per upload, and a running MD5 so completion needn't
# re-read the file. A restart loses the hashers; completion then hashes from storage.
_locks: dict[str, threading.Lock] = {}
_locks_guard = threading.Lock()
_hashers: dict[str, tuple[int, Any]] = {}


class _HashThread:
    """Hashes blocks on a thread of its own while the caller writes them (hashlib releases the
    GIL), so hashing and disk writes overlap on two cores. ``with`` waits for the last block."""

    def __init__(self, hashes: list[Any]) -> None:
        self._hashes = hashes
        self._queue: queue.Queue[bytes | None] = queue.Queue(maxsize=8)  # bounded: <= 8 blocks held
        self._thread = threading.Thread(target=self._run, name="upload-hash", daemon=True) if hashes else None

    def _run(self) -> None:
        while (block := self._queue.get()) is not None:
            for h in self._hashes:
                h.update(block)

    def feed(self, block: bytes) -> None:
        if self._thread is not None:
            self._queue.put(block)

    def __enter__(self) -> _HashThread:
        if self._thread is not None:
            self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        if self._thread is not None:
            self._queue.put(None)
            self._thread.join()


def _lock(upload_id: str) -> threading.Lock:
    with _locks_guard:
        return _locks.setdefault(upload_id, threading.Lock())


def authorize_signature(ctx: Context, signature: str, *, now: int | None = None) -> SignatureGrant:
    """Verify a Tencent-format client upload signature. Each failure has its own code."""
    now = int(time.time()) if now is None else now
    sig = sigs.parse_signature(signature)
    key = apps.lookup_key(ctx.db, sig.secret_id)
    if key is None:
        # Still spend an HMAC so unknown ids take as long as known ones.
        hmac.compare_digest(hmac.new(b"x", sig.original, hashlib.sha1).digest(), sig.mac)
        raise AuthFailure(f"SecretId {sig.secret_id!r} is unknown", code=sigs.CODE_UNKNOWN_KEY)
    sigs.verify_signature(sig, key.secret_key, now=now)
    if key.state != "active":
        raise AuthFailure(f"SecretId {sig.secret_id} is disabled", code=sigs.CODE_DISABLED_KEY)
    app_id = _signature_app(ctx, key.app_id, sig.sub_app_id)
    options: dict[str, Any] = {
        "procedure": sig.procedure or "",
        "class_id": sig.class_id or 0,
        "source_context": sig.source_context or "",
        "session_context": sig.session_context or "",
        "task_priority": sig.task_priority or 0,
        "task_notify_mode": sig.task_notify_mode or "Finish",
        "storage_region": sig.storage_region or "",
        "secret_id": sig.secret_id,
    }
    expires = datetime.fromtimestamp(sig.expire_time, UTC)
    return SignatureGrant(app_id, options, sig.digest if sig.one_time else None, expires)


def _signature_app(ctx: Context, key_app_id: str, sub_app_id: int | None) -> str:
    """The app a signature's upload goes to: ``vodSubAppId``'s app when the key may reach it (a
    key of the default app may target any app, other keys only their own), else the key's app."""
    if not sub_app_id:
        return key_app_id
    all_apps = apps.list_apps(ctx.db)
    target = next((a for a in all_apps if a.sub_app_id == sub_app_id), None)
    key_app = next((a for a in all_apps if a.id == key_app_id), None)
    if target is None:
        raise InvalidParameter(f"vodSubAppId {sub_app_id} names no app", code="InvalidParameterValue.SubAppId")
    if target.id != key_app_id and not (key_app is not None and key_app.is_default):
        raise AuthFailure(f"vodSubAppId {sub_app_id} is not the signing key's app, and only keys of the default "
                          "app may upload into other apps", code="AuthFailure.SubAppIdMismatch")
    return target.id


def _parse_int(meta: dict[str, str], name: str) -> int | None:
    if name not in meta or meta[name] == "":
        return None
    return parse_int(meta[name], f"Upload-Metadata {name}", code="InvalidParameter.Metadata")


def create_upload(
    ctx: Context,
    *,
    app_id: str,
    length: int | None,
    metadata: dict[str, str],
    grant: SignatureGrant | None = None,
) -> UploadInfo:
    """Open an upload session. Options from a signature win over metadata."""
    if length is not None and length < 0:
        raise InvalidParameter("Upload-Length must be >= 0", code="InvalidParameter.UploadLength")
    if length is not None and length > ctx.settings.upload_max_size:
        raise PayloadTooLarge(f"Upload-Length {length} is over the limit of {ctx.settings.upload_max_size} bytes")
    filename = metadata.get("filename") or metadata.get("name") or "upload"
    options: dict[str, Any] = {
        "name": validate_name(metadata.get("name") or filename),
        "filename": filename,
        "filetype": metadata.get("filetype") or guess_type(filename),
        "procedure": metadata.get("procedure", ""),
        "class_id": validate_class_id(_parse_int(metadata, "class_id") or 0),
        "source_context": metadata.get("source_context", "")[:250],
        "session_context": metadata.get("session_context", "")[:1000],
    }
    if grant is not None:
        options.update({k: v for k, v in grant.options.items() if v not in ("", None) or k not in options})
    if options.get("procedure"):  # refuse now rather than after the bytes are in
        from openvod.services.procedures import get_procedure

        get_procedure(ctx, app_id, options["procedure"])
    file_id = new_file_id()
    bucket, key = physical(app_id, ctx.settings.default_bucket, media_key(file_id, filename))
    ctx.storage.ensure_bucket(bucket)
    handle = ctx.storage.begin_append(bucket, key)
    expires = utcnow() + timedelta(hours=ctx.settings.upload_expire_hours)
    done = False
    try:
        with ctx.db.session() as s:
            if grant is not None and grant.digest is not None:
                s.add(UsedSignature(digest=grant.digest, secret_id=grant.options["secret_id"],
                                    expires_at=grant.expires_at))
                s.flush()
            up = Upload(id=new_id("up"), app_id=app_id, length=length, offset=0, metadata_=metadata,
                        options=options, bucket=bucket, key=key, handle=handle, state=UploadState.OPEN,
                        file_id=file_id, signature_nonce=grant.digest if grant else None, expires_at=expires)
            s.add(up)
            s.flush()
            info = _info(up, 0)
        done = True
    except IntegrityError as exc:
        raise AuthFailure("this one-time upload signature was already used", code=sigs.CODE_REUSED) from exc
    finally:
        if not done:  # e.g. the database's disk is full: leave no staged write behind
            ctx.storage.abort_append(handle)
    _hashers[info.id] = (0, hashlib.md5(usedforsecurity=False))
    return info


def _info(up: Upload, offset: int) -> UploadView:
    return UploadView(up.id, up.app_id, offset, up.length, up.state,
                      up.file_id if up.state == UploadState.DONE else None, up.expires_at, dict(up.metadata_))


def _load(s: Session, upload_id: str) -> Upload:
    up = s.get(Upload, upload_id) if len(upload_id) <= 40 else None
    if up is None or up.state == UploadState.TERMINATED:
        raise NotFound(f"upload {upload_id!r} does not exist", code="ResourceNotFound.Upload")
    if up.state == UploadState.OPEN and up.expires_at < utcnow():
        raise NotFound(f"upload {upload_id!r} has expired", code="ResourceNotFound.UploadExpired")
    return up


def get_upload(ctx: Context, upload_id: str) -> UploadInfo:
    """Current state; finishes a completion interrupted by a crash."""
    with ctx.db.session() as s:
        up = _load(s, upload_id)
    if up.state == UploadState.DONE:
        return _info(up, up.length or up.offset)
    with _lock(upload_id):
        offset = _stored_size(ctx, up)
        if up.length is not None and offset >= up.length:
            return _complete(ctx, up)
        return _info(up, offset)


def finished_object(ctx: Context, upload_id: str) -> ObjectStat:
    """The object a finished upload stored, which ``GET`` on the upload URL serves. An open upload
    is a ``Conflict`` (``FailedOperation.UploadNotFinished``): its bytes are still a staged write,
    not an object; a finished one whose media source was deleted since is ``NotFound``."""
    info = get_upload(ctx, upload_id)  # also finishes a completion that a crash interrupted
    if info.state != UploadState.DONE:
        of = "a deferred length" if info.length is None else f"{info.length} bytes"
        raise Conflict(f"upload {upload_id!r} is not finished ({info.offset} of {of}): GET serves its bytes "
                       "once the last one is in; HEAD tells its offset", code="FailedOperation.UploadNotFinished")
    with ctx.db.session() as s:
        up = _load(s, upload_id)
        bucket, key = up.bucket, up.key
    try:
        return ctx.storage.stat(bucket, key)
    except NotFound as exc:
        raise NotFound(f"the bytes of upload {upload_id!r} are gone: the source of media {info.file_id} "
                       "was deleted", code="ResourceNotFound.Object") from exc


def _stored_size(ctx: Context, up: Upload) -> int:
    try:
        return ctx.storage.appended_size(up.handle)
    except NotFound:
        return 0


def body_limit(ctx: Context, upload_id: str, *, offset: int, length: int | None = None) -> int | None:
    """How many bytes a PATCH at ``offset`` may carry (``None``: the length is still deferred),
    read from the database alone, so an over-long body is refused before any of it is read."""
    with ctx.db.session() as s:
        up = _load(s, upload_id)
        total = up.length if up.length is not None else length
    if total is None:
        return None
    if offset > total:
        raise Conflict(f"Upload-Offset {offset} is past the upload's length {total}",
                       code="FailedOperation.OffsetMismatch")
    return total - offset


def too_long(limit: int) -> PayloadTooLarge:
    """The error for a PATCH body longer than the ``limit`` bytes the upload has left."""
    return PayloadTooLarge(f"the request body is longer than the {limit} bytes left before Upload-Length",
                           code="InvalidParameter.UploadLengthExceeded")


def append(
    ctx: Context,
    upload_id: str,
    *,
    offset: int,
    chunks: Iterable[bytes],
    length: int | None = None,
    checksum: tuple[str, bytes] | None = None,
) -> UploadInfo:
    """Append ``chunks`` at ``offset`` (which must equal the stored offset). With ``checksum``
    (algorithm, digest) the chunk is kept only if it matches. Completes the upload when the
    last byte arrives."""
    with ctx.db.session() as s:
        up = _load(s, upload_id)
        if up.state == UploadState.DONE:
            raise Conflict("upload is already complete", code="FailedOperation.UploadComplete")
        if length is not None:
            if up.length is not None and up.length != length:
                raise InvalidParameter("Upload-Length can't change", code="InvalidParameter.UploadLength")
            if length > ctx.settings.upload_max_size:
                raise PayloadTooLarge(f"Upload-Length {length} is over the limit")
            up.length = length
    lock = _lock(upload_id)
    if not lock.acquire(timeout=30):
        raise Conflict("another request is writing this upload", code="FailedOperation.UploadLocked")
    try:
        writer = ctx.storage.open_append(up.handle)
        try:
            if writer.offset != offset:
                raise Conflict(f"Upload-Offset {offset} does not match the stored offset {writer.offset}",
                               code="FailedOperation.OffsetMismatch")
            algo = CHECKSUM_ALGOS[checksum[0]]() if checksum else None
            hasher = _hashers.get(upload_id)
            md5 = hasher[1].copy() if hasher and hasher[0] == offset else None
            limit = up.length
            with _HashThread([h for h in (algo, md5) if h is not None]) as hashing:
                for chunk in chunks:
                    if limit is not None and writer.offset + len(chunk) > limit:
                        raise too_long(limit - offset)
                    hashing.feed(chunk)
                    metrics.count_upload_bytes("tus", len(chunk))
                    writer.write(chunk)
            if checksum and algo and not hmac.compare_digest(algo.digest(), checksum[1]):
                raise ChecksumMismatch(f"the {checksum[0]} of the chunk does not match Upload-Checksum")
            new_offset = writer.commit()
        except StorageError:
            # A failed write (a full disk): keep the blocks written whole, as after a client
            # disconnect, so the upload resumes from there once storage works again. With a
            # checksum nothing of the chunk may count.
            if checksum is None:
                _salvage(ctx, upload_id, writer)
            else:
                writer.rollback()
            raise
        except BaseException:
            writer.rollback()  # unverified bytes must not count after a failure
            raise
        finally:
            writer.close()
        if md5 is not None:
            _hashers[upload_id] = (new_offset, md5)
        else:
            _hashers.pop(upload_id, None)
        with ctx.db.session() as s:
            row = _load(s, upload_id)
            row.offset = new_offset
            row.length = up.length
            up = row
        if up.length is not None and new_offset >= up.length:
            return _complete(ctx, up)
        return _info(up, new_offset)
    finally:
        lock.release()


def _salvage(ctx: Context, upload_id: str, writer: AppendWriter) -> None:
    _hashers.pop(upload_id, None)  # the running MD5 has seen the failed block; rehash at completion
    try:
        kept = writer.commit()
    except OpenVODError:
        writer.rollback()
        return
    with contextlib.suppress(OpenVODError), ctx.db.session() as s:  # informational; storage is the truth
        row = _load(s, upload_id)
        row.offset = kept


def _complete(ctx: Context, up: Upload) -> UploadInfo:
    """Publish the object and create the media (idempotent)."""
    assert up.file_id is not None
    opts = dict(up.options)
    hasher = _hashers.pop(up.id, None)
    md5 = hasher[1].hexdigest() if hasher and hasher[0] == up.length else None
    if ctx.storage.exists(up.bucket, up.key) and _stored_size(ctx, up) == 0:
        stat = ctx.storage.stat(up.bucket, up.key)  # published before a crash
    else:
        stat = ctx.storage.finish_append(up.handle, content_type=opts.get("filetype", "application/octet-stream"))

    def finish(s: Session) -> None:
        row = s.get(Upload, up.id)
        if row is not None:
            row.state = UploadState.DONE
            row.offset = stat.size

    ingest(
        ctx,
        app_id=up.app_id,
        file_id=up.file_id,
        bucket=up.bucket,
        key=up.key,
        stat=stat,
        md5=md5,
        finish=finish,
        options=IngestOptions(
            name=opts.get("name", "upload"),
            class_id=int(opts.get("class_id", 0)),
            procedure=opts.get("procedure", ""),
            source_context=opts.get("source_context", ""),
            session_context=opts.get("session_context", ""),
            task_priority=int(opts.get("task_priority", 0)),
            task_notify_mode=opts.get("task_notify_mode", "Finish"),
            storage_region=opts.get("storage_region", ""),
        ),
    )
    with ctx.db.session() as s:
        row = s.get(Upload, up.id)
        assert row is not None
        return _info(row, stat.size)


def terminate(ctx: Context, upload_id: str) -> None:
    """tus termination: drop the upload and its bytes. A finished upload's media stays: its
    termination succeeds and changes nothing (tus-js-client's ``abort(true)`` after the last
    PATCH relies on a 204; deleting the media is ``DELETE /v1/media/{FileId}``)."""
    with ctx.db.session() as s:
        up = _load(s, upload_id)
        if up.state == UploadState.DONE:
            return
        up.state = UploadState.TERMINATED
        handle = up.handle
    with _lock(upload_id):
        ctx.storage.abort_append(handle)
    _hashers.pop(upload_id, None)


def expire_uploads(ctx: Context) -> int:
    """Abort open uploads past their expiry, forget finished ones and old one-time nonces."""
    now = utcnow()
    with ctx.db.session() as s:
        stale = list(s.scalars(select(Upload).where(Upload.expires_at < now, Upload.state != UploadState.TERMINATED)))
        s.execute(delete(UsedSignature).where(UsedSignature.expires_at < now))
    for up in stale:
        if up.state == UploadState.OPEN:
            ctx.storage.abort_append(up.handle)
        with ctx.db.session() as s:
            row = s.get(Upload, up.id)
            if row is not None:
                s.delete(row)
        _hashers.pop(up.id, None)
    return len(stale)


def decode_checksum(header: str) -> tuple[str, bytes]:
    """Parse tus ``Upload-Checksum: <algo> <base64>``."""
    try:
        algo, b64 = header.strip().split(" ", 1)
        digest = base64.b64decode(b64.strip(), validate=True)
    except ValueError as exc:
        raise InvalidParameter("Upload-Checksum must be '<algorithm> <base64 digest>'",
                               code="InvalidParameter.Checksum") from exc
    if algo not in CHECKSUM_ALGOS:
        raise InvalidParameter(f"checksum algorithm {algo!r} is not supported; use sha1 or md5",
                               code="InvalidParameter.ChecksumAlgorithm")
    return algo, digest
