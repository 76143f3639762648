"""What a request may cost before it is authenticated, and how big its body may be.

:class:`RequestLimits` is a pure-ASGI middleware in front of every route. It sorts a request
into the API that will answer it and applies that API's :class:`Policy` before any handler runs:

1. a declared ``Content-Length`` over the API's limit is refused at once (413, or the API's own
   code, in the API's own envelope), before a byte of the body is read;
2. the API's header-only authentication runs before the body or any collection parameter is
   parsed: HTTP Basic or the console session for native routes that need a key; a well-formed
   TC3 ``Authorization`` of an active SecretId with a fresh timestamp for Tencent's API 3.0; the
   SigV4 header of a known key for Kingsoft's. Native routes that need no key (console sign-in,
   unknown paths) only get :data:`ANONYMOUS_MAX_BODY`;
3. the body is then read up to the limit (a chunked body that passes it is refused as it
   streams), its JSON nesting depth checked, and it is handed on to the route.

S3 and COS authenticate in their handlers before reading a body and stream object bodies into
storage (single PUT and parts up to 5 GiB); only their other bodies (XML documents) are capped
here, at :data:`S3_MAX_DOCUMENT`. tus (``/v1/uploads``) bounds its PATCH bodies by the upload's
length itself. Limits: ``OPENVOD_REQUEST_MAX_BODY`` (native JSON, default 1 MiB) and
``OPENVOD_REQUEST_MAX_JSON_DEPTH`` (default 32); Tencent's 10 MB and Kingsoft's 1 MiB are their
protocols' own. vod-js-sdk-v6's UGC actions (``api/compat/tencent/ugc.py``) are signed inside
their body: they get 64 KiB, refused in their own envelope.
"""

from __future__ import annotations

import re
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from fastapi.dependencies.models import Dependant
from starlette.datastructures import Headers
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Match, Mount
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from openvod.api.compat import kingsoft
from openvod.api.compat.s3.common import S3Error
from openvod.api.compat.s3.common import error_response as s3_error
from openvod.api.compat.s3.cos import is_cos_request
from openvod.api.compat.tencent import endpoint as tencent
from openvod.api.compat.tencent import ugc as tencent_ugc
from openvod.api.deps import require_key
from openvod.api.errors import error_response
from openvod.domain.numbers import parse_uint
from openvod.errors import InvalidParameter, OpenVODError, PayloadTooLarge
from openvod.runtime import Context

__all__ = [
    "ANONYMOUS_MAX_BODY",
    "S3_MAX_DOCUMENT",
    "TENCENT_MAX_BODY",
    "Policy",
    "RequestLimits",
    "nesting_exceeds",
]

ANONYMOUS_MAX_BODY = 64 * 1024  # console sign-in is a short form; nothing else is read unauthenticated
TENCENT_MAX_BODY = 10 * 1024 * 1024  # Tencent Cloud API 3.0's own request limit
S3_MAX_DOCUMENT = 2 * 1024 * 1024  # CompleteMultipartUpload and friends (decoded: 1 MiB, bodies.small_body)

Refuse = Callable[[OpenVODError], Response]
Gate = Callable[[Context, Scope], Awaitable[Response | None]]


@dataclass(frozen=True)
class Policy:
    """How one API's requests are bounded: ``limit`` bytes of body (None: the handler bounds its
    own), ``refuse`` renders an error in the API's envelope, ``gate`` authenticates from headers
    alone (returning a refusal, or None to go on), ``always_gate`` also for requests without a
    body, and ``buffer`` reads the body here (to check its JSON) rather than counting it as it
    streams to the handler."""

    name: str
    limit: int | None
    refuse: Refuse
    gate: Gate | None = None
    always_gate: bool = False
    buffer: bool = True


# ---------------------------------------------------------------- JSON nesting

_JSON_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_INNERMOST = re.compile(rb"\[\]|\{\}")
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")


def nesting_exceeds(body: bytes, max_depth: int) -> bool:
    """Whether the JSON text ``body`` nests arrays and objects deeper than ``max_depth``.

    Works on the text (strings removed, then one level of empty brackets per pass, each pass a
    regular-expression scan), so a hostile document never reaches a recursive parser. Unbalanced
    text is left for the JSON parser to refuse.
    """
    skeleton = _JSON_STRING.sub(b"", body).translate(None, _NOT_BRACKETS)
    for _ in range(max_depth):
        if not skeleton:
            return False
        skeleton = _INNERMOST.sub(b"", skeleton)
    return bool(skeleton) and len(_INNERMOST.sub(b"", skeleton)) < len(skeleton)


