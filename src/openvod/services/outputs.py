"""What processing jobs read and write on a media file besides its objects: the stored probe of
its source, and its cover. The engine receives these as hooks (it does not import services)."""

from __future__ import annotations

from typing import Any

from openvod.db.models import Media
from openvod.runtime import Context

__all__ = ["set_cover", "stored_probe"]


def stored_probe(ctx: Context, file_id: str, source_key: str) -> dict[str, Any] | None:
    """The probe stored at upload for media ``file_id``, if its source is still physical
    ``source_key`` (None: no media, no probe, or the source changed)."""
    with ctx.db.session() as s:
        m = s.get(Media, file_id)
        if m is not None and m.probe and m.source_key == source_key:
            return dict(m.probe)
    return None


def set_cover(ctx: Context, file_id: str, key: str) -> None:
    """Make physical ``key`` (in the media's source bucket) the cover of media ``file_id``; a
    media deleted meanwhile is left alone."""
    with ctx.db.session() as s:
        m = s.get(Media, file_id)
        if m is not None:
            m.cover_key = key
