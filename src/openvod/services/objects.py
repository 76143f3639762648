"""Bookkeeping of stored objects: every stored byte is reachable from the ``object`` table."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from openvod.db.models import Object
from openvod.services.context import Context
from openvod.storage.base import ObjectStat

__all__ = ["register_object"]


def register_object(ctx: Context, app_id: str, stat: ObjectStat, *, role: str, acl: str = "private",
                    media_id: str | None = None, definition: int | None = None,
                    info: dict[str, Any] | None = None) -> None:
    """Insert or update the row of a physical object (idempotent, so a retried job is harmless)."""
    with ctx.db.session() as s:
        row = s.scalar(select(Object).where(Object.app_id == app_id, Object.bucket == stat.bucket,
                                            Object.key == stat.key))
        if row is None:
            row = Object(app_id=app_id, bucket=stat.bucket, key=stat.key)
            s.add(row)
        row.size, row.etag, row.content_type = stat.size, stat.etag, stat.content_type
        row.role, row.acl, row.media_id = role, acl, media_id
        row.definition, row.info = definition, info
