"""One ``openvod serve`` per data directory, unless the operator says otherwise."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ServerProc, free_port, wait_http

pytestmark = pytest.mark.slow  # two server processes


def test_second_server_is_refused_unless_allowed(fresh_server: ServerProc, tmp_path: Path) -> None:
    port = free_port()
    refused = subprocess.run([sys.executable, "-m", "openvod", "serve", "--port", str(port)], env=fresh_server.env,
                             capture_output=True, text=True, timeout=60)
    assert refused.returncode == 1
    pid = fresh_server.proc.pid if fresh_server.proc else 0
    assert f"another `openvod serve` (pid {pid}) is already using the data directory" in refused.stderr
    assert "OpenVOD is running" not in refused.stderr  # refused before anything started

    log = tmp_path / "second.log"
    with open(log, "wb") as out:
        second = subprocess.Popen([sys.executable, "-m", "openvod", "serve", "--port", str(port),
                                   "--allow-shared-data-dir"], env=fresh_server.env, stdout=out,
                                  stderr=subprocess.STDOUT)
    try:
        wait_http(f"http://127.0.0.1:{port}/healthz", proc=second)
    finally:
        second.terminate()
        second.wait(timeout=30)
    assert "warning: another `openvod serve`" in log.read_text() and "(--allow-shared-data-dir)" in log.read_text()

    fresh_server.stop()  # the first one's end frees the directory
    fresh_server.start()
