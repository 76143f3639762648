"""Schemathesis fuzzes the native API, authenticated, against a real server: no response is a 5xx.

The budget fits CI (a few hundred requests); ``bench/fuzz_api.py`` is the long run.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import ServerProc, make_server
from tests.fuzz import run_schemathesis

pytestmark = pytest.mark.slow  # ~300 schemathesis requests


@pytest.fixture()
def fuzz_server(tmp_path: Path) -> Iterator[ServerProc]:
    srv = make_server(tmp_path / "srv", {"OPENVOD_WORKERS": "1"})
    yield srv
    srv.stop()


def test_schemathesis_finds_no_server_error(fuzz_server: ServerProc, tmp_path: Path) -> None:
    run = run_schemathesis(fuzz_server.url, fuzz_server.auth, tmp_path / "st", max_examples=6, timeout=600)
    assert run.requests >= 250, run.output  # the whole API was exercised, not just loaded
    assert run.server_errors == 0, f"{run.statuses}\n{run.output}"
    assert run.returncode == 0, run.output
    # Authenticated: most operations got past authentication.
    assert run.statuses.get(401, 0) < run.requests // 4, run.statuses
    # The server is still healthy after the run.
    with fuzz_server.client() as c:
        assert c.get("/healthz").status_code == 200
