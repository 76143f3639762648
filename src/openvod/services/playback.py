"""Playback: the URLs players fetch, who may fetch them, and what a media file offers to play.

Every URL is absolute, built from ``settings.media_base_url`` (``media_url`` if set, else
``base_url``; the player page from ``base_url``). An app is *private* (the default) or
*public* (``App.playback_private``):

* private: ``{base}/files/{bucket}/{key}?expires=&signature=`` — HMAC-SHA256 over the object and
  the expiry, valid for ``settings.playback_url_ttl`` seconds unless told otherwise;
* public: ``{base}/files/{bucket}/{key}``, served to anyone while the app stays public.

A media file may override its app's setting (``Media.public``: True or False; None follows the
app): the objects under its ``{app_id}/media/{file_id}/`` keys (or registered as its objects) and
its player page are then public or private whatever the app says (``domain.sharing``).

``key`` is the physical key (``{app_id}/...``, as in ``Object`` rows), so the app of an object is
known from its URL alone. HLS playlists and WebVTT sprite indexes are rewritten as they are
served (:func:`rewrite_playlist`, :func:`rewrite_sprite_vtt`): every reference becomes an
absolute URL of this kind, and AES-128 key references become short-lived key grants.

    url = url_for(ctx, app_id, "vod", f"{app_id}/media/{file_id}/cover.jpg")
    page = play_url(ctx, app_id, file_id)         # the /play/{file_id} page, signed if private
    data = player_data(ctx, app_id, file_id)      # what that page plays
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import posixpath
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import quote, unquote, urlsplit

from sqlalchemy import ColumnElement, or_, select
from sqlalchemy.orm import Session

from openvod.db.models import App, Media, Object
from openvod.domain.keys import validate_bucket, validate_key
from openvod.domain.sharing import effective_public
from openvod.domain.subtitles import add_subtitle_renditions
from openvod.domain.urlsign import sign_object
from openvod.domain.views.media import OUTPUT_GROUPS, OutputsView, OutputView, PlayerView, SubtitleView
from openvod.errors import Forbidden, InvalidParameter, NotFound
from openvod.runtime import Context
from openvod.services import hls_keys

__all__ = [
    "DASH_TYPE",
    "EXPIRY_WINDOW",
    "LONG_MAX_AGE",
    "PLAYLIST_MAX_AGE",
    "PLAYLIST_TYPE",
    "SUBTITLE_PLAYLIST_ROLE",
    "SUBTITLE_ROLE",
    "listed",
    "FileAccess",
    "Links",
    "authorize_file",
    "authorize_play",
    "cache_control",
    "content_type",
    "is_private",
    "media_of_key",
    "media_outputs",
    "outputs_of",
    "play_url",
    "player_data",
    "rewrite_playlist",
    "object_resolver",
    "rewrite_sprite_vtt",
    "set_private",
    "url_for",
]

log = logging.getLogger("openvod.playback")

PLAYLIST_TYPE = "application/vnd.apple.mpegurl"
DASH_TYPE = "application/dash+xml"  # served rewritten by services/playback_dash.py
# Rewritten documents carry signed URLs made at request time: cache them briefly. Segments and
# images do not change once written.
PLAYLIST_MAX_AGE = 5
LONG_MAX_AGE = 86400
# Default expiries are rounded up to a multiple of this: within a window an object keeps one
# URL and a playlist one body, so browser caches and conditional requests (ETag) keep working.
EXPIRY_WINDOW = 300

_TYPES = {
    ".m3u8": PLAYLIST_TYPE, ".mpd": DASH_TYPE, ".ts": "video/mp2t", ".m4s": "video/iso.segment",
    ".mp4": "video/mp4",
    ".m4v": "video/mp4", ".m4a": "audio/mp4", ".aac": "audio/aac", ".vtt": "text/vtt", ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg", ".png": "image/png", ".webp": "image/webp", ".gif": "image/gif",
}

# Output roles (``Object.role``) written by the processing jobs, and where media_outputs lists them.
_GROUPS = {
    "Transcode": "transcodes",
    "AnimatedGraphics": "animated_graphics",
    "SnapshotByTimeOffset": "snapshots",
    "SampleSnapshot": "sample_snapshots",
    "ImageSprite": "image_sprites",
    "ImageSprites": "image_sprites",
    "AdaptiveDynamicStreaming": "adaptive_streams",
}
_COVER_ROLES = ("cover", "CoverBySnapshot")
SUBTITLE_ROLE = "Subtitle"  # a subtitle's WebVTT file (info: language, label)
SUBTITLE_PLAYLIST_ROLE = "Subtitle.part"  # its one-segment HLS media playlist, named by master playlists
_MEDIA_KEY = re.compile(r"^[^/]+/media/([0-9A-Za-z_-]{1,32})/")
_SPRITE_SHEET_ROLES = ("ImageSprite.part", "ImageSprites.part")


def content_type(key: str, fallback: str = "application/octet-stream") -> str:
    """The content type players expect for an output named ``key``."""
    return _TYPES.get(posixpath.splitext(key)[1].lower(), fallback)


def cache_control(private: bool, *, document: bool) -> str:
    """``Cache-Control`` for a private/public app's object; ``document`` = a rewritten playlist or index."""
    return f"{'private' if private else 'public'}, max-age={PLAYLIST_MAX_AGE if document else LONG_MAX_AGE}"


