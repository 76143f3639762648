"""The README's tour and Python snippet, run as written against a live server — twice, since a
reader runs them again (the task flow exists by then)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from openvod.client import Client
from tests.conftest import ServerProc, make_server
from tests.media import make_clip

pytestmark = pytest.mark.slow  # a server, uploads, a flow and a transcode, twice

README = Path(__file__).resolve().parents[2] / "README.md"
DEFAULT_URL = "http://127.0.0.1:8080"


def _block(after: str, lang: str) -> str:
    """The first fenced ``lang`` block after the line ``after`` in the README."""
    text = README.read_text(encoding="utf-8")
    start = text.index(after)
    match = re.compile(rf"^```{lang}\n(.*?)^```$", re.S | re.M).search(text, start)
    assert match is not None, f"no ```{lang} block after {after!r}"
    return match.group(1)


@pytest.fixture(scope="module")
def srv(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProc]:
    server = make_server(tmp_path_factory.mktemp("readme"), {"OPENVOD_WORKERS": "1"})
    yield server
    server.stop()


@pytest.fixture()
def workdir(tmp_path: Path) -> Path:
    make_clip(tmp_path / "clip.mp4", seconds=4, width=320, height=240)
    return tmp_path


def test_tour_runs_in_order_twice(srv: ServerProc, workdir: Path) -> None:
    tour = _block("## A 5-minute tour", "sh")
    lines = tour.splitlines()
    assert not any(line.startswith("scripts/serve") for line in lines)  # the server is already running
    keys = [line for line in lines if line.startswith("export OPENVOD_SECRET_ID=")]
    assert keys == ["export OPENVOD_SECRET_ID=AKID... OPENVOD_SECRET_KEY=..."]  # the reader's own pair
    # Whatever the tour signs for must exist before it signs: the flow is created first.
    assert tour.index("flows create cover-gif") < tour.index("sign-upload --procedure cover-gif")
    script = "\n".join(line for line in lines if line not in keys)
    cli = str(Path(sys.executable).parent / "openvod")
    script = script.replace(DEFAULT_URL, srv.url).replace(".venv/bin/openvod", cli)
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPENVOD_")}
    env.update(OPENVOD_SECRET_ID=srv.secret_id, OPENVOD_SECRET_KEY=srv.secret_key, HOME=str(workdir / "home"))
    for attempt in ("first", "second"):
        result = subprocess.run(["bash", "-euo", "pipefail", "-c", script], cwd=workdir, env=env,
                                capture_output=True, text=True, timeout=600, check=False)
        assert result.returncode == 0, (attempt, result.stdout[-3000:], result.stderr[-3000:])
        assert "Traceback" not in result.stderr and "error:" not in result.stderr, (attempt, result.stderr)
        verb = "created" if attempt == "first" else "replaced"
        assert f"{verb} task flow cover-gif" in result.stderr
        assert re.search(r"^state\s+succ$", result.stdout, re.M), result.stdout  # flows run --wait's task
    with Client(srv.url, *srv.auth) as client:
        assert client.procedure("cover-gif")["name"] == "cover-gif"


def test_python_snippet_runs_twice(srv: ServerProc, workdir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    snippet = _block("From Python:", "python").replace(DEFAULT_URL, srv.url)
    monkeypatch.chdir(workdir)
    monkeypatch.setattr("openvod.client._base.DEFAULT_RESUME_STORE", workdir / "resume.json")
    for _ in range(2):
        scope = {"secret_id": srv.secret_id, "secret_key": srv.secret_key, "__name__": "readme"}
        exec(compile(snippet, str(README), "exec"), scope)
        client = scope["client"]
        assert client.task_detail(scope["task"].task_id)["ProcedureTask"]["Status"] == "FINISH"
        client.close()


def test_links_stay_in_the_repository() -> None:
    text = README.read_text(encoding="utf-8")
    targets = re.findall(r"\]\(([^)\s]+)\)", text)
    assert targets, "the README links its docs"
    for target in targets:
        assert "://" not in target and not target.startswith("//"), target
        assert (README.parent / target.split("#")[0]).exists(), target
    bare = set(re.findall(r"https?://[^\s)`'\"]+", text))
    assert {u for u in bare if not u.startswith("http://127.0.0.1:8080")} == set()  # only the local server
