"""What the ``openvod`` group's options resolve to, shared by every command through ``ctx.obj``."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import click

from openvod.client import Client
from openvod.errors import InvalidParameter

__all__ = ["CliContext", "json_option"]

F = TypeVar("F", bound=Callable[..., Any])


@dataclass
class CliContext:
    """What the group's options resolve to; shared by every command through ``ctx.obj``."""

    server: str
    secret_id: str | None
    secret_key: str | None
    json: bool = False

    def client(self, upload_signature: str | None = None) -> Client:
        """A client as the key pair (either half alone is refused), or with no credentials."""
        if bool(self.secret_id) != bool(self.secret_key):
            given, missing = ("SecretId", "SecretKey") if self.secret_id else ("SecretKey", "SecretId")
            raise InvalidParameter(f"a {given} was given without its {missing}", code="InvalidParameter.Credentials")
        return Client(self.server, self.secret_id or None, self.secret_key or None, upload_signature)

    def keys(self) -> tuple[str, str]:
        """The key pair, for commands that sign locally; refused when it is not complete."""
        if not self.secret_id or not self.secret_key:
            raise InvalidParameter("this command needs a key pair", code="InvalidParameter.Credentials")
        return self.secret_id, self.secret_key


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
