"""A throwaway S3-compatible server for integration tests: moto's standalone server."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

__all__ = ["moto_server"]

_START_DEADLINE = 30.0
_STOP_GRACE = 10.0


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _tail(log: Path, lines: int = 20) -> str:
    return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])


def _wait_ready(proc: subprocess.Popen[bytes], url: str, log: Path) -> None:
    deadline = time.monotonic() + _START_DEADLINE
    delay = 0.05
    while True:
        if proc.poll() is not None:
            raise RuntimeError(f"moto server exited with {proc.returncode} before serving:\n{_tail(log)}")
        try:
            httpx.get(f"{url}/moto-api/", timeout=1.0)
            return
        except httpx.TransportError:
            pass
        if time.monotonic() >= deadline:
            raise RuntimeError(f"moto server not ready at {url} after {_START_DEADLINE}s:\n{_tail(log)}")
        time.sleep(delay)
        delay = min(delay * 2, 0.5)


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is not None:
        return
    # The server runs in its own process group, so this reaches anything it spawned too.
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=_STOP_GRACE)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=_STOP_GRACE)


@contextmanager
def moto_server(log_file: Path | None = None) -> Iterator[str]:
    """Run ``python -m moto.server`` on a free 127.0.0.1 port; yield its endpoint URL.

    The server is killed and reaped on exit; its output (one access-log line per request) goes to
    ``log_file``, or to a temporary log, and is quoted if it fails to start.
    """
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryDirectory(prefix="moto-") as tmp:
        log = log_file or Path(tmp) / "server.log"
        with open(log, "wb") as out:
            proc = subprocess.Popen(
                [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        try:
            _wait_ready(proc, url, log)
            yield url
        finally:
            _stop(proc)
