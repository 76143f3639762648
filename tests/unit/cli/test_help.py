"""Every ``openvod`` command and option says what it does in ``--help``."""

from __future__ import annotations

from collections.abc import Iterator

import click

from openvod.cli import main


def _commands(group: click.Group, prefix: str = "openvod") -> Iterator[tuple[str, click.Command]]:
    for name, command in group.commands.items():
        path = f"{prefix} {name}"
        yield path, command
        if isinstance(command, click.Group):
            yield from _commands(command, path)


def test_every_command_and_option_has_help() -> None:
    missing = []
    commands = [("openvod", main), *_commands(main)]
    for path, command in commands:
        if not (command.help or "").strip():
            missing.append(path)
        for param in command.params:
            if isinstance(param, click.Option) and not (param.help or "").strip():
                missing.append(f"{path} {param.opts[0]}")
            if "(later)" in (getattr(param, "help", None) or "") + (command.help or ""):
                missing.append(f"{path}: says (later)")
    assert missing == []


def test_the_commands_for_what_the_api_has_exist() -> None:
    names = {path for path, _ in _commands(main)}
    assert {"openvod flows ls", "openvod flows show", "openvod flows create", "openvod flows rm", "openvod flows run",
            "openvod templates ls", "openvod media edit", "openvod media url", "openvod pull",
            "openvod media publish", "openvod media unpublish"} <= names
