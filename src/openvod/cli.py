"""The ``openvod`` command line: upload and manage media on a server, make upload signatures.

Machine output (``--json``, a signature) goes to stdout and nothing else does; tables, progress
bars and notes go to the terminal (stdout when it is one, else stderr). Errors print
``error: CODE: message`` on stderr and exit with status 1.

The admin commands (``serve``, ``keys``, ``apps``) live in :mod:`openvod.cli_admin`; transcoding
and events (``presets``, ``tasks``, ``transcode``, ``events``) in :mod:`openvod.cli_engine`.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import click
from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)
from rich.table import Table

from openvod.client import Client, Media, sign_upload
from openvod.errors import InvalidParameter, OpenVODError

__all__ = ["main"]

F = TypeVar("F", bound=Callable[..., Any])


@dataclass
class CliContext:
    """What the group's options resolve to; shared by every command through ``ctx.obj``."""

    server: str
    secret_id: str | None
    secret_key: str | None
    json: bool = False

    def client(self, upload_signature: str | None = None) -> Client:
        return Client(self.server, self.secret_id, self.secret_key, upload_signature)

    def keys(self) -> tuple[str, str]:
        if not self.secret_id or not self.secret_key:
            raise InvalidParameter(
                "this command needs a key pair: --secret-id/--secret-key or OPENVOD_SECRET_ID/OPENVOD_SECRET_KEY",
                code="InvalidParameter.Credentials",
            )
        return self.secret_id, self.secret_key


