"""The dashboard's numbers for one app: media and storage, tasks by state, processing time per
day, recent failures (``GET /v1/stats``, the console's first page).

Every query is bounded by an index, so the page stays cheap as history grows:

* media count: ``count(*)`` over ``ix_media_app_id_id`` (app_id, id), an index-only range;
* tasks by state: ``count(*) … group by state`` over ``ix_task_app_state`` (app_id, state);
* processing time: steps of the last seven days, a range of ``ix_step_app_started``
  (app_id, started_at) — rows read are the week's steps, never the whole history;
* recent failures: the week's tasks newest first, a range of ``ix_task_app_created``
  (app_id, created_at, id), stopped after ``FAILURES`` rows match;
* storage: ``sum(size)`` of the app's objects through ``ix_object_app_id``. This one reads a row
  per stored object of the app (a sum has no index-only form without a counter table); it is the
  price of an exact number, and it is the app's objects only.

    view = app_stats(ctx, key.app_id)
    view.tasks_by_state["fail"], view.encoding_seconds_today
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from openvod.db.models import App, Media, Object, Task, TaskStep, utcnow
from openvod.domain.tasks import TaskState
from openvod.domain.views.stats import DayUsage, FailureView, StatsView
from openvod.errors import NotFound
from openvod.runtime import Context
from openvod.services import task_counts

__all__ = ["DAYS", "FAILURES", "app_stats"]

DAYS = 7
"""Days of processing time (today and the six before it, UTC), and how far back failures go."""

FAILURES = 5
"""Failed tasks listed, newest first."""

_NOT_ENCODING = ("noop",)  # steps that only wait: they spend no encoder time


def app_stats(ctx: Context, app_id: str, *, now: datetime | None = None) -> StatsView:
    """Read ``app_id``'s numbers in one transaction. Processing time is the run time
    (``finished_at - started_at``, or up to ``now`` while running) of the steps that started on
    each of the last :data:`DAYS` UTC days."""
    now = (now or utcnow()).astimezone(UTC)
    today = now.replace(hour=0, minute=0, second=0, microsecond=0)
    first = today - timedelta(days=DAYS - 1)
    with ctx.db.session() as s:
        app = s.get(App, app_id)
        if app is None:
            raise NotFound(f"app {app_id!r} does not exist", code="ResourceNotFound.App")
        media = int(s.scalar(select(func.count()).select_from(Media).where(Media.app_id == app_id)) or 0)
        storage, sources = s.execute(
            select(func.coalesce(func.sum(Object.size), 0),
                   func.coalesce(func.sum(Object.size).filter(Object.role == "source"), 0))
            .where(Object.app_id == app_id)).one()
        by_state = {st.value: 0 for st in TaskState}
        by_state.update(task_counts.state_counts(s, app_id))
        seconds = [0.0] * DAYS
        steps = [0] * DAYS
        for begun, ended in s.execute(
                select(TaskStep.started_at, TaskStep.finished_at)
                .where(TaskStep.app_id == app_id, TaskStep.started_at >= first,
                       TaskStep.kind.not_in(_NOT_ENCODING))):
            if begun is None:
                continue
            i = min(DAYS - 1, (begun - first).days)
            steps[i] += 1
            seconds[i] += max(0.0, ((ended or now) - begun).total_seconds())
        failed = s.execute(
            select(Task.id, Task.kind, Task.file_id, Task.procedure, Task.error_code, Task.error_message,
                   Task.created_at, Task.finished_at)
            .where(Task.app_id == app_id, Task.created_at >= first, Task.state == TaskState.FAIL.value)
            .order_by(Task.created_at.desc(), Task.id.desc()).limit(FAILURES)).all()
        name = app.name
    days = tuple(DayUsage(day=(first + timedelta(days=i)).date(), steps=steps[i], seconds=round(seconds[i], 3))
                 for i in range(DAYS))
    failures = tuple(FailureView(task_id=r.id, kind=r.kind, file_id=r.file_id, procedure=r.procedure,
                                 error_code=r.error_code, error_message=r.error_message, created_at=r.created_at,
                                 finished_at=r.finished_at) for r in failed)
    return StatsView(app_id=app_id, app_name=name, media_count=media, storage_bytes=int(storage),
                     source_bytes=int(sources), tasks_by_state=by_state, days=days, recent_failures=failures,
                     now=now)
