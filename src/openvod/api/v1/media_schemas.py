"""Schemas of ``/v1/media``: the media library."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt

from openvod.domain.sharing import EMBED_MAX_TTL, EMBED_MIN_TTL
from openvod.domain.times import iso_s, iso_s_or_none
from openvod.domain.views.media import EmbedView, MediaView, OutputsView, OutputView, Problem, SourceView, SubtitleView

__all__ = ["DeleteResult", "DescribeRequest", "DescribeResult", "EmbedRequest", "EmbedUrl", "MediaList",
           "MediaPublic", "MediaUpdate", "ProblemPublic", "PullRequest", "SharingUpdate", "SourcePublic",
           "SubtitleList", "SubtitlePublic", "outputs_json"]


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


class ProblemPublic(BaseModel):
    """Why something did not happen: a stable ``code`` and a ``message`` for people."""

    code: str
    message: str

    @classmethod
    def from_view(cls, v: Problem | None) -> ProblemPublic | None:
        return cls(code=v.code, message=v.message) if v is not None else None


class MediaPublic(BaseModel):
    file_id: str
    name: str
    description: str
    class_id: int
    state: str
    media_type: str = Field(description="video, audio, image, or unknown (not a media file: see probe_error)")
    source: SourcePublic | None
    cover_url: str | None
    metadata: dict[str, Any] | None = Field(description="Tencent VOD MetaData: Size, Duration, Width, ...")
    probe: dict[str, Any] | None = Field(description="ffprobe-style JSON: format and streams")
    probe_error: ProblemPublic | None = Field(description="why the file could not be read as media")
    procedure: str
    procedure_skipped: ProblemPublic | None = Field(
        default=None, description="why the upload's task flow was not started (FailedOperation.NotMedia)")
    source_context: str
    session_context: str
    task_priority: int
    created_at: str
    updated_at: str
    expire_at: str | None
    outputs: dict[str, Any] | None = Field(default=None, description="processing outputs grouped by kind")
    play_url: str | None = Field(default=None, description="the player page (signed for private media)")
    public: bool = Field(description="whether its URLs, player and embed page need no signature")
    sharing: str = Field(description="public or private (this media's own setting), or app (the app's)")

    @classmethod
    def from_view(cls, v: MediaView) -> MediaPublic:
        return cls(
            file_id=v.file_id, name=v.name, description=v.description, class_id=v.class_id, state=v.state,
            media_type=v.media_type, source=SourcePublic.from_view(v.source) if v.source is not None else None,
            cover_url=v.cover_url, metadata=dict(v.metadata) if v.metadata is not None else None,
            probe=dict(v.probe) if v.probe is not None else None, probe_error=ProblemPublic.from_view(v.probe_error),
            procedure=v.procedure, procedure_skipped=ProblemPublic.from_view(v.procedure_skipped),
            source_context=v.source_context, session_context=v.session_context,
            task_priority=v.task_priority, created_at=iso_s(v.created_at), updated_at=iso_s(v.updated_at),
            expire_at=iso_s_or_none(v.expire_at), outputs=outputs_json(v.outputs), play_url=v.play_url,
            public=v.public, sharing=v.sharing,
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


class SharingUpdate(_Strict):
    public: StrictBool | None = Field(description="true: public, false: private, null: follow PUT /v1/app/playback")


class EmbedRequest(_Strict):
    ttl: StrictInt | None = Field(default=None, ge=EMBED_MIN_TTL, le=EMBED_MAX_TTL,
                            description="seconds a private media's signed URL works (default playback_url_ttl)")


class EmbedUrl(BaseModel):
    url: str
    expires_at: str | None = Field(description="null: a public media's stable URL")
    iframe: str = Field(description="the <iframe> snippet showing the URL at 640x360")

    @classmethod
    def from_view(cls, v: EmbedView) -> EmbedUrl:
        return cls(url=v.url, expires_at=iso_s_or_none(v.expires_at), iframe=v.iframe)


class SubtitlePublic(BaseModel):
    language: str
    label: str
    url: str

    @classmethod
    def from_view(cls, v: SubtitleView) -> SubtitlePublic:
        return cls(language=v.language, label=v.label, url=v.url)


class SubtitleList(BaseModel):
    items: list[SubtitlePublic]
