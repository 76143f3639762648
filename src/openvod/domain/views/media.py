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

__all__ = ["OUTPUT_GROUPS", "EmbedView", "MediaView", "OutputView", "OutputsView", "PlayerView", "Problem",
           "SourceView", "SubtitleView"]

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
class Problem:
    """Why something about a media file did not happen: a stable ``code`` and a message."""

    code: str
    message: str


@dataclass(frozen=True)
class SubtitleView:
    """One subtitle track of a media file: its BCP-47 ``language``, its ``label`` and the URL of
    its WebVTT file (signed like the media's other URLs)."""

    language: str
    label: str
    url: str


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
    probe_error: Problem | None
    procedure: str
    procedure_skipped: Problem | None  # the upload's flow was not started (a file that is not media)
    source_context: str
    session_context: str
    task_priority: int
    created_at: datetime
    updated_at: datetime
    expire_at: datetime | None
    outputs: OutputsView
    play_url: str
    public: bool  # effective: whether its URLs, player and embed page need no signature
    sharing: str  # "public" | "private" (this media's own setting) | "app" (the app's)


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
    subtitles: tuple[SubtitleView, ...] = ()
    dash: str | None = None  # an MPEG-DASH manifest (a DASH or CMAF ladder's)


@dataclass(frozen=True)
class EmbedView:
    """An embed URL of a media file (signed and expiring unless the media is public), when it
    stops working (None: while the media stays public), and the ``<iframe>`` snippet showing it."""

    url: str
    expires_at: datetime | None
    iframe: str
