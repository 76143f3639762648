"""``openvod upload``'s output, with the client replaced by a fake (no server): what a failure
looks like, and what ``--quiet`` prints."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from openvod.cli import main
from openvod.cli.context import CliContext
from openvod.client import ApiError, Media
from openvod.client.tus import ProgressCallback


class _FakeClient:
    """Sends every byte, then fails (or succeeds) as the server's last answer would."""

    def __init__(self, fail: bool) -> None:
        self.fail = fail

    def __enter__(self) -> _FakeClient:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def upload(self, path: Path, *, on_progress: ProgressCallback | None = None, **_: Any) -> Media:
        size = path.stat().st_size
        if on_progress is not None:
            on_progress(size // 2, size)
            on_progress(size, size)  # the last chunk went out...
        if self.fail:  # ...and the server could not complete the upload
            raise ApiError(500, "InternalError.Storage", "the upload could not be stored")
        return Media.from_json({"file_id": "5285890781234567890", "name": path.name})


def _run(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, fail: bool, *args: str) -> Any:
    monkeypatch.setattr(CliContext, "client", lambda self, signature=None: _FakeClient(fail))
    clip = tmp_path / "clip.mp4"
    clip.write_bytes(b"x" * 300_000)
    return CliRunner().invoke(main, ["upload", str(clip), *args], env={"COLUMNS": "200"})


def test_a_failed_upload_never_shows_a_full_bar(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    result = _run(monkeypatch, tmp_path, True)
    assert result.exit_code == 1
    assert result.stdout == ""
    assert "error: InternalError.Storage: the upload could not be stored" in result.stderr
    assert "293.0/293.0 KiB" not in result.stderr and "100%" not in result.stderr


def test_a_finished_upload_shows_its_full_bar(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    result = _run(monkeypatch, tmp_path, False)
    assert result.exit_code == 0, result.stderr
    assert "293.0/293.0 KiB" in result.stderr  # the bar, on stderr
    assert "5285890781234567890" in result.stdout  # the table, on stdout


def test_quiet_prints_the_file_id_alone(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    result = _run(monkeypatch, tmp_path, False, "--quiet")
    assert result.exit_code == 0
    assert result.stdout == "5285890781234567890\n" and result.stderr == ""
