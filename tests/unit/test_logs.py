"""openvod/logs.py: text or JSON lines, as `openvod serve` and `openvod worker` set them up."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from openvod.config import Settings
from openvod.logs import configure_logging
from tests.conftest import free_port


@pytest.fixture(autouse=True)
def _restore_root_logger() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


def _lines(err: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in err.splitlines() if line.strip()]


def test_json_lines_with_exception(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging(Settings(log_format="json"))
    log = logging.getLogger("openvod.test")
    log.info("hello %s\nsecond line", "wörld")
    try:
        raise ValueError("boom")
    except ValueError:
        log.exception("step %d failed", 12)
    log.debug("below the level")
    first, second = _lines(capsys.readouterr().err)
    assert first["message"] == "hello wörld\nsecond line"
    assert first["level"] == "INFO" and first["logger"] == "openvod.test" and "exception" not in first
    assert first["time"].endswith("Z") and len(first["time"]) == len("2025-01-31T12:00:00.123Z")
    assert second["level"] == "ERROR" and second["message"] == "step 12 failed"
    assert second["exception"].startswith("Traceback") and "ValueError: boom" in second["exception"]
    assert set(second) == {"time", "level", "logger", "message", "exception"}


def test_text_by_default_and_reconfigurable(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging(Settings(log_format="json"))
    configure_logging(Settings(), "WARNING")  # replaces the handler: one line per record, in text
    logging.getLogger("openvod.test").warning("careful")
    logging.getLogger("openvod.test").info("quiet")
    err = capsys.readouterr().err
    assert err.count("careful") == 1 and "quiet" not in err
    assert err.rstrip().endswith("WARNING openvod.test: careful") and not err.startswith("{")


def test_log_format_is_checked() -> None:
    with pytest.raises(ValueError, match="log_format"):
        Settings(log_format="xml")  # type: ignore[arg-type]


def test_serve_logs_in_the_configured_format(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import uvicorn

    from openvod.cli import main

    def fake_run(server: uvicorn.Server, *_a: Any, **_kw: Any) -> None:  # serve's last call: log as a request would
        assert server.config.log_config is None  # uvicorn's own records propagate to the root logger's handler
        logging.getLogger("openvod.api").warning("served")

    monkeypatch.setattr(uvicorn.Server, "run", fake_run)
    env = {"OPENVOD_DATA_DIR": str(tmp_path / "data"), "OPENVOD_CONFIG": str(tmp_path / "none.toml"),
           "OPENVOD_LOG_FORMAT": "json", "OPENVOD_WORKERS": "0", "OPENVOD_PORT": str(free_port())}
    result = CliRunner().invoke(main, ["serve"], env=env, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    records = [json.loads(line) for line in result.stderr.splitlines() if line.startswith("{")]
    assert {"logger": "openvod.api", "message": "served", "level": "WARNING"}.items() <= records[-1].items()
