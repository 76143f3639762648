"""Render every error as ``{"error": {"code", "message"}}``; never a stack trace."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from openvod.errors import OpenVODError

__all__ = ["error_response", "install_error_handlers"]

log = logging.getLogger("openvod.api")

_HTTP_CODES = {
    404: "ResourceNotFound.Route",
    405: "UnsupportedOperation.Method",
    413: "InvalidParameter.TooLarge",
    415: "InvalidParameter.ContentType",
}


def error_response(status: int, code: str, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"error": {"code": code, "message": message}}, status_code=status, headers=headers)


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(OpenVODError)
    async def _domain(request: Request, exc: OpenVODError) -> JSONResponse:
        # tus: every reply names the protocol version; a 412 for a wrong one lists those served.
        headers = ({"Tus-Resumable": "1.0.0", "Tus-Version": "1.0.0"}
                   if request.url.path.startswith("/v1/uploads") else None)
        if exc.status == 401:
            headers = {**(headers or {}), "WWW-Authenticate": 'Basic realm="openvod"'}
        return error_response(exc.status, exc.code, exc.message, headers)

    @app.exception_handler(RequestValidationError)
    async def _validation(_request: Request, exc: RequestValidationError) -> JSONResponse:
        parts = []
        for err in exc.errors()[:5]:
            where = ".".join(str(p) for p in err.get("loc", ()) if p != "body")
            parts.append(f"{where}: {err.get('msg')}")
        return error_response(400, "InvalidParameter", "; ".join(parts) or "invalid request")

    @app.exception_handler(HTTPException)
    async def _http(_request: Request, exc: HTTPException) -> JSONResponse:
        code = _HTTP_CODES.get(exc.status_code, f"HTTP{exc.status_code}")
        return error_response(exc.status_code, code, str(exc.detail), dict(exc.headers or {}))

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return error_response(500, "InternalError", "an internal error occurred; the server log has the details")
