"""Read models of uploads: a resumable (tus) upload and what it made, and the COS upload flow's two
answers."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

__all__ = ["CosUploadGrant", "CosUploadResult", "UploadResult", "UploadView"]


@dataclass(frozen=True)
class UploadView:
    """A resumable upload's state; ``file_id`` is set once the media exists."""

    id: str
    app_id: str
    offset: int
    length: int | None
    state: str
    file_id: str | None
    expires_at: datetime
    metadata: dict[str, str]


@dataclass(frozen=True)
class UploadResult:
    """A resumable upload with fresh URLs of what it made: the media's source and cover (None
    until the upload is done, or while the media has no cover)."""

    upload: UploadView
    media_url: str | None
    cover_url: str | None


@dataclass(frozen=True)
class CosUploadGrant:
    """Where to put an upload's media (and cover) through the COS gateway, and the temporary key
    pair to do it with (valid until ``expires``, Unix time). ``file_id`` is the FileId the media
    will have once committed."""

    bucket: str
    region: str
    session_key: str
    media_path: str
    cover_path: str
    secret_id: str
    secret_key: str
    token: str
    expires: int
    file_id: str = ""


@dataclass(frozen=True)
class CosUploadResult:
    """A committed COS upload: the new media's id and fresh URLs of its source and cover ("" if none)."""

    file_id: str
    media_url: str
    cover_url: str
