"""The web console: its page, its files and its session.

* ``GET /`` — the console (to a browser asking for HTML; API clients' ``/`` is the compat routes').
* ``GET /console/assets/{name}`` — its scripts and styles (``openvod/web/console/``).
* ``GET /console/session`` — who is signed in (401 when nobody is).
* ``GET /console/options`` — what sign-in offers (``password_sign_in``).
* ``POST /console/session`` (form ``SecretId`` + ``SecretKey``, or ``Password`` when
  ``console_password`` is set) — sign in: sets the HttpOnly session cookie and the
  ``openvod_csrf`` cookie whose value scripts echo in ``X-CSRF-Token``.
* ``POST /console/logout`` — sign out.
* ``POST /console/upload-signature`` — a client upload signature for the console's tus uploads
  (``/v1/uploads`` takes HTTP Basic or a signature, and the console holds neither key).

With the session cookie the console calls the ``/v1`` API directly (``api.deps.require_key``).
"""

from __future__ import annotations

import hashlib
import hmac
import mimetypes
import secrets
import time
from pathlib import Path
from typing import Annotated

import anyio
from fastapi import APIRouter, Form, Request, Response
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse
from fastapi.routing import APIRoute
from pydantic import BaseModel, ConfigDict, Field
from starlette.routing import Match
from starlette.types import Scope

from openvod.api.content_safety import object_origins
from openvod.api.deps import (
    CSRF_COOKIE,
    CSRF_HEADER,
    SESSION_COOKIE,
    AuthKey,
    Ctx,
    csrf_token,
    issue_session,
    read_session,
)
from openvod.api.signin_limiter import SignInLimiter
from openvod.config import Settings
from openvod.domain import signature as sigs
from openvod.domain.views.keys import KeyView
from openvod.errors import AuthFailure, Forbidden, InvalidParameter, NotFound
from openvod.services import apps

__all__ = ["router"]

CONSOLE_DIR = Path(__file__).resolve().parents[1] / "web" / "console"
SESSION_TTL = 12 * 3600
UPLOAD_SIGNATURE_TTL = 6 * 3600
_API_HEADERS = (b"x-tc-action", b"x-action", b"x-amz-target", b"authorization")


class _PageRoute(APIRoute):
    """Matches only a browser asking for HTML without an API action, so ``/`` stays the
    Tencent and Kingsoft endpoints for their SDKs (registered after this route)."""

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        headers = dict(scope.get("headers") or [])
        if any(h in headers for h in _API_HEADERS) or b"text/html" not in headers.get(b"accept", b""):
            return Match.NONE, {}
        return super().matches(scope)


router = APIRouter(tags=["console"], include_in_schema=False)
page_router = APIRouter(include_in_schema=False, route_class=_PageRoute)


class SessionPublic(BaseModel):
    model_config = ConfigDict(extra="forbid")
    app_id: str
    secret_id: str
    expires: int


class SignatureRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    procedure: str = Field(default="", max_length=128)


def _csp(settings: Settings) -> str:
    base = object_origins(settings)
    return (f"default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' {base} data: blob:; "
            f"media-src 'self' {base} blob:; connect-src 'self' {base}; object-src 'none'; base-uri 'none'; "
            "form-action 'self'; frame-ancestors 'none'")


@page_router.get("/")
def console_page(ctx: Ctx) -> HTMLResponse:
    page = (CONSOLE_DIR / "index.html").read_text(encoding="utf-8")
    headers = {"Cache-Control": "no-store", "Content-Security-Policy": _csp(ctx.settings),
               "X-Content-Type-Options": "nosniff", "Referrer-Policy": "same-origin"}
    return HTMLResponse(page, headers=headers)


@router.get("/console/assets/{name}")
def console_asset(name: str) -> FileResponse:
    found = (CONSOLE_DIR / name).resolve()
    if not found.is_relative_to(CONSOLE_DIR) or not found.is_file() or found.suffix not in {".js", ".css"}:
        raise NotFound(f"console file {name!r} does not exist", code="ResourceNotFound.Static")
    media_type = mimetypes.guess_type(found.name)[0] or "text/plain"
    return FileResponse(found, media_type=media_type, headers={"Cache-Control": "no-cache"})


def _unauthorized(message: str, code: str = "AuthFailure.SessionExpired") -> JSONResponse:
    # No WWW-Authenticate: the browser must not answer the console's 401 with a Basic prompt.
    return JSONResponse({"error": {"code": code, "message": message}}, status_code=401)


@router.get("/console/session", response_model=SessionPublic)
def get_session(request: Request, ctx: Ctx) -> Response:
    session = read_session(ctx, request.cookies.get(SESSION_COOKIE, ""))
    if session is None:
        return _unauthorized("not signed in")
    return JSONResponse(SessionPublic(app_id=session.app_id, secret_id=session.secret_id,
                                      expires=session.expires).model_dump())


@router.get("/console/options")
def console_options(ctx: Ctx) -> dict[str, bool]:
    """What the sign-in page offers (public: it is shown before signing in)."""
    return {"password_sign_in": ctx.settings.console_password is not None}


