"""``python -m openvod``: the same as the ``openvod`` command."""

from openvod.cli import main

main(prog_name="openvod")
