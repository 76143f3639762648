"""Fixtures for the compatibility APIs: one server with two workers per module."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.conftest import ServerProc, make_server


@pytest.fixture(scope="module")
def srv(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProc]:
    # A subprocess, not tests.servers: test_tencent turns this process's clock back to sign an
    # expired request, which a server in the same process would not see as expired.
    s = make_server(tmp_path_factory.mktemp("compat"), {"OPENVOD_WORKERS": "2"})
    yield s
    s.stop()
