"""examples/django (the seed's Django site, ported; docs/tutorial-django.md) against a live server.

The example's own Django tests (``examples/django/videos/tests.py``) are what prove it works: the
signature view's signatures upload, GetVideoResponse processes and answers the seed's paths, the
push receiver refuses bad signatures and stores OpenVOD's real pushes, ``pull_events`` stores a
redelivered event once, and the page uploads in Chromium through the drop-in
``/sdk/vod-js-sdk-v6.js``. This runs them as a user of the example would, ``python manage.py test``
in a process of its own, pointed at a fresh ``openvod serve`` by the environment.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.browser import chromium_path
from tests.conftest import ServerProc, make_server
from tests.media import make_clip

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "django"
AXIOS_DIST = ROOT / ".cache" / "node" / "node_modules" / "axios" / "dist"
EXAMPLE_TESTS = 10  # examples/django/videos/tests.py: a test added there is counted here
SUITE_TIMEOUT = 600.0


@pytest.fixture()
def srv(tmp_path: Path) -> Iterator[ServerProc]:
    # Unconfirmed events come back after 2 s (not 30), so the redelivery test is quick.
    server = make_server(tmp_path / "server", {"OPENVOD_PULL_REDELIVER_SECONDS": "2"})
    yield server
    server.stop()


@pytest.mark.slow
def test_django_example_suite_passes(srv: ServerProc, tmp_path: Path) -> None:
    if not (AXIOS_DIST / "axios.js").is_file():
        pytest.fail("axios 0.18.0 is missing from .cache/node: run scripts/install-node-deps (scripts/test does)")
    clip = make_clip(tmp_path / "seed clip.mp4", seconds=3, width=320, height=240)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENVOD_", "DJANGO_"))}
    env.update(
        OPENVOD_SERVER=srv.url,
        OPENVOD_SECRET_ID=srv.secret_id,
        OPENVOD_SECRET_KEY=srv.secret_key,
        VOD_TEST_CLIP=str(clip),
        AXIOS_DIST=str(AXIOS_DIST),
        CHROMIUM=chromium_path(),
        DJANGO_DATABASE=str(tmp_path / "example.sqlite3"),
    )
    # run() kills and reaps the suite on timeout.
    done = subprocess.run([sys.executable, "manage.py", "test", "--noinput", "-v", "2"], cwd=EXAMPLE, env=env,
                          capture_output=True, timeout=SUITE_TIMEOUT, check=False)
    report = done.stderr.decode(errors="replace")
    assert done.returncode == 0, f"the example's tests failed:\n{report[-8000:]}"
    ran = re.search(r"^Ran (\d+) tests? in ", report, re.MULTILINE)
    assert ran is not None, report[-3000:]
    assert int(ran.group(1)) == EXAMPLE_TESTS, report[-3000:]
    assert "skipped" not in report and re.search(r"^OK$", report, re.MULTILINE), report[-3000:]
