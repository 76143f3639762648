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
    # The params as the user sent them (Kingsoft shows them back as saved: "vb": "300000" stays a
    # string); None without detail, for system presets and for presets saved before OpenVOD kept them.
    raw_params: dict[str, Any] | None = None

    @property
    def params_as_saved(self) -> dict[str, Any] | None:
        """``raw_params`` where kept, else the canonical ``params``."""
        return self.raw_params if self.raw_params is not None else self.params
