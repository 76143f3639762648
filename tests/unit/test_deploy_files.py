"""deploy/: the compose file, the Dockerfile, the systemd units and the example env file name only
real settings with valid values, and have the shape docs/scaling.md describes. Docker is not
needed: the files are parsed, and the units checked with ``systemd-analyze verify`` when present."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from openvod.config import Settings
from tests.servers import settings_from_env

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
UNITS = sorted((DEPLOY / "systemd").glob("*.service"))
_NAME = re.compile(r"\bOPENVOD_[A-Z0-9_]*[A-Z0-9]\b")  # not a family such as OPENVOD_S3_*
_NOT_FIELDS = {"OPENVOD_CONFIG"}  # read by config._config_file: where the settings file is
_INTERPOLATION = re.compile(r"\$\{(\w+)(?::?-([^}]*))?\}")


def _compose() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    return data


def _interpolate(value: object) -> str | None:
    """A compose value as the container gets it with nothing set in the environment or .env
    (None: a variable without a default, left unset)."""
    text = str(value)
    if any(m.group(2) is None for m in _INTERPOLATION.finditer(text)):
        return None
    return _INTERPOLATION.sub(lambda m: m.group(2), text).replace("$$", "$")


def _dockerfile_env() -> dict[str, str]:
    text = (DEPLOY / "Dockerfile").read_text().replace("\\\n", " ")
    env: dict[str, str] = {}
    for line in text.splitlines():
        if line.startswith("ENV "):
            env.update(pair.split("=", 1) for pair in line[4:].split())  # type: ignore[misc]
    return env


def _service_env(name: str) -> dict[str, str]:
    env = {k: v for k, v in _dockerfile_env().items() if k.startswith("OPENVOD_")}
    for key, raw in (_compose()["services"][name].get("environment") or {}).items():
        value = _interpolate(raw)
        if value is not None:
            env[key] = value
    return env


@pytest.mark.parametrize("path", [DEPLOY / "compose.yaml", DEPLOY / "Dockerfile", DEPLOY / "openvod.env.example",
                                  *UNITS], ids=lambda p: p.name)
def test_every_openvod_variable_is_a_setting(path: Path) -> None:
    names = set(_NAME.findall(path.read_text())) - _NOT_FIELDS
    unknown = {n for n in names if n.removeprefix("OPENVOD_").lower() not in Settings.model_fields}
    assert not unknown, f"{path.name} names settings that do not exist: {sorted(unknown)}"


def test_compose_has_the_scale_out_shape() -> None:
    services = _compose()["services"]
    assert set(services) == {"api", "worker", "postgres", "redis", "s3"}
    assert all("healthcheck" in s for s in services.values())
    api, worker = services["api"], services["worker"]
    assert api["command"] == ["serve"] and worker["command"][0] == "worker"
    assert worker["deploy"]["replicas"] == 2
    for s in (api, worker):
        assert s["build"]["dockerfile"] == "deploy/Dockerfile"
        assert all(s["depends_on"][d]["condition"] == "service_healthy" for d in ("postgres", "redis", "s3"))
    # Workers do not migrate the database: they start once the API server (which does) is healthy.
    assert worker["depends_on"]["api"]["condition"] == "service_healthy"
    # One scratch volume per replica: a starting worker empties its scratch dir.
    assert worker["volumes"] == ["/var/lib/openvod"]
    assert api["stop_grace_period"] and worker["stop_grace_period"] == "1h"


@pytest.mark.parametrize("service", ["api", "worker"])
def test_compose_settings_are_valid(service: str) -> None:
    env = _service_env(service)
    settings = settings_from_env(env, 8080)
    assert settings.executor == "celery" and settings.storage == "s3" and settings.log_format == "json"
    assert settings.db_url.startswith("postgresql://") and settings.broker_url == "redis://redis:6379/0"
    assert str(settings.data_dir) == "/var/lib/openvod"


def test_compose_wires_the_services_together() -> None:
    services = _compose()["services"]
    env = _service_env("api")
    assert env["OPENVOD_BROKER_URL"].startswith("redis://redis:")
    assert "@postgres:5432/" in env["OPENVOD_DATABASE_URL"]
    assert env["OPENVOD_S3_ENDPOINT_URL"] == "http://s3:5000"
    pg = services["postgres"]["environment"]
    user, password, db = pg["POSTGRES_USER"], _interpolate(pg["POSTGRES_PASSWORD"]), pg["POSTGRES_DB"]
    assert env["OPENVOD_DATABASE_URL"] == f"postgresql://{user}:{password}@postgres:5432/{db}"
    assert services["api"]["ports"] == ["8080:8080"] and env["OPENVOD_HOST"] == "0.0.0.0"


def test_the_image_installs_the_scale_extra() -> None:
    text = (DEPLOY / "Dockerfile").read_text()
    assert [ln for ln in text.splitlines() if ln.startswith("FROM ")] == ["FROM python:3.11-slim"]
    assert 'pip install ".[scale]"' in text and 'ENTRYPOINT ["openvod"]' in text and "USER openvod" in text


def test_example_env_file_is_valid() -> None:
    env = {}
    for line in (DEPLOY / "openvod.env.example").read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            key, sep, value = line.partition("=")
            assert sep, f"not KEY=value: {line!r}"
            env[key] = value
    settings = settings_from_env(env, 8080)
    assert settings.executor == "celery" and settings.log_format == "json"


def _unit(path: Path) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for line in path.read_text().splitlines():
        if "=" in line and not line.startswith(("#", "[")):
            key, _, value = line.partition("=")
            out.setdefault(key, []).append(value)
    return out


@pytest.mark.parametrize("path", UNITS, ids=lambda p: p.name)
def test_units_stop_gracefully_and_are_hardened(path: Path) -> None:
    unit = _unit(path)
    for key, value in {"KillSignal": "SIGTERM", "KillMode": "mixed", "Restart": "on-failure",
                       "EnvironmentFile": "/etc/openvod/openvod.env", "NoNewPrivileges": "yes",
                       "ProtectSystem": "strict", "PrivateTmp": "yes", "User": "openvod"}.items():
        assert unit[key] == [value], key
    data_dir = next(v for v in unit["Environment"] if v.startswith("OPENVOD_DATA_DIR=")).partition("=")[2]
    assert unit["ReadWritePaths"] == [data_dir]
    assert unit["ExecStart"][0].startswith("/opt/openvod/bin/openvod ")


def test_worker_unit_waits_longer_than_a_step() -> None:
    unit = _unit(DEPLOY / "systemd" / "openvod-worker@.service")
    assert unit["ExecStart"] == ["/opt/openvod/bin/openvod worker"]
    assert unit["TimeoutStopSec"] == ["1h"]
    assert "%i" in unit["Environment"][0]  # a scratch dir per instance


def test_units_pass_systemd_analyze_verify(tmp_path: Path) -> None:
    # verify checks that ExecStart's binary exists: point it at this environment's openvod.
    openvod = Path(sys.executable).parent / "openvod"
    names = []
    for path in UNITS:
        name = path.name.replace("@.", "@1.")  # a template is verified as an instance
        (tmp_path / name).write_text(path.read_text().replace("/opt/openvod/bin/openvod", str(openvod)))
        names.append(str(tmp_path / name))
    r = subprocess.run(["systemd-analyze", "verify", *names], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0 and not r.stderr.strip() and not r.stdout.strip(), r.stderr + r.stdout
