"""Kingsoft ``ksc-sdk-python`` offline transcoding (``kscore``, service ``offline``, 2016-09-19).

The SDK sends ``GET /?k=v`` or ``POST /`` with a JSON body, names the operation in ``X-Action``
(and ``X-Amz-Target: offline.<Op>``), and signs with AWS SigV4. This module verifies the signature
against the app's key pair (SecretId = access key id) and translates each operation onto the
native services; it holds no business logic of its own, and renders with
:mod:`openvod.api.compat.kingsoft_render`.

Replies:

- a business result, success or failure, is HTTP 200 ``{"errNum": 0, "errMsg": "success", ...}``;
  a failure has ``errNum != 0``, ``errMsg`` the native message and ``errCode`` the native code
  (``errNum``: 1001 bad parameter, 1003 forbidden, 1004 not found, 1009 conflict, 1013 too large,
  1022 media error, 1050 storage/upstream, 1500 other). The SDK returns these without raising.
- an authentication failure is HTTP 4xx ``{"Error": {"Code", "Message"}, "RequestId"}``, which the
  SDK raises as ``ClientError``.

A request to ``/`` without ``X-Action``/``X-Amz-Target`` gets the native 404.

A task's ``cbUrl`` hears once, when the task ends (succ, fail, or cancelled: ``fail``): a
``cbMethod`` request (POST or PUT) whose JSON body is GetTaskByTaskID's answer for the task
(:func:`callback_body`), signed like every OpenVOD push (``OpenVOD-Signature``).
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any
from urllib.parse import parse_qsl

import anyio
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from fastapi.routing import APIRoute
from starlette.datastructures import Headers
from starlette.routing import Match
from starlette.types import Scope

from openvod.api.compat.kingsoft_render import meta_info, preset_info, task_info
from openvod.api.errors import error_response
from openvod.auth import codes, sigv4
from openvod.domain.api_keys import KeyState
from openvod.domain.events import CallbackFormat
from openvod.domain.numbers import parse_int, parse_uint
from openvod.domain.views.tasks import TaskView
from openvod.errors import AuthFailure, InvalidParameter, OpenVODError, ProtocolError
from openvod.runtime import Context
from openvod.services import apps, presets, tasks
from openvod.services.tasks import Source, TranscodeRequest

__all__ = ["API_VERSION", "MAX_BODY", "MAX_SKEW", "OPERATIONS", "SERVICE", "KingsoftError", "callback_body", "gate",
           "is_kingsoft", "refuse", "router"]

log = logging.getLogger("openvod.api.kingsoft")

API_VERSION = "2016-09-19"
SERVICE = "offline"
MAX_SKEW = timedelta(seconds=sigv4.MAX_SKEW)
MAX_BODY = 1 << 20
META_LIMIT = 100  # each entry probes files: keep a GetTaskMetaInfo page bounded
MAX_SOURCES = 100  # srcInfo entries of one CreateTask
_INT64 = 2**63


def is_kingsoft(headers: list[tuple[bytes, bytes]]) -> bool:
    for k, v in headers:
        if k == b"x-action" and v.strip():
            return True
        if k == b"x-amz-target" and v.strip().startswith(SERVICE.encode() + b"."):
            return True
    return False


class _KingsoftRoute(APIRoute):
    """Matches only requests naming a Kingsoft operation, so other ``/`` routes (Tencent's
    ``X-TC-Action``) and the native 404 still apply to everything else."""

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        if not is_kingsoft(list(scope.get("headers") or [])):
            return Match.NONE, {}
        return super().matches(scope)


router = APIRouter(include_in_schema=False, route_class=_KingsoftRoute)

Params = dict[str, Any]
Handler = Callable[[Context, str, Params], Params]


# ---------------------------------------------------------------- replies

def _ok(**extra: Any) -> Params:
    return {"errNum": 0, "errMsg": "success", **extra}


_ERRNUM = {400: 1001, 401: 1002, 403: 1003, 404: 1004, 409: 1009, 413: 1013, 422: 1022, 429: 1029,
           501: 1050, 502: 1050, 503: 1050, 507: 1050}


def _business_error(exc: OpenVODError) -> Params:
    return {"errNum": _ERRNUM.get(exc.status, 1500), "errMsg": exc.message, "errCode": exc.code}


def _auth_error(status: int, code: str, message: str, request_id: str) -> JSONResponse:
    return JSONResponse({"Error": {"Code": code, "Message": message}, "RequestId": request_id}, status_code=status)


def refuse(exc: OpenVODError) -> Response:
    """A request refused before its operation ran (``api.limits``), in the SDK's error shape."""
    code = "RequestEntityTooLarge" if exc.status == 413 else exc.code
    return _auth_error(exc.status, code, exc.message, uuid.uuid4().hex)


