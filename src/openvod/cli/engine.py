"""Transcoding and events on the command line: ``presets``, ``tasks``, ``transcode``, ``events``.

Same conventions as the rest of :mod:`openvod.cli` (see :mod:`openvod.cli.output`): tables,
fields and ``--json`` on stdout, progress and notes on stderr, ``error: CODE: message`` and exit
status 1 on failure — also when a task that was waited for ends ``fail`` or ``canceled`` (it is
still printed first). States are the API's words: ``init``, ``exec``, ``succ``, ``fail``,
``canceled``.

    openvod transcode clip.mp4 --preset system-720p-h264 --wait
    openvod tasks wait TASK_ID --timeout 600
    openvod events pull --wait 5 --confirm --json
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from openvod.cli.context import CliContext, json_option
from openvod.cli.output import UploadBar, emit_json, note, print_fields, print_table, transfer_progress
from openvod.client import Client, Event, Preset, Task, TaskState
from openvod.errors import InvalidParameter, OpenVODError

__all__ = ["finish_task", "follow_task", "register", "status_text"]

_STATES = [s.value for s in TaskState]


def register(main: click.Group) -> None:
    """Add this module's commands to the ``openvod`` group."""
    for command in (presets, tasks, transcode, events):
        main.add_command(command)


# -- presets -----------------------------------------------------------------------------------


def _load_params(value: str) -> dict[str, Any]:
    """``--params``: a JSON object, or ``@FILE`` holding one."""
    text, where = value, "--params"
    if value.startswith("@"):
        where = value[1:]
        try:
            text = Path(where).read_text(encoding="utf-8")
        except OSError as exc:
            raise InvalidParameter(
                f"cannot read preset params from {where}: {exc.strerror}", code="InvalidParameter.PresetParam"
            ) from exc
    try:
        params = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InvalidParameter(
            f"{where} is not JSON: {exc.msg} at line {exc.lineno} column {exc.colno}",
            code="InvalidParameter.PresetParam",
        ) from exc
    if not isinstance(params, dict):
        raise InvalidParameter(
            f'{where} must be a JSON object like {{"f": "mp4", "VIDEO": {{...}}}}', code="InvalidParameter.PresetParam"
        )
    return params


def _preset_table(items: list[Preset]) -> Table:
    table = Table("Name", "Type", "System", "Description")
    for p in items:
        table.add_row(p.name, p.type, "yes" if p.system else "", p.description)
    return table


@click.group()
def presets() -> None:
    """List, show, create and delete transcoding presets."""


@presets.command("ls")
@click.option("--type", "type_", help="Only presets of this type (e.g. avop).")
@click.option("--names", help="Only these presets (comma-separated).")
@json_option
@click.pass_obj
def presets_ls(obj: CliContext, type_: str | None, names: str | None) -> None:
    """List the app's presets, then the system presets."""
    wanted = [n.strip() for n in names.split(",") if n.strip()] if names else None
    with obj.client() as client:
        items = client.list_presets(type=type_, names=wanted)
    if obj.json:
        emit_json({"items": [p.raw for p in items]})
    else:
        print_table(_preset_table(items))


@presets.command("show")
@click.argument("name")
@json_option
@click.pass_obj
def presets_show(obj: CliContext, name: str) -> None:
    """Show one preset with its canonical params."""
    with obj.client() as client:
        preset = client.preset(name)
    if obj.json:
        emit_json(preset.raw)
    else:
        print_fields(preset.raw)


@presets.command("create")
@click.argument("name")
@click.option("--params", "params_arg", required=True, help='JSON object, or @FILE: {"f": "mp4", "VIDEO": {...}}.')
@click.option("--description", default="", help="Free text.")
@click.option("--type", "type_", default="avop", show_default=True, help="Preset type.")
@json_option
@click.pass_obj
def presets_create(obj: CliContext, name: str, params_arg: str, description: str, type_: str) -> None:
    """Create the app's preset NAME."""
    params = _load_params(params_arg)
    with obj.client() as client:
        preset = client.create_preset(name, params, type=type_, description=description)
    if obj.json:
        emit_json(preset.raw)
    else:
        print_fields(preset.raw)


@presets.command("rm")
@click.argument("name")
@json_option
@click.pass_obj
def presets_rm(obj: CliContext, name: str) -> None:
    """Delete the app's preset NAME."""
    with obj.client() as client:
        client.delete_preset(name)
    if obj.json:
        emit_json({"name": name, "deleted": True})
    else:
        note(f"deleted preset {name}")


# -- tasks -------------------------------------------------------------------------------------


def status_text(task: Task) -> str:
    """The state in the API's words, with the queue position while queued: ``init (2 ahead)``,
    ``init (next)``, ``exec``, ``succ``, ``exec (attempt 2)``..."""
    text = str(task.state)
    if task.state == TaskState.INIT and task.queue_position is not None:
        ahead = task.queue_position
        text += f" ({ahead} ahead)" if ahead else " (next)"
    return f"{text} (attempt {task.attempts})" if task.attempts > 1 and not task.finished else text


