"""Media processing on the command line (Tencent's model): ``flows`` (task flows, the API's
procedures) and ``templates``.

    openvod flows create cover-gif --file cover-gif.json --replace
    openvod flows run FILE_ID cover-gif --wait
    openvod templates ls AnimatedGraphics
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click
from rich.table import Table

from openvod.cli.context import CliContext, json_option
from openvod.cli.engine import finish_task, follow_task, status_text
from openvod.cli.output import emit_json, note, print_fields, print_table
from openvod.client import ApiError
from openvod.errors import InvalidParameter

__all__ = ["register"]

KINDS = ("Transcode", "AnimatedGraphics", "SnapshotByTimeOffset", "SampleSnapshot", "ImageSprite",
         "AdaptiveDynamicStreaming")
_EXISTS = "InvalidParameter.ExistedProcedureName"


def register(main: click.Group) -> None:
    """Add this module's commands to the ``openvod`` group."""
    main.add_command(flows)
    main.add_command(templates)


def _read_json(path: Path, what: str) -> dict[str, Any]:
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise InvalidParameter(f"cannot read {what} from {path}: {exc.strerror}", code="InvalidParameter.File") from exc
    except json.JSONDecodeError as exc:
        raise InvalidParameter(f"{path} is not JSON: {exc.msg} at line {exc.lineno} column {exc.colno}",
                               code="InvalidParameter.File") from exc
    if not isinstance(value, dict):
        raise InvalidParameter(f"{path} must hold a JSON object ({what})", code="InvalidParameter.File")
    return value


def _steps(flow: dict[str, Any]) -> str:
    return ", ".join(f"{s.get('kind')}:{s.get('definition')}" for s in flow.get("steps", []))


# -- flows -------------------------------------------------------------------------------------


@click.group()
def flows() -> None:
    """List, show, create, delete and run task flows (what runs on a file after upload: covers,
    GIFs, snapshots, sprites, transcodes, HLS)."""


@flows.command("ls")
@json_option
@click.pass_obj
def flows_ls(obj: CliContext) -> None:
    """List the app's task flows."""
    with obj.client() as client:
        items = client.list_procedures()
    if obj.json:
        emit_json({"items": items})
        return
    table = Table("Name", "Steps", "Comment", "Updated")
    for f in items:
        table.add_row(str(f.get("name")), _steps(f), str(f.get("comment", "")), str(f.get("updated_at", "")))
    print_table(table)


@flows.command("show")
@click.argument("name")
@json_option
@click.pass_obj
def flows_show(obj: CliContext, name: str) -> None:
    """Show one task flow: its MediaProcessTask and steps."""
    with obj.client() as client:
        flow = client.procedure(name)
    if obj.json:
        emit_json(flow)
    else:
        print_fields(flow)


@flows.command("create")
@click.argument("name")
@click.option(
    "--file", "-f", "path", required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help='A JSON file: the MediaProcessTask ({"CoverBySnapshotTaskSet": [...], ...}), or '
    '{"media_process_task": {...}, "comment": "..."}.',
)
@click.option("--comment", help="Free text (overrides the file's).")
@click.option("--replace", is_flag=True, help="If a flow of that name exists, replace its MediaProcessTask.")
@json_option
@click.pass_obj
def flows_create(obj: CliContext, name: str, path: Path, comment: str | None, replace: bool) -> None:
    """Create the task flow NAME from a JSON file."""
    body = _read_json(path, "a MediaProcessTask")
    task = body.get("media_process_task", body)
    if not isinstance(task, dict):
        raise InvalidParameter(f"{path}: media_process_task must be a JSON object", code="InvalidParameter.File")
    text = comment if comment is not None else str(body.get("comment", ""))
    with obj.client() as client:
        try:
            flow = client.create_procedure(name, task, comment=text)
            done = "created"
        except ApiError as exc:
            if exc.code != _EXISTS or not replace:
                if exc.code == _EXISTS:
                    exc.message += "; add --replace to replace it, or `openvod flows rm` it first"
                raise
            flow = client.update_procedure(name, media_process_task=task, comment=text)
            done = "replaced"
    if obj.json:
        emit_json(flow)
    else:
        note(f"{done} task flow {name}: {_steps(flow)}")


