"""Shared checks for template and task JSON: one validated object, and errors in Tencent's codes.

    o = JsonObject("Transcode", raw, ("Container", "RemoveVideo"), "Transcode")
    container = o.choice("Container", None, ("mp4", "hls"))   # required, any case, Tencent's spelling
    remove = o.flag("RemoveVideo")                              # 0 or 1, default 0

``InvalidParameterValue.<Code>`` for a bad value, ``MissingParameter`` for a required field left
out, ``UnknownParameter`` for a field not in ``allowed``. Private to :mod:`openvod.domain.templates`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from openvod.errors import InvalidParameter

__all__ = ["JsonObject", "bad_value", "number_in", "type_name"]


def bad_value(code: str, message: str) -> InvalidParameter:
    """The error for a bad value of field ``code``: ``InvalidParameterValue.<code>``, to raise."""
    return InvalidParameter(message, code=f"InvalidParameterValue.{code}")


def type_name(value: Any) -> str:
    """What ``value`` is, in JSON's words, for error messages ("an object", "a list", ...)."""
    names = {dict: "an object", list: "a list", str: "a string", bool: "a boolean"}
    return names.get(type(value), type(value).__name__)


def _number_text(n: float) -> str:
    return str(int(n)) if float(n).is_integer() else str(n)


def number_in(where: str, code: str, value: Any, lo: float, hi: float) -> float:
    """A finite number in [lo, hi]; whole values come back as ``int`` so JSON shows ``75``, not ``75.0``."""
    # ints are compared as ints: a huge JSON integer must not reach float() (OverflowError)
    if isinstance(value, bool) or not isinstance(value, int | float) or (
            isinstance(value, float) and not math.isfinite(value)):
        raise bad_value(code, f"{where} must be a number, got {value!r}")
    if not lo <= value <= hi:
        raise bad_value(code, f"{where} must be from {_number_text(lo)} to {_number_text(hi)}, got {value!r}")
    return int(value) if isinstance(value, int) or value.is_integer() else value


class JsonObject:
    """A JSON object under validation: reads fields by Tencent name, names them by path in errors."""

    def __init__(self, where: str, raw: Any, allowed: tuple[str, ...], code: str) -> None:
        if not isinstance(raw, Mapping):
            raise bad_value(code, f"{where} must be an object, got {type_name(raw)}")
        self.where = where
        self.raw = {str(k): v for k, v in raw.items() if v is not None}  # SDKs send unset fields as null
        unknown = sorted(k for k in self.raw if k not in allowed)
        if unknown:
            raise InvalidParameter(f"{where} has unknown or unsupported parameter {unknown[0]!r}; "
                                   f"supported: {', '.join(allowed)}", code="UnknownParameter")

    def path(self, name: str) -> str:
        return f"{self.where}.{name}"

    def has(self, name: str) -> bool:
        return name in self.raw

    def required(self, name: str) -> Any:
        if name not in self.raw:
            raise InvalidParameter(f"{self.path(name)} is required", code="MissingParameter")
        return self.raw[name]

    def _get(self, name: str, default: Any) -> Any:
        return self.raw[name] if name in self.raw else self.required(name) if default is None else default

    def number(self, name: str, default: float | None, lo: float, hi: float, code: str | None = None) -> float:
        return number_in(self.path(name), code or name, self._get(name, default), lo, hi)

    def whole(self, name: str, default: int | None, lo: int, hi: int, code: str | None = None,
              *, zero: bool = False) -> int:
        """A whole number in [lo, hi]; with ``zero`` also 0 (Tencent's "0 and [lo, hi]")."""
        value = self._get(name, default)
        whole = (isinstance(value, int) and not isinstance(value, bool)) or (
            isinstance(value, float) and value.is_integer())
        n = int(value) if whole else None
        if n is None or not (lo <= n <= hi or (zero and n == 0)):
            span = f"0 or {lo} to {hi}" if zero else f"{lo} to {hi}"
            raise bad_value(code or name, f"{self.path(name)} must be a whole number, {span}, got {value!r}")
        return n

    def flag(self, name: str) -> int:
        return self.one_of_ints(name, 0, (0, 1))

    def one_of_ints(self, name: str, default: int, choices: tuple[int, ...], code: str | None = None) -> int:
        value = self.raw.get(name, default)
        if isinstance(value, bool) or not isinstance(value, int | float) or value not in choices:
            raise bad_value(code or name, f"{self.path(name)} must be one of {', '.join(map(str, choices))}, "
                                          f"got {value!r}")
        return int(value)

    def choice(self, name: str, default: str | None, choices: tuple[str, ...], code: str | None = None) -> str:
        value = self.raw.get(name, "")
        if value == "" and default is not None:
            return default
        if value == "":
            self.required(name)
        found = next((c for c in choices if isinstance(value, str) and c.lower() == value.strip().lower()), None)
        if found is None:
            raise bad_value(code or name, f"{self.path(name)} must be one of {', '.join(c for c in choices if c)}, "
                                          f"got {value!r}")
        return found

    def items(self, name: str, code: str, most: int) -> list[Any]:
        value = self.raw.get(name, [])
        if not isinstance(value, list):
            raise bad_value(code, f"{self.path(name)} must be a list, got {type_name(value)}")
        if len(value) > most:
            raise bad_value(code, f"{self.path(name)} may list at most {most} items, got {len(value)}")
        return value