def follow_task(client: Client, task_id: str, timeout: float | None) -> Task:
    """Wait for the task with a live bar on stderr: progress, state, queue position."""
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        TaskProgressColumn(),
        TextColumn("{task.fields[status]}"),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=Console(stderr=True)) as progress:
        bar = progress.add_task(task_id, total=100, status="")

        def show(task: Task) -> None:
            progress.update(bar, completed=task.progress, status=status_text(task))

        return client.wait_task(task_id, timeout=timeout, on_progress=show)


def finish_task(obj: CliContext, task: Task) -> None:
    """Print the task; exit 1 with its error if it did not succeed."""
    if obj.json:
        emit_json(task.raw)
    else:
        print_fields(task.raw)
    if task.state != TaskState.SUCC:
        code = task.error_code or f"FailedOperation.Task{task.state.capitalize()}"
        message = task.error_message or f"the task ended {task.state}"
        click.echo(f"error: {code}: {message} (task {task.task_id})", err=True)
        sys.exit(1)


def _tasks_table(items: list[Task]) -> Table:
    table = Table()
    table.add_column("TaskId", no_wrap=True, min_width=40)  # people copy it into the next command
    for column in ("State", "Progress", "Preset", "Created"):
        table.add_column(column, no_wrap=True)
    table.add_column("Error", overflow="fold", min_width=12)
    for t in items:
        table.add_row(
            t.task_id,
            status_text(t),
            f"{t.progress:.0f}%",
            t.preset or f"({t.kind})",
            t.created_at.strftime("%Y-%m-%d %H:%M") if t.created_at else "-",
            t.error_code or "",
        )
    return table


@click.group()
def tasks() -> None:
    """List, show, wait for, reorder and cancel tasks."""


@tasks.command("ls")
@click.option("--start", help="First day, YYYYMMDD (UTC).")
@click.option("--end", help="Last day, YYYYMMDD (UTC).")
@click.option("--state", type=click.Choice(_STATES), help="Only tasks in this state.")
@click.option("--limit", type=click.IntRange(1, 1000), default=100, show_default=True, help="Page size.")
@click.option("--marker", help="Continue after this marker (from a previous page).")
@click.option("--all", "all_pages", is_flag=True, help="Follow markers to the end.")
@json_option
@click.pass_obj
def tasks_ls(
    obj: CliContext,
    start: str | None,
    end: str | None,
    state: str | None,
    limit: int,
    marker: str | None,
    all_pages: bool,
) -> None:
    """List tasks, oldest first."""
    with obj.client() as client:
        page = client.list_tasks(start=start, end=end, state=state, limit=limit, marker=marker)
        items, next_marker = list(page.items), page.next_marker
        while all_pages and next_marker:
            page = client.list_tasks(start=start, end=end, state=state, limit=limit, marker=next_marker)
            items.extend(page.items)
            next_marker = page.next_marker if page.items else None
    if obj.json:
        emit_json({"items": [t.raw for t in items], "next_marker": next_marker, "total": page.total})
        return
    print_table(_tasks_table(items))
    note(f"{len(items)} of {page.total}")
    if next_marker:
        note(f"more: openvod tasks ls --marker {next_marker}")


@tasks.command("show")
@click.argument("task_id")
@json_option
@click.pass_obj
def tasks_show(obj: CliContext, task_id: str) -> None:
    """Show one task: state, progress, queue position, error, output."""
    with obj.client() as client:
        task = client.task(task_id)
    if obj.json:
        emit_json(task.raw)
    else:
        print_fields(task.raw)


@tasks.command("top")
@click.argument("task_id")
@json_option
@click.pass_obj
def tasks_top(obj: CliContext, task_id: str) -> None:
    """Move a queued task to the head of the queue."""
    with obj.client() as client:
        task = client.top_task(task_id)
    if obj.json:
        emit_json(task.raw)
    else:
        note(f"task {task.task_id}: {status_text(task)}")


@tasks.command("rm")
@click.argument("task_id")
@json_option
@click.pass_obj
def tasks_rm(obj: CliContext, task_id: str) -> None:
    """Cancel a queued or running task, or remove a finished one."""
    with obj.client() as client:
        result = client.delete_task(task_id)
    if obj.json:
        emit_json({"task_id": task_id, "result": result})
    else:
        note(f"task {task_id}: {result}")


_timeout_option = click.option(
    "--timeout", type=click.FloatRange(min=0), help="Give up after this many seconds (the task runs on)."
)


@tasks.command("wait")
@click.argument("task_id")
@_timeout_option
@json_option
@click.pass_obj
def tasks_wait(obj: CliContext, task_id: str, timeout: float | None) -> None:
    """Wait for a task to finish, showing its progress; exit 1 unless it succeeds."""
    with obj.client() as client:
        task = follow_task(client, task_id, timeout)
    finish_task(obj, task)


