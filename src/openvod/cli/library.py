"""The media library on the command line: ``upload``, ``pull``, ``media ls/show/edit/url/publish/
unpublish/rm``, ``sign-upload``."""

from __future__ import annotations

import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import click
from rich.table import Table

from openvod.cli.context import CliContext, json_option
from openvod.cli.output import (
    UploadBar,
    emit_json,
    error,
    note,
    print_fields,
    print_table,
    size,
    transfer_progress,
)
from openvod.client import Media, sign_upload
from openvod.errors import InvalidParameter, OpenVODError

__all__ = ["register"]


def register(main: click.Group) -> None:
    """Add this module's commands to the ``openvod`` group."""
    for command in (upload, pull, media, sign_upload_cmd):
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


def _warn_unprobed(items: Iterable[Media]) -> None:
    for m in items:
        if m.probe_error:
            note(f"warning: {m.name} ({m.file_id}) was stored, but is not a media file OpenVOD can read: "
                 f"{m.probe_error}")


def _print_media(obj: CliContext, items: list[Media], quiet: bool) -> None:
    """What ``upload`` and ``pull`` print: FileIds (``--quiet``), JSON, or a table."""
    if quiet:
        for m in items:
            click.echo(m.file_id)
    elif obj.json:
        emit_json([_summary(m) for m in items])
    elif items:
        print_table(_media_table(items))
    _warn_unprobed(items)


_quiet_option = click.option(
    "--quiet", "-q", is_flag=True, help="Print only the FileIds, one a line, and no progress: FID=$(openvod upload …)."
)
_procedure_option = click.option("--procedure", help="Task flow to run after the upload (see: openvod flows ls).")
_class_option = click.option("--class-id", type=int, help="Category id.")


