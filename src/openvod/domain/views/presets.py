"""Read model of a transcoding preset (the app's own or a built-in system one)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

__all__ = ["PresetView"]


@dataclass(frozen=True)
class PresetView:
    name: str
    type: str
    description: str
    params: dict[str, Any] | None  # canonical; None in a list asked for without detail
    system: bool  # built in: usable by every app, never changed or deleted
    created_at: datetime
    updated_at: datetime
