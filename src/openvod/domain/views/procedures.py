"""Read models of task flows (Tencent's procedure templates)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

__all__ = ["ProcedurePage", "ProcedureStep", "ProcedureView"]


@dataclass(frozen=True)
class ProcedureStep:
    kind: str  # as MediaProcessResultSet's Type: Transcode, AnimatedGraphics, ...
    definition: int
    params: dict[str, Any]  # the step's own settings (offsets, time points, position)


@dataclass(frozen=True)
class ProcedureView:
    name: str
    type: str  # always Custom: OpenVOD has no built-in procedures
    comment: str
    media_process_task: dict[str, Any]  # canonical, only the non-empty sets
    steps: tuple[ProcedureStep, ...]  # in the order they run and report
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class ProcedurePage:
    items: tuple[ProcedureView, ...]
    total: int