# -- app privacy ------------------------------------------------------------------------------
def is_private(ctx: Context, app_id: str) -> bool:
    with ctx.db.session() as s:
        app = s.get(App, app_id)
        if app is None:
            raise NotFound(f"app {app_id!r} does not exist", code="ResourceNotFound.App")
        return app.playback_private


def set_private(ctx: Context, app_id: str, private: bool) -> bool:
    """Make ``app_id``'s outputs need signed URLs (True) or be public (False)."""
    with ctx.db.session() as s:
        app = s.get(App, app_id)
        if app is None:
            raise NotFound(f"app {app_id!r} does not exist", code="ResourceNotFound.App")
        app.playback_private = private
        return private


def media_of_key(s: Session, app_id: str, bucket: str, key: str) -> Media | None:
    """The media file physical object ``key`` belongs to: the one its ``{app}/media/{FileId}/``
    path names, else the one its ``object`` row names (a source stored elsewhere), else None."""
    m = _MEDIA_KEY.match(key)
    file_id = m.group(1) if m else s.scalar(select(Object.media_id).where(
        Object.app_id == app_id, Object.bucket == bucket, Object.key == key))
    media = s.get(Media, file_id) if file_id else None
    return media if media is not None and media.app_id == app_id else None


# -- URLs ---------------------------------------------------------------------------------------
def _play_secret(ctx: Context) -> bytes:
    # Derived, so a play-page signature never passes for an object's, nor the other way round.
    return hmac.new(ctx.url_secret, b"openvod/play", hashlib.sha256).digest()


