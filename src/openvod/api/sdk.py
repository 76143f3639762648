"""``GET /sdk/vod-js-sdk-v6.js``: the browser uploader, a drop-in for Tencent's vod-js-sdk-v6.

A page swaps ``<script src="//unpkg.com/vod-js-sdk-v6">`` for this URL and keeps its code: the
script finds OpenVOD's address from its own URL and uploads there with tus, authorised by the
page's upload signature (``openvod/web/sdk.py``; docs/api.md "Browser uploader"). It is loaded
from other sites' pages, so it may be embedded cross-origin (``Cross-Origin-Resource-Policy``).
"""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from openvod.web.sdk import tcvod_script

__all__ = ["router"]

router = APIRouter(include_in_schema=False)


@router.get("/sdk/vod-js-sdk-v6.js")
def vod_js_sdk(request: Request) -> Response:
    body, etag = tcvod_script()
    headers = {"ETag": etag, "Cache-Control": "public, max-age=3600", "Cross-Origin-Resource-Policy": "cross-origin"}
    if etag in (request.headers.get("if-none-match") or ""):
        return Response(status_code=304, headers=headers)
    return Response(body, media_type="text/javascript; charset=utf-8", headers=headers)
