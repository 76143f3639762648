"""Buckets of an app: a bucket exists for an app while the app has a row in it (its marker, role
``bucket``, at key ``{app_id}/``, or any object). The S3/COS gateway and ApplyUpload make them."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from openvod.db.models import Object
from openvod.errors import Conflict
from openvod.runtime import Context
from openvod.services.objects import register_object
from openvod.storage.base import ObjectStat

__all__ = ["MARKER_ROLE", "bucket_dates", "bucket_exists", "create_bucket", "delete_bucket", "list_buckets"]

MARKER_ROLE = "bucket"


def bucket_exists(ctx: Context, app_id: str, bucket: str) -> bool:
    """Whether the app holds any row (the marker or an object) in physical ``bucket``."""
    with ctx.db.session() as s:
        return s.scalar(select(Object.id).where(Object.app_id == app_id, Object.bucket == bucket).limit(1)) is not None


def _bucket_names(s: Session, app_id: str) -> list[str]:
    """The app's buckets, sorted: one seek of the ``(app_id, bucket, key)`` index per bucket (a
    skip scan), not a walk of every object the app holds."""
    names: list[str] = []
    while (name := s.scalar(select(Object.bucket).where(Object.app_id == app_id, *(
            [Object.bucket > names[-1]] if names else [])).order_by(Object.bucket).limit(1))) is not None:
        names.append(name)
    return names


def list_buckets(ctx: Context, app_id: str) -> list[str]:
    """The names of the app's buckets, sorted."""
    with ctx.db.session() as s:
        return _bucket_names(s, app_id)


def bucket_dates(ctx: Context, app_id: str) -> list[tuple[str, datetime]]:
    """The app's buckets, sorted by name, each with its creation time: that of its marker (made
    with the bucket), or for a bucket made by its first object, of the bucket's first key. Two
    index seeks a bucket, however many objects it holds."""
    out = []
    with ctx.db.session() as s:
        for name in _bucket_names(s, app_id):
            in_bucket = (Object.app_id == app_id, Object.bucket == name)
            created = s.scalar(select(Object.created_at).where(*in_bucket, Object.key == f"{app_id}/"))
            if created is None:
                created = s.scalar(select(Object.created_at).where(*in_bucket).order_by(Object.key).limit(1))
            if created is not None:  # else emptied since it was listed: gone
                out.append((name, created))
    return out


def create_bucket(ctx: Context, app_id: str, bucket: str) -> None:
    """Make physical ``bucket`` in storage and the app's marker row in it (idempotent)."""
    ctx.storage.ensure_bucket(bucket)
    register_object(ctx, app_id, ObjectStat(bucket, f"{app_id}/", 0, "", "application/x-directory"),
                    role=MARKER_ROLE)


def delete_bucket(ctx: Context, app_id: str, bucket: str) -> None:
    """Drop the app's marker of ``bucket``; ``Conflict`` (``FailedOperation.BucketNotEmpty``) while
    the app has any other object in it."""
    with ctx.db.session() as s:
        other = s.scalar(select(Object.id).where(Object.app_id == app_id, Object.bucket == bucket,
                                                 Object.role != MARKER_ROLE).limit(1))
        if other is not None:
            raise Conflict(f"bucket {bucket} of app {app_id} is not empty", code="FailedOperation.BucketNotEmpty")
        s.execute(delete(Object).where(Object.app_id == app_id, Object.bucket == bucket, Object.role == MARKER_ROLE))
