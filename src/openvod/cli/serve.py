"""``openvod serve``: one lock per data directory, the listening socket, the start banner.

The order matters to the person starting it: a second server on the same data directory, or a
port already taken, is refused with a one-line answer before anything is migrated or printed;
the banner (where the console and the docs are, the key pair on the first start, how to point
the CLI at the server) comes once the socket listens.
"""

from __future__ import annotations

import fcntl
import os
import socket
import sys
from pathlib import Path
from typing import IO

import click

from openvod.cli.admin import data_dir_option, load
from openvod.config import Settings
from openvod.errors import OpenVODError

__all__ = ["LOCK_NAME", "banner", "lock_data_dir", "serve"]

LOCK_NAME = "openvod.lock"
_ANY_ADDRESS = ("0.0.0.0", "::", "")  # noqa: S104 - recognised, not bound


def lock_data_dir(data_dir: Path) -> IO[str] | None:
    """Hold ``<data_dir>/openvod.lock`` for the life of the process (``flock``: the kernel drops it
    when the process ends, a crash included, so there is no stale lock to clean up). Returns the
    open lock file (keep a reference), or None when another process holds it. The file records
    the holder's pid for the refusal message."""
    data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    handle = open(data_dir / LOCK_NAME, "a+", encoding="ascii")  # noqa: SIM115 - held until exit
    try:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        handle.close()
        return None
    handle.truncate(0)
    handle.write(f"{os.getpid()}\n")
    handle.flush()
    return handle


def _holder(data_dir: Path) -> str:
    try:
        pid = (data_dir / LOCK_NAME).read_text(encoding="ascii").strip()
    except OSError:
        return "another process"
    return f"another `openvod serve` (pid {pid})" if pid.isdigit() else "another process"


def _listen(host: str, port: int) -> socket.socket:
    """The listening socket, bound here so a taken port is a clear error before anything starts."""
    try:
        family, kind, proto, _name, address = socket.getaddrinfo(
            host or None, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )[0]
        sock = socket.socket(family, kind, proto)
    except OSError as exc:
        raise click.ClickException(f"cannot listen on {host}:{port}: {exc}") from exc
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(2048)
    except OSError as exc:
        sock.close()
        raise click.ClickException(
            f"cannot listen on {host}:{port}: {exc.strerror}; choose another port with --port "
            "(or OPENVOD_PORT), or stop what uses it"
        ) from exc
    return sock


def _local_url(settings: Settings) -> str:
    """The URL to open: ``public_url``, else the listen address (loopback when it is every address)."""
    if settings.public_url or settings.host not in _ANY_ADDRESS:
        return settings.base_url
    return f"http://127.0.0.1:{settings.port}"


def _cli_command() -> str:
    """How to run the CLI from here: ``.venv/bin/openvod`` in a checkout, else ``openvod``."""
    script = Path(sys.executable).parent / "openvod"
    try:
        relative = script.relative_to(Path.cwd())
    except ValueError:
        return "openvod"
    return str(relative) if script.exists() else "openvod"


def banner(settings: Settings, app_name: str, generated: tuple[str, str] | None) -> str:
    """What ``openvod serve`` prints once it listens. ``generated`` is the key pair made on this
    (first) start, shown only now."""
    url = _local_url(settings)
    lines = [
        f"OpenVOD is running on {url}"
        + (f"  (listening on every address, port {settings.port})" if settings.host in _ANY_ADDRESS else ""),
        f"  console:   {url}/   (open it in a browser; sign in with a key pair)",
        f"  API docs:  {url}/docs",
        f"  data:      {settings.data_dir.resolve()}   (app {app_name})",
        "",
    ]
    if generated is not None:
        secret_id, secret_key = generated
        lines += [
            "  The default app's key pair, shown only this once (more: openvod keys create):",
            f"    OPENVOD_SECRET_ID={secret_id}",
            f"    OPENVOD_SECRET_KEY={secret_key}",
            "",
        ]
    else:  # a configured SecretId may be shown; a SecretKey never is after the first start
        secret_id, secret_key = settings.secret_id or "<SecretId>", "<SecretKey>"
    lines += [
        "  Use it from the CLI, in another shell:",
        f"    export OPENVOD_SERVER={url}",
        f"    export OPENVOD_SECRET_ID={secret_id} OPENVOD_SECRET_KEY={secret_key}",
        f"    {_cli_command()} upload clip.mp4",
    ]
    if generated is None:
        lines.append("  (the key pair printed at the first start, or one made with `openvod keys create`)")
    lines.append("Stop it with Ctrl-C.")
    return "\n".join(lines)


@click.command()
@data_dir_option
@click.option("--host", default=None, help="Listen address (env OPENVOD_HOST, default 127.0.0.1; 0.0.0.0 for all).")
@click.option("--port", type=int, default=None, help="Listen port (env OPENVOD_PORT, default 8080).")
@click.option(
    "--allow-shared-data-dir",
    is_flag=True,
    help="Start even when another server holds the data directory's lock. Unsafe: each server clears "
    "the scratch space (work/, spool/) of the data directory at start.",
)
def serve(data_dir: Path | None, host: str | None, port: int | None, allow_shared_data_dir: bool) -> None:
    """Run OpenVOD: API, console, uploads and events; with the default executor (local) also the
    workers that encode. With OPENVOD_EXECUTOR=celery it encodes nothing itself: `openvod worker`
    processes do (see docs/scaling.md).

    One server per data directory: a second one on the same directory is refused (servers sharing
    a PostgreSQL database each get their own OPENVOD_DATA_DIR)."""
    import uvicorn

    from openvod.api.app import create_app
    from openvod.logs import configure_logging
    from openvod.services.apps import ensure_default_app
    from openvod.services.context import build_context

    settings = load(data_dir=data_dir, host=host, port=port)
    lock = lock_data_dir(settings.data_dir)
    if lock is None:
        where = settings.data_dir.resolve()
        if not allow_shared_data_dir:
            raise click.ClickException(
                f"{_holder(settings.data_dir)} is already using the data directory {where}. Stop it first, "
                "or give this server a directory of its own with --data-dir (or OPENVOD_DATA_DIR); "
                "--allow-shared-data-dir starts it anyway"
            )
        click.echo(f"warning: {_holder(settings.data_dir)} is using {where} too (--allow-shared-data-dir)", err=True)
    sock = _listen(settings.host, settings.port)
    configure_logging(settings)
    try:
        ctx = build_context(settings)
        app_info, generated = ensure_default_app(ctx.db, settings.secret_id, settings.secret_key)
    except OpenVODError as exc:
        raise click.ClickException(str(exc)) from exc
    pair = (generated.secret_id, generated.secret_key) if generated is not None else None
    click.echo(banner(settings, app_info.name, pair), err=True)
    # uvicorn handles SIGTERM/SIGINT: stops accepting, lets requests in flight finish for up to
    # shutdown_timeout seconds, cancels what is left (no request outlives it), runs shutdown.
    # log_config=None: uvicorn's records go to the root logger, in settings.log_format.
    config = uvicorn.Config(create_app(ctx), host=settings.host, port=settings.port, log_level="warning",
                            log_config=None, timeout_graceful_shutdown=settings.shutdown_timeout, access_log=False)
    uvicorn.Server(config).run(sockets=[sock])
    del lock  # held to here: the process's end releases it
