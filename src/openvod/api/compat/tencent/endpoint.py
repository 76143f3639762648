"""The ``/`` route for ``X-TC-Action`` requests: parsing, authentication, the action table, and
the ``{"Response": ...}`` envelope every answer (success or error) is wrapped in."""

from __future__ import annotations

import json
import logging
import time
import uuid
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import anyio
from fastapi import APIRouter, Request, Response
from fastapi.routing import APIRoute
from starlette.datastructures import Headers
from starlette.routing import Match
from starlette.types import Scope

from openvod.api.compat.tencent.auth import authenticate_key
from openvod.api.compat.tencent.common import Action, Call, Params, int_param, query_pairs, unflatten
from openvod.api.compat.tencent.events import confirm_events_action, pull_events_action
from openvod.api.compat.tencent.media import delete_media_action, describe_media_infos, modify_media_info, search_media
from openvod.api.compat.tencent.processing import (
    describe_task_detail,
    describe_tasks,
    process_media_action,
    process_media_by_procedure,
)
from openvod.api.compat.tencent.templates import (
    TEMPLATE_ACTIONS,
    create_procedure,
    delete_procedure,
    describe_procedures,
    modify_procedure,
)
from openvod.api.compat.tencent.uploads import apply_upload, commit_upload, pull_upload
from openvod.api.compat.tencent.watermarks import WATERMARK_ACTIONS
from openvod.auth import tc3
from openvod.domain.api_keys import KeyState
from openvod.errors import AuthFailure, InvalidParameter, NotFound, OpenVODError
from openvod.runtime import Context
from openvod.services import apps

__all__ = ["ACTIONS", "VERSION", "error_reply", "gate", "handle", "precheck", "router"]

log = logging.getLogger("openvod.compat.tencent")

VERSION = "2018-07-17"
ACTION_HEADER = "x-tc-action"


class _TencentRoute(APIRoute):
    """Matches only requests with ``X-TC-Action``, so another ``/`` route (Kingsoft's ``X-Action``)
    registered after this one gets the rest."""

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        if not any(k == b"x-tc-action" for k, _v in scope.get("headers") or []):
            return Match.NONE, {}
        return super().matches(scope)


router = APIRouter(tags=["tencent-compat"], include_in_schema=False, route_class=_TencentRoute)


def _json(payload: dict[str, Any]) -> Response:
    body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()
    return Response(content=body, status_code=200, headers={"Content-Type": "application/json"})


def _ok(request_id: str, fields: dict[str, Any]) -> Response:
    return _json({"Response": {**fields, "RequestId": request_id}})


def _error(request_id: str, code: str, message: str) -> Response:
    return _json({"Response": {"Error": {"Code": code, "Message": message}, "RequestId": request_id}})


def error_reply(code: str, message: str) -> Response:
    """An error in Tencent's envelope (HTTP 200, as Tencent answers every error), with a new RequestId."""
    return _error(str(uuid.uuid4()), code, message)


def precheck(ctx: Context, headers: Mapping[str, str], now: float) -> None:
    """What can be checked from the headers alone, before the body or query is parsed (blocking).

    The action and version are named, ``Authorization`` is a well-formed TC3 header, the
    timestamp is within the skew and the SecretId is an active key's; the signature itself, which
    covers the body, is checked once the body is read. ``headers`` have lower-case names.
    """
    if not headers.get(ACTION_HEADER, ""):
        raise InvalidParameter("the X-TC-Action header is missing", code="MissingParameter")
    version = headers.get("x-tc-version", "")
    if version != VERSION:
        raise InvalidParameter(f"X-TC-Version must be {VERSION}, got {version[:40]!r}", code="NoSuchVersion")

    def active_secret(secret_id: str) -> str | None:
        key = apps.lookup_key(ctx.db, secret_id)
        return key.secret_key if key is not None and key.state == KeyState.ACTIVE else None

    tc3.precheck(headers, active_secret, now=now)  # the one TC3 verifier's header-only half


async def gate(ctx: Context, scope: Scope) -> Response | None:
    """:func:`precheck` for ``api.limits``: a refusal in Tencent's envelope, or None to go on."""
    headers = {k.lower(): v for k, v in Headers(scope=scope).items()}
    try:
        await anyio.to_thread.run_sync(precheck, ctx, headers, time.time())
    except OpenVODError as exc:
        return error_reply(exc.code, exc.message)
    return None