def _looks_like_json(body: bytes) -> bool:
    return body.lstrip()[:1] in (b"{", b"[")


# ---------------------------------------------------------------- envelopes and gates

def _native_refuse(exc: OpenVODError) -> Response:
    headers = {"WWW-Authenticate": 'Basic realm="openvod"'} if exc.status == 401 else None
    return error_response(exc.status, exc.code, exc.message, headers)


def _s3_refuse(exc: OpenVODError) -> Response:
    if exc.status == 413:
        return s3_error(S3Error(400, "MaxMessageLengthExceeded", exc.message), "", "POST")
    return s3_error(S3Error(400, "InvalidArgument", exc.message), "", "POST")


def _tencent_refuse(exc: OpenVODError) -> Response:
    # Tencent answers every error with HTTP 200 and its envelope; RequestSizeLimitExceeded is its code.
    return tencent.error_reply("RequestSizeLimitExceeded" if exc.status == 413 else exc.code, exc.message)


async def _native_gate(ctx: Context, scope: Scope) -> Response | None:
    try:
        await require_key(Request(scope), ctx)
    except OpenVODError as exc:
        return _native_refuse(exc)
    return None


def _dependencies(dependant: Dependant) -> Iterator[Dependant]:
    for dep in dependant.dependencies:
        yield dep
        yield from _dependencies(dep)


def _matched_dependant(routes: Iterable[Any], scope: Scope) -> Dependant | None:
    """The dependency tree of the endpoint that will answer ``scope``, found as the router will.

    Duck-typed over the router's shapes: an ``APIRoute`` (or FastAPI's per-include context of
    one) has ``dependant``; an included router offers ``effective_candidates()`` (recent FastAPI),
    a ``Mount`` its ``routes``."""
    for route in routes:
        match, _child = route.matches(scope)
        if match is not Match.FULL:
            continue
        dependant = getattr(route, "dependant", None)
        if isinstance(dependant, Dependant):
            return dependant
        if callable(getattr(route, "effective_candidates", None)):
            return _matched_dependant(route.effective_candidates(), scope)
        if isinstance(route, Mount):
            return _matched_dependant(route.routes, {**scope, **_child})
        return None  # a plain Starlette route: no dependencies
    return None


# ---------------------------------------------------------------- the middleware

_ROUTE_CACHE = 4096
TUS = Policy("tus", None, _native_refuse)
S3_OBJECT = Policy("s3-object", None, _s3_refuse)
S3_DOCUMENT = Policy("s3", S3_MAX_DOCUMENT, _s3_refuse, buffer=False)
TENCENT = Policy("tencent", TENCENT_MAX_BODY, _tencent_refuse, gate=tencent.gate, always_gate=True)
KINGSOFT = Policy("kingsoft", kingsoft.MAX_BODY, kingsoft.refuse, gate=kingsoft.gate, always_gate=True)
TENCENT_UGC = Policy("tencent-ugc", tencent_ugc.MAX_BODY, tencent_ugc.refuse)  # signed in the body
ANONYMOUS = Policy("anonymous", ANONYMOUS_MAX_BODY, _native_refuse)


def _s3_policy(method: str, key: str, headers: Headers) -> Policy:
    if method == "PUT" and key and "x-amz-copy-source" not in headers:
        return S3_OBJECT  # PutObject / UploadPart: streamed into storage by the handler
    return S3_DOCUMENT


