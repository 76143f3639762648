"""What a finished resumable upload made, and the cover a client attaches to it.

A browser that uploaded with an upload signature holds no key to ask ``/v1/media`` about its
file; the upload URL is its capability (``services.uploads``). With it, it reads the media's
source and cover URLs (:func:`upload_result`) and attaches a cover image (:func:`attach_cover`),
the way Tencent's CommitUploadUGC answers and takes them after one signature::

    result = upload_result(ctx, upload_id)            # media_url None until the last byte is in
    result = attach_cover(ctx, upload_id, data, "image/png")
"""

from __future__ import annotations

import io

from openvod.domain.covers import COVER_TYPES, MAX_COVER_BYTES, cover_extension
from openvod.domain.uploads import UploadState
from openvod.domain.views.uploads import UploadResult, UploadView
from openvod.errors import Conflict, NotFound, PayloadTooLarge
from openvod.runtime import Context
from openvod.services import objects, outputs
from openvod.services.media import get_media, physical
from openvod.services.uploads import get_upload

__all__ = ["attach_cover", "check_cover_target", "cover_too_large", "upload_result"]


def _result(ctx: Context, info: UploadView) -> UploadResult:
    if info.state != UploadState.DONE or info.file_id is None:
        return UploadResult(info, None, None)
    try:
        media = get_media(ctx, info.app_id, info.file_id)
    except NotFound:  # deleted since: the upload still answers, with nothing to fetch
        return UploadResult(info, None, None)
    return UploadResult(info, media.source.url if media.source is not None else None, media.cover_url)


def upload_result(ctx: Context, upload_id: str) -> UploadResult:
    """Upload ``upload_id``'s state with fresh URLs of its media's source and cover (signed and
    expiring for a private app, as ``/v1/media`` hands them out)."""
    return _result(ctx, get_upload(ctx, upload_id))


def cover_too_large() -> PayloadTooLarge:
    """The error for a cover over :data:`MAX_COVER_BYTES`."""
    return PayloadTooLarge(f"a cover is at most {MAX_COVER_BYTES} bytes", code="InvalidParameter.CoverSize")


def check_cover_target(ctx: Context, upload_id: str) -> tuple[UploadView, str]:
    """Upload ``upload_id`` and its media's FileId, if a cover may be attached to it now: the
    upload is finished (else ``FailedOperation.UploadNotFinished``) and its media not deleted
    (else ``ResourceNotFound.Media``). A transport calls it before reading the image, so a
    request for no upload costs no body."""
    info = get_upload(ctx, upload_id)
    if info.state != UploadState.DONE or info.file_id is None:
        raise Conflict(f"upload {upload_id!r} is not finished ({info.offset} bytes in): attach its cover after "
                       "the last byte", code="FailedOperation.UploadNotFinished")
    get_media(ctx, info.app_id, info.file_id)
    return info, info.file_id


def attach_cover(ctx: Context, upload_id: str, data: bytes, content_type: str | None) -> UploadResult:
    """Make ``data`` (an image of ``content_type``, see ``domain.covers``) the cover of the media
    upload ``upload_id`` made, replacing any cover it had (see :func:`check_cover_target`)."""
    if len(data) > MAX_COVER_BYTES:
        raise cover_too_large()
    ext = cover_extension(content_type, data[:16])
    info, file_id = check_cover_target(ctx, upload_id)
    bucket, key = physical(info.app_id, ctx.settings.default_bucket, f"media/{file_id}/cover/upload.{ext}")
    kind = content_type.partition(";")[0].strip().lower() if content_type else ""
    stat = ctx.storage.put(bucket, key, io.BytesIO(data), content_type=kind)
    objects.register_object(ctx, info.app_id, stat, role="cover", media_id=file_id, replaced=True)
    outputs.set_cover(ctx, file_id, key)
    for other, _magic in COVER_TYPES.values():  # a replaced cover of another type leaves no orphan
        if other != ext:
            _, old = physical(info.app_id, bucket, f"media/{file_id}/cover/upload.{other}")
            if ctx.storage.exists(bucket, old):
                ctx.storage.delete(bucket, old)
                objects.unregister_object(ctx, info.app_id, bucket, old)
    return upload_result(ctx, upload_id)
