"""Read models of processing templates (Tencent's model, numbered by Definition)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

__all__ = ["TemplatePage", "TemplateView"]


@dataclass(frozen=True)
class TemplateView:
    definition: int
    kind: str  # Transcode, AnimatedGraphics, SnapshotByTimeOffset, ...
    type: str  # Preset (built in) or Custom (the app's own)
    name: str
    comment: str
    params: dict[str, Any]  # canonical, every default filled in
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class TemplatePage:
    items: tuple[TemplateView, ...]
    total: int  # how many match, over all pages
