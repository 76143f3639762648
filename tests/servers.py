"""An OpenVOD server inside the test process: the app ``openvod serve`` runs, without the process.

:func:`start_in_process` builds the context and app the way ``openvod serve`` does
(``build_context`` on its own data dir, the default app from ``SECRET_ID``/``SECRET_KEY``,
``create_app``) and serves it with uvicorn on a thread, on a real port, with a real SQLite
database, real local storage and, when ``OPENVOD_WORKERS`` > 0, real worker processes. Starting
one costs ~0.2 s of CPU where a subprocess costs ~2 s (the imports), and the test can reach the
server's :class:`~openvod.runtime.Context` (``srv.ctx``) to read or seed what it needs.

Use it for route and wire-format tests. A test that kills, restarts or signals the server,
measures its memory, reads its log or runs the ``openvod`` command needs the subprocess
(:func:`tests.conftest.make_server`): there the process boundary is what is under test.
Both take the same ``OPENVOD_*`` environment (:func:`tests.conftest.server_env`).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import uvicorn
from pydantic_settings import BaseSettings, EnvSettingsSource, PydanticBaseSettingsSource

from openvod.api.app import create_app
from openvod.config import Settings
from openvod.services import apps
from openvod.services.context import build_context
from tests.conftest import SECRET_ID, SECRET_KEY, free_port

if TYPE_CHECKING:
    from openvod.runtime import Context

__all__ = ["InProcessServer", "settings_from_env", "start_in_process"]



class _GivenEnv(EnvSettingsSource):
    """Settings read from a given ``OPENVOD_*`` mapping instead of ``os.environ``, with the same
    parsing (JSON for lists, ``"1"`` for true…) as the subprocess gets from its environment."""

    def __init__(self, env: Mapping[str, str]) -> None:
        self._given = {k.lower(): v for k, v in env.items()}
        super().__init__(Settings, case_sensitive=False, env_prefix="OPENVOD_")

    def _load_env_vars(self) -> Mapping[str, str | None]:
        return self._given


class _IsolatedSettings(Settings):
    """Settings from the arguments only: neither this process's environment nor an
    ``openvod.toml`` in the working directory leaks into a test's server."""

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings,)


def settings_from_env(env: Mapping[str, str], port: int) -> Settings:
    """The settings ``openvod serve --port PORT`` reads from the environment ``env``."""
    values: dict[str, Any] = _GivenEnv({k: v for k, v in env.items() if k.startswith("OPENVOD_")})()
    values["port"] = port
    return _IsolatedSettings(**values)


@dataclass
class InProcessServer:
    """A running in-process server; the same ``url``/``auth``/``client()``/``stop()`` as
    :class:`tests.conftest.ServerProc`, plus its context."""

    ctx: Context
    port: int
    env: dict[str, str]  # for ``openvod`` commands on the same data dir
    server: uvicorn.Server
    thread: threading.Thread
    secret_id: str = SECRET_ID
    secret_key: str = SECRET_KEY

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def auth(self) -> tuple[str, str]:
        return (self.secret_id, self.secret_key)

    @property
    def data_dir(self) -> Path:
        return self.ctx.settings.data_dir

    def client(self) -> httpx.Client:
        return httpx.Client(base_url=self.url, auth=self.auth, timeout=60.0)

    def stop(self) -> None:
        """Shut down as ``serve`` does on SIGTERM: finish requests, run the app's shutdown
        (workers stopped), then close the database."""
        self.server.should_exit = True
        self.thread.join(timeout=self.ctx.settings.shutdown_timeout + 15)
        assert not self.thread.is_alive(), "in-process server did not stop"
        self.ctx.db.engine.dispose()


def start_in_process(tmp: Path, env: dict[str, str]) -> InProcessServer:
    """Start a server in this process on a free port, configured by the ``OPENVOD_*`` variables
    of ``env`` (see :func:`tests.conftest.make_app_server`)."""
    tmp.mkdir(parents=True, exist_ok=True)
    port = free_port()
    settings = settings_from_env(env, port)
    ctx = build_context(settings)
    apps.ensure_default_app(ctx.db, SECRET_ID, SECRET_KEY)
    config = uvicorn.Config(create_app(ctx), host=settings.host, port=port, log_level="warning",
                            timeout_graceful_shutdown=settings.shutdown_timeout, access_log=False)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name=f"openvod-in-process-{port}", daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    delay = 0.01
    while not server.started:
        if not thread.is_alive():
            raise RuntimeError(f"in-process server on port {port} exited before becoming ready")
        if time.monotonic() > deadline:
            raise TimeoutError(f"in-process server on port {port} not ready after 30s")
        time.sleep(delay)
        delay = min(delay * 2, 0.2)
    return InProcessServer(ctx=ctx, port=port, env=env, server=server, thread=thread)