@flows.command("rm")
@click.argument("name")
@json_option
@click.pass_obj
def flows_rm(obj: CliContext, name: str) -> None:
    """Delete the task flow NAME."""
    with obj.client() as client:
        client.delete_procedure(name)
    if obj.json:
        emit_json({"name": name, "deleted": True})
    else:
        note(f"deleted task flow {name}")


@flows.command("run")
@click.argument("file_id")
@click.argument("name")
@click.option("--priority", type=click.IntRange(-10, 10), default=0, show_default=True,
              help="Higher runs first (-10 to 10, Tencent's range).")
@click.option("--wait", "wait_", is_flag=True, help="Wait for the task, with progress; exit 1 unless it succeeds.")
@click.option("--timeout", type=click.FloatRange(min=0), help="With --wait: give up after this many seconds.")
@json_option
@click.pass_obj
def flows_run(obj: CliContext, file_id: str, name: str, priority: int, wait_: bool, timeout: float | None) -> None:
    """Run the task flow NAME on the media FILE_ID; prints the task id (its results: openvod tasks
    show TASK_ID --json)."""
    with obj.client() as client:
        task = client.run_procedure(file_id, name, priority=priority)
        if wait_:
            task = follow_task(client, task.task_id, timeout)
    if wait_:
        finish_task(obj, task)  # exits 1 unless the task succeeded
    elif obj.json:
        emit_json(task.raw)
    else:
        click.echo(task.task_id)
        note(f"task {task.task_id}: {status_text(task)}; follow it: openvod tasks wait {task.task_id}")


# -- templates ---------------------------------------------------------------------------------

def _canonical_kind(_ctx: click.Context, _param: click.Parameter, value: str) -> str:
    for kind in KINDS:
        if kind.lower() == value.lower():
            return kind
    raise click.BadParameter(f"{value!r} is not a template kind; one of: {', '.join(KINDS)}")


_kind = click.argument("kind", metavar="KIND", callback=_canonical_kind)


@click.group()
def templates() -> None:
    """List, show, create and delete processing templates (the numbered Definitions task flows
    name: Transcode, AnimatedGraphics, SnapshotByTimeOffset, SampleSnapshot, ImageSprite,
    AdaptiveDynamicStreaming)."""


@templates.command("ls")
@_kind
@click.option("--type", "type_", type=click.Choice(["Preset", "Custom"]),
              help="Preset: the system's only; Custom: the app's only.")
@json_option
@click.pass_obj
def templates_ls(obj: CliContext, kind: str, type_: str | None) -> None:
    """List the templates of KIND: the system's, then the app's."""
    with obj.client() as client:
        items = client.list_templates(kind, type=type_)
    if obj.json:
        emit_json({"items": items})
        return
    table = Table("Definition", "Type", "Name", "Comment")
    for t in items:
        table.add_row(str(t.get("definition")), str(t.get("type", "")), str(t.get("name", "")),
                      str(t.get("comment", "")))
    print_table(table)


@templates.command("show")
@_kind
@click.argument("definition", type=int)
@json_option
@click.pass_obj
def templates_show(obj: CliContext, kind: str, definition: int) -> None:
    """Show one template of KIND by its DEFINITION number."""
    with obj.client() as client:
        template = client.template(kind, definition)
    if obj.json:
        emit_json(template)
    else:
        print_fields(template)


@templates.command("create")
@_kind
@click.option(
    "--file", "-f", "path", required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="A JSON file with the template's params (e.g. for AnimatedGraphics: "
    '{"Format": "gif", "Width": 320, "Fps": 10}).',
)
@click.option("--name", default="", help="A name for people.")
@click.option("--comment", default="", help="Free text.")
@json_option
@click.pass_obj
def templates_create(obj: CliContext, kind: str, path: Path, name: str, comment: str) -> None:
    """Create an app template of KIND; prints its new Definition number."""
    params = _read_json(path, "template params")
    with obj.client() as client:
        template = client.create_template(kind, params, name=name, comment=comment)
    if obj.json:
        emit_json(template)
    else:
        click.echo(template.get("definition"))


@templates.command("rm")
@_kind
@click.argument("definition", type=int)
@json_option
@click.pass_obj
def templates_rm(obj: CliContext, kind: str, definition: int) -> None:
    """Delete the app template of KIND numbered DEFINITION (refused while a flow uses it)."""
    with obj.client() as client:
        client.delete_template(kind, definition)
    if obj.json:
        emit_json({"kind": kind, "definition": definition, "deleted": True})
    else:
        note(f"deleted {kind} template {definition}")