# ---------------------------------------------------------------- parameters

def _bad(message: str) -> InvalidParameter:
    return InvalidParameter(message, code="InvalidParameter")


def _str(p: Params, name: str, *, required: bool = False, default: str | None = None) -> str | None:
    v = p.get(name)
    if v is None or v == "":
        if required:
            raise _bad(f"{name} is required")
        return default
    if isinstance(v, bool) or not isinstance(v, str | int):
        raise _bad(f"{name} must be a string, got {type(v).__name__}")
    return str(v)


def _int(p: Params, name: str, default: int) -> int:
    v = p.get(name)
    if v is None or v == "":
        return default
    if isinstance(v, str):
        return parse_int(v, name, code="InvalidParameter", minimum=-_INT64, maximum=_INT64 - 1)
    if isinstance(v, bool) or not isinstance(v, int) or not -_INT64 <= v < _INT64:
        raise _bad(f"{name} must be an integer, got {str(v)[:40]!r}")
    return v


def _param(p: Params) -> Any:
    v = p.get("param")
    if isinstance(v, str):  # some callers send the param object as a JSON string
        try:
            return json.loads(v)
        except ValueError as exc:
            raise InvalidParameter("param must be a JSON object", code="InvalidParameter.PresetParam") from exc
    return v


def _tz(ctx: Context) -> tzinfo:
    """The zone of the manual's times and of the days ``startdate``/``enddate`` name (``compat_timezone``)."""
    return ctx.settings.compat_zone


# ---------------------------------------------------------------- operations

def _preset(ctx: Context, app_id: str, p: Params) -> Params:
    presets.create_preset(ctx, app_id, _str(p, "preset", required=True) or "", _str(p, "presettype"),
                          _str(p, "description"), _param(p))
    return _ok()


def _update_preset(ctx: Context, app_id: str, p: Params) -> Params:
    presets.update_preset(ctx, app_id, _str(p, "preset", required=True) or "", type=_str(p, "presettype"),
                          description=p.get("description") if isinstance(p.get("description"), str) else None,
                          params=_param(p))
    return _ok()


def _get_preset_list(ctx: Context, app_id: str, p: Params) -> Params:
    detail = _int(p, "withDetail", 0) != 0
    raw = _str(p, "presets")
    names = [n.strip() for n in raw.split(",") if n.strip()] if raw else None
    found = presets.list_presets(ctx, app_id, type=_str(p, "presettype"), names=names or None, with_detail=detail)
    items = [preset_info(x, detail=detail, tz=_tz(ctx)) for x in found]
    return _ok(presetList=items, count=len(items))


def _get_preset_detail(ctx: Context, app_id: str, p: Params) -> Params:
    found = presets.get_preset(ctx, app_id, _str(p, "preset", required=True) or "")
    return _ok(presetdetail=preset_info(found, detail=True, tz=_tz(ctx)))


def _del_preset(ctx: Context, app_id: str, p: Params) -> Params:
    presets.delete_preset(ctx, app_id, _str(p, "preset", required=True) or "")
    return _ok()


def _sources(p: Params) -> list[Source]:
    raw = p.get("srcInfo")
    if not isinstance(raw, list) or not raw:
        raise InvalidParameter("srcInfo must be a non-empty list of {path, type, index}",
                               code="InvalidParameter.SrcInfo")
    if len(raw) > MAX_SOURCES:
        raise InvalidParameter(f"srcInfo takes at most {MAX_SOURCES} sources, got {len(raw)}",
                               code="InvalidParameter.SrcInfo")
    out = []
    for i, s in enumerate(raw):
        if not isinstance(s, dict):
            raise InvalidParameter(f"srcInfo[{i}] must be an object", code="InvalidParameter.SrcInfo")
        out.append(Source(path=_str(s, "path"), file_id=_str(s, "fileId"), type=_str(s, "type") or "video",
                          index=_int(s, "index", i)))
    return out


