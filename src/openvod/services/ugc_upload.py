"""Client (UGC) uploads the way vod-js-sdk-v6 makes them: ``PrepareUploadUGC``,
``ApplyUploadUGC`` and ``CommitUploadUGC``, each authorised by a client upload signature
(``services.uploads.authorize_signature``: expiry, key state, ``vodSubAppId``), on the COS upload
flow of :mod:`openvod.services.cos_upload` (same session keys, same temporary credentials, same
commit).

What the SDK adds to that flow:

* the bucket: the SDK addresses ``{storageBucket}-{storageAppId}.cos.{region}.myqcloud.com``
  (COS's ``BucketName-APPID``). OpenVOD answers ``storageBucket`` = the default bucket and
  ``storageAppId`` = the app's SubAppId, and the temporary credentials carry that joined name as
  an alias of the bucket, so the COS gateway resolves it to the upload's own bucket;
* one-time signatures (``oneTimeValid=1``) are spent by ``ApplyUploadUGC`` (a new upload or the
  resumption of one); ``PrepareUploadUGC`` and ``CommitUploadUGC`` only verify theirs (the
  ``vodSessionKey`` is the capability for the upload's commit), and the commit's must be of the
  upload's app;
* ``vodSessionKey`` on ``ApplyUploadUGC`` resumes that upload with fresh credentials
  (``cos_upload.renew_upload``): the SDK sends it to resume after a reload and to renew
  credentials about to expire.
"""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy.exc import IntegrityError

from openvod.db.models import UsedSignature
from openvod.domain import signature as sigs
from openvod.domain.numbers import parse_uint
from openvod.domain.views.ugc import UgcGrant, UgcPrepared
from openvod.domain.views.uploads import CosUploadResult
from openvod.errors import AuthFailure, InvalidParameter, PayloadTooLarge, Unimplemented
from openvod.runtime import Context
from openvod.services import apps, cos_upload
from openvod.services.procedures import get_procedure
from openvod.services.uploads import SignatureGrant, authorize_signature

__all__ = ["apply", "commit", "prepare"]


def _signature(ctx: Context, params: dict[str, Any], now: int) -> SignatureGrant:
    value = params.get("signature")
    if value is None or value == "":
        raise AuthFailure("the request has no signature: the SDK's getSignature must return the client upload "
                          "signature your server made", code="AuthFailure.SignatureMissing")
    if not isinstance(value, str):
        raise InvalidParameter("signature must be a string", code=sigs.CODE_INVALID)
    return authorize_signature(ctx, value, now=now)


def _app_number(ctx: Context, app_id: str) -> int:
    """The app's SubAppId, which the SDK is given as Tencent's APPID (``appId``, ``storageAppId``)."""
    return next(a.sub_app_id for a in apps.list_apps(ctx.db) if a.id == app_id)


def _region(grant: SignatureGrant, asked: Any) -> str:
    """The signature's ``storageRegion``, else the one the SDK asks for (PrepareUploadUGC's), else
    the default."""
    signed = grant.options.get("storage_region")
    if signed:
        return str(signed)
    return asked if isinstance(asked, str) and asked else cos_upload.DEFAULT_REGION


def _size(params: dict[str, Any], name: str, limit: int) -> int | None:
    value = params.get(name)
    if value is None or value == "":
        return None
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise InvalidParameter(f"{name} must be a number of bytes", code=f"InvalidParameterValue.{name}")
    size = value if isinstance(value, int) else parse_uint(value, name, code=f"InvalidParameterValue.{name}")
    if size < 0:
        raise InvalidParameter(f"{name} must be >= 0", code=f"InvalidParameterValue.{name}")
    if size > limit:
        raise PayloadTooLarge(f"{name} {size} is over the upload limit of {limit} bytes",
                              code=f"InvalidParameterValue.{name}")
    return size


def _spend(ctx: Context, grant: SignatureGrant) -> None:
    """Record a one-time signature as used; ``AuthFailure.SignatureReused`` if it already was."""
    if grant.digest is None:
        return
    try:
        with ctx.db.session() as s:
            s.add(UsedSignature(digest=grant.digest, secret_id=grant.options["secret_id"],
                                expires_at=grant.expires_at))
    except IntegrityError as exc:
        raise AuthFailure("this one-time upload signature was already used", code=sigs.CODE_REUSED) from exc


