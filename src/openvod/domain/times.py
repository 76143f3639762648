"""How OpenVOD writes times: ISO 8601 in UTC, to the second, with a ``Z``."""

from __future__ import annotations

from datetime import UTC, datetime

__all__ = ["iso", "iso_or_none"]


def iso(t: datetime) -> str:
    return t.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def iso_or_none(t: datetime | None) -> str | None:
    return iso(t) if t is not None else None
