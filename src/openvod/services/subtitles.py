"""Subtitles of a media file: one WebVTT file per language, and what players need to find it.

    view = put_subtitle(ctx, app_id, file_id, "pt-BR", srt_bytes, label="Português")
    items = list_subtitles(ctx, app_id, file_id)       # SubtitleView, in language order
    delete_subtitle(ctx, app_id, file_id, "pt-BR")

Each language is two objects under ``{app}/media/{FileId}/subtitles/``: ``{lang}.vtt`` (role
``Subtitle``: the file, SRT converted to WebVTT) and ``{lang}.m3u8`` (role ``Subtitle.part``: an HLS
media playlist of that one file, which master playlists name as a ``SUBTITLES`` rendition when
they are served — ``services.playback.rewrite_playlist``). Both are the media's objects: deleting
the media deletes them, and they are public or private as the media is.
"""

from __future__ import annotations

import io

from sqlalchemy import select

from openvod.db.models import Media, Object
from openvod.domain.subtitles import default_label, subtitle_playlist, to_webvtt, validate_label, validate_language
from openvod.domain.views.media import SubtitleView
from openvod.errors import NotFound
from openvod.runtime import Context
from openvod.services import objects
from openvod.services.playback import SUBTITLE_PLAYLIST_ROLE, SUBTITLE_ROLE, Links

__all__ = ["delete_subtitle", "list_subtitles", "put_subtitle"]

_PLAYLIST_TYPE = "application/vnd.apple.mpegurl"


def _media(ctx: Context, app_id: str, file_id: str) -> Media:
    with ctx.db.session() as s:
        m = s.get(Media, file_id) if isinstance(file_id, str) and len(file_id) <= 32 else None
        if m is None or m.app_id != app_id:
            raise NotFound(f"media {file_id!r} does not exist", code="ResourceNotFound.Media")
        s.expunge(m)
        return m


def _view(links: Links, row: Object) -> SubtitleView:
    info = row.info or {}
    return SubtitleView(language=str(info.get("language", "und")), label=str(info.get("label", "")),
                        url=links.object(row.bucket, row.key))


def put_subtitle(ctx: Context, app_id: str, file_id: str, language: str, data: bytes,
                 label: str | None = None) -> SubtitleView:
    """Store ``data`` (WebVTT or SRT, ≤ 1 MiB, UTF-8) as media ``file_id``'s subtitles in
    ``language`` (a BCP-47 tag), replacing any it had; ``label`` defaults to the language's name."""
    lang = validate_language(language)
    shown = validate_label(label) if label is not None else default_label(lang)
    vtt = to_webvtt(data).encode("utf-8")
    m = _media(ctx, app_id, file_id)
    duration = (m.meta or {}).get("Duration")
    seconds = float(duration) if isinstance(duration, int | float) and duration > 0 else 1.0
    base = f"{app_id}/media/{file_id}/subtitles/{lang}"
    info = {"language": lang, "label": shown}
    stat = ctx.storage.put(m.source_bucket, f"{base}.vtt", io.BytesIO(vtt), content_type="text/vtt")
    playlist = subtitle_playlist(f"{lang}.vtt", seconds).encode()
    pl_stat = ctx.storage.put(m.source_bucket, f"{base}.m3u8", io.BytesIO(playlist), content_type=_PLAYLIST_TYPE)
    objects.register_object(ctx, app_id, stat, role=SUBTITLE_ROLE, media_id=file_id, info=info, replaced=True)
    objects.register_object(ctx, app_id, pl_stat, role=SUBTITLE_PLAYLIST_ROLE, media_id=file_id, info=info,
                            replaced=True)
    links = Links(ctx, app_id)
    links.know(file_id, m.public)
    return SubtitleView(language=lang, label=shown, url=links.object(m.source_bucket, stat.key))


def list_subtitles(ctx: Context, app_id: str, file_id: str) -> list[SubtitleView]:
    """The subtitles of media ``file_id``, in language order, with fresh URLs of their WebVTT files."""
    m = _media(ctx, app_id, file_id)
    with ctx.db.session() as s:
        rows = list(s.scalars(select(Object).where(Object.app_id == app_id, Object.media_id == file_id,
                                                   Object.role == SUBTITLE_ROLE)))
    links = Links(ctx, app_id)
    links.know(file_id, m.public)
    return sorted((_view(links, r) for r in rows), key=lambda v: v.language)


def delete_subtitle(ctx: Context, app_id: str, file_id: str, language: str) -> None:
    """Delete media ``file_id``'s subtitles in ``language`` (``ResourceNotFound.Subtitle`` if none)."""
    lang = validate_language(language)
    _media(ctx, app_id, file_id)
    with ctx.db.session() as s:
        rows = [(r.bucket, r.key) for r in s.scalars(select(Object).where(
            Object.app_id == app_id, Object.media_id == file_id,
            Object.role.in_((SUBTITLE_ROLE, SUBTITLE_PLAYLIST_ROLE))))
            if (r.info or {}).get("language") == lang]
    if not rows:
        raise NotFound(f"media {file_id} has no {lang} subtitles", code="ResourceNotFound.Subtitle")
    for bucket, key in rows:
        ctx.storage.delete(bucket, key)
        objects.unregister_object(ctx, app_id, bucket, key)
