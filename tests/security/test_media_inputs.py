"""A tenant's upload cannot make OpenVOD read another stored object (issue 10, item 2), end to end.

The attacker uploads an HLS playlist (or an ffconcat list) whose entry is the absolute path, or
the ``file://`` URL, of a victim's stored clip. Through the native API: the upload is accepted
as a file but its probe is refused with a clear reason (the way any unprobeable upload surfaces,
``probe_error``), and processing it fails with ``InvalidParameter.UnsupportedContainer``; the
victim's streams never appear anywhere in the attacker's answers.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import ServerProc
from tests.tus import upload_bytes


def _stored_path(server: ServerProc, data: bytes) -> Path:
    """Where the server keeps the object with these bytes (what the attacker guesses)."""
    for path in server.data_dir.rglob("*"):
        if path.is_file() and path.stat().st_size == len(data) and path.read_bytes() == data:
            return path.absolute()
    raise AssertionError("the victim's object is not in the data dir")


def _playlist(entry: str) -> bytes:
    return f"#EXTM3U\n#EXT-X-TARGETDURATION:10\n#EXTINF:2.0,\n{entry}\n#EXT-X-ENDLIST\n".encode()


@pytest.fixture(scope="module")
def victim(server: ServerProc, small_clip: Path) -> Path:
    data = small_clip.read_bytes()
    with server.client() as c:
        fid = upload_bytes(c, data, "victim.mp4")
        assert c.get(f"/v1/media/{fid}").json()["metadata"]["Duration"] > 1  # a readable clip
    return _stored_path(server, data)


def _detail(c: httpx.Client, task_id: str, timeout: float = 120) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        c.get(f"/v1/tasks/{task_id}/wait", params={"timeout": 5})
        d: dict[str, Any] = c.get(f"/v1/tasks/{task_id}/detail").json()
        if d["Status"] in ("FINISH", "ABORTED"):
            return d
        assert time.monotonic() < deadline, d


@pytest.mark.parametrize(
    ("name", "body"),
    [
        ("by-path.m3u8", lambda victim: _playlist(str(victim))),
        ("by-url.m3u8", lambda victim: _playlist(victim.as_uri())),
        ("list.mp4", lambda victim: f"ffconcat version 1.0\nfile '{victim}'\n".encode()),
    ],
)
def test_playlist_naming_another_object_is_refused(server: ServerProc, victim: Path, name: str, body: Any) -> None:
    with server.client() as c:
        fid = upload_bytes(c, body(victim), name)
        media = c.get(f"/v1/media/{fid}").json()
        assert media["probe"] is None
        assert media["media_type"] == "unknown"
        assert media["probe_error"]["code"] == "InvalidParameter.UnsupportedContainer"
        message = media["probe_error"]["message"]
        assert message.startswith("unsupported container: media/")
        assert f"/{name} is " in message
        assert "refers to other files or URLs" in message
        assert str(server.data_dir) not in message  # no server paths in answers
        assert media["metadata"]["Duration"] == 0 and media["metadata"]["Width"] == 0

        # Processing it probes again at task time and fails with the code, reading nothing.
        r = c.post(f"/v1/media/{fid}/process", json={"media_process_task": {
            "TranscodeTaskSet": [{"Definition": 100010}],
            "CoverBySnapshotTaskSet": [{"Definition": 10, "PositionType": "Time", "PositionValue": 0}]}})
        assert r.status_code == 201, r.text
        d = _detail(c, r.json()["task_id"])
        for item in d["ProcedureTask"]["MediaProcessResultSet"]:
            step = next(v for k, v in item.items() if k != "Type")
            assert step["Status"] == "FAIL", d
            assert step["ErrCodeExt"] == "InvalidParameter.UnsupportedContainer", step
            assert "unsupported container" in step["Message"] and "Traceback" not in step["Message"]
            assert step.get("Output") in (None, {}), step
