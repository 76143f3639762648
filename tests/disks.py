"""Real small filesystems for full-disk tests: a tmpfs mounted for one test, and a filler."""

from __future__ import annotations

import errno
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

__all__ = ["fill", "tmpfs"]


@contextmanager
def tmpfs(mnt: Path, size: str) -> Iterator[Path]:
    """Mount a tmpfs of ``size`` (e.g. ``"16m"``) at ``mnt`` for the block (tests run as root)."""
    mnt.mkdir(parents=True, exist_ok=True)
    subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(mnt)], check=True)
    try:
        yield mnt
    finally:
        subprocess.run(["umount", "-l", str(mnt)], check=False)


def fill(path: Path) -> int:
    """Write zeros to ``path`` until the disk is full; returns how many bytes fit."""
    written = 0
    with open(path, "wb", buffering=0) as f:
        block = b"\0" * (64 * 1024)
        while True:
            try:
                written += f.write(block) or 0
            except OSError as exc:
                assert exc.errno == errno.ENOSPC
                return written