def prepare(ctx: Context, params: dict[str, Any], *, now: float | None = None) -> UgcPrepared:
    """``PrepareUploadUGC``: the region list the SDK would race (one region: no race). Verifies
    the signature without spending it."""
    grant = _signature(ctx, params, int(time.time() if now is None else now))
    number = _app_number(ctx, grant.app_id)
    region = _region(grant, None)
    return UgcPrepared(app_number=number, region=region,
                       bucket_host=f"{ctx.settings.default_bucket}-{number}.cos.{region}.myqcloud.com")


def apply(ctx: Context, params: dict[str, Any], *, now: float | None = None) -> UgcGrant:
    """``ApplyUploadUGC``: a new upload (``videoType``, ``videoName``, ``videoSize`` and
    optionally ``coverType``…), or the resumption of ``vodSessionKey``'s. Spends a one-time
    signature; every refusal is an :class:`~openvod.errors.OpenVODError` with its own code."""
    at = int(time.time() if now is None else now)
    grant = _signature(ctx, params, at)
    secret_id = str(grant.options["secret_id"])
    session = params.get("vodSessionKey")
    if session is not None and not isinstance(session, str):
        raise InvalidParameter("vodSessionKey must be a string", code="InvalidParameterValue.VodSessionKey")
    if session:
        cos = cos_upload.renew_upload(ctx, grant.app_id, session, secret_id=secret_id, now=at)  # no side effect
        _spend(ctx, grant)
        return UgcGrant(cos=cos, app_number=_app_number(ctx, grant.app_id), issued_at=at)
    if params.get("fileId"):
        raise Unimplemented("replacing the cover of an existing media (fileId with a coverFile and no mediaFile) "
                            "is not supported: upload the media with its cover, or set the cover with "
                            "ModifyMediaInfo", code="UnsupportedOperation.CoverOnly")
    if not params.get("videoType"):
        raise InvalidParameter("videoType (the media file's extension, e.g. mp4) is missing: the SDK sends it for "
                               "a mediaFile", code="MissingParameter.VideoType")
    limit = ctx.settings.upload_max_size
    _size(params, "videoSize", limit)
    _size(params, "coverSize", limit)
    name = params.get("videoName")
    if name is not None and not isinstance(name, str):
        raise InvalidParameter("videoName must be a string", code="InvalidParameterValue.VideoName")
    procedure = str(grant.options.get("procedure") or "")
    if procedure:  # refuse now rather than after the bytes are in
        get_procedure(ctx, grant.app_id, procedure)
    number = _app_number(ctx, grant.app_id)
    wanted = {
        "MediaType": params.get("videoType"), "MediaName": name or "untitled",
        "CoverType": params.get("coverType") or "", "Procedure": procedure,
        "ClassId": grant.options.get("class_id") or 0, "SourceContext": grant.options.get("source_context") or "",
        "SessionContext": grant.options.get("session_context") or "",
        "StorageRegion": _region(grant, params.get("storageRegion")), "ExpireTime": params.get("ExpireTime"),
    }
    cos_upload.check_apply(wanted)  # the parameters before the signature is spent
    _spend(ctx, grant)
    cos = cos_upload.apply_upload(ctx, grant.app_id, wanted, secret_id=secret_id, now=at,
                                  task_priority=int(grant.options.get("task_priority") or 0),
                                  task_notify_mode=str(grant.options.get("task_notify_mode") or ""),
                                  bucket_alias=f"{ctx.settings.default_bucket}-{number}")
    return UgcGrant(cos=cos, app_number=number, issued_at=at)


def commit(ctx: Context, params: dict[str, Any], *, now: float | None = None) -> CosUploadResult:
    """``CommitUploadUGC``: the uploaded object becomes a media file (idempotent). The signature
    is verified, not spent, and must be of the app the ``vodSessionKey`` is."""
    grant = _signature(ctx, params, int(time.time() if now is None else now))
    session = params.get("vodSessionKey")
    if not isinstance(session, str) or not session:
        raise InvalidParameter("vodSessionKey (ApplyUploadUGC's) is missing",
                               code="MissingParameter.VodSessionKey")
    return cos_upload.commit_upload(ctx, grant.app_id, {"VodSessionKey": session})