def _password_key(ctx: Ctx, password: str) -> KeyView:
    configured = ctx.settings.console_password
    if configured is None:
        raise AuthFailure("password sign-in is off: set console_password (OPENVOD_CONSOLE_PASSWORD) to use it",
                          code="AuthFailure.PasswordSignInDisabled")
    # Equal-length digests compared in constant time: neither the length nor a prefix leaks.
    given = hashlib.sha256(password.encode()).digest()
    wanted = hashlib.sha256(configured.get_secret_value().encode()).digest()
    if not hmac.compare_digest(given, wanted):
        time.sleep(0.5)  # slows guessing; sign-ins run in a worker thread, not on the event loop
        raise AuthFailure("the console password is wrong", code="AuthFailure.PasswordMismatch")
    return apps.console_key(ctx.db)


def _sign_in_key(ctx: Ctx, secret_id: str, secret_key: str, password: str) -> KeyView:
    if password:
        return _password_key(ctx, password)
    if not secret_id or not secret_key:
        raise AuthFailure("sign in with SecretId and SecretKey, or with Password",
                          code="AuthFailure.MissingCredentials")
    return apps.authenticate(ctx.db, secret_id.strip(), secret_key.strip())


_NOT_A_GUESS = {"AuthFailure.MissingCredentials", "AuthFailure.PasswordSignInDisabled"}


def _limiter(request: Request, ctx: Ctx) -> SignInLimiter:
    # One per application, made on first use (handlers run on the event loop: no race).
    limiter: SignInLimiter | None = getattr(request.app.state, "signin_limiter", None)
    if limiter is None:
        settings = ctx.settings
        limiter = SignInLimiter(per_client=settings.signin_max_failures_per_client,
                                per_identity=settings.signin_max_failures_per_secret_id,
                                window=settings.signin_window_seconds)
        request.app.state.signin_limiter = limiter
    return limiter


@router.post("/console/session", response_model=SessionPublic)
async def sign_in(request: Request, ctx: Ctx,
                  secret_id: Annotated[str, Form(alias="SecretId", max_length=128)] = "",
                  secret_key: Annotated[str, Form(alias="SecretKey", max_length=128)] = "",
                  password: Annotated[str, Form(alias="Password", max_length=256)] = "") -> Response:
    """Sign in with a key pair of any app, or with the console password (the default app).

    Failed attempts are limited per client address and per SecretId (see ``signin_limiter``)."""
    limiter = _limiter(request, ctx)
    # The peer address as the server sees it: X-Forwarded-For counts only where uvicorn trusts
    # the proxy that sent it (its forwarded_allow_ips).
    client = request.client.host if request.client else "unknown"
    identity = "password" if password else "SecretId:" + secret_id.strip()
    wait, stamp = limiter.begin(client, identity)
    if wait is not None:
        return JSONResponse({"error": {"code": "RequestLimitExceeded.SignIn",
                                       "message": f"too many failed sign-ins from {client} or for this account; "
                                                  f"try again in {wait} s"}},
                            status_code=429, headers={"Retry-After": str(wait)})
    try:
        key = await anyio.to_thread.run_sync(_sign_in_key, ctx, secret_id, secret_key, password)
    except AuthFailure as exc:
        if exc.code in _NOT_A_GUESS:
            limiter.forgive(client, identity, stamp)
        return _unauthorized(exc.message, exc.code)
    except BaseException:
        limiter.forgive(client, identity, stamp)
        raise
    limiter.forgive(client, identity, stamp)
    token = issue_session(ctx, key.app_id, key.secret_id, SESSION_TTL)
    session = read_session(ctx, token)
    assert session is not None
    response = JSONResponse(SessionPublic(app_id=key.app_id, secret_id=key.secret_id,
                                          expires=session.expires).model_dump())
    secure = ctx.settings.base_url.startswith("https://")
    response.set_cookie(SESSION_COOKIE, token, max_age=SESSION_TTL, path="/", httponly=True, samesite="strict",
                        secure=secure)
    response.set_cookie(CSRF_COOKIE, csrf_token(ctx, token), max_age=SESSION_TTL, path="/", httponly=False,
                        samesite="strict", secure=secure)
    return response


@router.post("/console/logout", status_code=204)
def logout(request: Request, ctx: Ctx) -> Response:
    token = request.cookies.get(SESSION_COOKIE, "")
    if token and not hmac.compare_digest(request.headers.get(CSRF_HEADER, "").encode(),
                                         csrf_token(ctx, token).encode()):
        raise Forbidden(f"sign-out needs the {CSRF_COOKIE} cookie's value in {CSRF_HEADER}",
                        code="AuthFailure.CSRFTokenMismatch")
    response = Response(status_code=204)
    response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="strict")
    response.delete_cookie(CSRF_COOKIE, path="/", samesite="strict")
    return response


@router.post("/console/upload-signature")
def upload_signature(body: SignatureRequest, key: AuthKey) -> dict[str, str]:
    try:
        signature = sigs.build_signature(key.secret_id, key.secret_key, now=int(time.time()),
                                         expire_in=UPLOAD_SIGNATURE_TTL, random=secrets.randbelow(2**31),
                                         procedure=body.procedure or None)
    except ValueError as exc:
        raise InvalidParameter(f"cannot sign an upload for procedure {body.procedure!r}: {exc}",
                               code="InvalidParameter.Procedure") from exc
    return {"signature": signature}
