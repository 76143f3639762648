"""Schemas of ``/v1/objects``: an app's stored objects."""

from __future__ import annotations

from pydantic import BaseModel

from openvod.domain.times import iso_s
from openvod.domain.views.objects import ObjectView

__all__ = ["ObjectList", "ObjectPublic"]


class ObjectPublic(BaseModel):
    bucket: str
    key: str
    size: int
    etag: str
    content_type: str
    created_at: str

    @classmethod
    def from_view(cls, v: ObjectView) -> ObjectPublic:
        return cls(bucket=v.bucket, key=v.logical_key, size=v.size, etag=v.etag, content_type=v.content_type,
                   created_at=iso_s(v.created_at))


class ObjectList(BaseModel):
    items: list[ObjectPublic]
