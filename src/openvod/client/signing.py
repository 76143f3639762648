"""Make Tencent-style client-upload signatures in your own backend.

Your server keeps the SecretKey and hands browsers or apps a short-lived signature, which they pass
to the upload SDK (``getSignature`` in the Tencent web/mobile SDKs). A Flask view::

    from flask import Flask, jsonify
    from openvod.client.signing import sign_upload

    app = Flask(__name__)

    @app.get("/upload-signature")
    def upload_signature():  # check that the user may upload before signing
        signature = sign_upload(SECRET_ID, SECRET_KEY, expire_in=600, procedure="HD", one_time=True)
        return jsonify(signature=signature)

The same in Django::

    from django.http import JsonResponse

    def upload_signature(request):
        return JsonResponse({"signature": sign_upload(SECRET_ID, SECRET_KEY, expire_in=600)})
"""

from __future__ import annotations

import secrets
import time

from openvod.domain.signature import TaskNotifyMode, build_signature

__all__ = ["sign_upload"]


def sign_upload(
    secret_id: str,
    secret_key: str,
    *,
    expire_in: int = 3600,
    procedure: str | None = None,
    class_id: int | None = None,
    one_time: bool = False,
    source_context: str | None = None,
    session_context: str | None = None,
    task_priority: int | None = None,
    task_notify_mode: TaskNotifyMode | None = None,
    sub_app_id: int | None = None,
    storage_region: str | None = None,
) -> str:
    """Return a signature valid from now for ``expire_in`` seconds (1 s to 90 days).

    ``procedure`` names a task flow to run after the upload; ``source_context`` (≤ 250 chars) is
    echoed in the upload-complete callback and ``session_context`` (≤ 1000 chars) in the
    procedure-state callback. ``one_time=True`` makes the server accept the signature only once.
    Raises ``ValueError`` for out-of-range values.
    """
    return build_signature(  # validates expire_in (1 s .. 90 days) and every field
        secret_id,
        secret_key,
        now=int(time.time()),
        expire_in=expire_in,
        random=secrets.randbelow(2**32),
        procedure=procedure,
        class_id=class_id,
        one_time=one_time,
        source_context=source_context,
        session_context=session_context,
        task_priority=task_priority,
        task_notify_mode=task_notify_mode,
        sub_app_id=sub_app_id,
        storage_region=storage_region,
    )