def _create_task(ctx: Context, app_id: str, p: Params) -> Params:
    req = TranscodeRequest(
        preset=_str(p, "preset", required=True) or "",
        sources=_sources(p),
        dst_bucket=_str(p, "dstBucket"),
        dst_key=_str(p, "dstObjectKey"),
        dst_dir=_str(p, "dstDir"),
        dst_acl=_str(p, "dstAcl") or "private",
        cb_url=_str(p, "cbUrl"),
        cb_method=_str(p, "cbMethod") or "POST",
        cb_format=CallbackFormat.KINGSOFT,
        ext_param=_str(p, "extParam") or "",
        priority=_int(p, "priority", 0),
    )
    task = tasks.create_transcode(ctx, app_id, req)
    return _ok(taskid=task.task_id, TaskID=task.task_id)  # the manual's key; TaskID kept for older callers


def _taskid(p: Params) -> str:
    return _str(p, "taskid", required=True) or ""


def _top_task(ctx: Context, app_id: str, p: Params) -> Params:
    tasks.top_task(ctx, app_id, _taskid(p))
    return _ok()


def _del_task(ctx: Context, app_id: str, p: Params) -> Params:
    tasks.delete_task(ctx, app_id, _taskid(p))
    return _ok()


def _get_task(ctx: Context, app_id: str, p: Params) -> Params:
    return _task_reply(ctx, app_id, _taskid(p))


def _task_reply(ctx: Context, app_id: str, task_id: str) -> Params:
    return _ok(taskInfo=task_info(tasks.get_task(ctx, app_id, task_id), _tz(ctx)))


def callback_body(ctx: Context, app_id: str, payload: dict[str, Any]) -> Params:
    """The body pushed to a task's ``cbUrl`` when it ends (a ``TaskStateChanged`` event's
    ``payload`` names the task): GetTaskByTaskID's answer, ``{"taskInfo", "errNum": 0, "errMsg"}``,
    for the task as it is when the push is sent. Hand it to
    ``services.deliveries.Dispatcher(formats={CallbackFormat.KINGSOFT: callback_body})``; a task
    deleted before then raises ``ResourceNotFound.Task``."""
    return _task_reply(ctx, app_id, str(payload.get("TaskId", "")))


def _page(ctx: Context, app_id: str, p: Params, limit: int) -> tuple[list[TaskView], int | str, int]:
    """A page of tasks and the marker of the next one.

    The SDK's model types ``marker`` as an integer, so it is an offset into the date range, and the
    returned marker is the offset after this page (``marker >= total`` means there is no more). A
    non-numeric marker (a task id, from a raw HTTP client) pages by task id instead and returns the
    next task id, or ``""`` at the end.
    """
    start, end, tz = _str(p, "startdate"), _str(p, "enddate"), _tz(ctx)
    raw = _str(p, "marker") or "0"
    if not raw.isdigit():  # Unicode digits too: "²" is a malformed number, not a task id
        items, nxt, total = tasks.list_tasks(ctx, app_id, start=start, end=end, marker=raw, limit=limit, tz=tz)
        return items, nxt or "", total
    if not 0 <= limit <= 1000:
        raise InvalidParameter(f"limit must be 0-1000, got {limit}", code="InvalidParameter.Limit")
    offset = parse_uint(raw, "marker", code="InvalidParameter.Marker", maximum=_INT64 - 1)
    key = tasks.task_id_at(ctx, app_id, offset, start=start, end=end, tz=tz)  # the last task before the page
    exhausted = offset > 0 and key is None
    items, _, total = tasks.list_tasks(ctx, app_id, start=start, end=end, marker=key,
                                       limit=0 if exhausted else limit, tz=tz)
    if items:  # the marker handed out next resumes after this page's last row, without an index walk
        tasks.note_offset(ctx, app_id, offset + len(items), items[-1].task_id, start=start, end=end, tz=tz)
    return items, offset + len(items), total


def _dates(p: Params) -> Params:
    """``startdate`` and ``enddate`` echoed as the manual shows them: strings (``"20161101"``)."""
    return {"startdate": _str(p, "startdate") or "", "enddate": _str(p, "enddate") or ""}


def _get_task_list(ctx: Context, app_id: str, p: Params) -> Params:
    items, nxt, total = _page(ctx, app_id, p, _int(p, "limit", 100))
    return _ok(taskInfo=[task_info(t, _tz(ctx)) for t in items], count=len(items), total=total, marker=nxt,
               **_dates(p))


