"""The media library on the command line: ``upload``, ``media ls/show/rm``, ``sign-upload``."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import click
from rich.progress import TaskID
from rich.table import Table

from openvod.cli.context import CliContext, json_option
from openvod.cli.output import emit_json, human, size, transfer_progress
from openvod.client import Media, sign_upload
from openvod.errors import InvalidParameter, OpenVODError

__all__ = ["register"]


def register(main: click.Group) -> None:
    """Add this module's commands to the ``openvod`` group."""
    for command in (upload, media, sign_upload_cmd):
        main.add_command(command)


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
            size(m.source.size if m.source else None),
            f"{duration:.2f}s" if isinstance(duration, int | float) else "-",
            f"{width}x{height}" if width and height else "-",
            m.created_at.strftime("%Y-%m-%d %H:%M") if m.created_at else "-",
        )
    return table


@click.command("upload")
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
        emit_json([_summary(m) for m in done])
    elif done:
        human().print(_media_table(done))
    if failed:
        sys.exit(1)


@click.group("media")
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
        emit_json({"items": [m.raw for m in items], "next_marker": next_marker})
        return
    console = human()
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
        emit_json(item.raw)
        return
    table = Table("Field", "Value", show_header=False)
    for key, value in item.raw.items():
        if key not in ("probe", "metadata"):
            table.add_row(key, value if isinstance(value, str) else json.dumps(value))
    for key, value in (item.metadata or {}).items():
        table.add_row(f"metadata.{key}", value if isinstance(value, str) else json.dumps(value))
    human().print(table)


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
        emit_json({"file_id": file_id, "deleted": deleted})
    else:
        human().print(f"deleted from {file_id}: {', '.join(deleted) or 'nothing'}", markup=False)


@click.command("sign-upload")
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
        emit_json({"signature": signature})
    else:
        click.echo(signature)
