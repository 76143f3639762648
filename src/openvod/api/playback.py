"""Playback routes: what players and viewers' browsers fetch.

* ``GET|HEAD /files/{bucket}/{key}[?expires=&signature=]`` — an output, with byte ranges, its
  content type, ETag and Cache-Control; HLS playlists and WebVTT sprite indexes rewritten so every
  reference in them is fetchable as written (``services.playback``); DASH MPDs likewise
  (``services.playback_dash``).
* ``GET /keys/hls/{key_id}?expires=&signature=`` — an AES-128 key, to signed requests only.
* ``GET /play/{file_id}[?expires=&signature=]`` — the player page; ``GET /static/...`` its files.
* ``GET /embed/{file_id}[?expires=&signature=]`` — the player alone, to fill an ``<iframe>`` on any
  site (``frame-ancestors *``; every other page of ours refuses foreign frames).
* ``GET|PUT /v1/app/playback`` — whether the calling app's outputs need signed URLs.
"""

from __future__ import annotations

import dataclasses
import hashlib
import mimetypes
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import FileResponse, HTMLResponse
from pydantic import BaseModel, ConfigDict

from openvod.api.content_safety import object_headers, object_origins
from openvod.api.deps import AuthKey, Ctx
from openvod.api.serving import object_response
from openvod.domain.views.media import PlayerView
from openvod.errors import NotFound
from openvod.services import hls_keys, playback, playback_dash, sharing
from openvod.web import render_player, static_file

__all__ = ["player_json", "router"]

router = APIRouter(tags=["playback"])

# Playlists and sprite indexes are read whole to be rewritten; anything bigger is not one.
MAX_REWRITE_BYTES = 16 * 1024 * 1024

Expires = Annotated[int | None, Query(description="Unix time the signature expires at")]
Signature = Annotated[str | None, Query(max_length=128, description="HMAC-SHA256 hex of the URL")]


class PlaybackSettings(BaseModel):
    """Whether the app's outputs are private (signed, expiring URLs) or public (plain URLs)."""

    model_config = ConfigDict(extra="forbid")
    private: bool


@router.get("/v1/app/playback", response_model=PlaybackSettings, summary="Playback privacy of this app")
def get_playback(ctx: Ctx, key: AuthKey) -> PlaybackSettings:
    return PlaybackSettings(private=playback.is_private(ctx, key.app_id))


@router.put("/v1/app/playback", response_model=PlaybackSettings, summary="Make this app's outputs private or public")
def put_playback(body: PlaybackSettings, ctx: Ctx, key: AuthKey) -> PlaybackSettings:
    return PlaybackSettings(private=playback.set_private(ctx, key.app_id, body.private))


def player_json(v: PlayerView) -> dict[str, Any]:
    """What the player page's script reads (its ``data`` JSON): the view's fields by name."""
    return {"file_id": v.file_id, "name": v.name, "poster": v.poster, "hls": v.hls, "dash": v.dash, "mp4": v.mp4,
            "sprites_vtt": v.sprites_vtt, "duration": v.duration,
            "subtitles": [{"language": t.language, "label": t.label, "url": t.url} for t in v.subtitles]}


def _document(request: Request, body: str, media_type: str, cache: str) -> Response:
    data = body.encode()
    headers = {"ETag": f'"{hashlib.md5(data, usedforsecurity=False).hexdigest()}"', "Cache-Control": cache,
               **object_headers(media_type)}
    if request.headers.get("if-none-match") == headers["ETag"]:
        return Response(status_code=304, headers=headers)
    if request.method == "HEAD":
        return Response(headers={**headers, "Content-Length": str(len(data))}, media_type=media_type)
    return Response(data, headers=headers, media_type=media_type)


@router.api_route("/files/{bucket}/{key:path}", methods=["GET", "HEAD"], include_in_schema=False)
def get_file(bucket: str, key: str, request: Request, ctx: Ctx,
             expires: Expires = None, signature: Signature = None) -> Response:
    access = playback.authorize_file(ctx, bucket, key, expires, signature)
    stat = ctx.storage.stat(bucket, key)
    stat = dataclasses.replace(stat, content_type=playback.content_type(key, stat.content_type))
    rewrite = {playback.PLAYLIST_TYPE: playback.rewrite_playlist, playback_dash.DASH_TYPE: playback_dash.rewrite_mpd,
               "text/vtt": playback.rewrite_sprite_vtt}.get(stat.content_type)
    if rewrite is not None and stat.size <= MAX_REWRITE_BYTES:
        text = b"".join(ctx.storage.open(bucket, key)).decode("utf-8", errors="replace")
        return _document(request, rewrite(ctx, access, bucket, key, text), stat.content_type,
                         playback.cache_control(access.private, document=True))
    response = object_response(request, ctx.storage, stat)
    response.headers["Cache-Control"] = playback.cache_control(access.private, document=False)
    return response


@router.get("/keys/hls/{key_id}", include_in_schema=False)
def get_hls_key(key_id: str, ctx: Ctx, expires: Expires = None, signature: Signature = None) -> Response:
    key = hls_keys.read_key(ctx, key_id, expires, signature)
    return Response(key, media_type="application/octet-stream", headers={"Cache-Control": "no-store"})


def _player_page(ctx: Ctx, app_id: str, file_id: str, *, embed: bool) -> HTMLResponse:
    page = render_player(player_json(playback.player_data(ctx, app_id, file_id)), embed=embed)
    # Everything the page loads comes from this server: say so, so the browser enforces it.
    # (Static files are named relative to the page, so a public URL with a path prefix works.)
    # The play page may be framed by our own console only; the embed page by any site.
    base = object_origins(ctx.settings)
    ancestors = "*" if embed else "'self'"
    csp = (f"default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' {base} data: blob:; "
           f"media-src 'self' {base} blob:; connect-src 'self' {base}; worker-src 'self' blob:; "
           f"object-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors {ancestors}")
    return HTMLResponse(page, headers={"Cache-Control": "private, no-store", "Content-Security-Policy": csp,
                                       "X-Content-Type-Options": "nosniff", "Referrer-Policy": "same-origin"})


@router.get("/play/{file_id}", response_class=HTMLResponse, include_in_schema=False)
def play(file_id: str, ctx: Ctx, expires: Expires = None, signature: Signature = None) -> HTMLResponse:
    return _player_page(ctx, playback.authorize_play(ctx, file_id, expires, signature), file_id, embed=False)


@router.get("/embed/{file_id}", response_class=HTMLResponse, include_in_schema=False)
def embed(file_id: str, ctx: Ctx, expires: Expires = None, signature: Signature = None) -> HTMLResponse:
    return _player_page(ctx, sharing.authorize_embed(ctx, file_id, expires, signature), file_id, embed=True)


@router.get("/static/{path:path}", include_in_schema=False)
def get_static(path: str) -> FileResponse:
    found = static_file(path)
    if found is None:
        raise NotFound(f"static file {path!r} does not exist", code="ResourceNotFound.Static")
    media_type = mimetypes.guess_type(found.name)[0] or "text/plain"
    return FileResponse(found, media_type=media_type, headers={"Cache-Control": "public, max-age=3600"})
