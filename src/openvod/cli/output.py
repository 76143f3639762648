"""Where and how the commands print: JSON on stdout, tables and progress for people.

Machine output (``--json``, a signature) goes to stdout and nothing else does; tables, progress
bars and notes go to the terminal (stdout when it is one, else stderr). Errors print
``error: CODE: message`` on stderr.
"""

from __future__ import annotations

import json
import sys
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

__all__ = ["cell", "emit_json", "error", "fields_table", "human", "size", "transfer_progress"]


def error(exc: OpenVODError, where: str = "") -> None:
    """``error: CODE: message (where)`` on stderr."""
    suffix = f" ({where})" if where else ""
    click.echo(f"error: {exc.code}: {exc.message}{suffix}", err=True)


def human() -> Console:
    """Where people read: the terminal, never a pipe that expects machine output."""
    # A log file is not a narrow terminal: do not squeeze tables to 80 columns there.
    return Console() if sys.stdout.isatty() else Console(stderr=True, width=None if sys.stderr.isatty() else 120)


def emit_json(value: object) -> None:
    """``value`` as indented JSON on stdout (non-ASCII kept as is)."""
    click.echo(json.dumps(value, ensure_ascii=False, indent=2))


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


def cell(value: object) -> str:
    """A table cell: strings as they are, anything else as JSON."""
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def fields_table(raw: dict[str, Any]) -> Table:
    """A two-column Field/Value table of a JSON object, without a header."""
    table = Table("Field", "Value", show_header=False)
    for key, value in raw.items():
        table.add_row(key, cell(value))
    return table
