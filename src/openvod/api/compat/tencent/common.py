"""What every Tencent action shares: the call it is handed and readers of its parameters.

The readers raise :class:`~openvod.errors.InvalidParameter` with Tencent's codes
(``MissingParameter.<Key>``, ``InvalidParameterValue.<Key>``), so actions need not check types.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from openvod.errors import InvalidParameter
from openvod.services.context import Context

__all__ = ["Action", "Call", "Params", "int_param", "list_param", "obj_param", "str_param", "unflatten"]

Params = dict[str, Any]


class Call:
    """One action's input: the services context, the app it acts on and its parameters."""

    __slots__ = ("app_id", "ctx", "params")

    def __init__(self, ctx: Context, app_id: str, params: Params) -> None:
        self.ctx, self.app_id, self.params = ctx, app_id, params


Action = Callable[[Call], Params]


def unflatten(pairs: list[tuple[str, str]]) -> Params:
    """``A.0.B=v`` (the SDK's GET form) to nested dicts and lists; values stay strings."""
    root: dict[str, Any] = {}
    for key, value in pairs:
        parts = key.split(".")
        node: Any = root
        for i, part in enumerate(parts):
            last = i == len(parts) - 1
            nxt: Any = value if last else ({} if not parts[i + 1].isdigit() else [])
            if isinstance(node, list):
                idx = int(part)
                while len(node) <= idx:
                    node.append(None)
                if node[idx] is None or last:
                    node[idx] = nxt
                node = node[idx]
            else:
                if part not in node or last:
                    node[part] = nxt
                node = node[part]
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
    """``p[key]`` as an integer (numeric strings too); ``default`` when absent or empty."""
    v = p.get(key)
    if v is None or v == "":
        return default
    try:
        if isinstance(v, bool):
            raise ValueError
        return int(v)
    except (TypeError, ValueError) as exc:
        raise InvalidParameter(f"{key} must be an integer, got {v!r}", code=f"InvalidParameterValue.{key}") from exc


def list_param(p: Params, key: str) -> list[Any]:
    """``p[key]`` as a list; empty when absent."""
    v = p.get(key)
    if v is None:
        return []
    if not isinstance(v, list):
        raise InvalidParameter(f"{key} must be an array", code=f"InvalidParameterValue.{key}")
    return v


def obj_param(p: Params, key: str) -> dict[str, Any] | None:
    """``p[key]`` as an object; ``None`` when absent."""
    v = p.get(key)
    if v is None:
        return None
    if not isinstance(v, dict):
        raise InvalidParameter(f"{key} must be an object", code=f"InvalidParameterValue.{key}")
    return v
