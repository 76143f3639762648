"""Operator commands that work on the local data directory: ``worker``, ``keys``, ``apps``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from openvod.config import Settings, load_settings
from openvod.errors import OpenVODError

__all__ = ["data_dir_option", "load", "register"]

data_dir_option = click.option("--data-dir", type=click.Path(path_type=Path), default=None,
                               help="Data directory (env OPENVOD_DATA_DIR, default ./openvod-data).")
_json = click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON on stdout.")


def load(**kw: Any) -> Settings:
    """The settings, with flags given as ``kw``; a bad value is a one-line error."""
    try:
        return load_settings(**kw)
    except ValueError as exc:
        raise click.ClickException(f"bad configuration: {exc}") from exc


def _emit(as_json: bool, data: Any, human: str) -> None:
    if as_json:
        click.echo(json.dumps(data, indent=2, default=str))
    else:
        click.echo(human)


@click.command()
@click.option("--data-dir", type=click.Path(path_type=Path), default=None,
              help="The worker's scratch space (env OPENVOD_DATA_DIR); it holds no media after a step.")
@click.option("--concurrency", "-c", type=click.IntRange(1, 256), default=None,
              help="Steps run at once (pool processes); default: OPENVOD_WORKERS.")
@click.option("--queues", "-Q", default=None, help="Celery queues to consume (default: OPENVOD_CELERY_QUEUE).")
@click.option("--loglevel", default="INFO", show_default=True,
              type=click.Choice(["DEBUG", "INFO", "WARNING", "ERROR"], case_sensitive=False),
              help="The worker's log level.")
@click.option("--hostname", "-n", default=None, help="The Celery node name (default openvod-PID@HOST).")
def worker(data_dir: Path | None, concurrency: int | None, queues: str | None, loglevel: str,
           hostname: str | None) -> None:
    """Run a Celery worker that encodes (OPENVOD_EXECUTOR=celery): it takes steps from the shared
    database through the broker (OPENVOD_BROKER_URL), reads sources from and writes outputs to
    the shared storage (OPENVOD_STORAGE=s3). SIGTERM finishes the running steps, then exits."""
    from openvod.engine.celery_executor import run_worker
    from openvod.services.context import worker_context

    settings = load(data_dir=data_dir)
    if settings.executor != "celery":
        raise click.ClickException("`openvod worker` needs OPENVOD_EXECUTOR=celery and OPENVOD_BROKER_URL")
    if settings.db_url.startswith("sqlite"):
        click.echo("warning: a worker on SQLite must share the server's database file (one machine only); "
                   "use OPENVOD_DATABASE_URL=postgresql://... across machines", err=True)
    try:
        run_worker(settings, worker_context, concurrency=concurrency or max(1, settings.workers), queues=queues,
                   loglevel=loglevel.upper(), hostname=hostname)
    except OpenVODError as exc:
        raise click.ClickException(str(exc)) from exc


@click.group()
def keys() -> None:
    """Manage key pairs (SecretId/SecretKey) in the local data directory."""


@keys.command("create")
@data_dir_option
@click.option("--app", default=None, help="App id or name (default: the default app).")
@click.option("--description", default="", help="Free text, e.g. who uses the key.")
@_json
def keys_create(data_dir: Path | None, app: str | None, description: str, as_json: bool) -> None:
    """Create a key pair; the secret is shown only now."""
    from openvod.services import apps

    k = _run(lambda ctx: apps.create_key(ctx.db, app, description), data_dir)
    _emit(as_json, {"secret_id": k.secret_id, "secret_key": k.secret_key, "app_id": k.app_id},
          f"SecretId:  {k.secret_id}\nSecretKey: {k.secret_key}\napp:       {k.app_id}")


@keys.command("list")
@data_dir_option
@_json
def keys_list(data_dir: Path | None, as_json: bool) -> None:
    """List key pairs (without their secrets)."""
    from openvod.services import apps

    ks = _run(lambda ctx: apps.list_keys(ctx.db), data_dir)
    rows = [{"secret_id": k.secret_id, "app_id": k.app_id, "state": k.state, "description": k.description,
             "last_used_at": k.last_used_at} for k in ks]
    _emit(as_json, rows, "\n".join(f"{r['secret_id']}  {r['app_id']}  {r['state']}  {r['description']}" for r in rows))


@keys.command("disable")
@data_dir_option
@click.argument("secret_id")
@_json
def keys_disable(data_dir: Path | None, secret_id: str, as_json: bool) -> None:
    """Disable the key pair SECRET_ID: requests signed with it are refused."""
    from openvod.services import apps

    k = _run(lambda ctx: apps.disable_key(ctx.db, secret_id), data_dir)
    _emit(as_json, {"secret_id": k.secret_id, "state": k.state}, f"{k.secret_id} disabled")


@click.group()
def apps_group() -> None:
    """Manage apps (tenants; Tencent's SubAppId)."""


@apps_group.command("create")
@data_dir_option
@click.argument("name")
@_json
def apps_create(data_dir: Path | None, name: str, as_json: bool) -> None:
    """Create an app with its first key pair."""
    from openvod.services import apps

    a, k = _run(lambda ctx: apps.create_app(ctx.db, name), data_dir)
    _emit(as_json, {"app_id": a.id, "name": a.name, "sub_app_id": a.sub_app_id,
                    "secret_id": k.secret_id, "secret_key": k.secret_key},
          f"app {a.name} ({a.id}, SubAppId {a.sub_app_id})\nSecretId:  {k.secret_id}\nSecretKey: {k.secret_key}")


@apps_group.command("list")
@data_dir_option
@_json
def apps_list(data_dir: Path | None, as_json: bool) -> None:
    """List apps."""
    from openvod.services import apps

    rows = [a.__dict__ for a in _run(lambda ctx: apps.list_apps(ctx.db), data_dir)]
    _emit(as_json, rows, "\n".join(f"{r['id']}  {r['name']}  SubAppId {r['sub_app_id']}" for r in rows))


@click.command("recount-tasks")
@data_dir_option
@_json
def recount_tasks(data_dir: Path | None, as_json: bool) -> None:
    """Count every app's tasks again for list totals (the task tally, kept by database triggers:
    needed only after changing the task table with its triggers off)."""
    from openvod.services import task_counts

    n = _run(lambda ctx: task_counts.rebuild(ctx.db.engine), data_dir)
    _emit(as_json, {"tasks": n}, f"{n} tasks counted")


def _run(fn: Any, data_dir: Path | None) -> Any:
    from openvod.services.apps import ensure_default_app
    from openvod.services.context import build_context

    settings = load(data_dir=data_dir)
    try:
        ctx = build_context(settings)
        _app, generated = ensure_default_app(ctx.db, settings.secret_id, settings.secret_key)
        if generated is not None:
            click.echo(f"Created the default app; its key pair (shown once): {generated.secret_id} "
                       f"{generated.secret_key}", err=True)
        return fn(ctx)
    except OpenVODError as exc:
        raise click.ClickException(str(exc)) from exc


def register(group: click.Group) -> None:
    """Add the operator commands (not ``serve``: :mod:`openvod.cli.serve`) to the ``openvod`` group."""
    group.add_command(worker)
    group.add_command(keys)
    group.add_command(apps_group, name="apps")
    group.add_command(recount_tasks)