def _get_task_meta(ctx: Context, app_id: str, p: Params) -> Params:
    if _str(p, "taskid"):
        task_id = _taskid(p)
        one = meta_info(tasks.task_meta(ctx, app_id, task_id), tasks.get_task(ctx, app_id, task_id).created_at,
                        _tz(ctx))
        return _ok(metaInfo=[one], count=1, total=1, marker=1, **_dates(p))
    limit = _int(p, "limit", 10)
    if not 0 <= limit <= META_LIMIT:
        raise _bad(f"limit must be 0-{META_LIMIT} for GetTaskMetaInfo, got {limit}")
    items, nxt, total = _page(ctx, app_id, p, limit)
    meta = [meta_info(tasks.task_meta(ctx, app_id, t.task_id), t.created_at, _tz(ctx)) for t in items]
    return _ok(metaInfo=meta, count=len(meta), total=total, marker=nxt, **_dates(p))


OPERATIONS: dict[str, tuple[str, Handler]] = {
    "Preset": ("POST", _preset),
    "UpdatePreset": ("POST", _update_preset),
    "GetPresetList": ("GET", _get_preset_list),
    "GetPresetDetail": ("GET", _get_preset_detail),
    "DelPreset": ("GET", _del_preset),
    "CreateTask": ("POST", _create_task),
    "TopTaskByTaskID": ("GET", _top_task),
    "DelTaskByTaskID": ("GET", _del_task),
    "GetTaskList": ("GET", _get_task_list),
    "GetTaskByTaskID": ("GET", _get_task),
    "GetTaskMetaInfo": ("GET", _get_task_meta),
}
"""X-Action -> (the method the SDK uses, handler). Either method is accepted."""


# ---------------------------------------------------------------- authentication

class KingsoftError(ProtocolError):
    """A request refused before its operation ran (authentication, version, action), answered as
    ``{"Error": {"Code", "Message"}, "RequestId"}`` with ``status``; the SDK raises ``ClientError``."""


_MISMATCH = ("the request signature does not match; check the access key pair and the signing method "
             "(AWS4-HMAC-SHA256, service offline)")

# The SigV4 verifier's codes as Kingsoft answers them. A key that does not exist is a bad
# signature (the reply does not tell which ids exist); a disabled one is named only to its holder.
_AUTH_CODES: dict[str, tuple[int, str]] = {
    codes.MISSING: (401, "MissingAuthenticationToken"),
    codes.MALFORMED: (400, "IncompleteSignature"),
    codes.BAD_DATE: (400, "IncompleteSignature"),
    codes.DATE_MISMATCH: (403, "SignatureDoesNotMatch"),
    codes.SKEWED: (403, "RequestExpired"),
    codes.WRONG_SCOPE: (403, "SignatureDoesNotMatch"),
    codes.UNSIGNED_HEADER: (403, "SignatureDoesNotMatch"),
    codes.UNKNOWN_KEY: (403, "SignatureDoesNotMatch"),
    codes.MISMATCH: (403, "SignatureDoesNotMatch"),
}


def _denied(exc: AuthFailure) -> KingsoftError:
    status, code = _AUTH_CODES.get(exc.code, (403, "SignatureDoesNotMatch"))
    message = _MISMATCH if exc.code in (codes.UNKNOWN_KEY, codes.MISMATCH) else exc.message
    return KingsoftError(status, code, message)


def _policy(action_header: str) -> sigv4.Policy:
    """kscore's signatures: service ``offline``, any region, the operation's header signed."""
    return sigv4.Policy(SERVICE, signed_headers=("host", "x-amz-date", action_header))


def _lookup(ctx: Context) -> Callable[[str], apps.KeyInfo | None]:
    # Disabled keys too: they are refused after their signature is verified.
    return lambda access_key: apps.lookup_key(ctx.db, access_key)


def _precheck(ctx: Context, headers: Headers, now: datetime) -> None:
    """The header-only checks (:func:`gate`); a key that does not exist is refused as a bad signature."""
    found = _action_of(headers)
    if found is None:
        return
    version = headers.get("x-version", "")
    if version != API_VERSION:
        raise KingsoftError(400, "InvalidVersion", f"X-Version must be {API_VERSION}, got {version[:40]!r}")
    try:  # header signatures only: the method, path and query are not looked at before the body
        sigv4.precheck(sigv4.SignedRequest("", "", "", headers), _lookup(ctx), now=now.timestamp(),
                       policy=_policy(found[1]))
    except AuthFailure as exc:
        raise _denied(exc) from exc


