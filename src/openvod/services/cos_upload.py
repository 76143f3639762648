"""Tencent VOD's ApplyUpload / CommitUpload, with the bytes sent through the COS gateway
(``api/compat/s3/cos.py``, Host ``{bucket}.cos.{region}.myqcloud.com``).

Stateless: the ``VodSessionKey`` and the temporary COS credentials are tokens signed with the
server's URL-signing secret (``ctx.url_secret``), so no table is needed and any process can
verify them.

* ``VodSessionKey`` = ``base64url(json{app, file id, media key, cover key, options, expiry}).mac``.
* ``TempCertificate.SecretId`` = ``AKIDcos`` + ``base64url(json{app, issuing SecretId, bucket,
  media and cover keys, expiry[, bucket alias]}).mac``; its ``SecretKey`` and ``Token`` are HMACs
  of the SecretId. The alias is the name the COS host may give the bucket instead (COS's
  ``BucketName-APPID`` form, which vod-js-sdk-v6 builds: ``services/ugc_upload.py``); the gateway
  resolves it with :func:`resolve_bucket`.
  The COS gateway asks :func:`lookup_temp_key` for the pair, which holds only while the key that
  called ApplyUpload is active and until ``cos_upload_ttl`` seconds after ApplyUpload, and lets
  the pair write (single PUT or multipart) and read back only the media and cover keys of that
  one upload (like the policy of a Tencent temporary key, scoped to the upload's paths).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import re
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import delete, select

from openvod.db.models import Media, Object
from openvod.domain.api_keys import KeyState
from openvod.domain.media import media_key, validate_class_id, validate_name
from openvod.domain.numbers import parse_uint
from openvod.domain.views.uploads import CosUploadGrant, CosUploadResult
from openvod.errors import InvalidParameter, NotFound
from openvod.ids import new_file_id
from openvod.runtime import Context
from openvod.services import apps, buckets
from openvod.services.apps import KeyInfo
from openvod.services.media import IngestOptions, get_media, ingest, physical
from openvod.services.playback import url_for

__all__ = ["COMMIT_GRACE", "TEMP_PREFIX", "TempKey", "apply_upload", "check_apply", "commit_upload",
           "lookup_temp_key", "renew_upload", "resolve_bucket"]

# CommitUpload may follow an upload that used the credentials' whole validity.
COMMIT_GRACE = 600
TEMP_PREFIX = "AKIDcos"
DEFAULT_REGION = "ap-guangzhou"
_EXT = re.compile(r"^[A-Za-z0-9]{1,16}$")
_REGION = re.compile(r"^[a-z0-9-]{1,40}$")


def _mac(ctx: Context, purpose: str, data: str) -> str:
    return hmac.new(ctx.url_secret, f"{purpose}\0{data}".encode(), hashlib.sha256).hexdigest()[:40]


def _pack(ctx: Context, purpose: str, data: dict[str, Any]) -> str:
    raw = base64.urlsafe_b64encode(json.dumps(data, separators=(",", ":")).encode()).decode().rstrip("=")
    return f"{raw}.{_mac(ctx, purpose, raw)}"


def _unpack(ctx: Context, purpose: str, token: str) -> dict[str, Any] | None:
    raw, _, mac = token.partition(".")
    if not raw or not hmac.compare_digest(mac.encode(), _mac(ctx, purpose, raw).encode()):
        return None
    try:
        data = json.loads(base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)))
    except (binascii.Error, ValueError):
        return None
    if not isinstance(data, dict) or not isinstance(data.get("e"), int) or data["e"] < time.time():
        return None
    return data


def _ext(value: Any, what: str) -> str:
    if not isinstance(value, str) or not _EXT.match(value):
        raise InvalidParameter(f"{what} must be a file extension such as mp4", code=f"InvalidParameterValue.{what}")
    return value.lower()


def _class_id(value: Any) -> int:
    if value is None or value == "":
        return 0
    if isinstance(value, int) and not isinstance(value, bool):
        return validate_class_id(value)
    if isinstance(value, str):
        return validate_class_id(parse_uint(value, "ClassId", code="InvalidParameterValue.ClassId"))
    raise InvalidParameter("ClassId must be an integer", code="InvalidParameterValue.ClassId")


@dataclass(frozen=True)
class TempKey:
    """A temporary COS key pair ApplyUpload issued, and what it may touch: the logical
    ``bucket`` (which the COS host may also call ``alias``) and the object ``keys`` of one upload."""

    key: KeyInfo
    issuer: str
    bucket: str
    keys: frozenset[str]
    expires_at: int
    alias: str = ""


def _expire_time(value: Any) -> str:
    """``ExpireTime`` (ISO 8601, as ModifyMediaInfo takes it) as a UTC ISO string; "" for none."""
    if value is None or value == "":
        return ""
    try:
        when = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError as exc:
        raise InvalidParameter(f"ExpireTime {str(value)[:40]!r} is not an ISO 8601 time",
                               code="InvalidParameterValue.ExpireTime") from exc
    return (when if when.tzinfo is not None else when.replace(tzinfo=UTC)).astimezone(UTC).isoformat()


def _parse_apply(params: dict[str, Any]) -> tuple[str, str, str, str, int]:
    _expire_time(params.get("ExpireTime"))
    media_type = _ext(params.get("MediaType"), "MediaType")
    cover_type = _ext(params["CoverType"], "CoverType") if params.get("CoverType") else ""
    name = validate_name(str(params.get("MediaName") or "untitled"))
    region = str(params.get("StorageRegion") or DEFAULT_REGION)
    if not _REGION.match(region):
        raise InvalidParameter("StorageRegion is invalid", code="InvalidParameterValue.StorageRegion")
    return media_type, cover_type, name, region, _class_id(params.get("ClassId"))


def check_apply(params: dict[str, Any]) -> None:
    """Refuse ApplyUpload parameters :func:`apply_upload` would refuse, without issuing anything
    (for a caller that must check them before spending something, such as a one-time signature)."""
    _parse_apply(params)


def apply_upload(ctx: Context, app_id: str, params: dict[str, Any], *, secret_id: str = "",
                 now: float | None = None, task_priority: int = 0, task_notify_mode: str = "",
                 bucket_alias: str = "") -> CosUploadGrant:
    """``ApplyUpload``: where to put the media (and cover) and the keys to do it with.

    ``secret_id`` is the key that signed the call: the temporary credentials stop working when
    it is disabled (no ``secret_id``: they are refused by the COS gateway). They and the
    ``VodSessionKey`` expire ``cos_upload_ttl`` seconds after ``now`` (default: the time).
    ``ExpireTime`` (ISO 8601) becomes the media's expiry at commit. ``task_priority`` and
    ``task_notify_mode`` go to the task flow (a client upload signature carries them); with
    ``bucket_alias`` the credentials also accept that name for the bucket on the COS host.
    """
    media_type, cover_type, name, region, class_id = _parse_apply(params)
    file_id = new_file_id()
    bucket = ctx.settings.default_bucket
    mkey = media_key(file_id, f"{name}.{media_type}")
    ckey = f"media/{file_id}/cover.{cover_type}" if cover_type else ""
    pb = physical(app_id, bucket, mkey)[0]
    if not buckets.bucket_exists(ctx, app_id, pb):  # the COS gateway only writes to buckets that exist for the app
        buckets.create_bucket(ctx, app_id, pb)
    session: dict[str, Any] = {
        "a": app_id, "f": file_id, "k": mkey, "c": ckey, "n": name, "r": region,
        "p": str(params.get("Procedure") or ""), "cl": class_id,
        "sc": str(params.get("SourceContext") or ""), "ss": str(params.get("SessionContext") or ""),
        "tp": task_priority, "tn": task_notify_mode, "h": bucket_alias, "x": _expire_time(params.get("ExpireTime")),
    }
    return _grant(ctx, session, secret_id, now)


def renew_upload(ctx: Context, app_id: str, session_key: str, *, secret_id: str = "",
                 now: float | None = None) -> CosUploadGrant:
    """The same upload as ``session_key`` names (same FileId and object keys), with fresh
    temporary credentials and a fresh ``VodSessionKey``: how a client resumes an interrupted
    upload or renews credentials about to expire. ``InvalidParameter`` when the key is forged,
    expired or of another app."""
    data = _unpack(ctx, "vod-session", session_key)
    if data is None or data.get("a") != app_id:
        raise InvalidParameter("VodSessionKey is invalid or expired", code="InvalidParameterValue.VodSessionKey")
    with ctx.db.session() as s:
        committed = s.get(Media, data["f"]) is not None
    if committed:  # new credentials would overwrite a media's source
        raise InvalidParameter(f"the upload of VodSessionKey was committed already (FileId {data['f']}): start a "
                               "new upload", code="FailedOperation.UploadCommitted")
    return _grant(ctx, {k: v for k, v in data.items() if k != "e"}, secret_id, now)


def _grant(ctx: Context, session: dict[str, Any], secret_id: str, now: float | None) -> CosUploadGrant:
    exp = int(time.time() if now is None else now) + ctx.settings.cos_upload_ttl
    bucket = ctx.settings.default_bucket
    mkey, ckey = session["k"], session["c"]
    temp: dict[str, Any] = {"a": session["a"], "i": secret_id, "b": bucket, "k": [k for k in (mkey, ckey) if k],
                            "e": exp}
    if session.get("h"):
        temp["h"] = session["h"]
    temp_id = TEMP_PREFIX + _pack(ctx, "cos-temp", temp)
    return CosUploadGrant(bucket=bucket, region=str(session.get("r") or DEFAULT_REGION),
                          session_key=_pack(ctx, "vod-session", {**session, "e": exp + COMMIT_GRACE}),
                          media_path=f"/{mkey}", cover_path=f"/{ckey}" if ckey else "", secret_id=temp_id,
                          secret_key=_mac(ctx, "cos-temp-key", temp_id), token=_mac(ctx, "cos-temp-token", temp_id),
                          expires=exp, file_id=session["f"])


def resolve_bucket(ctx: Context, access_key: str, host_bucket: str) -> str:
    """The logical bucket a COS request addressed to ``host_bucket`` names: the upload's bucket
    when ``access_key`` is a temporary key whose bucket alias ``host_bucket`` is, else
    ``host_bucket`` itself. Only reads the key's signed scope; the request's signature, the
    token and the issuing key are checked when the request is authenticated."""
    if not access_key.startswith(TEMP_PREFIX):
        return host_bucket
    data = _unpack(ctx, "cos-temp", access_key[len(TEMP_PREFIX):])
    if data is None or not data.get("h") or data.get("h") != host_bucket or not isinstance(data.get("b"), str):
        return host_bucket
    return str(data["b"])


def lookup_temp_key(ctx: Context, secret_id: str, token: str | None) -> TempKey | None:
    """The temporary key pair ApplyUpload issued as ``secret_id`` (None when it is not one, is
    forged or expired, the session token does not match, or the key that asked for it is no
    longer active)."""
    if not secret_id.startswith(TEMP_PREFIX):
        return None
    data = _unpack(ctx, "cos-temp", secret_id[len(TEMP_PREFIX):])
    if data is None or not hmac.compare_digest((token or "").encode(), _mac(ctx, "cos-temp-token", secret_id).encode()):
        return None
    app_id, issuer, bucket, keys = data.get("a"), data.get("i"), data.get("b"), data.get("k")
    if not (isinstance(app_id, str) and isinstance(issuer, str) and issuer and isinstance(bucket, str)
            and isinstance(keys, list) and all(isinstance(k, str) for k in keys)):
        return None  # e.g. a pair minted before credentials named their issuer and scope
    key = apps.lookup_key(ctx.db, issuer)
    if key is None or key.state != KeyState.ACTIVE:
        return None
    info = KeyInfo(secret_id=secret_id, secret_key=_mac(ctx, "cos-temp-key", secret_id), app_id=app_id,
                   state=KeyState.ACTIVE, description=f"COS temporary key (ApplyUpload by {issuer})",
                   created_at=datetime.now(UTC), last_used_at=None)
    alias = data.get("h")
    return TempKey(info, issuer, bucket, frozenset(keys), int(data["e"]), alias if isinstance(alias, str) else "")


def commit_upload(ctx: Context, app_id: str, params: dict[str, Any]) -> CosUploadResult:
    """``CommitUpload``: the uploaded object becomes a media file (idempotent)."""
    data = _unpack(ctx, "vod-session", str(params.get("VodSessionKey") or ""))
    if data is None or data.get("a") != app_id:
        raise InvalidParameter("VodSessionKey is invalid or expired", code="InvalidParameterValue.VodSessionKey")
    file_id = data["f"]
    bucket, key = physical(app_id, ctx.settings.default_bucket, data["k"])
    with ctx.db.session() as s:
        existing = s.get(Media, file_id)
    if existing is None:
        try:
            stat = ctx.storage.stat(bucket, key)
        except NotFound as exc:
            raise InvalidParameter("the media was not uploaded", code="FailedOperation.MediaNotUploaded") from exc
        with ctx.db.session() as s:  # the gateway registered it as an upload; ingest registers the source
            s.execute(delete(Object).where(Object.app_id == app_id, Object.bucket == bucket, Object.key == key))
        cover = physical(app_id, ctx.settings.default_bucket, data["c"])[1] if data.get("c") else None
        expire = datetime.fromisoformat(data["x"]) if data.get("x") else None

        def finish(s: Any) -> None:
            m = s.get(Media, file_id)
            if m is not None and expire is not None:
                m.expire_at = expire
            if cover is None or not ctx.storage.exists(bucket, cover):
                return
            if m is not None:
                m.cover_key = cover
            row = s.scalar(select(Object).where(Object.app_id == app_id, Object.bucket == bucket,
                                                Object.key == cover))
            if row is not None:
                row.role, row.media_id = "cover", file_id

        ingest(ctx, app_id=app_id, file_id=file_id, bucket=bucket, key=key, stat=stat, finish=finish,
               options=IngestOptions(name=data["n"], class_id=int(data.get("cl") or 0), procedure=data.get("p", ""),
                                     source_context=data.get("sc", ""), session_context=data.get("ss", ""),
                                     task_priority=int(data.get("tp") or 0),
                                     task_notify_mode=str(data.get("tn") or "Finish")))
    m = get_media(ctx, app_id, file_id)
    with ctx.db.session() as s:
        media = s.get(Media, file_id)
        cover_key = media.cover_key if media is not None else None
    return CosUploadResult(file_id=file_id, media_url=m.source.url if m.source is not None else "",
                           cover_url=url_for(ctx, app_id, bucket, cover_key) if cover_key else "")
