"""Read models of the media library: a media file, its source, its outputs, what its player plays.

    view = services.media.get_media(ctx, app_id, file_id)          # MediaView
    view.source.url, view.outputs.transcodes[0].info["height"], view.outputs.cover
    player = services.playback.player_data(ctx, app_id, file_id)   # PlayerView

URLs in these views are made (and signed, for a private app) when the view is built; times are
``datetime`` as stored, and renderers format them. ``metadata`` (Tencent's ``MetaData``) and
``probe`` (ffprobe-style JSON) are the documents stored at upload; an output's ``info`` holds the
fields its job recorded (width, height, container, time_offset, vtt...).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

__all__ = ["OUTPUT_GROUPS", "MediaView", "OutputView", "OutputsView", "PlayerView", "SourceView"]

# The output groups of OutputsView, in the order the native API lists them.
OUTPUT_GROUPS = ("transcodes", "animated_graphics", "snapshots", "sample_snapshots", "image_sprites",
                 "adaptive_streams")


@dataclass(frozen=True)
class SourceView:
    """The uploaded file of a media file: its logical ``bucket``/``key`` and a fresh ``url``."""

    bucket: str
    key: str
    size: int
    etag: str
    content_type: str
    url: str


@dataclass(frozen=True)
class OutputView:
    """One processing output (or the cover). ``size``/``definition`` are None for a cover known only
    by its key; ``sheets`` lists the sheet URLs of an image sprite (None for other kinds)."""

    url: str
    size: int | None
    definition: int | None
    info: Mapping[str, Any] = field(default_factory=dict)
    sheets: tuple[str, ...] | None = None


@dataclass(frozen=True)
class OutputsView:
    """A media file's outputs grouped by kind (objects in creation order), and its cover."""

    transcodes: tuple[OutputView, ...] = ()
    animated_graphics: tuple[OutputView, ...] = ()
    snapshots: tuple[OutputView, ...] = ()
    sample_snapshots: tuple[OutputView, ...] = ()
    image_sprites: tuple[OutputView, ...] = ()
    adaptive_streams: tuple[OutputView, ...] = ()
    cover: OutputView | None = None

    def groups(self) -> list[tuple[str, tuple[OutputView, ...]]]:
        """(group name, outputs) for every group of :data:`OUTPUT_GROUPS`, in that order."""
        return [(name, getattr(self, name)) for name in OUTPUT_GROUPS]


@dataclass(frozen=True)
class MediaView:
    file_id: str
    name: str
    description: str
    class_id: int
    state: str
    media_type: str
    source: SourceView | None
    cover_url: str | None
    metadata: Mapping[str, Any] | None
    probe: Mapping[str, Any] | None
    probe_error: str | None
    procedure: str
    source_context: str
    session_context: str
    task_priority: int
    created_at: datetime
    updated_at: datetime
    expire_at: datetime | None
    outputs: OutputsView
    play_url: str


@dataclass(frozen=True)
class PlayerView:
    """What the player page of a media file plays (URLs fresh; None where there is nothing)."""

    file_id: str
    name: str
    poster: str | None
    hls: str | None
    mp4: str | None
    sprites_vtt: str | None
    duration: float | None
