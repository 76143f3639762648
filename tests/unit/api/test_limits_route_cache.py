"""api/limits.py: whether a path's endpoint takes an app key is worked out once per (method, path)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI

from openvod.api import limits
from openvod.api.app import create_app
from openvod.config import Settings
from openvod.runtime import Context
from openvod.services.context import build_context


@pytest.fixture()
def app(tmp_path: Path) -> Iterator[FastAPI]:
    ctx: Context = build_context(Settings(data_dir=tmp_path, workers=0))
    yield create_app(ctx)
    ctx.db.dispose()


def _scope(app: FastAPI, method: str, path: str) -> dict[str, Any]:
    return {"type": "http", "method": method, "path": path, "raw_path": path.encode(), "root_path": "",
            "query_string": b"", "headers": [(b"host", b"127.0.0.1")], "app": app}


def test_the_answer_is_remembered_and_the_same(app: FastAPI, monkeypatch: pytest.MonkeyPatch) -> None:
    walks: list[str] = []
    real = limits._matched_dependant

    def counting(routes: Any, scope: Any) -> Any:
        if routes is app.router.routes:  # a walk from the top (it recurses into included routers)
            walks.append(scope["path"])
        return real(routes, scope)

    monkeypatch.setattr(limits, "_matched_dependant", counting)
    mw = limits.RequestLimits(app)
    cases = {("GET", "/v1/tasks/t-1"): "native", ("GET", "/v1/media"): "native", ("GET", "/healthz"): "anonymous",
             ("GET", "/no/such/page"): "anonymous", ("DELETE", "/v1/tasks/t-1"): "native"}
    for _ in range(3):
        for (method, path), name in cases.items():
            assert mw.policy(_scope(app, method, path), 1024).name == name, (method, path)
    assert sorted(walks) == sorted(path for _, path in cases)  # one walk per (method, path), not per request


def test_the_memory_is_bounded(app: FastAPI, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(limits, "_ROUTE_CACHE", 3)
    mw = limits.RequestLimits(app)
    for i in range(10):
        assert mw.policy(_scope(app, "GET", f"/v1/tasks/t-{i}"), 1024).name == "native"
    assert list(mw._keyed) == [("GET", f"/v1/tasks/t-{i}") for i in (7, 8, 9)]
