"""``GET /`` for anything but a browser or an SDK: a short JSON pointer to the console, the API
docs and the native API, so ``curl http://host:port/`` says where to go instead of answering 404.

``/`` is shared: a browser asking for HTML gets the console (``api/console.py``, registered
first), a request carrying an API action or credentials is Tencent's or Kingsoft's (registered
after this route), and COS requests are taken by Host before routing (``api/compat/s3``).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.routing import APIRoute
from starlette.routing import Match
from starlette.types import Scope

from openvod import __version__
from openvod.api.deps import Ctx

__all__ = ["router"]

# Headers that make ``/`` an SDK's request: Tencent's action, Kingsoft's two, any credentials.
_SDK_HEADERS = (b"x-tc-action", b"x-action", b"x-amz-target", b"authorization")


class _PointerRoute(APIRoute):
    """Matches a plain ``GET``/``HEAD /``: no API action and no credentials."""

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        headers = dict(scope.get("headers") or [])
        if any(h in headers for h in _SDK_HEADERS):
            return Match.NONE, {}
        return super().matches(scope)


router = APIRouter(route_class=_PointerRoute, include_in_schema=False)


@router.api_route("/", methods=["GET", "HEAD"])
def pointer(request: Request, ctx: Ctx) -> dict[str, Any]:
    base = ctx.settings.public_url or str(request.base_url).rstrip("/")
    return {
        "service": "OpenVOD",
        "version": __version__,
        "console": f"{base}/",
        "console_note": "open the console in a browser; sign in with a key pair",
        "docs": f"{base}/docs",
        "openapi": f"{base}/openapi.json",
        "api": f"{base}/v1",
        "health": f"{base}/healthz",
    }
