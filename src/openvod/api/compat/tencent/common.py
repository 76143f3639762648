"""What every Tencent action shares: the call it is handed and readers of its parameters.

The readers raise :class:`~openvod.errors.InvalidParameter` with Tencent's codes
(``MissingParameter.<Key>``, ``InvalidParameterValue.<Key>``), so actions need not check types.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qsl

from openvod.domain.numbers import parse_int, parse_uint
from openvod.errors import InvalidParameter
from openvod.runtime import Context

__all__ = ["MAX_FIELDS", "MAX_ITEMS", "Action", "Call", "Params", "int_param", "list_param", "obj_param",
           "query_pairs", "str_param", "unflatten"]

Params = dict[str, Any]

MAX_FIELDS = 1000  # parameters in one GET query
MAX_ITEMS = 100  # items of any list parameter (Tencent's own maxima are lower: FileIds 20, ...)
MAX_NAME_DEPTH = 8  # dotted parts of a GET parameter name (A.0.B.1.C ...)
_NAME = re.compile(r"[A-Za-z][A-Za-z0-9]{0,63}", re.ASCII)
_INT64 = 2**63


class Call:
    """One action's input: the services context, the app it acts on, its parameters and the
    SecretId that signed it (credentials ApplyUpload mints die with that key)."""

    __slots__ = ("app_id", "ctx", "params", "secret_id")

    def __init__(self, ctx: Context, app_id: str, params: Params, secret_id: str = "") -> None:
        self.ctx, self.app_id, self.params, self.secret_id = ctx, app_id, params, secret_id


Action = Callable[[Call], Params]


def query_pairs(query: str) -> list[tuple[str, str]]:
    """The ``k=v`` pairs of a GET query, at most :data:`MAX_FIELDS` of them."""
    try:
        return parse_qsl(query, keep_blank_values=True, max_num_fields=MAX_FIELDS)
    except ValueError as exc:
        raise InvalidParameter(f"the query has more than {MAX_FIELDS} parameters",
                               code="InvalidParameter.TooManyParameters") from exc


def _is_index(part: str) -> bool:
    return part.isascii() and part.isdigit()


def _name_code(name: str) -> str:
    return f"InvalidParameterValue.{name}" if _NAME.fullmatch(name) else "InvalidParameter"


def unflatten(pairs: list[tuple[str, str]]) -> Params:
    """``A.0.B=v`` (the SDK's GET form) to nested dicts and lists; values stay strings.

    Bounded: at most :data:`MAX_FIELDS` pairs, :data:`MAX_NAME_DEPTH` dotted parts a name, and
    list indexes below :data:`MAX_ITEMS` (no Tencent list parameter takes more), so a short query
    never builds a large structure. A name used both as a value and as a container is refused.
    """
    if len(pairs) > MAX_FIELDS:
        raise InvalidParameter(f"the query has more than {MAX_FIELDS} parameters",
                               code="InvalidParameter.TooManyParameters")
    root: dict[str, Any] = {}
    for key, value in pairs:
        parts = key.split(".")
        code = _name_code(parts[0])
        if len(parts) > MAX_NAME_DEPTH or not all(parts):
            raise InvalidParameter(f"parameter name {key[:80]!r} is malformed", code=code)
        node: Any = root
        for i, part in enumerate(parts):
            last = i == len(parts) - 1
            if isinstance(node, list):
                idx = parse_uint(part, f"the index in {key[:80]!r}", code=code, maximum=MAX_ITEMS - 1)
                node.extend([None] * (idx + 1 - len(node)))
                slot: Any = idx
            elif isinstance(node, dict):
                slot = part
            else:
                raise InvalidParameter(f"parameter {key[:80]!r} conflicts with another of its names", code=code)
            if last:
                node[slot] = value
            else:
                child = node[slot] if isinstance(node, list) else node.get(slot)
                if child is None:
                    child = [] if _is_index(parts[i + 1]) else {}
                    node[slot] = child
                node = child
    return root


def str_param(p: Params, key: str, default: str | None = None, *, required: bool = False) -> str | None:
    """``p[key]`` as a string; ``default`` when absent or empty (an error if ``required``)."""
    v = p.get(key)
    if v is None or v == "":
        if required:
            raise InvalidParameter(f"{key} is required", code=f"MissingParameter.{key}")
        return default
    if not isinstance(v, str):
        raise InvalidParameter(f"{key} must be a string", code=f"InvalidParameterValue.{key}")
    return v


def int_param(p: Params, key: str, default: int | None = None) -> int | None:
    """``p[key]`` as a 64-bit integer (strings of ASCII digits too); ``default`` when absent or empty."""
    v = p.get(key)
    if v is None or v == "":
        return default
    code = f"InvalidParameterValue.{key}"
    if isinstance(v, str):
        return parse_int(v, key, code=code, minimum=-_INT64, maximum=_INT64 - 1)
    if isinstance(v, bool) or not isinstance(v, int) or not -_INT64 <= v < _INT64:
        raise InvalidParameter(f"{key} must be an integer, got {str(v)[:40]!r}", code=code)
    return v


def list_param(p: Params, key: str, *, max_items: int = MAX_ITEMS) -> list[Any]:
    """``p[key]`` as a list of at most ``max_items``; empty when absent."""
    v = p.get(key)
    if v is None:
        return []
    if not isinstance(v, list):
        raise InvalidParameter(f"{key} must be an array", code=f"InvalidParameterValue.{key}")
    if len(v) > max_items:
        raise InvalidParameter(f"{key} takes at most {max_items} items, got {len(v)}",
                               code=f"InvalidParameterValue.{key}")
    return v


def obj_param(p: Params, key: str) -> dict[str, Any] | None:
    """``p[key]`` as an object; ``None`` when absent."""
    v = p.get(key)
    if v is None:
        return None
    if not isinstance(v, dict):
        raise InvalidParameter(f"{key} must be an object", code=f"InvalidParameterValue.{key}")
    return v