# -- transcode ---------------------------------------------------------------------------------


def _source(client: Client, src: str) -> str:
    """A local file is uploaded first (its FileId is used); else SRC is a /bucket/key or a FileId."""
    path = Path(src)
    if path.is_file():
        with transfer_progress() as progress:
            bar = UploadBar(progress, path.name, path.stat().st_size)
            try:
                media = client.upload(path, on_progress=bar.advance)
            except OpenVODError:
                bar.fail()
                raise
            bar.finish()
        return media.file_id
    if src.startswith("/") or ("/" not in src and "." not in src and src):
        return src
    raise InvalidParameter(
        f"{src}: no such local file, and not a /bucket/key path or a FileId", code="InvalidParameter.Source"
    )


@click.command()
@click.argument("src")
@click.option("--preset", required=True, help="Preset name, e.g. system-720p-h264 (see: openvod presets ls).")
@click.option("--dst-key", help="Output key (default: transcode/<task id>/<source name>.<ext>).")
@click.option("--dst-bucket", help="Output bucket (default: the server's).")
@click.option("--dst-dir", help="Output folder, used when --dst-key is not given.")
@click.option("--priority", type=click.IntRange(-100, 100), default=0, show_default=True,
              help="Higher runs first (-100 to 100).")
@click.option("--wait", "wait_", is_flag=True, help="Wait for the task, with progress; exit 1 unless it succeeds.")
@_timeout_option
@json_option
@click.pass_obj
def transcode(
    obj: CliContext,
    src: str,
    preset: str,
    dst_key: str | None,
    dst_bucket: str | None,
    dst_dir: str | None,
    priority: int,
    wait_: bool,
    timeout: float | None,
) -> None:
    """Transcode SRC (a local file, uploaded first; a /bucket/key; or a FileId) with a preset."""
    with obj.client() as client:
        task = client.create_task(
            preset=preset,
            sources=_source(client, src),
            dst_key=dst_key,
            dst_bucket=dst_bucket,
            dst_dir=dst_dir,
            priority=priority,
        )
        if wait_:
            task = follow_task(client, task.task_id, timeout)
    if wait_:
        finish_task(obj, task)
    elif obj.json:
        emit_json(task.raw)
    else:
        click.echo(task.task_id)  # TID=$(openvod transcode ...)
        note(f"task {task.task_id}: {status_text(task)}; follow it: openvod tasks wait {task.task_id}")


# -- events ------------------------------------------------------------------------------------

_SUMMARY_KEYS = ("TaskId", "State", "ErrCode", "FileId", "MediaBasicInfo")


def _event_summary(event: Event) -> str:
    parts = []
    for key in _SUMMARY_KEYS:
        value = event.payload.get(key)
        if value and not isinstance(value, dict | list):
            parts.append(f"{key}={value}")
    return " ".join(parts)


@click.group()
def events() -> None:
    """Pull and confirm the app's events (uploads, task state changes...)."""


@events.command("pull")
@click.option(
    "--wait",
    "wait_",
    type=click.FloatRange(0, 60),
    default=5.0,
    show_default=True,
    help="Seconds to wait when no event is ready (the server may cap it).",
)
@click.option("--confirm", is_flag=True, help="Confirm the printed events so they are not handed out again.")
@json_option
@click.pass_obj
def events_pull(obj: CliContext, wait_: float, confirm: bool) -> None:
    """Pull up to 16 events, oldest first; unconfirmed ones come back after a while."""
    with obj.client() as client:
        items = client.pull_events(wait=wait_)
        if obj.json:
            emit_json({"items": [e.raw for e in items]})
        else:
            table = Table()
            table.add_column("Handle", no_wrap=True)  # for: openvod events confirm HANDLE
            table.add_column("Type", no_wrap=True)
            table.add_column("Created", no_wrap=True)
            table.add_column("Summary", overflow="fold")
            for e in items:
                created = e.created_at.strftime("%Y-%m-%d %H:%M:%S") if e.created_at else "-"
                table.add_row(e.handle, e.type, created, _event_summary(e))
            print_table(table)
        # Confirm only once printed: if we die in between, the events come back (at least once).
        if confirm and items:
            confirmed = client.confirm_events(items)
            note(f"confirmed {confirmed} of {len(items)} events")


@events.command("confirm")
@click.argument("handles", nargs=-1, required=True)
@json_option
@click.pass_obj
def events_confirm(obj: CliContext, handles: tuple[str, ...]) -> None:
    """Confirm events by HANDLE (from events pull)."""
    with obj.client() as client:
        confirmed = client.confirm_events(handles)
    if obj.json:
        emit_json({"confirmed": confirmed})
    else:
        note(f"confirmed {confirmed} of {len(handles)} events")
