"""A new user's first run: a fresh clone, ``scripts/serve``, the banner, ``curl /`` — and a
``.venv`` holding what the server needs and none of the test tools.

The clone is of this repository's HEAD with the working tree's uncommitted changes laid over it
(in CI, where the tree is clean, that is HEAD itself), so the test checks the code under test.
``scripts/serve`` makes its own ``.venv`` there; pip's settings and cache are this machine's
(``PIP_*``, ``~/.cache/pip``), so the packages come from the populated cache or local wheels.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import free_port

pytestmark = pytest.mark.slow  # creates a virtualenv and installs OpenVOD into it

ROOT = Path(__file__).resolve().parents[2]
BANNER_END = "Stop it with Ctrl-C."
TEST_ONLY = ("pytest", "moto", "playwright", "mypy", "ruff", "hypothesis", "schemathesis", "celery", "psycopg")


def _git(*args: str, cwd: Path = ROOT) -> str:
    return subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=True, timeout=120).stdout


def _clone(dest: Path) -> None:
    """``git clone`` of HEAD, then the working tree's changes (modified, new, deleted files)."""
    _git("clone", "--quiet", "--no-hardlinks", str(ROOT), str(dest))
    changed = _git("ls-files", "--modified", "--others", "--exclude-standard", "-z").split("\0")
    for name in filter(None, changed):
        source = ROOT / name
        if source.is_file():
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, dest / name)
    for name in filter(None, _git("ls-files", "--deleted", "-z").split("\0")):
        (dest / name).unlink(missing_ok=True)


def _env(tmp: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENVOD_", "VIRTUAL_ENV"))}
    venv_bin = str(ROOT / ".venv" / "bin")  # not this test's venv: the clone must make its own
    env["PATH"] = os.pathsep.join(p for p in env.get("PATH", "").split(os.pathsep) if p != venv_bin)
    env["OPENVOD_CONFIG"] = str(tmp / "none.toml")
    return env


def _wait_for(log: Path, text: str, proc: subprocess.Popen[bytes], deadline: float) -> str:
    delay = 0.1
    while time.monotonic() < deadline:
        out = log.read_text(errors="replace")
        if text in out:
            return out
        if proc.poll() is not None:
            pytest.fail(f"scripts/serve exited with {proc.returncode}:\n{out[-4000:]}")
        time.sleep(delay)
        delay = min(delay * 2, 2.0)
    pytest.fail(f"no {text!r} within the deadline:\n{log.read_text(errors='replace')[-4000:]}")


@pytest.fixture()
def clone(tmp_path: Path) -> Path:
    dest = tmp_path / "openvod"
    _clone(dest)
    assert not (dest / ".venv").exists()
    return dest


@pytest.fixture()
def serving(clone: Path, tmp_path: Path) -> Iterator[tuple[Path, int, str, float]]:
    """``scripts/serve --port P`` in the clone: (clone, port, its output up to the banner, seconds)."""
    port = free_port()
    log = tmp_path / "serve.log"
    started = time.monotonic()
    with open(log, "wb") as out:
        proc = subprocess.Popen(["scripts/serve", "--port", str(port)], cwd=clone, env=_env(tmp_path),
                                stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        text = _wait_for(log, BANNER_END, proc, started + 900)
        yield clone, port, text, time.monotonic() - started
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=10)


def test_fresh_clone_serves_with_a_banner_and_a_runtime_only_venv(
    serving: tuple[Path, int, str, float], tmp_path: Path
) -> None:
    clone, port, output, seconds = serving
    url = f"http://127.0.0.1:{port}"
    lines = output.splitlines()
    assert lines[0] == "installing OpenVOD into .venv… (a minute or two the first time)", lines[:3]
    assert "Traceback" not in output and "Warning" not in output, output
    assert f"OpenVOD is running on {url}" in output
    assert f"console:   {url}/" in output and f"API docs:  {url}/docs" in output
    assert "OPENVOD_SECRET_ID=AKID" in output and "OPENVOD_SECRET_KEY=" in output  # first start: the pair
    assert f"export OPENVOD_SERVER={url}" in output
    assert ".venv/bin/openvod upload clip.mp4" in output
    print(f"fresh clone to banner: {seconds:.1f} s")  # shown with -s; the report quotes it

    pointer = httpx.get(f"{url}/", timeout=10)
    assert pointer.status_code == 200
    body = pointer.json()
    assert (body["console"], body["docs"], body["api"]) == (f"{url}/", f"{url}/docs", f"{url}/v1")

    packages = json.loads(subprocess.run([str(clone / ".venv/bin/python"), "-m", "pip", "list", "--format=json"],
                                         capture_output=True, text=True, check=True, timeout=120).stdout)
    names = {p["name"].lower() for p in packages}
    assert {"openvod", "fastapi", "uvicorn", "av"} <= names
    assert names.isdisjoint(TEST_ONLY), sorted(names & set(TEST_ONLY))
    probe = subprocess.run([str(clone / ".venv/bin/python"), "-c", "import pytest"], capture_output=True, timeout=60)
    assert probe.returncode != 0

    # Again, while it runs: no reinstall (the stamp), and the data directory is taken.
    again = subprocess.run(["scripts/serve", "--port", str(free_port())], cwd=clone, env=_env(tmp_path),
                           capture_output=True, text=True, timeout=120)
    assert again.returncode == 1
    assert "installing" not in again.stderr
    assert "is already using the data directory" in again.stderr and "--allow-shared-data-dir" in again.stderr
