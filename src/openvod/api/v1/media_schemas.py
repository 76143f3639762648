"""Schemas of ``/v1/media``: the media library."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from openvod.domain.times import iso_s, iso_s_or_none
from openvod.domain.views.media import MediaView, OutputsView, OutputView, SourceView

__all__ = ["DeleteResult", "DescribeRequest", "DescribeResult", "MediaList", "MediaPublic", "MediaUpdate",
           "PullRequest", "SourcePublic", "outputs_json"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


def _output(o: OutputView) -> dict[str, Any]:
    item: dict[str, Any] = {**o.info, "url": o.url, "size": o.size, "definition": o.definition}
    if o.sheets is not None:
        item["sheets"] = list(o.sheets)
    return item


def outputs_json(outputs: OutputsView) -> dict[str, Any]:
    """A media file's outputs as the native API lists them: ``{group: [item...], "cover": item}``,
    each item the output's info fields with ``url``, ``size``, ``definition`` (and ``sheets``)."""
    out: dict[str, Any] = {name: [_output(o) for o in items] for name, items in outputs.groups()}
    out["cover"] = _output(outputs.cover) if outputs.cover is not None else None
    return out


class SourcePublic(BaseModel):
    bucket: str
    key: str
    size: int
    etag: str
    content_type: str
    url: str

    @classmethod
    def from_view(cls, v: SourceView) -> SourcePublic:
        return cls(bucket=v.bucket, key=v.key, size=v.size, etag=v.etag, content_type=v.content_type, url=v.url)


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

    @classmethod
    def from_view(cls, v: MediaView) -> MediaPublic:
        return cls(
            file_id=v.file_id, name=v.name, description=v.description, class_id=v.class_id, state=v.state,
            media_type=v.media_type, source=SourcePublic.from_view(v.source) if v.source is not None else None,
            cover_url=v.cover_url, metadata=dict(v.metadata) if v.metadata is not None else None,
            probe=dict(v.probe) if v.probe is not None else None, probe_error=v.probe_error,
            procedure=v.procedure, source_context=v.source_context, session_context=v.session_context,
            task_priority=v.task_priority, created_at=iso_s(v.created_at), updated_at=iso_s(v.updated_at),
            expire_at=iso_s_or_none(v.expire_at), outputs=outputs_json(v.outputs), play_url=v.play_url,
        )


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
