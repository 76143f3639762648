"""Buckets of an app: a bucket exists for an app while the app has a row in it (its marker, role
``bucket``, at key ``{app_id}/``, or any object). The S3/COS gateway and ApplyUpload make them."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, func, select

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


def list_buckets(ctx: Context, app_id: str) -> list[str]:
    """The names of the app's buckets, sorted."""
    with ctx.db.session() as s:
        return sorted(s.scalars(select(Object.bucket).where(Object.app_id == app_id).distinct()))


def bucket_dates(ctx: Context, app_id: str) -> list[tuple[str, datetime]]:
    """The app's buckets, sorted by name, each with the time of its oldest row (its creation)."""
    with ctx.db.session() as s:
        rows = s.execute(select(Object.bucket, func.min(Object.created_at)).where(Object.app_id == app_id)
                         .group_by(Object.bucket).order_by(Object.bucket))
        return [(name, created) for name, created in rows]


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