_SYNC_ACTIONS: dict[str, Action] = {
    "DescribeMediaInfos": describe_media_infos,
    "SearchMedia": search_media,
    "ModifyMediaInfo": modify_media_info,
    "DeleteMedia": delete_media_action,
    "PullUpload": pull_upload,
    "ProcessMedia": process_media_action,
    "ProcessMediaByProcedure": process_media_by_procedure,
    "DescribeTaskDetail": describe_task_detail,
    "DescribeTasks": describe_tasks,
    "CreateProcedureTemplate": create_procedure,
    "DescribeProcedureTemplates": describe_procedures,
    "ModifyProcedureTemplate": modify_procedure,
    "ResetProcedureTemplate": modify_procedure,
    "DeleteProcedureTemplate": delete_procedure,
    "ConfirmEvents": confirm_events_action,
    "ApplyUpload": apply_upload,
    "CommitUpload": commit_upload,
    **TEMPLATE_ACTIONS,
    **WATERMARK_ACTIONS,
}
_ASYNC_ACTIONS: dict[str, Callable[[Call], Awaitable[Params]]] = {"PullEvents": pull_events_action}

ACTIONS = frozenset(_SYNC_ACTIONS) | frozenset(_ASYNC_ACTIONS)


async def handle(request: Request) -> Response:
    """Answer one Tencent VOD API request (``X-TC-Action``)."""
    request_id = str(uuid.uuid4())
    action = request.headers.get(ACTION_HEADER, "")
    try:
        ctx: Context = request.app.state.ctx
        headers = {k.lower(): v for k, v in request.headers.items()}
        body = await request.body()
        method = request.method.upper()
        query = request.url.query
        if not action:
            raise InvalidParameter("the X-TC-Action header is missing", code="MissingParameter")
        version = headers.get("x-tc-version", "")
        if version != VERSION:
            raise InvalidParameter(f"X-TC-Version must be {VERSION}, got {version!r}", code="NoSuchVersion")
        if "authorization" not in headers:
            raise AuthFailure("only TC3-HMAC-SHA256 signatures are accepted (no Authorization header)",
                              code="AuthFailure.SignatureFailure")
        # api.limits has checked the headers (precheck), the body's size and its JSON depth; the
        # query's collection parameters are built only once the signature (which covers it) holds.
        pairs = query_pairs(query) if method == "GET" else []
        if method == "GET":
            params: Any = dict(pairs)
        elif body:
            try:
                params = json.loads(body)
            except (ValueError, UnicodeDecodeError, RecursionError) as exc:
                raise InvalidParameter("the request body is not JSON", code="InvalidParameter") from exc
        else:
            params = {}
        if not isinstance(params, dict):
            raise InvalidParameter("the request body must be a JSON object", code="InvalidParameter")
        sub_app_id = int_param(params, "SubAppId")
        app_id, secret_id = await anyio.to_thread.run_sync(authenticate_key, ctx, method, query, headers, body,
                                                            sub_app_id)
        if method == "GET":
            params = unflatten(pairs)
        if action not in ACTIONS:
            raise OpenVODError(f"action {action!r} is not supported", code="UnsupportedOperation")
        call = Call(ctx, app_id, params, secret_id)
        if action in _ASYNC_ACTIONS:
            result = await _ASYNC_ACTIONS[action](call)
        else:
            result = await anyio.to_thread.run_sync(_SYNC_ACTIONS[action], call)
        return _ok(request_id, result)
    except OpenVODError as exc:
        code = exc.code
        if isinstance(exc, NotFound) and code == "ResourceNotFound.Media":
            code = "ResourceNotFound.FileNotExist"
        return _error(request_id, code, exc.message)
    except Exception:
        log.exception("Tencent compat action %r failed", action)
        return _error(request_id, "InternalError", "internal error")


@router.post("/", include_in_schema=False)
@router.get("/", include_in_schema=False)
async def tencent_root(request: Request) -> Response:
    """The Tencent VOD endpoint (only with ``X-TC-Action``; see :func:`handle`)."""
    return await handle(request)
