"""A task's own callback (cbUrl) and live progress."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from openvod.client.webhooks import verify_signature
from tests.conftest import ServerProc
from tests.integration.engine.test_engine import FAST, _long_transcode, engine, noop, wait_state  # noqa: F401
from tests.integration.events.conftest import Receiver, receiver  # noqa: F401


@pytest.mark.slow
def test_task_callback_gets_each_state_signed(engine: ServerProc, receiver: Receiver) -> None:  # noqa: F811
    receiver.start()
    with engine.client() as c:
        secret = c.get("/v1/app/callback").json()["secret"]
        tid = noop(c, 0.2, cb_url=receiver.url, ext_param="mine")
        wait_state(c, tid, {"succ"})
        reqs = receiver.wait_for(3)
    bodies = [json.loads(r.body) for r in reqs]
    # pushes go out concurrently, so arrival order is not guaranteed (receivers order by created_at)
    assert sorted(b["payload"]["State"] for b in bodies) == ["exec", "init", "succ"]
    assert all(b["type"] == "TaskStateChanged" and b["payload"]["TaskId"] == tid for b in bodies)
    assert all(b["payload"]["ExtParam"] == "mine" for b in bodies)
    for r in reqs:
        assert verify_signature(secret, r.headers["openvod-timestamp"], r.body, r.headers["openvod-signature"])


def test_link_local_cb_url_refused(engine: ServerProc) -> None:  # noqa: F811
    with engine.client() as c:
        r = c.post("/v1/tasks", json={"kind": "noop", "cb_url": "http://169.254.169.254/x"})
        assert r.status_code == 400 and r.json()["error"]["code"] == "InvalidParameter.CbUrl"


@pytest.mark.slow
def test_progress_rises_while_running(engine: ServerProc, clip10: Path) -> None:  # noqa: F811
    with engine.client() as c:
        tid = _long_transcode(c, clip10, "progress.mp4")
        seen: list[float] = []
        deadline = time.monotonic() + 120
        while (t := c.get(f"/v1/tasks/{tid}").json())["state"] in ("init", "exec"):
            if t["state"] == "exec":
                seen.append(t["progress"])
            assert time.monotonic() < deadline
            time.sleep(0.3)
        assert t["state"] == "succ" and t["progress"] == 100
    intermediate = [p for p in seen if 0 < p < 100]
    assert intermediate, f"no progress between 0 and 100 was visible: {seen}"
    assert seen == sorted(seen)
