"""Strict parsing of numbers that come from untrusted input (headers, query strings, forms).

``str.isdigit()`` accepts ``"²"`` and other Unicode digits that ``int()`` then refuses, and
``int()`` accepts a 5,000-digit string at quadratic cost: every number a client sends goes
through :func:`parse_uint` or :func:`parse_int` instead, which accept ASCII digits only, of a
bounded length, and raise :class:`~openvod.errors.InvalidParameter` with the caller's code.
"""

from __future__ import annotations

import re

from openvod.errors import InvalidParameter

__all__ = ["MAX_DIGITS", "parse_int", "parse_uint"]

MAX_DIGITS = 19  # fits a signed 64-bit integer: every size, offset and timestamp we take
_UINT = re.compile(rf"[0-9]{{1,{MAX_DIGITS}}}", re.ASCII)
_INT = re.compile(rf"-?[0-9]{{1,{MAX_DIGITS}}}", re.ASCII)


def _show(raw: str) -> str:
    return repr(raw if len(raw) <= 40 else raw[:40] + "…")


def parse_uint(raw: str, name: str, *, code: str = "InvalidParameter", maximum: int | None = None) -> int:
    """A non-negative integer of ASCII digits (at most 19 of them, and ``maximum`` when given)."""
    if not isinstance(raw, str) or _UINT.fullmatch(raw) is None:
        raise InvalidParameter(f"{name} must be a non-negative integer of ASCII digits, got {_show(str(raw))}",
                               code=code)
    value = int(raw)
    if maximum is not None and value > maximum:
        raise InvalidParameter(f"{name} must be at most {maximum}, got {value}", code=code)
    return value


def parse_int(raw: str, name: str, *, code: str = "InvalidParameter",
              minimum: int | None = None, maximum: int | None = None) -> int:
    """An integer of ASCII digits with an optional leading ``-``, within [minimum, maximum]."""
    if not isinstance(raw, str) or _INT.fullmatch(raw) is None:
        raise InvalidParameter(f"{name} must be an integer of ASCII digits, got {_show(str(raw))}", code=code)
    value = int(raw)
    if (minimum is not None and value < minimum) or (maximum is not None and value > maximum):
        raise InvalidParameter(f"{name} must be within [{minimum}, {maximum}], got {value}", code=code)
    return value
