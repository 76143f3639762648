"""Template Definitions, names and comments, and task-flow (procedure) names.

    definition = validate_definition(body["Definition"])   # a whole number from 1
    name = validate_name(body.get("Name", ""))              # at most 64 characters, no control characters
"""

from __future__ import annotations

from typing import Any

from openvod.domain.templates._fields import bad_value, type_name

__all__ = [
    "MAX_COMMENT", "MAX_NAME", "MAX_PROCEDURE_NAME", "USER_DEFINITION_BASE", "validate_comment",
    "validate_definition", "validate_name", "validate_procedure_name",
]

USER_DEFINITION_BASE = 1_000_000
"""The first Definition given to an app's own template (per kind: the highest in use + 1)."""
MAX_NAME, MAX_COMMENT, MAX_PROCEDURE_NAME = 64, 256, 20
_MAX_DEFINITION = 2**53


def validate_definition(value: Any, where: str = "Definition") -> int:
    """A template Definition: a whole number from 1 (``InvalidParameterValue.Definition``)."""
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= _MAX_DEFINITION:
        raise bad_value("Definition", f"{where} must be a whole number from 1, got {value!r}")
    return value


def _text(value: Any, what: str, code: str, most: int) -> str:
    if not isinstance(value, str):
        raise bad_value(code, f"{what} must be a string, got {type_name(value)}")
    if len(value) > most:
        raise bad_value(code, f"{what} must be at most {most} characters, got {len(value)}")
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in value):
        raise bad_value(code, f"{what} must not contain control characters")
    return value


def validate_name(name: Any) -> str:
    """A template name: at most 64 characters (``InvalidParameterValue.Name``)."""
    return _text(name, "template Name", "Name", MAX_NAME)


def validate_comment(comment: Any) -> str:
    """A template or procedure comment: at most 256 characters (``InvalidParameterValue.Comment``)."""
    return _text(comment, "Comment", "Comment", MAX_COMMENT)


def validate_procedure_name(name: Any) -> str:
    """A task-flow name: 1-20 characters, any script, no '/', not '.' or '..' (no URL path can
    carry those) (``InvalidParameterValue.ProcedureName``)."""
    text = _text(name, "procedure Name", "ProcedureName", MAX_PROCEDURE_NAME)
    if not text.strip() or text != text.strip() or "/" in text or text in (".", ".."):
        raise bad_value("ProcedureName", f"procedure Name must be 1-{MAX_PROCEDURE_NAME} characters without '/' or "
                                         f"surrounding spaces, and not '.' or '..', got {name!r}")
    return text
