"""The two ways this site talks to OpenVOD, both built from settings.

- Tencent's official SDK (``tencentcloud-sdk-python-vod``), as the seed used it: only its endpoint
  changes, from ``vod.tencentcloudapi.com`` to OpenVOD's address (docs/migrate.md).
- OpenVOD's Python client (``openvod.client``), for what Tencent's API has no call for: waiting on a
  task by long-poll instead of asking DescribeTaskDetail over and over.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from tencentcloud.common import credential
from tencentcloud.common.profile.client_profile import ClientProfile
from tencentcloud.common.profile.http_profile import HttpProfile
from tencentcloud.vod.v20180717 import models, vod_client

from openvod.client import Client, Task

__all__ = ["SEED_MEDIA_PROCESS_TASK", "call", "openvod_client", "process_media", "tencent_client", "wait_for_task"]

# The seed's ProcessMedia request: a GIF with AnimatedGraphics template 20000 and a cover with
# snapshot template 10, both from the start of the video. OpenVOD has Tencent's system templates.
SEED_MEDIA_PROCESS_TASK: dict[str, Any] = {
    "AnimatedGraphicTaskSet": [{"Definition": 20000, "StartTimeOffset": 0, "EndTimeOffset": 0}],
    "CoverBySnapshotTaskSet": [{"Definition": 10, "PositionType": "Time", "PositionValue": 0}],
}

SDK_TIMEOUT = 30  # seconds, per SDK request


def tencent_client() -> vod_client.VodClient:
    """Tencent's ``VodClient`` with the app's key pair, sending to OpenVOD instead of Tencent."""
    server = urlsplit(settings.OPENVOD_SERVER)
    http = HttpProfile(protocol=server.scheme, endpoint=server.netloc, reqTimeout=SDK_TIMEOUT)  # <- the change
    cred = credential.Credential(settings.OPENVOD_SECRET_ID, settings.OPENVOD_SECRET_KEY)
    return vod_client.VodClient(cred, "", ClientProfile(httpProfile=http))


def openvod_client() -> Client:
    """OpenVOD's own client with the same key pair (close it, or use it in a ``with``)."""
    return Client(settings.OPENVOD_SERVER, settings.OPENVOD_SECRET_ID, settings.OPENVOD_SECRET_KEY)


def call(client: vod_client.VodClient, action: str, params: dict[str, Any]) -> dict[str, Any]:
    """One SDK action with ``params``, its answer as a dict (raises ``TencentCloudSDKException``)."""
    request = getattr(models, f"{action}Request")()
    request.from_json_string(json.dumps(params))
    answer: dict[str, Any] = json.loads(getattr(client, action)(request).to_json_string())
    return answer


def process_media(client: vod_client.VodClient, file_id: str) -> str:
    """Start the seed's processing (GIF and cover) on ``file_id``; returns the TaskId."""
    return str(call(client, "ProcessMedia", {"FileId": file_id, "MediaProcessTask": SEED_MEDIA_PROCESS_TASK})["TaskId"])


def wait_for_task(task_id: str, timeout: float) -> Task:
    """Block until the task has finished, by OpenVOD's long-poll (``GET /v1/tasks/{id}/wait``):
    one request per 25 s at most, answered the moment the task ends. Raises
    ``openvod.client.WaitTimeout`` after ``timeout`` seconds (the task goes on)."""
    with openvod_client() as vod:
        return vod.wait_task(task_id, timeout=timeout)
