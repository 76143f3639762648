"""AES-128 keys of encrypted HLS outputs, handed only to players that hold a signed key URI.

A builder that encrypts an HLS output creates a key and writes :func:`key_ref` as the key URI
into its playlists (the ``URI`` line of FFmpeg's ``-hls_key_info_file``):

    key_id, key = create_key(ctx, app_id, file_id)
    info_file.write_text(f"{key_ref(key_id)}\\n{key_path}\\n")

The stored playlist then names the key but grants nothing. When a player fetches the playlist,
the playback route swaps the reference for :func:`key_uri` — ``/keys/hls/{key_id}`` with a
short-lived signature — and :func:`read_key` serves the 16 bytes only against that signature.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import time

from openvod.db.models import HlsKey
from openvod.domain.urlsign import sign_object
from openvod.errors import Forbidden, NotFound
from openvod.ids import new_id
from openvod.runtime import Context

__all__ = ["KEY_REF_SCHEME", "KEY_URI_TTL", "create_key", "key_ref", "key_uri", "parse_key_ref", "read_key"]

KEY_REF_SCHEME = "openvod-hls-key"
# Players fetch the key when playback starts and keep it (hls.js caches keys by URI), so the
# grant can be short: a leaked playlist stops unlocking the key after this many seconds.
KEY_URI_TTL = 900
# Default expiries are rounded up to a multiple of this, so a playlist's body (and ETag) stays
# the same for a while.
_EXPIRY_WINDOW = 60

_REF = re.compile(rf"^{KEY_REF_SCHEME}:([a-z0-9]{{1,40}})$")
_ROUTE = re.compile(r"/keys/hls/([a-z0-9]{1,40})(?:\?.*)?$")
_SIGNING_BUCKET = "hls-key"


def _secret(ctx: Context) -> bytes:
    # A key of its own (derived), so no object URL signature can ever pass as a key grant.
    return hmac.new(ctx.url_secret, b"openvod/hls-key", hashlib.sha256).digest()


def create_key(ctx: Context, app_id: str, media_id: str | None) -> tuple[str, bytes]:
    """A new random AES-128 key for ``media_id``'s HLS output; returns (key_id, the 16 bytes)."""
    key = secrets.token_bytes(16)
    key_id = new_id("hk")
    with ctx.db.session() as s:
        s.add(HlsKey(id=key_id, app_id=app_id, media_id=media_id, key_hex=key.hex()))
    return key_id, key


def key_ref(key_id: str) -> str:
    """The key URI to write into stored playlists (swapped for a signed URI when served)."""
    return f"{KEY_REF_SCHEME}:{key_id}"


def parse_key_ref(uri: str) -> str | None:
    """The key id a playlist's key URI names: a :func:`key_ref`, or any ``/keys/hls/{id}`` URL."""
    m = _REF.match(uri) or _ROUTE.search(uri)
    return m.group(1) if m else None


def key_uri(ctx: Context, app_id: str, key_id: str, *, expires_in: int | None = None) -> str:
    """An absolute, signed URI of key ``key_id`` of app ``app_id``, valid for ``expires_in``
    seconds (default: :data:`KEY_URI_TTL`, rounded up to a whole minute)."""
    with ctx.db.session() as s:
        row = s.get(HlsKey, key_id)
        if row is None or row.app_id != app_id:
            raise NotFound(f"HLS key {key_id!r} does not exist", code="ResourceNotFound.HlsKey")
    now = int(time.time())
    if expires_in is None:
        expires = -(-(now + KEY_URI_TTL) // _EXPIRY_WINDOW) * _EXPIRY_WINDOW
    else:
        expires = now + expires_in
    sig = sign_object(_secret(ctx), "GET", _SIGNING_BUCKET, key_id, expires)
    return f"{ctx.settings.media_base_url}/keys/hls/{key_id}?expires={expires}&signature={sig}"


def read_key(ctx: Context, key_id: str, expires: int | None, signature: str | None) -> bytes:
    """The key's 16 bytes, if ``signature`` grants ``key_id`` until ``expires`` (checked in
    constant time) and that time has not passed. Raises ``Forbidden`` otherwise."""
    if expires is None or not signature:
        raise Forbidden(f"HLS key {key_id} needs a signed URI (expires, signature)",
                        code="AuthFailure.SignatureFailure")
    want = sign_object(_secret(ctx), "GET", _SIGNING_BUCKET, key_id, expires)
    if not hmac.compare_digest(want, signature):
        raise Forbidden(f"the signature of HLS key {key_id}'s URI is wrong", code="AuthFailure.SignatureFailure")
    if time.time() >= expires:
        raise Forbidden(f"the URI of HLS key {key_id} has expired; reload the playlist",
                        code="AuthFailure.SignatureExpire")
    with ctx.db.session() as s:
        row = s.get(HlsKey, key_id)
        if row is None:
            raise NotFound(f"HLS key {key_id!r} does not exist", code="ResourceNotFound.HlsKey")
        return bytes.fromhex(row.key_hex)
