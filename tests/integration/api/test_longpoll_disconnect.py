"""A long-poll whose client has gone away ends within about a second, instead of holding its
waiter (and re-reading the task list every second) until its timeout, or delaying shutdown."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from openvod.api.v1 import tasks as tasks_api
from tests.conftest import SECRET_ID, SECRET_KEY, make_app_server


@pytest.fixture()
def url(tmp_path: Path) -> Iterator[str]:
    srv = make_app_server(tmp_path, {"OPENVOD_WORKERS": "0"})
    yield srv.url
    srv.stop()


def _waiting() -> int:
    return len(tasks_api._waiters._events)


@pytest.mark.parametrize("path", ["/v1/tasks?since={version}&timeout=60", "/v1/tasks/{tid}/wait?timeout=60"])
def test_long_poll_ends_when_the_client_leaves(url: str, path: str) -> None:
    with httpx.Client(base_url=url, auth=(SECRET_ID, SECRET_KEY), timeout=30) as c:
        r = c.post("/v1/tasks", json={"kind": "noop", "sleep": 1})
        assert r.status_code == 201, r.text
        tid = r.json()["task_id"]  # queued for ever: this server runs no workers
        version = c.get("/v1/tasks").json()["version"]
        assert _waiting() == 0
        with pytest.raises(httpx.ReadTimeout):  # the client gives up after 0.5 s and closes
            c.get(path.format(tid=tid, version=version), timeout=0.5)
        assert _waiting() == 1  # the server-side long-poll is still waiting
        deadline = time.monotonic() + 3.0
        while _waiting() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert _waiting() == 0, "the long-poll outlived its client"
