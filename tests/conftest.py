"""Shared fixtures: a real ``openvod serve`` process on a free port, with its own data dir, or the
same app served inside the test process (tests/servers.py) where no process boundary is tested."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

import httpx
import pytest

if TYPE_CHECKING:
    from openvod.db.session import Database
    from tests.pg import PgServer
    from tests.servers import InProcessServer

SECRET_ID = "AKIDtestdefault000000000000000000001"
SECRET_KEY = "testdefaultsecretkey0000000000001"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_http(url: str, deadline: float = 30.0, proc: subprocess.Popen[bytes] | None = None) -> None:
    """Wait for ``url`` to answer 200, with capped exponential backoff and a deadline."""
    end = time.monotonic() + deadline
    delay = 0.02
    while True:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode} before becoming ready")
        try:
            if httpx.get(url, timeout=1.0).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        if time.monotonic() > end:
            raise TimeoutError(f"{url} not ready after {deadline}s")
        time.sleep(delay)
        delay = min(delay * 2, 0.5)


class Server(Protocol):
    """What route and wire-format tests use of a server, subprocess or in-process alike."""

    secret_id: str
    secret_key: str
    env: dict[str, str]  # for ``openvod`` commands on the server's data dir

    @property
    def url(self) -> str: ...
    @property
    def port(self) -> int: ...
    @property
    def auth(self) -> tuple[str, str]: ...
    @property
    def data_dir(self) -> Path: ...
    def client(self) -> httpx.Client: ...
    def stop(self) -> None: ...


@dataclass
class ServerProc:
    """A running ``openvod serve``. ``restart()`` keeps the data dir and port."""

    data_dir: Path
    port: int
    env: dict[str, str]
    log: Path
    proc: subprocess.Popen[bytes] | None = None
    secret_id: str = SECRET_ID
    secret_key: str = SECRET_KEY
    extra_args: list[str] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def auth(self) -> tuple[str, str]:
        return (self.secret_id, self.secret_key)

    def start(self) -> None:
        out = open(self.log, "ab")  # noqa: SIM115 - handed to the child
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "openvod", "serve", "--port", str(self.port), *self.extra_args],
            env=self.env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
        out.close()
        wait_http(f"{self.url}/healthz", proc=self.proc)

    def kill(self) -> None:
        """SIGKILL: the crash case."""
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(timeout=10)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)

    def restart(self, *, crash: bool = False) -> None:
        self.kill() if crash else self.stop()
        self.start()

    def client(self) -> httpx.Client:
        return httpx.Client(base_url=self.url, auth=self.auth, timeout=60.0)


TEST_DATABASE = os.environ.get("OPENVOD_TEST_DATABASE", "sqlite")
"""The database of the tests' servers: ``sqlite`` (each server's default file in its data dir) or
``postgresql`` (a fresh database per server on ``OPENVOD_TEST_PG``; scripts/test runs the engine,
API, events and processing suites a second time so)."""
if TEST_DATABASE not in ("sqlite", "postgresql"):
    raise RuntimeError(f"OPENVOD_TEST_DATABASE must be sqlite or postgresql, not {TEST_DATABASE!r}")


def server_env(tmp: Path, extra_env: dict[str, str] | None = None) -> dict[str, str]:
    """The environment of a test's server (and of ``openvod`` commands on its data dir): this
    process's less any ``OPENVOD_*``, data under ``tmp/data``, the test key pair, no config file,
    and a fresh PostgreSQL database when the tests run on PostgreSQL."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPENVOD_")}
    env.update(
        OPENVOD_DATA_DIR=str(tmp / "data"),
        OPENVOD_SECRET_ID=SECRET_ID,
        OPENVOD_SECRET_KEY=SECRET_KEY,
        OPENVOD_CONFIG=str(tmp / "none.toml"),
        # No cover task after each video upload (on by default in production): it would add a task
        # and an FFmpeg run to every test that uploads. tests/integration/processing/test_auto_cover.py
        # turns it on.
        OPENVOD_AUTO_COVER="false",
    )
    if TEST_DATABASE == "postgresql" and "OPENVOD_DATABASE_URL" not in (extra_env or {}):
        from tests.pg import shared_server

        env["OPENVOD_DATABASE_URL"] = shared_server().create()  # dropped when the test process exits
    env.update(extra_env or {})
    return env


def server_database(srv: Server) -> Database:
    """The database of a test's server, SQLite or PostgreSQL alike (dispose it when done)."""
    from openvod.db.session import Database

    return Database(srv.env.get("OPENVOD_DATABASE_URL") or f"sqlite:///{(srv.data_dir / 'openvod.db').resolve()}")


def make_server(tmp: Path, extra_env: dict[str, str] | None = None) -> ServerProc:
    """An ``openvod serve`` subprocess: for tests where the process boundary is under test (kill,
    restart, signals, RSS, its log). Route and wire-format tests use :func:`make_app_server`."""
    tmp.mkdir(parents=True, exist_ok=True)
    env = server_env(tmp, extra_env)
    srv = ServerProc(data_dir=tmp / "data", port=free_port(), env=env, log=tmp / "server.log")
    srv.start()
    return srv


def make_app_server(tmp: Path, extra_env: dict[str, str] | None = None) -> InProcessServer:
    """The app ``openvod serve`` runs, served on a thread of this process (see tests/servers.py):
    the same settings from the same ``OPENVOD_*`` environment as :func:`make_server`, without a
    process start (~2 s of CPU each)."""
    from tests.servers import start_in_process

    return start_in_process(tmp, server_env(tmp, extra_env))


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProc]:
    """One server for the whole session (tests must not depend on an empty library)."""
    srv = make_server(tmp_path_factory.mktemp("server"))
    yield srv
    srv.stop()


@pytest.fixture()
def fresh_server(tmp_path: Path) -> Iterator[ServerProc]:
    """A server of the test's own, for tests that kill or restart it."""
    srv = make_server(tmp_path)
    yield srv
    srv.stop()


@pytest.fixture(scope="session")
def clip10(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 10 s 1280x720 H.264/AAC clip, made once per session."""
    from tests.media import make_clip

    return make_clip(tmp_path_factory.mktemp("media") / "clip10.mp4", seconds=10, width=1280, height=720)


@pytest.fixture(scope="session")
def small_clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 2 s 320x240 H.264/AAC clip."""
    from tests.media import make_clip

    return make_clip(tmp_path_factory.mktemp("media") / "small.mp4", seconds=2, width=320, height=240)


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PgServer]:
    """The PostgreSQL server of the tests (tests/pg.py); an error, never a skip, when none runs."""
    from tests.pg import PgServer

    server = PgServer()
    yield server
    server.close()


@pytest.fixture()
def pg_url(pg_server: PgServer) -> Iterator[str]:
    """A fresh PostgreSQL database, migrated, dropped after the test: its ``postgresql://`` URL."""
    with pg_server.database() as url:
        yield url


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest) -> str | None:
    """Runs the test twice: on SQLite (None: the default file in the data dir) and on a fresh
    PostgreSQL database (its URL). Give it to ``Settings(database_url=...)``."""
    if request.param == "sqlite":
        return None
    return str(request.getfixturevalue("pg_url"))