class _Group(click.Group):
    """Turns :class:`OpenVODError` from any command into ``error: CODE: message`` and exit 1."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except OpenVODError as exc:
            _error(exc)
            ctx.exit(1)


def _error(exc: OpenVODError, where: str = "") -> None:
    suffix = f" ({where})" if where else ""
    click.echo(f"error: {exc.code}: {exc.message}{suffix}", err=True)


def _human() -> Console:
    """Where people read: the terminal, never a pipe that expects machine output."""
    # A log file is not a narrow terminal: do not squeeze tables to 80 columns there.
    return Console() if sys.stdout.isatty() else Console(stderr=True, width=None if sys.stderr.isatty() else 120)


def _emit_json(value: object) -> None:
    click.echo(json.dumps(value, ensure_ascii=False, indent=2))


def _set_json(ctx: click.Context, _param: click.Parameter, value: bool) -> None:
    if value:
        ctx.ensure_object(CliContext).json = True


def json_option(func: F) -> F:
    """``--json`` on a command, equivalent to ``openvod --json <command>``."""
    option = click.option(
        "--json",
        is_flag=True,
        expose_value=False,
        callback=_set_json,
        help="Print machine-readable JSON on stdout.",
    )
    return option(func)


def transfer_progress() -> Progress:
    """Upload progress bars (name, bar, bytes, speed, time left) on stderr."""
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        DownloadColumn(binary_units=True),
        TransferSpeedColumn(),
        TimeRemainingColumn(),
    )
    return Progress(*columns, console=Console(stderr=True))


def _size(n: int | None) -> str:
    if n is None:
        return "-"
    value = float(n)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{n} B"


def _summary(media: Media) -> dict[str, Any]:
    source = media.source
    return {
        "file_id": media.file_id,
        "name": media.name,
        "bucket": source.bucket if source else None,
        "key": source.key if source else None,
        "size": source.size if source else None,
        "url": source.url if source else None,
        "metadata": media.metadata,
        "probe_error": media.probe_error,
    }


def _media_table(items: Iterable[Media]) -> Table:
    table = Table()
    table.add_column("FileId", no_wrap=True, min_width=19)
    table.add_column("Name", overflow="fold", min_width=12)
    for column in ("Size", "Duration", "WxH", "Created"):
        table.add_column(column, no_wrap=True)
    for m in items:
        meta = m.metadata or {}
        duration = meta.get("Duration")
        width, height = meta.get("Width"), meta.get("Height")
        table.add_row(
            m.file_id,
            m.name,
            _size(m.source.size if m.source else None),
            f"{duration:.2f}s" if isinstance(duration, int | float) else "-",
            f"{width}x{height}" if width and height else "-",
            m.created_at.strftime("%Y-%m-%d %H:%M") if m.created_at else "-",
        )
    return table


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--server",
    envvar="OPENVOD_SERVER",
    default="http://127.0.0.1:8080",
    show_default=True,
    help="Server URL.",
)
@click.option("--secret-id", envvar="OPENVOD_SECRET_ID", help="App SecretId (env OPENVOD_SECRET_ID).")
@click.option("--secret-key", envvar="OPENVOD_SECRET_KEY", help="App SecretKey (env OPENVOD_SECRET_KEY).")
@click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON on stdout.")
@click.pass_context
def main(ctx: click.Context, server: str, secret_id: str | None, secret_key: str | None, as_json: bool) -> None:
    """OpenVOD: self-hosted video on demand."""
    ctx.obj = CliContext(server=server, secret_id=secret_id, secret_key=secret_key, json=as_json)


@main.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--procedure", help="Task flow to run after the upload.")
@click.option("--class-id", type=int, help="Category id.")
@click.option(
    "--signature",
    envvar="OPENVOD_UPLOAD_SIGNATURE",
    help="Upload with this client-upload signature instead of the key pair.",
)
@json_option
@click.pass_obj
def upload(
    obj: CliContext,
    files: tuple[Path, ...],
    procedure: str | None,
    class_id: int | None,
    signature: str | None,
) -> None:
    """Upload FILES (resumable; an interrupted upload continues when run again)."""
    done: list[Media] = []
    failed = 0
    with obj.client(signature) as client, transfer_progress() as progress:
        for path in files:
            task = progress.add_task(path.name, total=path.stat().st_size)

            def advance(sent: int, total: int, task: TaskID = task) -> None:
                progress.update(task, completed=sent, total=total)

            try:
                done.append(client.upload(path, procedure=procedure, class_id=class_id, on_progress=advance))
            except OpenVODError as exc:
                failed += 1
                progress.console.print(f"error: {exc.code}: {exc.message} ({path})", markup=False)
    if obj.json:
        _emit_json([_summary(m) for m in done])
    elif done:
        _human().print(_media_table(done))
    if failed:
        sys.exit(1)


@main.group()
def media() -> None:
    """List, show and delete media."""


@media.command("ls")
@click.option("--name", help="Case-insensitive substring of the name.")
@click.option("--class-id", type=int, help="Category id.")
@click.option("--limit", type=click.IntRange(1, 1000), default=20, show_default=True, help="Page size.")
@click.option("--marker", help="Continue after this marker (from a previous page).")
@click.option("--all", "all_pages", is_flag=True, help="Follow markers to the end.")
@json_option
@click.pass_obj
def media_ls(
    obj: CliContext, name: str | None, class_id: int | None, limit: int, marker: str | None, all_pages: bool
) -> None:
    """List media, newest first."""
    with obj.client() as client:
        if all_pages:
            items = list(client.iter_media(name=name, class_id=class_id, page_size=limit))
            next_marker = None
        else:
            page = client.list_media(name=name, class_id=class_id, limit=limit, marker=marker)
            items, next_marker = page.items, page.next_marker
    if obj.json:
        _emit_json({"items": [m.raw for m in items], "next_marker": next_marker})
        return
    console = _human()
    console.print(_media_table(items))
    if next_marker:
        console.print(f"more: openvod media ls --marker {next_marker}", markup=False)


@media.command("show")
@click.argument("file_id")
@json_option
@click.pass_obj
def media_show(obj: CliContext, file_id: str) -> None:
    """Show one media."""
    with obj.client() as client:
        item = client.media(file_id)
    if obj.json:
        _emit_json(item.raw)
        return
    table = Table("Field", "Value", show_header=False)
    for key, value in item.raw.items():
        if key not in ("probe", "metadata"):
            table.add_row(key, value if isinstance(value, str) else json.dumps(value))
    for key, value in (item.metadata or {}).items():
        table.add_row(f"metadata.{key}", value if isinstance(value, str) else json.dumps(value))
    _human().print(table)


@media.command("rm")
@click.argument("file_id")
@click.option(
    "--parts",
    multiple=True,
    help="source, cover and/or outputs (repeat or comma-separate); default: everything and the record.",
)
@json_option
@click.pass_obj
def media_rm(obj: CliContext, file_id: str, parts: tuple[str, ...]) -> None:
    """Delete a media, or some of its parts."""
    wanted = [p.strip() for item in parts for p in item.split(",") if p.strip()] or None
    with obj.client() as client:
        deleted = client.delete_media(file_id, wanted)
    if obj.json:
        _emit_json({"file_id": file_id, "deleted": deleted})
    else:
        _human().print(f"deleted from {file_id}: {', '.join(deleted) or 'nothing'}", markup=False)


@main.command("sign-upload")
@click.option("--expire-in", type=int, default=3600, show_default=True, help="Validity in seconds.")
@click.option("--procedure", help="Task flow to run after the upload.")
@click.option("--class-id", type=int, help="Category id.")
@click.option("--one-time", is_flag=True, help="The signature may be used only once.")
@click.option("--source-context", help="Echoed in the upload-complete callback (<= 250 chars).")
@click.option("--session-context", help="Echoed in the procedure-state callback (<= 1000 chars).")
@json_option
@click.pass_obj
def sign_upload_cmd(
    obj: CliContext,
    expire_in: int,
    procedure: str | None,
    class_id: int | None,
    one_time: bool,
    source_context: str | None,
    session_context: str | None,
) -> None:
    """Print a client-upload signature (Tencent format) made with the key pair."""
    secret_id, secret_key = obj.keys()
    try:
        signature = sign_upload(
            secret_id,
            secret_key,
            expire_in=expire_in,
            procedure=procedure,
            class_id=class_id,
            one_time=one_time,
            source_context=source_context,
            session_context=session_context,
        )
    except ValueError as exc:
        raise InvalidParameter(str(exc), code="InvalidParameter.Signature") from exc
    if obj.json:
        _emit_json({"signature": signature})
    else:
        click.echo(signature)


# At the bottom: these modules import helpers from this one.
from openvod.cli_admin import register  # noqa: E402
from openvod.cli_engine import register as register_engine  # noqa: E402

register(main)
register_engine(main)
