"""Schema of ``/v1/stats``, rendered from :class:`openvod.domain.views.stats.StatsView`."""

from __future__ import annotations

from pydantic import BaseModel, Field

from openvod.domain.times import iso_s, iso_s_or_none
from openvod.domain.views.stats import DayUsage, FailureView, StatsView

__all__ = ["DayPublic", "FailurePublic", "StatsPublic"]


class DayPublic(BaseModel):
    date: str = Field(description="a UTC day, YYYY-MM-DD")
    steps: int = Field(description="processing steps that started that day")
    minutes: float = Field(description="their run time in minutes (to a hundredth)")

    @classmethod
    def from_view(cls, d: DayUsage) -> DayPublic:
        return cls(date=d.day.isoformat(), steps=d.steps, minutes=round(d.seconds / 60, 2))


class FailurePublic(BaseModel):
    task_id: str
    kind: str
    file_id: str | None
    procedure: str
    error: dict[str, str]
    created_at: str
    finished_at: str | None

    @classmethod
    def from_view(cls, f: FailureView) -> FailurePublic:
        return cls(task_id=f.task_id, kind=f.kind, file_id=f.file_id, procedure=f.procedure,
                   error={"code": f.error_code or "", "message": f.error_message or ""},
                   created_at=iso_s(f.created_at), finished_at=iso_s_or_none(f.finished_at))


class StatsPublic(BaseModel):
    app_id: str
    app_name: str
    media_count: int
    storage_bytes: int = Field(description="every stored object of the app: sources, covers and outputs")
    source_bytes: int = Field(description="the media sources among them")
    tasks_by_state: dict[str, int] = Field(description="every task state, 0 where none")
    encoding_minutes_today: float = Field(description="processing run time of steps started today (UTC)")
    encoding_minutes_week: float = Field(description="the same over the last 7 UTC days, today included")
    days: list[DayPublic] = Field(description="the last 7 UTC days, oldest first")
    recent_failures: list[FailurePublic] = Field(description="failed tasks of the last 7 days, newest first")
    now: str

    @classmethod
    def from_view(cls, v: StatsView) -> StatsPublic:
        return cls(app_id=v.app_id, app_name=v.app_name, media_count=v.media_count, storage_bytes=v.storage_bytes,
                   source_bytes=v.source_bytes, tasks_by_state=dict(v.tasks_by_state),
                   encoding_minutes_today=round(v.encoding_seconds_today / 60, 2),
                   encoding_minutes_week=round(v.encoding_seconds_week / 60, 2),
                   days=[DayPublic.from_view(d) for d in v.days],
                   recent_failures=[FailurePublic.from_view(f) for f in v.recent_failures], now=iso_s(v.now))
