"""Serving MPEG-DASH manifests: every segment reference made a fetchable (signed) URL.

    text = rewrite_mpd(ctx, access, bucket, key, stored_text)

A stored MPD (``media/dash.py`` writes them) names its segments relative to itself, in
``SegmentList`` ``Initialization@sourceURL`` and ``SegmentURL@media`` attributes (or
``SegmentTemplate@initialization``/``@media``). A player resolves those
against the MPD's URL and drops its query, so for a private media file each reference has to
carry its own signature: the same rewriting HLS playlists get (``playback.rewrite_playlist``).
Template references (``$Number$``...) cannot be signed one by one and are left as they are, as are
``BaseURL`` elements (directories): they play only where the media is public, which is why
OpenVOD's MPDs list their segments.
"""

from __future__ import annotations

import re
from html import unescape
from xml.sax.saxutils import escape

from openvod.runtime import Context
from openvod.services.playback import DASH_TYPE, FileAccess, Links, object_resolver

__all__ = ["DASH_TYPE", "rewrite_mpd"]

_ATTRS = re.compile(r'(\s(?:sourceURL|media|initialization)=)"([^"]*)"')


def rewrite_mpd(ctx: Context, access: FileAccess, bucket: str, key: str, text: str) -> str:
    """MPD ``key`` with each relative segment reference an absolute URL of the object it names
    (signed when the media is private); templated references are left alone."""
    resolve = object_resolver(Links(ctx, access.app_id, private=access.private), bucket, key)

    def one(ref: str) -> str:
        plain = unescape(ref)
        return ref if "$" in plain else escape(resolve(plain), {'"': "&quot;"})

    return _ATTRS.sub(lambda m: f'{m.group(1)}"{one(m.group(2))}"', text)
