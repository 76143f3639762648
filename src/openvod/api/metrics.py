"""``GET /metrics`` for Prometheus, and the middleware timing every HTTP request.

The endpoint is off (404) until ``metrics_token`` (``OPENVOD_METRICS_TOKEN``) is set; then it
answers only ``Authorization: Bearer <token>``. Its labels name apps and worker hosts, so it is
not public, and the token can read nothing else: the scraper holds no app's key pair. Prometheus
sends it with ``authorization: {type: Bearer, credentials_file: ...}`` in its scrape config.

The body is Prometheus text format 0.0.4, or OpenMetrics when the scraper asks for it (its
``Accept`` header), which types ``openvod_step_duration_seconds`` as the gauge histogram it is.
What the metrics mean: services/metrics.py and docs/operations.md.
"""

from __future__ import annotations

import hashlib
import hmac
import time

from fastapi import APIRouter, Request, Response
from prometheus_client import Histogram
from prometheus_client.exposition import choose_encoder
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from openvod.api.compat.s3.cos import is_cos_request
from openvod.api.deps import Ctx
from openvod.api.errors import error_response
from openvod.services import metrics

__all__ = ["HttpMetrics", "router"]

router = APIRouter(tags=["health"])

_HTTP_SECONDS = Histogram(
    "openvod_http_request_duration_seconds",
    "Time from a request's arrival to the end of its response (bodies included: uploads and long-polls "
    "are long), by method, route template and status class.",
    ["method", "route", "status"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0),
    registry=metrics.REGISTRY,
)
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


def _authorized(request: Request, token: str) -> bool:
    scheme, _, given = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer":
        return False
    # Digests first: compare_digest's time then depends on neither token's length.
    return hmac.compare_digest(hashlib.sha256(given.strip().encode()).digest(),
                               hashlib.sha256(token.encode()).digest())


@router.get("/metrics", include_in_schema=False)
def get_metrics(request: Request, ctx: Ctx) -> Response:
    token = ctx.settings.metrics_token
    if token is None:
        return error_response(404, "ResourceNotFound.Metrics",
                              "metrics are off: set OPENVOD_METRICS_TOKEN to serve them (docs/operations.md)")
    if not _authorized(request, token.get_secret_value()):
        return error_response(401, "AuthFailure.InvalidAuthorization", "/metrics needs Authorization: Bearer "
                              "<OPENVOD_METRICS_TOKEN>", {"WWW-Authenticate": 'Bearer realm="openvod-metrics"'})
    encode, content_type = choose_encoder(request.headers.get("accept", ""))
    return Response(encode(metrics.scrape(ctx)), headers={"Content-Type": content_type,
                                                         "Cache-Control": "no-store"})


class HttpMetrics:
    """ASGI middleware observing ``openvod_http_request_duration_seconds``. Register it outermost,
    so requests refused by the outer middlewares and COS requests (answered before routing) count.

    The route label is the matched route's template (``/v1/tasks/{task_id}``), never the raw path,
    so the number of series stays bounded: ``cos`` for COS requests, ``unmatched`` for requests no
    route answered (404s, and requests refused before routing)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500  # if the app fails before answering, the server answers 500

        async def send_noting_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, send_noting_status)
        finally:
            method = scope["method"] if scope["method"] in _METHODS else "other"
            _HTTP_SECONDS.labels(method, _route(scope), f"{status // 100}xx").observe(time.perf_counter() - started)


def _route(scope: Scope) -> str:
    # The router stores the matched route in the (shared) scope.
    path = getattr(scope.get("route"), "path", None)
    if isinstance(path, str):
        return path
    return "cos" if is_cos_request(scope) else "unmatched"
