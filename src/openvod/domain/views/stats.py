"""Read model of an app's dashboard numbers (``services.stats.app_stats``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

__all__ = ["DayUsage", "FailureView", "StatsView"]


@dataclass(frozen=True)
class DayUsage:
    """The processing time of one UTC day: steps that started that day (``noop`` steps aside)."""

    day: date
    steps: int
    seconds: float


@dataclass(frozen=True)
class FailureView:
    """A failed task, with the error it failed with."""

    task_id: str
    kind: str
    file_id: str | None
    procedure: str
    error_code: str | None
    error_message: str | None
    created_at: datetime
    finished_at: datetime | None


@dataclass(frozen=True)
class StatsView:
    """What the dashboard shows for one app, read in one transaction at ``now``."""

    app_id: str
    app_name: str
    media_count: int
    storage_bytes: int  # every stored object of the app: sources, covers and outputs
    source_bytes: int  # the media sources among them
    tasks_by_state: dict[str, int]  # every TaskState, 0 where none
    days: tuple[DayUsage, ...]  # the last seven UTC days, oldest first; the last is today
    recent_failures: tuple[FailureView, ...]  # newest first, from the same seven days
    now: datetime

    @property
    def encoding_seconds_today(self) -> float:
        return self.days[-1].seconds if self.days else 0.0

    @property
    def encoding_seconds_week(self) -> float:
        return sum(d.seconds for d in self.days)