class RequestLimits:
    """ASGI middleware applying each API's :class:`Policy`; register it outermost of the routing
    middlewares (outside ``CosGateway``) so every request passes through it."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        # (method, path) -> whether the endpoint answering it takes an app key. Routes are fixed once
        # the app runs, so the answer is too; remembering it spares a second walk of every route
        # per request (a polled GET /v1/tasks/{id} asks the same path again and again). Bounded:
        # paths hold ids. Only touched on the event loop's thread.
        self._keyed: OrderedDict[tuple[str, str], bool] = OrderedDict()

    def _needs_key(self, scope: Scope) -> bool:
        key = (scope["method"], scope["path"])
        known = self._keyed.get(key)
        if known is not None:
            self._keyed.move_to_end(key)
            return known
        dependant = _matched_dependant(getattr(scope["app"].router, "routes", ()), scope)
        keyed = dependant is not None and any(d.call is require_key for d in _dependencies(dependant))
        self._keyed[key] = keyed
        if len(self._keyed) > _ROUTE_CACHE:
            self._keyed.popitem(last=False)
        return keyed

    def policy(self, scope: Scope, max_body: int) -> Policy:
        """The policy of the API that will answer ``scope``."""
        headers = Headers(scope=scope)
        path: str = scope["path"]
        method: str = scope["method"]
        if is_cos_request(scope):
            return _s3_policy(method, path.lstrip("/"), headers)
        if path == "/s3" or path.startswith("/s3/"):
            return _s3_policy(method, path[3:].lstrip("/").partition("/")[2], headers)
        if path == "/v1/uploads" or path.startswith("/v1/uploads/"):
            return TUS
        if path in tencent_ugc.PATHS:
            return TENCENT_UGC
        if path == "/":
            if "x-tc-action" in headers:
                return TENCENT
            if kingsoft.is_kingsoft(list(scope.get("headers") or [])):
                return KINGSOFT
        if self._needs_key(scope):
            return Policy("native", max_body, _native_refuse, gate=_native_gate)
        return ANONYMOUS

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        ctx: Context = scope["app"].state.ctx
        policy = self.policy(scope, ctx.settings.request_max_body)
        if policy.limit is None:
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        declared = headers.get("content-length")
        has_body = (declared is not None and declared != "0") or "transfer-encoding" in headers
        try:
            if declared is not None and parse_uint(declared, "Content-Length",
                                                   code="InvalidParameter.ContentLength") > policy.limit:
                raise PayloadTooLarge(f"the request body of {declared} bytes is over this API's limit of "
                                      f"{policy.limit} bytes")
        except OpenVODError as exc:
            await _send(policy.refuse(exc), scope, receive, send, unread=has_body)
            return
        if policy.gate is not None and (has_body or policy.always_gate):
            refusal = await policy.gate(ctx, scope)
            if refusal is not None:
                await _send(refusal, scope, receive, send, unread=has_body)
                return
        if not has_body:
            await self.app(scope, receive, send)
        elif policy.buffer:
            await self._buffered(policy, ctx.settings.request_max_json_depth, scope, receive, send)
        else:
            await self.app(scope, _counting(receive, policy.limit), send)

    async def _buffered(self, policy: Policy, max_depth: int, scope: Scope, receive: Receive, send: Send) -> None:
        assert policy.limit is not None
        chunks = bytearray()
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return  # the client left: nobody to answer
            chunks += message.get("body", b"")
            if len(chunks) > policy.limit:
                too_large = PayloadTooLarge(f"the request body is over this API's limit of {policy.limit} bytes")
                await _send(policy.refuse(too_large), scope, receive, send, unread=True)
                return
            if not message.get("more_body", False):
                break
        body = bytes(chunks)
        del chunks
        if _looks_like_json(body) and nesting_exceeds(body, max_depth):
            too_deep = InvalidParameter(f"the JSON body nests deeper than {max_depth} levels",
                                        code="InvalidParameter.JSONDepth")
            await _send(policy.refuse(too_deep), scope, receive, send, unread=False)
            return
        await self.app(scope, _replay(body, receive), send)


async def _send(response: Response, scope: Scope, receive: Receive, send: Send, *, unread: bool) -> None:
    if unread:  # the body's bytes must not be taken for the next request on this connection
        response.headers["Connection"] = "close"
    await response(scope, receive, send)


def _replay(body: bytes, receive: Receive) -> Receive:
    done = False

    async def replay() -> Message:
        nonlocal done
        if not done:
            done = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay


def _counting(receive: Receive, limit: int) -> Receive:
    seen = 0

    async def counting() -> Message:
        nonlocal seen
        message = await receive()
        if message["type"] == "http.request":
            seen += len(message.get("body", b""))
            if seen > limit:
                raise PayloadTooLarge(f"the request body is over this API's limit of {limit} bytes")
        return message

    return counting
