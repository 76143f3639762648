"""FastAPI dependencies: the process context and authentication."""

from __future__ import annotations

import base64
import binascii
from typing import Annotated

import anyio
from fastapi import Depends, Request

from openvod.errors import AuthFailure
from openvod.services import apps
from openvod.services.apps import KeyInfo
from openvod.services.context import Context

__all__ = ["AuthKey", "Ctx", "basic_credentials", "get_ctx", "require_key"]


def get_ctx(request: Request) -> Context:
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


async def require_key(request: Request, ctx: Ctx) -> KeyInfo:
    creds = basic_credentials(request)
    if creds is None:
        raise AuthFailure(
            "this endpoint needs HTTP Basic credentials SecretId:SecretKey", code="AuthFailure.MissingCredentials"
        )
    # A recently verified pair is answered from memory, on the event loop; otherwise the
    # database check runs in a worker thread.
    if (hit := apps.cached_key(ctx.db, *creds)) is not None:
        return hit
    return await anyio.to_thread.run_sync(apps.authenticate, ctx.db, *creds)


AuthKey = Annotated[KeyInfo, Depends(require_key)]
