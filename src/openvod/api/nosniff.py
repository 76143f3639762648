"""ASGI middleware: every response says ``X-Content-Type-Options: nosniff``.

API answers are JSON (or XML for the compat APIs) and must never be sniffed into HTML by a
browser that opens one directly; object responses already carry the header
(``api.content_safety``) and keep their own value.
"""

from __future__ import annotations

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["NoSniffMiddleware"]


class NoSniffMiddleware:
    """Adds ``X-Content-Type-Options: nosniff`` to each HTTP response that lacks it."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_header(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers.setdefault("X-Content-Type-Options", "nosniff")
            await send(message)

        await self.app(scope, receive, send_with_header)