async def gate(ctx: Context, scope: Scope) -> Response | None:
    """For ``api.limits``: refuse from the headers alone, before the body is read (or None to go on)."""
    try:
        await anyio.to_thread.run_sync(_precheck, ctx, Headers(scope=scope), datetime.now(UTC))
    except KingsoftError as d:
        return _auth_error(d.status, d.code, d.message, uuid.uuid4().hex)
    return None


def _verify(ctx: Context, request: Request, body: bytes, action_header: str, now: datetime) -> str:
    """Check the SigV4 signature (:func:`openvod.auth.sigv4.verify`); returns the app id of the signing key."""
    parts = sigv4.SignedRequest(request.method,
                                request.scope.get("raw_path", b"").decode("latin-1") or request.url.path,
                                request.scope.get("query_string", b"").decode("latin-1"), request.headers,
                                body_hash=sigv4.payload_hash(body))
    try:
        key = sigv4.verify(parts, _lookup(ctx), now=now.timestamp(), policy=_policy(action_header)).key
    except AuthFailure as exc:
        raise _denied(exc) from exc
    if key.state != KeyState.ACTIVE:
        raise KingsoftError(403, "InvalidAccessKeyId.Disabled", f"access key {key.secret_id} is disabled")
    return key.app_id


# ---------------------------------------------------------------- dispatch

def _action(request: Request) -> tuple[str, str] | None:
    """(operation, header it came from), or ``None`` for a request that is not Kingsoft's."""
    return _action_of(request.headers)


def _action_of(headers: Headers) -> tuple[str, str] | None:
    if action := headers.get("x-action", "").strip():
        return action, "x-action"
    target = headers.get("x-amz-target", "").strip()
    prefix, dot, op = target.partition(".")
    if dot and prefix == SERVICE and op:
        return op, "x-amz-target"
    return None


def _params(request: Request, body: bytes) -> Params:
    if request.method == "POST" and body.strip():
        try:
            data = json.loads(body)
        except ValueError as exc:
            raise _bad("the request body is not valid JSON") from exc
        if not isinstance(data, dict):
            raise _bad("the request body must be a JSON object")
        return data
    try:
        pairs = parse_qsl(request.scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True,
                          max_num_fields=100)
    except ValueError as exc:
        raise _bad("the query has more than 100 parameters") from exc
    return dict(pairs)


def _run(ctx: Context, request: Request, body: bytes, action: str, header: str, request_id: str) -> Response:
    try:
        app_id = _verify(ctx, request, body, header, datetime.now(UTC))
    except KingsoftError as d:
        return _auth_error(d.status, d.code, d.message, request_id)
    op = OPERATIONS.get(action)
    if op is None:
        return _auth_error(400, "InvalidAction", f"unknown operation {action!r}; supported: "
                           f"{', '.join(OPERATIONS)}", request_id)
    try:
        result = op[1](ctx, app_id, _params(request, body))
    except OpenVODError as exc:
        result = _business_error(exc)
    return JSONResponse(result, headers={"X-Kss-Request-Id": request_id})


@router.api_route("/", methods=["GET", "POST"])
async def dispatch(request: Request) -> Response:
    found = _action(request)
    if found is None:
        return error_response(404, "ResourceNotFound.Route", f"no route for {request.method} /")
    action, header = found
    request_id = uuid.uuid4().hex
    version = request.headers.get("x-version", "")
    if version != API_VERSION:
        return _auth_error(400, "InvalidVersion", f"X-Version must be {API_VERSION}, got {version!r}", request_id)
    body = await request.body()  # api.limits refused a longer one before it was read
    if len(body) > MAX_BODY:
        return _auth_error(413, "RequestEntityTooLarge", f"the body is over {MAX_BODY} bytes", request_id)
    ctx: Context = request.app.state.ctx
    try:
        return await anyio.to_thread.run_sync(_run, ctx, request, body, action, header, request_id)
    except Exception:  # rendered in the SDK's error shape rather than the native one
        log.exception("kingsoft %s failed", action)
        return _auth_error(500, "InternalError", "an internal error occurred; the server log has the details",
                           request_id)
