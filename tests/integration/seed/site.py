"""The seed site, served on an origin of its own (``http://localhost:<port>``, while OpenVOD is
``http://127.0.0.1:<port>``): its page (``site/index.html`` around the seed's front-end code,
``site/seed.js``), a page that drives the SDK with the options the seed does not use
(``site/sdk.html``), and the seed's two Django views on the paths its code posts to.

    site = SeedSite(sdk_url=f"{openvod}/sdk/vod-js-sdk-v6.js")
    site.sign = lambda: "..."       # what /CreateSignature/ hands out (default: the seed's code)
    ...; site.stop()
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from tests.integration.seed import backend

__all__ = ["SITE_DIR", "SeedSite"]

SITE_DIR = Path(__file__).parent / "site"
_FILES = {"/": "index.html", "/seed.js": "seed.js", "/sdk.html": "sdk.html"}
_TYPES = {".html": "text/html; charset=utf-8", ".js": "text/javascript; charset=utf-8"}


class SeedSite:
    """The site's HTTP server on a thread; ``results`` keeps what /GetVideoResponse/ answered."""

    def __init__(self, sdk_url: str) -> None:
        self.sdk_url = sdk_url
        self.sign: Callable[[], str] = backend.create_signature
        self.signatures: list[str] = []
        self.results: list[dict[str, Any]] = []
        self.errors: list[str] = []
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._thread = threading.Thread(target=self._server.serve_forever, name="seed-site", daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://localhost:{self._server.server_address[1]}"

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=10)

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        site = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class's name
                pass

            def _send(self, status: int, body: bytes, content_type: str) -> None:
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.send_header("Cache-Control", "no-store")
                self.end_headers()
                self.wfile.write(body)

            def _json(self, data: dict[str, Any]) -> None:
                self._send(200, json.dumps(data).encode(), "application/json")

            def do_GET(self) -> None:
                name = _FILES.get(urlsplit(self.path).path)
                if name is None:
                    self._send(404, b"not found", "text/plain")
                    return
                text = (SITE_DIR / name).read_text(encoding="utf-8").replace("{sdk_url}", site.sdk_url)
                self._send(200, text.encode(), _TYPES[Path(name).suffix])

            def do_POST(self) -> None:
                # The seed's code posts to '/CreateSignature这里是你后台生成签名的url/' (a
                # placeholder its reader replaces with urls.py's 'CreateSignature/'): both work.
                path = unquote(urlsplit(self.path).path)
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                try:
                    if path.startswith("/CreateSignature"):
                        signature = site.sign()
                        site.signatures.append(signature)
                        self._json({"errno": "0", "errmsg": "", "data": {"signature": signature}})
                    elif path.startswith("/GetVideoResponse"):
                        result = backend.get_video_response_view(body)
                        site.results.append(result)
                        self._json({"errno": "0", "errmsg": "", "data": {"result": result}})
                    else:
                        self._send(404, b"not found", "text/plain")
                except Exception as exc:  # the seed's views log and answer UNKOWNERR; the test reads errors
                    site.errors.append(f"{path}: {exc!r}")
                    self._json({"errno": "4105", "errmsg": "未知错误", "data": {}})

        return Handler
