"""The ``openvod`` command line: upload and manage media on a server, make upload signatures.

Machine output (``--json``, a signature) goes to stdout and nothing else does; tables, progress
bars and notes go to the terminal (stdout when it is one, else stderr). Errors print
``error: CODE: message`` on stderr and exit with status 1.

The package, with no import cycles (each command module imports only ``context`` and ``output``):

* :mod:`openvod.cli.context` — :class:`CliContext` (the group's options) and ``--json``;
* :mod:`openvod.cli.output` — JSON on stdout, tables and progress for people, error lines;
* :mod:`openvod.cli.library` — ``upload``, ``media``, ``sign-upload``;
* :mod:`openvod.cli.engine` — transcoding and events: ``presets``, ``tasks``, ``transcode``, ``events``;
* :mod:`openvod.cli.admin` — operator commands on the local data directory: ``serve``, ``keys``, ``apps``.
"""

from __future__ import annotations

from typing import Any

import click

from openvod.cli import admin, engine, library
from openvod.cli.context import CliContext
from openvod.cli.output import error
from openvod.errors import OpenVODError

__all__ = ["main"]


class _Group(click.Group):
    """Turns :class:`OpenVODError` from any command into ``error: CODE: message`` and exit 1."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except OpenVODError as exc:
            error(exc)
            ctx.exit(1)


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


library.register(main)
admin.register(main)
engine.register(main)
