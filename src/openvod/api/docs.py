"""``GET /docs``: Swagger UI for ``/openapi.json``, entirely from this server.

FastAPI's default page loads Swagger UI from a CDN and starts it with an inline script; this one
uses the copy vendored by ``scripts/build-web`` (``/static/vendor/swagger-ui-*``) and a static
init script (``/static/docs.js``), so it works offline and under a CSP of ``'self'`` only.
"""

from __future__ import annotations

import html

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

__all__ = ["router"]

router = APIRouter(include_in_schema=False)

CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
       "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")

# Assets are named relative to the page, so a public URL with a path prefix works too.
_PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{title} - API documentation</title>
<link rel="icon" type="image/png" href="static/vendor/swagger-ui-favicon.png">
<link rel="stylesheet" href="static/vendor/swagger-ui.css">
</head>
<body>
<div id="swagger-ui" data-openapi-url="{openapi_url}"></div>
<script src="static/vendor/swagger-ui-bundle.js"></script>
<script src="static/docs.js"></script>
</body>
</html>
"""


@router.get("/docs")
def docs_page(request: Request) -> HTMLResponse:
    app = request.app
    openapi_url = (app.openapi_url or "/openapi.json").lstrip("/")
    page = _PAGE.format(title=html.escape(app.title), openapi_url=html.escape(openapi_url))
    return HTMLResponse(page, headers={"Content-Security-Policy": CSP, "X-Content-Type-Options": "nosniff",
                                       "Referrer-Policy": "same-origin", "Cache-Control": "no-cache"})
