"""Per-media sharing, and the embed page's URLs.

    view = set_sharing(ctx, app_id, file_id, public=True)    # None: follow the app's setting
    embed = embed_url(ctx, app_id, file_id, ttl=3600)       # EmbedView: url, expires_at, iframe
    app_id = authorize_embed(ctx, file_id, expires, signature)

A media file is public or private by its own setting, else by its app's (``domain.sharing``).
``/embed/{FileId}`` is the player made to fill an ``<iframe>`` on any site: a public media's embed
URL is stable and unsigned; a private one's is signed with a key of its own (a play-page or object
signature never opens it) and expires after ``ttl`` seconds (default ``playback_url_ttl``, at most
30 days).
"""

from __future__ import annotations

import hashlib
import hmac
import html
import time
from datetime import UTC, datetime
from urllib.parse import quote

from openvod.db.models import Media
from openvod.domain.sharing import EMBED_MAX_TTL, EMBED_MIN_TTL
from openvod.domain.urlsign import sign_object
from openvod.domain.views.media import EmbedView, MediaView
from openvod.errors import Forbidden, InvalidParameter, NotFound
from openvod.runtime import Context
from openvod.services.media import get_media
from openvod.services.playback import playable_app

__all__ = ["authorize_embed", "embed_url", "iframe_snippet", "set_sharing"]

IFRAME_WIDTH, IFRAME_HEIGHT = 640, 360


def set_sharing(ctx: Context, app_id: str, file_id: str, public: bool | None) -> MediaView:
    """Make media ``file_id`` public (True), private (False) or follow its app (None); its URLs
    handed out from now on follow. URLs signed before stay valid until they expire."""
    with ctx.db.session() as s:
        m = s.get(Media, file_id) if isinstance(file_id, str) and len(file_id) <= 32 else None
        if m is None or m.app_id != app_id:
            raise NotFound(f"media {file_id!r} does not exist", code="ResourceNotFound.Media")
        m.public = public
    return get_media(ctx, app_id, file_id)


def _embed_secret(ctx: Context) -> bytes:
    # Derived, so neither an object's nor a play page's signature opens an embed page.
    return hmac.new(ctx.url_secret, b"openvod/embed", hashlib.sha256).digest()


def iframe_snippet(url: str, title: str) -> str:
    """The ``<iframe>`` that shows embed ``url`` at 640×360 (the page scales to any 16:9 frame)."""
    return (f'<iframe src="{html.escape(url)}" width="{IFRAME_WIDTH}" height="{IFRAME_HEIGHT}" '
            f'title="{html.escape(title)}" style="border:0;max-width:100%" allow="fullscreen; picture-in-picture" '
            'allowfullscreen referrerpolicy="strict-origin-when-cross-origin"></iframe>')


def embed_url(ctx: Context, app_id: str, file_id: str, *, ttl: int | None = None) -> EmbedView:
    """The embed URL of media ``file_id``: unsigned and stable if the media is public, else signed
    and valid ``ttl`` seconds (60 s to 30 days; default ``playback_url_ttl``)."""
    ttl = ctx.settings.playback_url_ttl if ttl is None else ttl
    if isinstance(ttl, bool) or not isinstance(ttl, int) or not EMBED_MIN_TTL <= ttl <= EMBED_MAX_TTL:
        raise InvalidParameter(f"ttl must be {EMBED_MIN_TTL}-{EMBED_MAX_TTL} seconds, got {ttl!r}",
                               code="InvalidParameter.Ttl")
    view = get_media(ctx, app_id, file_id)
    url = f"{ctx.settings.base_url}/embed/{quote(file_id, safe='')}"
    expires_at = None
    if not view.public:
        expires = int(time.time()) + ttl
        sig = sign_object(_embed_secret(ctx), "GET", "embed", file_id, expires)
        url = f"{url}?expires={expires}&signature={sig}"
        expires_at = datetime.fromtimestamp(expires, UTC)
    return EmbedView(url=url, expires_at=expires_at, iframe=iframe_snippet(url, view.name))


def _refused(file_id: str) -> Forbidden:
    # The same answer whether the media is private or missing: nothing to learn by probing.
    return Forbidden(f"the embed page of media {file_id} is not public: use the signed URL "
                     "POST /v1/media/{FileId}/embed-url returned", code="AuthFailure.SignatureFailure")


def authorize_embed(ctx: Context, file_id: str, expires: int | None, signature: str | None) -> str:
    """The app of media ``file_id`` if its embed page may be shown, else ``Forbidden``."""
    signed = expires is not None or bool(signature)
    if signed:
        if expires is None or not signature:
            raise _refused(file_id)
        good = sign_object(_embed_secret(ctx), "GET", "embed", file_id, expires)
        if not hmac.compare_digest(good, signature):
            raise Forbidden(f"the signature of the embed URL of media {file_id} is wrong",
                            code="AuthFailure.SignatureFailure")
        if time.time() >= expires:
            raise Forbidden(f"the embed URL of media {file_id} has expired; ask the API for a new one",
                            code="AuthFailure.SignatureExpire")
    return playable_app(ctx, file_id, signed=signed, refused=_refused(file_id))
