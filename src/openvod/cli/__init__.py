"""The ``openvod`` command line: upload and manage media on a server, process it, make upload
signatures, and run the server.

stdout carries what a command produces (tables, fields, ``--json``, FileIds with ``--quiet``, a
signature, a URL); progress bars, notes and errors go to stderr. Errors print
``error: CODE: message`` (and a ``hint:`` line when there is something to do) and exit with
status 1. States are the API's words (``init``, ``exec``, ``succ``, ``fail``, ``canceled``).

The package, with no import cycles:

* :mod:`openvod.cli.context` — :class:`CliContext` (the group's options) and ``--json``;
* :mod:`openvod.cli.output` — what goes to stdout and stderr, tables, error lines and hints;
* :mod:`openvod.cli.library` — ``upload``, ``pull``, ``media``, ``sign-upload``;
* :mod:`openvod.cli.engine` — transcoding and events: ``presets``, ``tasks``, ``transcode``, ``events``;
* :mod:`openvod.cli.processing` — ``flows`` and ``templates`` (it follows tasks with ``engine``'s helpers);
* :mod:`openvod.cli.admin` — operator commands on the local data directory: ``worker``, ``keys``, ``apps``;
* :mod:`openvod.cli.serve` — ``serve``: the data directory's lock, the socket, the start banner.
"""

from __future__ import annotations

from typing import Any

import click

from openvod.cli import admin, engine, library, processing
from openvod.cli import serve as serve_cmd
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
    help="Server URL (env OPENVOD_SERVER).",
)
@click.option("--secret-id", envvar="OPENVOD_SECRET_ID", help="App SecretId (env OPENVOD_SECRET_ID).")
@click.option("--secret-key", envvar="OPENVOD_SECRET_KEY", help="App SecretKey (env OPENVOD_SECRET_KEY).")
@click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON on stdout.")
@click.pass_context
def main(ctx: click.Context, server: str, secret_id: str | None, secret_key: str | None, as_json: bool) -> None:
    """OpenVOD: self-hosted video on demand."""
    ctx.obj = CliContext(server=server, secret_id=secret_id, secret_key=secret_key, json=as_json)


library.register(main)
processing.register(main)
engine.register(main)
main.add_command(serve_cmd.serve)
admin.register(main)
