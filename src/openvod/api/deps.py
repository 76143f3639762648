"""FastAPI dependencies: the process context and authentication.

An app key authenticates a request either as HTTP Basic ``SecretId:SecretKey`` or, for the web
console, as the session cookie ``POST /console/session`` sets. A cookie-authenticated request
that changes state must also echo the CSRF token (the ``openvod_csrf`` cookie) in ``X-CSRF-Token``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import time
from dataclasses import dataclass
from typing import Annotated

import anyio
from fastapi import Depends, Request

from openvod.errors import AuthFailure, Forbidden
from openvod.runtime import Context
from openvod.services import apps
from openvod.services.apps import KeyInfo

__all__ = [
    "CSRF_COOKIE",
    "CSRF_HEADER",
    "SESSION_COOKIE",
    "AuthKey",
    "Ctx",
    "Session",
    "basic_credentials",
    "csrf_token",
    "get_ctx",
    "issue_session",
    "read_session",
    "require_key",
]

SESSION_COOKIE = "openvod_session"
CSRF_COOKIE = "openvod_csrf"
CSRF_HEADER = "X-CSRF-Token"
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


async def get_ctx(request: Request) -> Context:
    ctx: Context = request.app.state.ctx
    return ctx


Ctx = Annotated[Context, Depends(get_ctx)]


def basic_credentials(request: Request) -> tuple[str, str] | None:
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "basic" or not value:
        return None
    try:
        secret_id, sep, secret_key = base64.b64decode(value.strip(), validate=True).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError) as exc:
        raise AuthFailure("malformed Basic credentials", code="AuthFailure.InvalidAuthorization") from exc
    if not sep:
        raise AuthFailure("Basic credentials must be SecretId:SecretKey", code="AuthFailure.InvalidAuthorization")
    return secret_id, secret_key


@dataclass(frozen=True)
class Session:
    """What a console session cookie carries: the signed-in key and when the session ends."""

    app_id: str
    secret_id: str
    expires: int


def _session_key(ctx: Context) -> bytes:
    return hmac.new(ctx.url_secret, b"openvod/console-session", hashlib.sha256).digest()


def _mac(ctx: Context, purpose: str, data: str) -> str:
    return hmac.new(_session_key(ctx), f"{purpose}\0{data}".encode(), hashlib.sha256).hexdigest()


def issue_session(ctx: Context, app_id: str, secret_id: str, ttl: int) -> str:
    """A session token for the key ``secret_id`` of ``app_id``, valid for ``ttl`` seconds."""
    payload = f"{app_id}.{secret_id}.{int(time.time()) + ttl}"
    return f"{payload}.{_mac(ctx, 'session', payload)}"


def read_session(ctx: Context, token: str) -> Session | None:
    """The session ``token`` names, or None when it is malformed, forged or expired."""
    payload, _, mac = token.rpartition(".")
    if not hmac.compare_digest(_mac(ctx, "session", payload), mac):
        return None
    app_id, secret_id, expires = (payload.split(".") + ["", "", ""])[:3]
    if not (expires.isascii() and expires.isdigit() and len(expires) <= 19) or int(expires) < time.time():
        return None
    return Session(app_id, secret_id, int(expires))


def csrf_token(ctx: Context, session_token: str) -> str:
    """The CSRF token bound to a session: a forged ``openvod_csrf`` cookie does not match it."""
    return _mac(ctx, "csrf", session_token)[:43]


def _session_key_info(ctx: Context, session: Session) -> KeyInfo:
    key = apps.lookup_key(ctx.db, session.secret_id)
    if key is None or key.app_id != session.app_id or key.state != "active":
        raise AuthFailure(f"the console session's key {session.secret_id} is no longer active; sign in again",
                          code="AuthFailure.SessionExpired")
    return key


async def _cookie_key(request: Request, ctx: Context, token: str) -> KeyInfo:
    session = read_session(ctx, token)
    if session is None:
        raise AuthFailure("the console session expired or is invalid; sign in again at /",
                          code="AuthFailure.SessionExpired")
    if request.method not in _SAFE_METHODS:
        sent = request.headers.get(CSRF_HEADER, "")
        if not hmac.compare_digest(sent.encode(), csrf_token(ctx, token).encode()):
            raise Forbidden(f"{request.method} {request.url.path} with a console session needs the "
                            f"{CSRF_COOKIE} cookie's value in the {CSRF_HEADER} header",
                            code="AuthFailure.CSRFTokenMismatch")
    return await anyio.to_thread.run_sync(_session_key_info, ctx, session)


async def require_key(request: Request, ctx: Ctx) -> KeyInfo:
    creds = basic_credentials(request)
    if creds is None:
        if token := request.cookies.get(SESSION_COOKIE):
            return await _cookie_key(request, ctx, token)
        raise AuthFailure(
            "this endpoint needs HTTP Basic credentials SecretId:SecretKey", code="AuthFailure.MissingCredentials"
        )
    # A recently verified pair is answered from memory, on the event loop; otherwise the
    # database check runs in a worker thread.
    if (hit := apps.cached_key(ctx.db, *creds)) is not None:
        return hit
    return await anyio.to_thread.run_sync(apps.authenticate, ctx.db, *creds)


AuthKey = Annotated[KeyInfo, Depends(require_key)]
