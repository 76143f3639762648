"""Tencent VOD's client (UGC) upload API, as the browser SDK ``vod-js-sdk-v6`` calls it.

Use: mount ``router`` on the app (see ``api/app.py``) and map the SDK's hosts to OpenVOD
(docs/migrate.md): ``vod2.qcloud.com`` (and its fallback ``vod2.dnsv1.com``) for the three
actions, the COS host ``{bucket}-{APPID}.cos.{region}.myqcloud.com`` for the bytes (the COS
gateway, ``api/compat/s3/cos.py``), and ``vodreport.qcloud.com`` for the SDK's reports.

* ``POST /v3/index.php?Action=PrepareUploadUGC|ApplyUploadUGC|CommitUploadUGC``, a JSON body
  with the client upload ``signature`` (and ``videoName``, ``videoType``, ``videoSize``,
  ``coverType``…, or ``vodSessionKey``). The answer is always HTTP 200 (the SDK takes any other
  status for a network failure and retries on the other host) and
  ``{"code": 0, "message": "", "data": {...}}``; a refusal has a non-zero ``code`` and
  ``message`` = ``"<OpenVOD code>: <what failed>"``, which the SDK's ``done()`` rejects with.
  Codes: :data:`SIGNATURE_REFUSED` (10004, Tencent's "invalid signature": the signature is
  missing, malformed, wrong, expired, reused, of a disabled key…), :data:`REQUEST_REFUSED`
  (10001, Tencent's "invalid request": any other refusal), :data:`SERVER_FAILED` (a failure on
  OpenVOD's side, e.g. storage).
* ``POST /ugcupload_new``: the SDK's usage reports (``allowReport``, on by default). Nothing is
  kept; the answer is ``{"code": 0}``.

The logic lives in :mod:`openvod.services.ugc_upload`; this module parses and renders.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any

import anyio
from fastapi import APIRouter, Request, Response

from openvod.domain import signature as sigs
from openvod.domain.views.ugc import UgcGrant, UgcPrepared
from openvod.domain.views.uploads import CosUploadResult
from openvod.errors import AuthFailure, InvalidParameter, OpenVODError
from openvod.runtime import Context
from openvod.services import ugc_upload

__all__ = ["ACTIONS", "MAX_BODY", "PATHS", "REQUEST_REFUSED", "SERVER_FAILED", "SIGNATURE_REFUSED", "refuse",
           "router"]

log = logging.getLogger("openvod.compat.tencent.ugc")

REQUEST_REFUSED = 10001
SIGNATURE_REFUSED = 10004
SERVER_FAILED = 10009
ACTION_PATH = "/v3/index.php"
REPORT_PATH = "/ugcupload_new"
PATHS = frozenset({ACTION_PATH, REPORT_PATH})
MAX_BODY = 64 * 1024  # a signature, a session key and a few names (or one report): a few KB

router = APIRouter(tags=["tencent-ugc"], include_in_schema=False)


def _json(payload: dict[str, Any]) -> Response:
    body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()
    return Response(content=body, status_code=200, media_type="application/json")


def refuse(exc: OpenVODError) -> Response:
    """``exc`` in the SDK's envelope (HTTP 200, non-zero ``code``); ``api.limits`` also answers an
    oversized or too deeply nested body with it."""
    if isinstance(exc, AuthFailure) or exc.code == sigs.CODE_INVALID:
        number = SIGNATURE_REFUSED
    elif exc.status >= 500 and exc.status != 501:  # 501: a request OpenVOD refuses to serve
        number = SERVER_FAILED
    else:
        number = REQUEST_REFUSED
    return _json({"code": number, "message": f"{exc.code}: {exc.message}", "data": {}})


# -- answers ------------------------------------------------------------------------------------

def _prepared(p: UgcPrepared, _host: str) -> dict[str, Any]:
    return {"appId": p.app_number, "cosRegionList": [{"region": p.region, "domain": p.bucket_host}]}


def _applied(g: UgcGrant, host: str) -> dict[str, Any]:
    c = g.cos
    data: dict[str, Any] = {
        "video": {"storageSignature": "", "storagePath": c.media_path},
        "storageAppId": g.app_number,
        "storageBucket": c.bucket,
        "storageRegion": c.region,
        "storageRegionV5": c.region,
        "StorageRegionV5": c.region,  # the SDK reads both spellings
        "domain": host,
        "vodSessionKey": c.session_key,
        "tempCertificate": {"secretId": c.secret_id, "secretKey": c.secret_key, "token": c.token,
                            "expiredTime": c.expires},
        "appId": g.app_number,
        "timestamp": g.issued_at,
    }
    if c.cover_path:
        data["cover"] = {"storageSignature": "", "storagePath": c.cover_path}
    return data


def _committed(r: CosUploadResult, _host: str) -> dict[str, Any]:
    # verify_content: Tencent's signed proof of the upload, which nothing in the SDK reads.
    data: dict[str, Any] = {"fileId": r.file_id, "video": {"url": r.media_url, "verify_content": ""}}
    if r.cover_url:
        data["cover"] = {"url": r.cover_url, "verify_content": ""}
    return data


def _action(run: Callable[[Context, dict[str, Any]], Any],
            render: Callable[[Any, str], dict[str, Any]]) -> Callable[[Context, dict[str, Any], str], dict[str, Any]]:
    def act(ctx: Context, params: dict[str, Any], host: str) -> dict[str, Any]:
        return render(run(ctx, params), host)
    return act


ACTIONS = {
    "PrepareUploadUGC": _action(ugc_upload.prepare, _prepared),
    "ApplyUploadUGC": _action(ugc_upload.apply, _applied),
    "CommitUploadUGC": _action(ugc_upload.commit, _committed),
}


@router.post(ACTION_PATH, include_in_schema=False)
async def ugc_action(request: Request) -> Response:
    """One UGC upload action (``?Action=``), in the SDK's envelope."""
    action = request.query_params.get("Action", "")
    try:
        act = ACTIONS.get(action)
        if act is None:
            raise InvalidParameter(f"Action {action[:40]!r} is not one of {', '.join(ACTIONS)}",
                                   code="InvalidParameter.Action")
        body = await request.body()
        try:
            params = json.loads(body) if body else {}
        except (ValueError, UnicodeDecodeError, RecursionError) as exc:
            raise InvalidParameter("the request body is not JSON", code="InvalidParameter.Body") from exc
        if not isinstance(params, dict):
            raise InvalidParameter("the request body must be a JSON object", code="InvalidParameter.Body")
        ctx: Context = request.app.state.ctx
        data = await anyio.to_thread.run_sync(act, ctx, params, request.headers.get("host", ""))
    except OpenVODError as exc:
        return refuse(exc)
    except Exception:
        log.exception("UGC upload action %r failed", action)
        return _json({"code": SERVER_FAILED, "message": "InternalError: internal error", "data": {}})
    return _json({"code": 0, "message": "", "data": data})


@router.post(REPORT_PATH, include_in_schema=False)
async def ugc_report(request: Request) -> Response:
    """The SDK's usage report: read and dropped (OpenVOD's metrics are its own, ``/metrics``)."""
    await request.body()
    return _json({"code": 0, "message": ""})
