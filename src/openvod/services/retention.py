"""Retention: finished tasks and old events are deleted in small batches, never in one statement.

    report = prune(ctx)          # what the housekeeping thread of ``openvod serve`` runs every 10 min
    report.tasks, report.events

``task_retention_days`` (default 90; 0 keeps tasks for ever) counts from a task's ``finished_at``
and takes only tasks in a final state (``succ``, ``fail``, ``canceled``) with their steps; a task
still queued or running is never touched, however old. Outputs belong to their media, not to the
task, and stay. ``event_retention_days`` (default 4, as Tencent keeps unconfirmed events for a few
days) counts from an event's ``created_at``, confirmed or not, and takes its push deliveries along.

Each batch is one short transaction over the first ``batch`` rows of an index
(``ix_task_finished``, ``ix_event_created``), so on SQLite the write lock is held for milliseconds
at a time and API writes interleave with a large prune; on PostgreSQL no long row locks build up.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Select, delete, func, select

from openvod.db.models import Delivery, Event, Task, TaskStep, utcnow
from openvod.domain.tasks import TaskState
from openvod.runtime import Context
from openvod.services import task_counts

__all__ = ["DEFAULT_BATCH", "PruneReport", "finished_tasks_query", "old_events_query", "prune", "prune_events",
           "prune_tasks"]

DEFAULT_BATCH = 500
_FINAL = (TaskState.SUCC, TaskState.FAIL, TaskState.CANCELED)


def finished_tasks_query(before: datetime, batch: int) -> Select[str]:
    """The ids of the next batch of tasks to prune: the first entries of ``ix_task_finished``.
    ``lower(state)`` keeps SQLite's planner off ``ix_task_state``, which would read every finished
    task and sort them (states are lower case already)."""
    return (select(Task.id).where(Task.finished_at < before, func.lower(Task.state).in_(_FINAL))
            .order_by(Task.finished_at).limit(batch))


def old_events_query(before: datetime, batch: int) -> Select[str]:
    """The ids of the next batch of events to prune: the first entries of ``ix_event_created``."""
    return select(Event.id).where(Event.created_at < before).order_by(Event.created_at).limit(batch)


@dataclass(frozen=True)
class PruneReport:
    """How many rows one :func:`prune` deleted."""

    tasks: int
    events: int


def prune_tasks(ctx: Context, *, before: datetime, batch: int = DEFAULT_BATCH) -> int:
    """Delete tasks in a final state that finished before ``before``, with their steps, ``batch``
    at a time (one transaction each). Returns how many tasks went."""
    total = 0
    while True:
        with ctx.db.session() as s:
            ids = list(s.scalars(finished_tasks_query(before, batch)))
            if ids:
                s.execute(delete(TaskStep).where(TaskStep.task_id.in_(ids)).execution_options(synchronize_session=False))
                s.execute(delete(Task).where(Task.id.in_(ids)).execution_options(synchronize_session=False))
        total += len(ids)
        if len(ids) < batch:
            return total


def prune_events(ctx: Context, *, before: datetime, batch: int = DEFAULT_BATCH) -> int:
    """Delete events created before ``before`` with their deliveries, ``batch`` at a time. Returns
    how many events went."""
    total = 0
    while True:
        with ctx.db.session() as s:
            ids = list(s.scalars(old_events_query(before, batch)))
            if ids:
                s.execute(delete(Delivery).where(Delivery.event_id.in_(ids))
                          .execution_options(synchronize_session=False))
                s.execute(delete(Event).where(Event.id.in_(ids)).execution_options(synchronize_session=False))
        total += len(ids)
        if len(ids) < batch:
            return total


def prune(ctx: Context, *, now: datetime | None = None, batch: int = DEFAULT_BATCH) -> PruneReport:
    """Apply both retentions of ``ctx.settings`` as of ``now`` (default: the current time)."""
    now = now or utcnow()
    settings = ctx.settings
    tasks = 0
    if settings.task_retention_days > 0:
        tasks = prune_tasks(ctx, before=now - timedelta(days=settings.task_retention_days), batch=batch)
    events = prune_events(ctx, before=now - timedelta(days=settings.event_retention_days), batch=batch)
    with ctx.db.session() as s:
        task_counts.fold(s)  # the task tally's pending changes (PostgreSQL), whether or not a list read them
    return PruneReport(tasks=tasks, events=events)
