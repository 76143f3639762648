"""Fixtures for event tests: a server with short pull/push timings, per-test apps, and a real
HTTP receiver that can refuse, fail or hang on cue."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest

from tests.conftest import ServerProc, free_port, make_server

T = TypeVar("T")

# Short windows so redelivery and retries happen within a test's time.
FAST_ENV = {
    "OPENVOD_WORKERS": "0",
    "OPENVOD_PULL_REDELIVER_SECONDS": "2",
    "OPENVOD_PUSH_BACKOFF_BASE": "0.2",
    "OPENVOD_PUSH_TIMEOUT": "2",
    # The tests' receivers listen on loopback and their apps are not the default one.
    "OPENVOD_CALLBACK_ALLOW_PRIVATE": "1",
}


def wait_until(probe: Callable[[], T | None], timeout: float = 15.0, what: str = "condition") -> T:
    """Call ``probe`` with capped exponential backoff until it returns something truthy."""
    end = time.monotonic() + timeout
    delay = 0.02
    while True:
        value = probe()
        if value:
            return value
        if time.monotonic() > end:
            raise TimeoutError(f"{what} not reached within {timeout} s")
        time.sleep(delay)
        delay = min(delay * 2, 0.25)


def new_app(srv: ServerProc, prefix: str = "events") -> httpx.Client:
    """A client for a new app of its own, so tests do not see each other's events."""
    out = subprocess.run([sys.executable, "-m", "openvod", "apps", "create", f"{prefix}-{uuid.uuid4().hex[:8]}",
                          "--json", "--data-dir", str(srv.data_dir)], env=srv.env, capture_output=True, text=True,
                         timeout=60, check=False)
    assert out.returncode == 0, f"openvod apps create failed ({out.returncode}):\n{out.stderr[-3000:]}"
    key = json.loads(out.stdout)
    return httpx.Client(base_url=srv.url, auth=(key["secret_id"], key["secret_key"]), timeout=30.0)


def only_delivery(c: httpx.Client) -> dict[str, Any]:
    items = c.get("/v1/events/deliveries").json()["items"]
    assert len(items) == 1, items
    return dict(items[0])


@dataclass
class Received:
    method: str
    path: str
    headers: dict[str, str]  # lower-case names
    body: bytes


class Receiver:
    """A threaded HTTP server on 127.0.0.1. Not listening until :meth:`start` (a closed port:
    connections are refused). Answers 500 to the first ``fail_first`` requests and holds the
    first ``hang_first`` until :meth:`release`, then 200."""

    def __init__(self, port: int | None = None, *, fail_first: int = 0, hang_first: int = 0) -> None:
        self.port = port or free_port()
        self.fail_first = fail_first
        self.hang_first = hang_first
        self.requests: list[Received] = []
        self._cond = threading.Condition()
        self._released = threading.Event()
        self._httpd: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    def start(self) -> Receiver:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                headers = {k.lower(): v for k, v in self.headers.items()}
                with receiver._cond:
                    receiver.requests.append(Received(self.command, self.path, headers, body))
                    n = len(receiver.requests)
                    receiver._cond.notify_all()
                if n <= receiver.hang_first:
                    receiver._released.wait(30)
                status = 500 if n <= receiver.fail_first else 200
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            do_PUT = do_POST

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._httpd = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self._httpd.daemon_threads = True
        threading.Thread(target=self._httpd.serve_forever, daemon=True).start()
        return self

    def wait_for(self, n: int, timeout: float = 15.0) -> list[Received]:
        with self._cond:
            if not self._cond.wait_for(lambda: len(self.requests) >= n, timeout):
                raise TimeoutError(f"receiver got {len(self.requests)} requests, expected {n}")
            return list(self.requests)

    def release(self) -> None:
        self._released.set()

    def stop(self) -> None:
        self.release()
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()


@pytest.fixture()
def receiver() -> Iterator[Receiver]:
    """A receiver, not yet listening: call ``start()``."""
    r = Receiver()
    yield r
    r.stop()


@pytest.fixture(scope="session")
def events_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProc]:
    srv = make_server(tmp_path_factory.mktemp("events"), FAST_ENV)
    yield srv
    srv.stop()


@pytest.fixture()
def fast_server(tmp_path: Path) -> Iterator[ServerProc]:
    """A server of the test's own with the short timings, for tests that crash it."""
    srv = make_server(tmp_path, FAST_ENV)
    yield srv
    srv.stop()
