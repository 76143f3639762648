"""``openvod serve``'s data-directory lock and start banner."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from openvod.cli import main
from openvod.cli.serve import LOCK_NAME, banner, lock_data_dir
from openvod.config import Settings


def test_one_holder_at_a_time_and_released_on_close(tmp_path: Path) -> None:
    first = lock_data_dir(tmp_path / "data")
    assert first is not None
    assert (tmp_path / "data" / LOCK_NAME).read_text().strip() == str(os.getpid())
    assert lock_data_dir(tmp_path / "data") is None
    first.close()
    again = lock_data_dir(tmp_path / "data")
    assert again is not None
    again.close()


def test_a_killed_holder_leaves_no_stale_lock(tmp_path: Path) -> None:
    code = ("from pathlib import Path; import time; from openvod.cli.serve import lock_data_dir; "
            f"h = lock_data_dir(Path({str(tmp_path)!r})); "
            "print('held' if h else 'busy', flush=True); time.sleep(60)")
    holder = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        assert lock_data_dir(tmp_path) is None
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait(timeout=10)
    handle = lock_data_dir(tmp_path)  # the kernel dropped the dead process's lock
    assert handle is not None
    handle.close()


def test_a_second_serve_on_the_same_data_dir_is_refused(tmp_path: Path) -> None:
    held = lock_data_dir(tmp_path / "data")
    assert held is not None
    try:
        result = CliRunner().invoke(main, ["serve", "--data-dir", str(tmp_path / "data"), "--port", "1"],
                                    env={"OPENVOD_CONFIG": str(tmp_path / "none.toml")})
    finally:
        held.close()
    assert result.exit_code == 1
    message = " ".join(result.stderr.split())
    assert f"another `openvod serve` (pid {os.getpid()}) is already using the data directory" in message
    assert "--data-dir (or OPENVOD_DATA_DIR)" in message and "--allow-shared-data-dir starts it anyway" in message


@pytest.fixture(autouse=True)
def _no_outside_settings(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in [n for n in os.environ if n.startswith("OPENVOD_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("OPENVOD_CONFIG", str(tmp_path / "none.toml"))


def _settings(tmp_path: Path, **kw: object) -> Settings:
    return Settings(data_dir=tmp_path, **kw)  # type: ignore[arg-type]


def test_banner_on_the_first_start_shows_the_new_key_pair_once(tmp_path: Path) -> None:
    text = banner(_settings(tmp_path, port=9000), "default", ("AKIDnew", "s3cret"))
    assert "console:   http://127.0.0.1:9000/" in text
    assert "API docs:  http://127.0.0.1:9000/docs" in text
    assert "OPENVOD_SECRET_ID=AKIDnew" in text and "OPENVOD_SECRET_KEY=s3cret" in text
    assert "export OPENVOD_SERVER=http://127.0.0.1:9000" in text
    assert "export OPENVOD_SECRET_ID=AKIDnew OPENVOD_SECRET_KEY=s3cret" in text


def test_banner_on_a_later_start_says_where_the_pair_comes_from(tmp_path: Path) -> None:
    text = banner(_settings(tmp_path, host="0.0.0.0", port=8080), "default", None)  # noqa: S104
    assert "console:   http://127.0.0.1:8080/" in text and "every address" in text
    assert "export OPENVOD_SECRET_ID=<SecretId> OPENVOD_SECRET_KEY=<SecretKey>" in text
    assert "openvod keys create" in text and "s3cret" not in text
    public = banner(_settings(tmp_path, public_url="https://vod.example.com", secret_id="AKIDmine",
                              secret_key="configured"), "default", None)
    assert "console:   https://vod.example.com/" in public and "export OPENVOD_SERVER=https://vod.example.com" in public
    assert "export OPENVOD_SECRET_ID=AKIDmine OPENVOD_SECRET_KEY=<SecretKey>" in public  # never the key
