"""A worker whose scratch disk is full fails the step with ``ResourceUnavailable.InsufficientStorage``
(retryable), not as a bad input, and works again once space returns.

The scratch space (``<data_dir>/work``) is a real 8 MiB tmpfs, filled to the last byte; the
database and objects stay on the ordinary disk, so the failure is recorded.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import make_server
from tests.disks import fill, tmpfs
from tests.integration.engine.test_engine import wait_state
from tests.tus import upload_bytes

pytestmark = pytest.mark.slow  # a server of its own on a real tmpfs, filled by a transcode


@pytest.fixture()
def scratch(tmp_path: Path) -> Iterator[Path]:
    with tmpfs(tmp_path / "scratch", "8m") as mnt:
        yield mnt


def test_full_scratch_disk_fails_the_step_as_insufficient_storage(tmp_path: Path, scratch: Path,
                                                                  small_clip: Path) -> None:
    data = tmp_path / "srv" / "data"
    data.mkdir(parents=True)
    (data / "work").symlink_to(scratch)
    srv = make_server(tmp_path / "srv", {"OPENVOD_WORKERS": "1", "OPENVOD_MAX_ATTEMPTS": "1"})
    try:
        with srv.client() as c:
            fid = upload_bytes(c, small_clip.read_bytes(), "clip.mp4")
            filler = scratch / "filler"
            fill(filler)
            r = c.post("/v1/tasks", json={"preset": "system-360p-h264", "sources": [{"file_id": fid}],
                                          "dst_key": "full.mp4"})
            assert r.status_code == 201, r.text
            t = wait_state(c, r.json()["task_id"], {"succ", "fail"}, timeout=120)
            assert t["state"] == "fail", t
            assert t["error"]["code"] == "ResourceUnavailable.InsufficientStorage", t["error"]
            assert "scratch disk is full" in t["error"]["message"]
            filler.unlink()  # space returns: the same work now succeeds
            r = c.post("/v1/tasks", json={"preset": "system-360p-h264", "sources": [{"file_id": fid}],
                                          "dst_key": "full.mp4"})
            t = wait_state(c, r.json()["task_id"], {"succ", "fail"}, timeout=120)
            assert t["state"] == "succ", t
    finally:
        srv.stop()
