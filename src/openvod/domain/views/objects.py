"""Read models of stored objects: one row of the ``object`` table, and a page of a listing.

``key`` is the physical key (``{app_id}/...``); :attr:`ObjectView.logical_key` is the key the app
named. ``role`` says what the object is (``source``, ``cover``, an output kind, ``upload``, or the
S3 gateway's ``bucket`` / ``s3-multipart`` / ``s3-part``); ``info`` holds what its writer recorded.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

__all__ = ["ObjectPage", "ObjectView"]


@dataclass(frozen=True)
class ObjectView:
    app_id: str
    bucket: str
    key: str
    size: int
    etag: str
    content_type: str
    role: str
    created_at: datetime
    media_id: str | None = None
    definition: int | None = None
    info: Mapping[str, Any] = field(default_factory=dict)

    @property
    def logical_key(self) -> str:
        """The key without its ``{app_id}/`` prefix."""
        return self.key.split("/", 1)[1] if "/" in self.key else ""


@dataclass(frozen=True)
class ObjectPage:
    """One page of a delimited listing: objects, common prefixes (logical), whether more follow,
    and the last logical key or prefix listed (where the next page starts)."""

    objects: tuple[ObjectView, ...]
    prefixes: tuple[str, ...]
    truncated: bool
    last: str
