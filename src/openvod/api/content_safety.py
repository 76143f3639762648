"""What a browser may do with a stored object OpenVOD serves: show passive media, never run it.

Uploaded bytes are the tenants' and are served from OpenVOD's origin (unless ``media_url`` names
another). A page, SVG or XML document rendered there runs with the origin's cookies: it could read
the console's CSRF cookie and act as a signed-in operator. So every object response is built with
:func:`object_headers`, the one place the policy lives:

* every object carries ``X-Content-Type-Options: nosniff``, so a browser never guesses a more
  dangerous type than the one declared (an ``image/png`` holding HTML stays a broken image);
* a type on the passive allowlist (:func:`is_passive`: video, audio, raster images, plain text,
  WebVTT, HLS playlists, MP4, opaque bytes) is served inline, as players and ``<img>`` need;
* anything else (HTML, XHTML, SVG, XML including DASH manifests, JavaScript, PDF, JSON, unknown or
  malformed types) gets ``Content-Disposition: attachment`` (a navigation downloads it) and
  ``Content-Security-Policy: sandbox`` (if rendered anyway, it runs in an opaque origin without
  scripts). ``fetch``/XHR ignore both headers, so dash.js still reads its MPD and an ``<img>``
  still shows an SVG (images never run scripts).

    headers = object_headers(stat.content_type, filename="talk.html")
"""

from __future__ import annotations

import re
from urllib.parse import quote, urlsplit

from openvod.config import Settings

__all__ = ["NOSNIFF", "SANDBOX_CSP", "is_passive", "media_type", "object_headers", "object_origins"]

NOSNIFF = {"X-Content-Type-Options": "nosniff"}
# ``sandbox`` with no allow-* token: opaque origin, no scripts, no forms, no popups, no plugins.
SANDBOX_CSP = "sandbox; default-src 'none'"
FALLBACK_TYPE = "application/octet-stream"

_NAME = r"[a-z0-9!#$&^_.+-]+"
# One type, optional parameters of printable ASCII without a comma (no second type, no CR/LF).
_MEDIA_TYPE = re.compile(rf"^({_NAME})/({_NAME}) *(?:;[\x20-\x2b\x2d-\x7e]*)?\Z")
_PASSIVE_TOP = frozenset({"video", "audio", "image"})
_PASSIVE_TYPES = frozenset({
    "text/plain",
    "text/vtt",
    FALLBACK_TYPE,
    "application/mp4",
    "application/ogg",
    "application/vnd.apple.mpegurl",
    "application/x-mpegurl",
})


def _parse(content_type: str | None) -> tuple[str, str] | None:
    m = _MEDIA_TYPE.match((content_type or "").strip().lower())
    return (m[1], m[2]) if m else None


def media_type(content_type: str | None) -> str:
    """``content_type`` if it is one well-formed media type (parameters kept), else
    ``application/octet-stream``: an empty, listed (``a/b, c/d``) or garbled type is never sent on."""
    return content_type.strip() if content_type and _parse(content_type) else FALLBACK_TYPE


def is_passive(content_type: str | None) -> bool:
    """Whether a browser only displays or plays this type (never runs script in it). Any XML
    (``+xml``, ``xml``) or SVG subtype is active even under ``image/``: XML documents may hold
    XHTML ``<script>`` elements, and SVG is a document."""
    parsed = _parse(content_type)
    if parsed is None:
        return False
    top, sub = parsed
    if "xml" in sub or "svg" in sub:
        return False
    return top in _PASSIVE_TOP or f"{top}/{sub}" in _PASSIVE_TYPES


def _disposition(filename: str | None) -> str:
    if not filename:
        return "attachment"
    # A plain-ASCII fallback for old clients, the exact name (RFC 8187) for the rest.
    fallback = re.sub(r"[^A-Za-z0-9 ._()-]", "_", filename)[:200] or "download"
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename[:200], safe='')}"


def object_headers(content_type: str | None, filename: str | None = None) -> dict[str, str]:
    """The headers an object of ``content_type`` is served with (``filename``: the name a
    download is saved as, e.g. the key's last segment). Set them last, so nothing lifts them."""
    if is_passive(content_type):
        return dict(NOSNIFF)
    return {**NOSNIFF, "Content-Disposition": _disposition(filename), "Content-Security-Policy": SANDBOX_CSP}


def object_origins(settings: Settings) -> str:
    """The origins OpenVOD's own pages (console, player) load objects from, for their CSP:
    this server's, and the ``media_url`` origin when one is set."""
    urls = (settings.base_url, settings.media_base_url)
    return " ".join(dict.fromkeys(f"{p.scheme}://{p.netloc}" for p in map(urlsplit, urls)))
