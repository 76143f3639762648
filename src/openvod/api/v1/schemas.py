"""Request and response schemas of the native API (one family per resource)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "DeleteResult",
    "DescribeRequest",
    "DescribeResult",
    "KeyCreate",
    "KeyList",
    "KeyPublic",
    "MediaList",
    "MediaPublic",
    "MediaUpdate",
    "ObjectList",
    "ObjectPublic",
    "PullRequest",
    "SourcePublic",
]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SourcePublic(BaseModel):
    bucket: str
    key: str
    size: int
    etag: str
    content_type: str
    url: str


class MediaPublic(BaseModel):
    file_id: str
    name: str
    description: str
    class_id: int
    state: str
    media_type: str
    source: SourcePublic | None
    cover_url: str | None
    metadata: dict[str, Any] | None = Field(description="Tencent VOD MetaData: Size, Duration, Width, ...")
    probe: dict[str, Any] | None = Field(description="ffprobe-style JSON: format and streams")
    probe_error: str | None
    procedure: str
    source_context: str
    session_context: str
    task_priority: int
    created_at: str
    updated_at: str
    expire_at: str | None
    outputs: dict[str, Any] | None = Field(default=None, description="processing outputs grouped by kind")
    play_url: str | None = Field(default=None, description="the player page (signed for private apps)")


class MediaList(BaseModel):
    items: list[MediaPublic]
    next_marker: str | None


class DescribeRequest(_Strict):
    file_ids: list[str] = Field(min_length=1, max_length=100)


class DescribeResult(BaseModel):
    items: list[MediaPublic]
    not_found: list[str]


class MediaUpdate(_Strict):
    name: str | None = Field(default=None, min_length=1, max_length=256)
    description: str | None = Field(default=None, max_length=10_000)
    class_id: int | None = Field(default=None, ge=0)
    expire_at: datetime | None = None


class DeleteResult(BaseModel):
    file_id: str
    deleted: list[str]


class PullRequest(_Strict):
    url: str = Field(max_length=4096)
    name: str | None = Field(default=None, max_length=256)
    class_id: int = Field(default=0, ge=0)
    procedure: str = Field(default="", max_length=128)
    source_context: str = Field(default="", max_length=250)
    session_context: str = Field(default="", max_length=1000)


class ObjectPublic(BaseModel):
    bucket: str
    key: str
    size: int
    etag: str
    content_type: str
    created_at: str


class ObjectList(BaseModel):
    items: list[ObjectPublic]


class KeyCreate(_Strict):
    description: str = Field(default="", max_length=256)


class KeyPublic(BaseModel):
    secret_id: str
    state: str
    description: str
    created_at: str
    last_used_at: str | None
    secret_key: str | None = Field(default=None, description="only in the answer that creates the key")


class KeyList(BaseModel):
    items: list[KeyPublic]
