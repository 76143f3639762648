"""Opaque identifiers that sort by creation time."""

from __future__ import annotations

import secrets
import time

__all__ = ["new_file_id", "new_id"]

_ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"  # Crockford base32, lower case


def _b32(value: int, width: int) -> str:
    out = []
    for _ in range(width):
        value, rem = divmod(value, 32)
        out.append(_ALPHABET[rem])
    return "".join(reversed(out))


def new_id(prefix: str) -> str:
    """A ULID-like id: ``prefix`` + 10 chars of milliseconds + 16 random chars (80 bits)."""
    ms = int(time.time() * 1000)
    return f"{prefix}{_b32(ms, 10)}{_b32(secrets.randbits(80), 16)}"


def new_file_id() -> str:
    """A Tencent-looking FileId: 13 digits of milliseconds + 6 random digits, sorting by time."""
    ms = int(time.time() * 1000)
    return f"{ms:013d}{secrets.randbelow(10**6):06d}"