class Links:
    """Absolute URLs of one app's objects, all sharing one privacy lookup and one expiry (make one
    per request and use it for every URL in the answer). ``private`` forces every URL signed
    (True) or plain (False); by default each follows its media's setting, else the app's."""

    def __init__(self, ctx: Context, app_id: str, *, private: bool | None = None,
                 expires_in: int | None = None) -> None:
        self.ctx, self.app_id = ctx, app_id
        self.forced = private
        self.private = is_private(ctx, app_id) if private is None else private  # the app's setting
        self._media: dict[str, bool | None] = {}  # file id -> Media.public, read once per answer
        self._keys: dict[str, str | None] = {}  # a key outside media/{FileId}/ -> its media's id
        now = int(time.time())
        if expires_in is None:
            self.expires = -(-(now + ctx.settings.playback_url_ttl) // EXPIRY_WINDOW) * EXPIRY_WINDOW
        else:
            self.expires = now + expires_in

    def know(self, file_id: str, public: bool | None) -> None:
        """Tell the media setting of ``file_id`` (already read), sparing a query per URL."""
        self._media[file_id] = public

    def know_key(self, key: str, file_id: str | None) -> None:
        """Tell which media the object ``key`` belongs to (its row, already read), sparing the
        lookup :meth:`object` would make for a key outside ``media/{FileId}/``."""
        self._keys[key] = file_id

    def media_private(self, file_id: str | None) -> bool:
        """Whether URLs of media ``file_id``'s objects are signed."""
        if self.forced is not None or file_id is None:
            return self.private
        if file_id not in self._media:
            with self.ctx.db.session() as s:
                self._media[file_id] = s.scalar(select(Media.public).where(
                    Media.id == file_id, Media.app_id == self.app_id))
        return not effective_public(app_private=self.private, media_public=self._media[file_id])

    def _private_key(self, bucket: str, key: str) -> bool:
        if self.forced is not None:
            return self.forced
        m = _MEDIA_KEY.match(key)
        if m:
            return self.media_private(m.group(1))
        if key not in self._keys:
            with self.ctx.db.session() as s:
                media = media_of_key(s, self.app_id, bucket, key)
                self._keys[key] = media.id if media is not None else None
                if media is not None:
                    self._media.setdefault(media.id, media.public)
        return self.media_private(self._keys[key])

    def object(self, bucket: str, key: str) -> str:
        validate_bucket(bucket)
        if not validate_key(key).startswith(f"{self.app_id}/"):
            raise InvalidParameter(f"object {bucket}/{key} is not an object of app {self.app_id}",
                                   code="InvalidParameter.ObjectKey")
        url = f"{self.ctx.settings.media_base_url}/files/{bucket}/{quote(key)}"
        if not self._private_key(bucket, key):
            return url
        sig = sign_object(self.ctx.url_secret, "GET", bucket, key, self.expires)
        return f"{url}?expires={self.expires}&signature={sig}"

    def page(self, file_id: str) -> str:
        url = f"{self.ctx.settings.base_url}/play/{quote(file_id, safe='')}"
        if not self.media_private(file_id):
            return url
        sig = sign_object(_play_secret(self.ctx), "GET", "play", file_id, self.expires)
        return f"{url}?expires={self.expires}&signature={sig}"


def url_for(ctx: Context, app_id: str, bucket: str, key: str, *, expires_in: int | None = None) -> str:
    """The URL a player fetches physical object ``bucket``/``key`` (a key of ``app_id``) at:
    signed and expiring in ``expires_in`` seconds for a private app (default: ``playback_url_ttl``,
    rounded up to :data:`EXPIRY_WINDOW`), plain for a public one."""
    return Links(ctx, app_id, expires_in=expires_in).object(bucket, key)


def play_url(ctx: Context, app_id: str, file_id: str, *, expires_in: int | None = None) -> str:
    """The URL of media ``file_id``'s player page, signed if ``app_id`` is private."""
    return Links(ctx, app_id, expires_in=expires_in).page(file_id)


def _unsigned(what: str) -> Forbidden:
    # The same answer whether the thing is private or missing: nothing to learn by probing.
    return Forbidden(f"{what} is not public: open the signed URL the API returned",
                     code="AuthFailure.SignatureFailure")


def _check(secret: bytes, what: str, bucket: str, key: str, expires: int | None, signature: str | None) -> None:
    if expires is None or not signature:
        raise _unsigned(what)
    if not hmac.compare_digest(sign_object(secret, "GET", bucket, key, expires), signature):
        raise Forbidden(f"the signature of the URL of {what} is wrong", code="AuthFailure.SignatureFailure")
    if time.time() >= expires:
        raise Forbidden(f"the URL of {what} has expired; ask the API for a new one",
                        code="AuthFailure.SignatureExpire")


@dataclass(frozen=True)
class FileAccess:
    """Who an allowed ``/files`` request reads from: the object's app, and whether it is private."""

    app_id: str
    private: bool


def authorize_file(ctx: Context, bucket: str, key: str, expires: int | None, signature: str | None) -> FileAccess:
    """Allow a ``/files`` request, or raise ``Forbidden``: a signed request needs a right,
    unexpired signature (compared in constant time); an unsigned one an object of a public media
    file (its own setting, else its app's)."""
    validate_bucket(bucket)
    validate_key(key)
    app_id = key.split("/", 1)[0]
    with ctx.db.session() as s:
        app = s.get(App, app_id)
        media = media_of_key(s, app_id, bucket, key) if app is not None else None
        private = app is None or not effective_public(app_private=app.playback_private,
                                                      media_public=media.public if media else None)
    if expires is not None or signature:
        _check(ctx.url_secret, f"object {bucket}/{key}", bucket, key, expires, signature)
    elif private:
        raise _unsigned(f"object {bucket}/{key}")
    return FileAccess(app_id, private)


def authorize_play(ctx: Context, file_id: str, expires: int | None, signature: str | None) -> str:
    """The app of media ``file_id`` if its player page may be shown, else ``Forbidden``."""
    what = f"the player page of media {file_id}"
    signed = expires is not None or bool(signature)
    if signed:
        _check(_play_secret(ctx), what, "play", file_id, expires, signature)
    return playable_app(ctx, file_id, signed=signed, refused=_unsigned(what))


def playable_app(ctx: Context, file_id: str, *, signed: bool, refused: Forbidden) -> str:
    """The app of media ``file_id`` if a page of it (player, embed) may be shown: any existing media
    once the caller has checked a signature (else ``NotFound``); unsigned, only a public one (else
    ``refused``, the same answer whether the media is private or missing)."""
    with ctx.db.session() as s:
        media = s.get(Media, file_id) if len(file_id) <= 32 else None
        app = s.get(App, media.app_id) if media is not None else None
        if media is None or app is None:
            if signed:
                raise NotFound(f"media {file_id!r} does not exist", code="ResourceNotFound.Media")
            raise refused
        if not signed and not effective_public(app_private=app.playback_private, media_public=media.public):
            raise refused
        return media.app_id


# -- rewriting documents that reference other objects -------------------------------------------
_URI_ATTR = re.compile(r'URI="([^"]*)"')
_KEY_TAGS = ("#EXT-X-KEY:", "#EXT-X-SESSION-KEY:")


def _rewrite_attrs(line: str, resolve: Callable[[str], str]) -> str:
    return _URI_ATTR.sub(lambda m: f'URI="{resolve(m.group(1))}"', line)


def object_resolver(links: Links, bucket: str, key: str) -> Callable[[str], str]:
    """Turn a reference found in object ``key`` into the URL of the object it names; absolute
    URLs and references leaving the app's keys stay as they are."""
    here = posixpath.dirname(key)

    def resolve(ref: str) -> str:
        parts = urlsplit(ref)
        if parts.scheme or parts.netloc or ref.startswith("/") or not parts.path:
            return ref
        target = posixpath.normpath(posixpath.join(here, unquote(parts.path)))
        try:
            url = links.object(bucket, target)
        except InvalidParameter:
            return ref
        return f"{url}#{parts.fragment}" if parts.fragment else url

    return resolve


def _key_resolver(ctx: Context, links: Links, resolve: Callable[[str], str]) -> Callable[[str], str]:
    granted: dict[str, str] = {}  # a rotating-key playlist names each key many times

    def resolve_key(ref: str) -> str:
        key_id = hls_keys.parse_key_ref(ref)
        if key_id is None:
            return resolve(ref)  # a key stored as an object beside the playlist
        if key_id not in granted:
            try:
                granted[key_id] = hls_keys.key_uri(ctx, links.app_id, key_id)
            except NotFound:
                log.warning("a playlist of app %s names HLS key %s, which is not the app's", links.app_id, key_id)
                granted[key_id] = ref
        return granted[key_id]

    return resolve_key


def _subtitle_renditions(ctx: Context, links: Links, bucket: str, key: str) -> list[tuple[str, str, str]]:
    """(language, label, absolute URL of its media playlist) of the subtitles of the media whose
    object ``key`` is, in language order."""
    with ctx.db.session() as s:
        media = media_of_key(s, links.app_id, bucket, key)
        if media is None:
            return []
        rows = list(s.scalars(select(Object).where(
            Object.app_id == links.app_id, Object.media_id == media.id,
            Object.role == SUBTITLE_PLAYLIST_ROLE).order_by(Object.key)))
    return sorted((str((r.info or {}).get("language", "und")), str((r.info or {}).get("label", "")),
                   links.object(r.bucket, r.key)) for r in rows)


def rewrite_playlist(ctx: Context, access: FileAccess, bucket: str, key: str, text: str) -> str:
    """HLS playlist ``key`` with every URI line and ``URI="..."`` attribute (EXT-X-MAP,
    EXT-X-MEDIA, EXT-X-I-FRAME-STREAM-INF, ...) made an absolute URL of the object it names, and
    every EXT-X-KEY reference made a short-lived grant of its AES key. A master playlist also gets
    the media's subtitles as ``SUBTITLES`` renditions (group ``subs``) that every variant names."""
    links = Links(ctx, access.app_id, private=access.private)
    if "#EXT-X-STREAM-INF" in text:
        text = add_subtitle_renditions(text, _subtitle_renditions(ctx, links, bucket, key))
    resolve = object_resolver(links, bucket, key)
    resolve_key = _key_resolver(ctx, links, resolve)
    out = []
    for line in text.splitlines():
        stripped = line.strip()
        if not stripped:
            out.append("")
        elif stripped.startswith("#"):
            if stripped.startswith("#EXT") and 'URI="' in stripped:
                stripped = _rewrite_attrs(stripped, resolve_key if stripped.startswith(_KEY_TAGS) else resolve)
            out.append(stripped)
        else:
            out.append(resolve(stripped))
    return "\n".join(out) + "\n"


def rewrite_sprite_vtt(ctx: Context, access: FileAccess, bucket: str, key: str, text: str) -> str:
    """A WebVTT sprite index with each cue's ``sheet.jpg#xywh=x,y,w,h`` made an absolute URL
    (fragment kept); other WebVTT (subtitles) passes through unchanged."""
    resolve = object_resolver(Links(ctx, access.app_id, private=access.private), bucket, key)
    out = []
    for line in text.splitlines():
        stripped = line.strip()
        out.append(resolve(stripped) if "#xywh=" in stripped and "-->" not in stripped else line)
    return "\n".join(out) + "\n"


# -- what a media file offers -------------------------------------------------------------------
def _load(ctx: Context, app_id: str, file_id: str) -> tuple[Media, list[Object]]:
    with ctx.db.session() as s:
        media = s.get(Media, file_id) if len(file_id) <= 32 else None
        if media is None or media.app_id != app_id:
            raise NotFound(f"media {file_id!r} does not exist", code="ResourceNotFound.Media")
        rows = list(s.scalars(select(Object).where(Object.app_id == app_id, Object.media_id == file_id, listed())
                              .order_by(Object.id)))
        return media, rows


def _item(links: Links, row: Object, sheets: tuple[str, ...] | None = None) -> OutputView:
    return OutputView(url=links.object(row.bucket, row.key), size=row.size, definition=row.definition,
                      info=dict(row.info or {}), sheets=sheets)


def _is_vtt(row: Object) -> bool:
    return bool((row.info or {}).get("vtt")) or row.key.endswith(".vtt")


def _is_sheet(row: Object) -> bool:
    return row.role in _SPRITE_SHEET_ROLES or (_GROUPS.get(row.role) == "image_sprites" and not _is_vtt(row))


def media_outputs(ctx: Context, app_id: str, file_id: str) -> OutputsView:
    """The processing outputs of media ``file_id``, grouped by kind, each with its ``url``,
    ``size``, ``definition`` and the output's ``info`` (width, height, container...).
    Image sprites list their sheets in ``sheets``. Parts of an output (HLS segments and variant
    playlists, sprite sheets) are reachable from it and not listed on their own."""
    media, rows = _load(ctx, app_id, file_id)
    links = Links(ctx, app_id)
    links.know(media.id, media.public)
    return outputs_of(links, media, rows)


def listed() -> ColumnElement[bool]:
    """A condition on ``Object.role`` keeping the objects :func:`outputs_of` can show: no ``.part``
    (a ladder's segments and media playlists, thousands for a long video) but sprite sheets."""
    return or_(Object.role.not_like("%.part"), Object.role.in_(_SPRITE_SHEET_ROLES))


def outputs_of(links: Links, media: Media, rows: list[Object]) -> OutputsView:
    """:func:`media_outputs` from already loaded ``rows`` (the media's objects, in id order)."""
    groups: dict[str, list[OutputView]] = {group: [] for group in OUTPUT_GROUPS}
    sheets = [r for r in rows if _is_sheet(r)]
    for row in rows:
        group = _GROUPS.get(row.role)
        if group is None or _is_sheet(row):
            continue
        if group == "image_sprites":
            urls = tuple(links.object(r.bucket, r.key) for r in sheets if r.definition == row.definition)
            groups[group].append(_item(links, row, urls))
        else:
            groups[group].append(_item(links, row))
    covers = [r for r in rows if r.role in _COVER_ROLES]
    cover: OutputView | None = None
    if covers:
        cover = _item(links, covers[-1])
    elif media.cover_key:
        cover = OutputView(url=links.object(media.source_bucket, media.cover_key), size=None, definition=None)
    return OutputsView(**{group: tuple(items) for group, items in groups.items()}, cover=cover)


_BROWSER_CODECS = {"h264", "vp8", "vp9", "av1"}


def _browser_playable(media: Media, row: Object) -> bool:
    """Whether a source is likely to play in a browser's <video>: MP4/WebM, with a codec browsers decode."""
    if row.content_type in ("video/mp4", "video/webm"):
        return True
    meta = media.meta or {}
    container = str(meta.get("Container", ""))
    videos = meta.get("VideoStreamSet") or []
    codec = videos[0].get("Codec") if videos and isinstance(videos[0], dict) else None
    return ("mp4" in container.split(",") or "webm" in container) and codec in _BROWSER_CODECS


def _height(row: Object) -> int:
    value = (row.info or {}).get("height", 0)
    return value if isinstance(value, int) else 0


def player_data(ctx: Context, app_id: str, file_id: str) -> PlayerView:
    """What the player page of media ``file_id`` plays: the newest HLS master playlist and DASH MPD, an MP4
    to fall back on (the tallest MP4 transcode, else a browser-playable source), the cover as poster,
    the WebVTT sprite index for scrub previews, and the duration in seconds (None if unknown)."""
    media, rows = _load(ctx, app_id, file_id)
    links = Links(ctx, app_id)
    links.know(media.id, media.public)

    def newest(pick: Callable[[Object], bool]) -> str | None:
        found = [r for r in rows if pick(r)]
        return links.object(found[-1].bucket, found[-1].key) if found else None

    mp4s = [r for r in rows if r.role == "Transcode" and
            ((r.info or {}).get("container") == "mp4" or r.key.endswith(".mp4"))]
    if mp4s:
        best = max(mp4s, key=_height)
        mp4: str | None = links.object(best.bucket, best.key)
    else:
        mp4 = newest(lambda r: r.role == "source" and _browser_playable(media, r))
    poster = newest(lambda r: r.role in _COVER_ROLES)
    if poster is None and media.cover_key:
        poster = links.object(media.source_bucket, media.cover_key)
    duration = (media.meta or {}).get("Duration")
    subtitles = tuple(sorted((SubtitleView(language=str((r.info or {}).get("language", "und")),
                                           label=str((r.info or {}).get("label", "")),
                                           url=links.object(r.bucket, r.key))
                              for r in rows if r.role == SUBTITLE_ROLE), key=lambda v: v.language))
    return PlayerView(
        file_id=media.id,
        name=media.name,
        poster=poster,
        hls=newest(lambda r: r.role == "AdaptiveDynamicStreaming" and not r.key.endswith(".mpd")),
        dash=newest(lambda r: r.role == "AdaptiveDynamicStreaming" and r.key.endswith(".mpd")),
        mp4=mp4,
        sprites_vtt=newest(lambda r: _GROUPS.get(r.role) == "image_sprites" and _is_vtt(r)),
        duration=float(duration) if isinstance(duration, int | float) and duration > 0 else None,
        subtitles=subtitles,
    )