@click.command("upload")
@click.argument("files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@_procedure_option
@_class_option
@click.option(
    "--signature",
    envvar="OPENVOD_UPLOAD_SIGNATURE",
    help="Upload with this client-upload signature instead of the key pair (env OPENVOD_UPLOAD_SIGNATURE).",
)
@_quiet_option
@json_option
@click.pass_obj
def upload(
    obj: CliContext,
    files: tuple[Path, ...],
    procedure: str | None,
    class_id: int | None,
    signature: str | None,
    quiet: bool,
) -> None:
    """Upload FILES (resumable: an interrupted upload continues when run again). Prints a table of
    the new media on stdout (or their FileIds with --quiet, JSON with --json); progress on stderr."""
    done: list[Media] = []
    failed = 0
    with obj.client(signature) as client, transfer_progress(quiet=quiet) as progress:
        for path in files:
            bar = UploadBar(progress, path.name, path.stat().st_size)
            try:
                item = client.upload(path, procedure=procedure, class_id=class_id, on_progress=bar.advance)
            except OpenVODError as exc:
                failed += 1
                bar.fail()
                error(exc, str(path))
                continue
            bar.finish()
            done.append(item)
    _print_media(obj, done, quiet)
    if failed:
        sys.exit(1)


@click.command("pull")
@click.argument("url")
@click.option("--name", help="The media's name (default: the URL's file name).")
@_procedure_option
@_class_option
@_quiet_option
@json_option
@click.pass_obj
def pull(obj: CliContext, url: str, name: str | None, procedure: str | None, class_id: int | None,
         quiet: bool) -> None:
    """Have the server fetch URL (http or https) and add it to the library (a pull upload)."""
    if not quiet:
        note(f"pulling {url} …")
    with obj.client() as client:
        item = client.pull_media(url, name=name, class_id=class_id, procedure=procedure)
    _print_media(obj, [item], quiet)


@click.group("media")
def media() -> None:
    """List, show, edit, share and delete media."""


@media.command("ls")
@click.option("--name", help="Case-insensitive substring of the name.")
@_class_option
@click.option("--limit", type=click.IntRange(1, 1000), default=20, show_default=True, help="Page size.")
@click.option("--marker", help="Continue after this marker (from a previous page, with the same sort).")
@click.option("--all", "all_pages", is_flag=True, help="Follow markers to the end.")
@click.option("--sort", type=click.Choice(["created", "name", "size", "duration"]), default="created",
              show_default=True, help="Sort key; ties by FileId, media without a size/duration last.")
@click.option("--asc/--desc", "ascending", default=False, help="Order  [default: desc]")
@json_option
@click.pass_obj
def media_ls(
    obj: CliContext, name: str | None, class_id: int | None, limit: int, marker: str | None, all_pages: bool,
    sort: str, ascending: bool,
) -> None:
    """List media, newest first or by --sort (a table on stdout)."""
    order = "asc" if ascending else "desc"
    with obj.client() as client:
        if all_pages:
            items = list(client.iter_media(name=name, class_id=class_id, page_size=limit, sort=sort, order=order))
            next_marker = None
        else:
            page = client.list_media(name=name, class_id=class_id, limit=limit, marker=marker, sort=sort,
                                     order=order)
            items, next_marker = page.items, page.next_marker
    if obj.json:
        emit_json({"items": [m.raw for m in items], "next_marker": next_marker})
        return
    print_table(_media_table(items))
    if next_marker:
        again = "" if sort == "created" else f" --sort {sort}"
        again += " --asc" if ascending else ""
        note(f"more: openvod media ls{again} --marker {next_marker}")


@media.command("show")
@click.argument("file_id")
@json_option
@click.pass_obj
def media_show(obj: CliContext, file_id: str) -> None:
    """Show one media: its fields and MetaData, one per line, URLs whole."""
    with obj.client() as client:
        item = client.media(file_id)
    if obj.json:
        emit_json(item.raw)
        return
    print_fields({k: v for k, v in item.raw.items() if k not in ("probe", "metadata")})
    print_fields(item.metadata or {}, prefix="metadata.")


@media.command("edit")
@click.argument("file_id")
@click.option("--name", help="New name.")
@click.option("--description", help="New description.")
@click.option("--class-id", type=int, help="New category id.")
@json_option
@click.pass_obj
def media_edit(obj: CliContext, file_id: str, name: str | None, description: str | None,
               class_id: int | None) -> None:
    """Change a media's name, description or category."""
    if name is None and description is None and class_id is None:
        raise InvalidParameter("nothing to change: give --name, --description and/or --class-id",
                               code="InvalidParameter.NothingToChange")
    with obj.client() as client:
        item = client.modify_media(file_id, name=name, description=description, class_id=class_id)
    if obj.json:
        emit_json(item.raw)
    else:
        print_fields({k: item.raw.get(k) for k in ("file_id", "name", "description", "class_id")})


@media.command("url")
@click.argument("file_id")
@click.pass_obj
def media_url(obj: CliContext, file_id: str) -> None:
    """Print the media's player URL (signed when the media is private; valid for the server's
    playback_url_ttl)."""
    with obj.client() as client:
        item = client.media(file_id)
    url = item.raw.get("play_url")
    if not url:
        raise InvalidParameter(f"media {file_id} has no player URL yet (no playable source or output)",
                               code="InvalidParameter.NotPlayable")
    click.echo(url)


def _share(obj: CliContext, file_id: str, public: bool) -> None:
    with obj.client() as client:
        item = client.set_media_public(file_id, public)
    if obj.json:
        emit_json(item.raw)
        return
    print_fields({k: item.raw.get(k) for k in ("file_id", "public", "sharing", "play_url")})


@media.command("publish")
@click.argument("file_id")
@json_option
@click.pass_obj
def media_publish(obj: CliContext, file_id: str) -> None:
    """Make a media public: its URLs are plain and do not expire (embeddable anywhere)."""
    _share(obj, file_id, True)


@media.command("unpublish")
@click.argument("file_id")
@json_option
@click.pass_obj
def media_unpublish(obj: CliContext, file_id: str) -> None:
    """Make a media private again: its URLs are signed and expire (playback_url_ttl)."""
    _share(obj, file_id, False)


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
        note(f"deleted from {file_id}: {', '.join(deleted) or 'nothing'}")


@click.command("sign-upload")
@click.option("--expire-in", type=int, default=3600, show_default=True, help="Validity in seconds.")
@_procedure_option
@_class_option
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
    """Print a client-upload signature (Tencent format) made with the key pair, for a browser or
    app to upload with. Made locally: the server is not asked."""
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
