"""Where and how the commands print.

stdout carries what a command produces — tables, field lists, JSON (``--json``), a FileId
(``--quiet``), a signature, a URL — so ``openvod media ls | grep clip`` and
``FID=$(openvod upload clip.mp4 --quiet)`` work. stderr carries everything else: progress bars,
notes ("more: …", "deleted …"), warnings, and errors as ``error: CODE: message``, followed by a
``hint:`` line when there is something to do about it.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping
from typing import Any

import click
from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TextColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)
from rich.table import Table

from openvod.errors import OpenVODError

__all__ = [
    "AUTH_HINT",
    "UploadBar",
    "cell",
    "emit_json",
    "error",
    "hint_for",
    "note",
    "print_fields",
    "print_table",
    "size",
    "transfer_progress",
]

AUTH_HINT = (
    "set OPENVOD_SECRET_ID and OPENVOD_SECRET_KEY (the pair `openvod serve` printed at its first start, "
    "or one from `openvod keys create`), or pass --secret-id and --secret-key"
)
_HINTS = {
    "AuthFailure.MissingCredentials": AUTH_HINT,
    "InvalidParameter.Credentials": AUTH_HINT,
    "AuthFailure.SecretIdNotFound": "this server does not know that SecretId: check OPENVOD_SECRET_ID (or "
    "--secret-id) and OPENVOD_SERVER (or --server), which must name the server that made the key",
    "AuthFailure.SignatureFailure": "the SecretKey does not match the SecretId: check OPENVOD_SECRET_KEY "
    "(or --secret-key)",
    "AuthFailure.SecretIdDisabled": "that key pair was disabled; make another with `openvod keys create`",
    "ClientError.Network": "is the server running? Start it with scripts/serve, or point OPENVOD_SERVER "
    "(or --server) at it",
}


def hint_for(code: str) -> str | None:
    """What to do about an error of ``code``, when there is a clear answer."""
    return _HINTS.get(code)


def error(exc: OpenVODError, where: str = "") -> None:
    """``error: CODE: message (where)`` on stderr, then ``hint: …`` when there is one."""
    suffix = f" ({where})" if where else ""
    click.echo(f"error: {exc.code}: {exc.message}{suffix}", err=True)
    if hint := hint_for(exc.code):
        click.echo(f"hint: {hint}", err=True)


def note(text: str) -> None:
    """A message for people (not the command's output): stderr."""
    click.echo(text, err=True)


def _stdout() -> Console:
    # Not a terminal: no width limit, so no row is wrapped or cut and grep sees whole lines.
    return Console() if sys.stdout.isatty() else Console(width=100_000, no_color=True)


def print_table(table: Table) -> None:
    """A table on stdout; to a pipe or file as plain columns (no box), a row a line."""
    if not sys.stdout.isatty():
        table.box = None
    _stdout().print(table, crop=False)


def emit_json(value: object) -> None:
    """``value`` as indented JSON on stdout (non-ASCII kept as is)."""
    click.echo(json.dumps(value, ensure_ascii=False, indent=2))


def cell(value: object) -> str:
    """A value as text: strings as they are, anything else as JSON."""
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def print_fields(raw: Mapping[str, Any], *, prefix: str = "") -> None:
    """A JSON object as ``field  value`` lines on stdout, values whole (a URL is never cut)."""
    if not raw:
        return
    width = max(len(prefix + k) for k in raw)
    for key, value in raw.items():
        click.echo(f"{prefix + key:<{width}}  {cell(value)}")


def transfer_progress(*, quiet: bool = False) -> Progress:
    """Upload progress bars (name, bar, bytes, speed, time left) on stderr; none when ``quiet``."""
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        DownloadColumn(binary_units=True),
        TransferSpeedColumn(),
        TimeRemainingColumn(),
    )
    return Progress(*columns, console=Console(stderr=True), disable=quiet)


class UploadBar:
    """One file's bar in a :func:`transfer_progress`: it stays short of full until :meth:`finish`
    (the server has the file and answered), and :meth:`fail` hides it, so a failed upload never
    shows a full bar."""

    def __init__(self, progress: Progress, name: str, length: int) -> None:
        self._progress, self._length = progress, length
        self._id = progress.add_task(name, total=length + 1)

    def advance(self, sent: int, total: int) -> None:
        """The tus uploader's ``on_progress(sent, total)``."""
        self._progress.update(self._id, completed=min(sent, total), total=total + 1)

    def finish(self) -> None:
        self._progress.update(self._id, completed=self._length, total=self._length)

    def fail(self) -> None:
        self._progress.update(self._id, visible=False)


def size(n: int | None) -> str:
    """A byte count for people: ``512 B``, ``1.5 MiB``; ``-`` when unknown."""
    if n is None:
        return "-"
    value = float(n)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{n} B"
