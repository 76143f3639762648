"""The seed's views, ported: the upload page, CreateSignature, GetVideoResponse, and a push receiver.

Answers keep the seed's envelope (its ``to_json_data``): ``{"errno", "errmsg", "data"}``, so the
page's ``response.data.data.signature`` and ``response.data.data.result.ProcedureTask...`` paths are
the seed's.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views import View
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST
from tencentcloud.common.exception.tencent_cloud_sdk_exception import TencentCloudSDKException

from openvod.client import ApiError, NetworkError, WaitTimeout, sign_upload
from openvod.client.webhooks import SIGNATURE_HEADER, TIMESTAMP_HEADER, verify_signature
from videos.events import apply_event
from videos.results import read_results, store_results
from videos.vod import call, process_media, tencent_client, wait_for_task

log = logging.getLogger(__name__)

SIGNATURE_SECONDS = 600  # the seed signed for 10,000 s; a browser needs minutes


class Code:
    OK = "0"
    PARAMERR = "4103"
    UNKOWNERR = "4501"  # the seed's name


def to_json_data(errno: str = Code.OK, errmsg: str = "", data: dict[str, Any] | None = None,
                 status: int = 200) -> JsonResponse:
    return JsonResponse({"errno": errno, "errmsg": errmsg, "data": data}, status=status)


def upload_page(request: HttpRequest) -> HttpResponse:
    """The page: the seed's JavaScript with OpenVOD's drop-in vod-js-sdk-v6."""
    return render(request, "videos/upload.html", {"openvod_server": settings.OPENVOD_SERVER})


class CreateSignatureView(View):
    """A client-upload signature (Tencent's format) for the browser's ``getSignature``.

    One-time: OpenVOD's uploader asks for one signature per upload (and sends the cover with the
    upload's own URL), so a signature that leaked from a page uploads nothing more. A real site
    checks here that the user may upload (login, quota) before signing.
    """

    def post(self, request: HttpRequest) -> JsonResponse:
        signature = sign_upload(settings.OPENVOD_SECRET_ID, settings.OPENVOD_SECRET_KEY, expire_in=SIGNATURE_SECONDS,
                                procedure=settings.OPENVOD_PROCEDURE or None, one_time=True)
        return to_json_data(data={"signature": signature})


class GetVideoResponseView(View):
    """ProcessMedia (a GIF and a cover) on the uploaded file, wait for it, answer DescribeTaskDetail."""

    def post(self, request: HttpRequest) -> JsonResponse:
        try:
            file_id = str(json.loads(request.body)["fileId"])
        except (ValueError, KeyError, TypeError):
            return to_json_data(Code.PARAMERR, 'send {"fileId": "..."} as JSON', status=400)
        client = tencent_client()
        try:
            task_id = process_media(client, file_id)
            task = wait_for_task(task_id, timeout=settings.OPENVOD_WAIT_SECONDS)
            detail = call(client, "DescribeTaskDetail", {"TaskId": task_id})
        except TencentCloudSDKException as exc:
            log.warning("processing %s: %s %s", file_id, exc.get_code(), exc.get_message())
            bad_request = exc.get_code().startswith(("InvalidParameter", "ResourceNotFound", "MissingParameter"))
            return to_json_data(exc.get_code(), exc.get_message(), status=400 if bad_request else 502)
        except WaitTimeout as exc:
            return to_json_data(Code.UNKOWNERR, f"{exc} (task {task_id})", status=504)
        except (ApiError, NetworkError) as exc:
            log.warning("waiting for task %s of %s: %s", task_id, file_id, exc)
            return to_json_data(Code.UNKOWNERR, str(exc), status=502)
        store_results(detail["ProcedureTask"])
        results = read_results(detail["ProcedureTask"])
        summary = {"cover_url": results.cover_url, "gif_url": results.gif_url,
                   "duration": results.duration} if results else {}
        if task.state != "succ":
            log.warning("task %s of %s ended %s: %s", task_id, file_id, task.state, task.error_message)
        return to_json_data(data={"result": detail, **summary})


@csrf_exempt  # OpenVOD is not a browser: the signature is what authenticates it
@require_POST
def vod_callback(request: HttpRequest) -> HttpResponse:
    """Receive OpenVOD's pushed events; refuse (401) any whose ``OpenVOD-Signature`` is not right.

    OpenVOD retries a push until it gets a 2xx, so an event may come more than once: storing is
    idempotent. Answer quickly; heavy work belongs in a queue.
    """
    secret = settings.OPENVOD_CALLBACK_SECRET
    if not secret:
        log.error("push refused: OPENVOD_CALLBACK_SECRET is not set (python manage.py set_callback URL prints it)")
        return HttpResponse("callback secret not configured", status=403)
    signature = request.headers.get(SIGNATURE_HEADER, "")
    timestamp = request.headers.get(TIMESTAMP_HEADER, "")
    if not verify_signature(secret, timestamp, request.body, signature):
        return HttpResponse("bad signature", status=401)
    try:
        event = json.loads(request.body)
        outcome = apply_event(str(event["type"]), dict(event.get("payload") or {}))
    except (ValueError, KeyError, TypeError) as exc:
        return HttpResponse(f"not an OpenVOD event: {exc}", status=400)
    return JsonResponse({"stored": outcome.stored})
