"""Which runnable step starts next: fair across apps, in the app's own order within it.

Apps (tenants) share the workers. When a worker is free, the step it gets is chosen in two
stages, in one SQL statement that SQLite and PostgreSQL both run:

1. **The app.** Among apps with runnable steps and fewer than ``app_max_running_steps`` steps
   running (0: no cap), the one with the fewest steps running; on a tie, the one served longest
   ago (the latest ``started_at`` of its steps; never served first). A free worker therefore
   goes round-robin over the apps that wait, whatever the length of their queues.
2. **The step.** The head of that app's own queue: moved to the top most recently first
   (``topped_at``), then higher ``priority``, then oldest.

So priority and "move to top" order an app's own work and never let it pass another app's:
fairness across apps first, priority within an app (Tencent's ``TasksPriority`` is per app
too). The apps that wait are found with a loose index scan (a recursive CTE jumping from one
``app_id`` to the next in ``ix_step_app_queue``), so a claim costs a few index seeks per waiting
app, not a scan of the queue.
"""

from __future__ import annotations

from typing import Any, cast

from sqlalchemy import (
    Integer,
    ScalarSelect,
    Select,
    Table,
    and_,
    bindparam,
    false,
    func,
    or_,
    select,
)

from openvod.db.models import TaskStep
from openvod.domain.tasks import CLAIM, RUNNING
from openvod.engine.guards import state_in

__all__ = ["NO_CAP", "ORDER", "head_of_fairest_app", "position_query", "positions_query"]

_S = cast(Table, TaskStep.__table__)
NO_CAP = 2**31 - 1  # the ``cap`` parameter when apps have no running cap
RUNNABLE = CLAIM.sources  # the states a step can be leased from


def _order(t: Any) -> tuple[Any, ...]:
    """An app's queue order, matched column for column by the index ``ix_step_app_queue``."""
    return t.c.topped_at.desc().nulls_last(), t.c.priority.desc(), t.c.created_at, t.c.id


ORDER = _order(_S)


def head_of_fairest_app() -> ScalarSelect[int]:
    """The id of the step to lease next (see the module docstring), locked with ``FOR UPDATE SKIP
    LOCKED`` on PostgreSQL; bind parameter ``cap``: the most steps an app may have running."""
    scan, nxt = _S.alias("scan"), _S.alias("scan_next")
    waiting = (select(func.min(scan.c.app_id).label("app_id")).where(state_in(scan.c.state, RUNNABLE))
               .cte("waiting_apps", recursive=True))
    waiting = waiting.union_all(
        select(select(func.min(nxt.c.app_id)).where(state_in(nxt.c.state, RUNNABLE), nxt.c.app_id > waiting.c.app_id)
               .scalar_subquery())
        .where(waiting.c.app_id.is_not(None)))
    app = waiting.c.app_id
    head, run, done = _S.alias("head"), _S.alias("run"), _S.alias("done")
    has_head = (select(head.c.id).where(state_in(head.c.state, RUNNABLE), head.c.app_id == app,
                                        head.c.cancel_requested == false()).limit(1).exists())
    running = (select(func.count()).select_from(run).where(state_in(run.c.state, RUNNING), run.c.app_id == app)
               .scalar_subquery())
    served = select(func.max(done.c.started_at)).where(done.c.app_id == app).scalar_subquery()
    ranked = (select(app.label("app_id"), running.label("running"), served.label("served"))
              .where(app.is_not(None), has_head).subquery("ranked"))
    fairest = (select(ranked.c.app_id).where(ranked.c.running < bindparam("cap", type_=Integer))
               .order_by(ranked.c.running, ranked.c.served.asc().nulls_first(), ranked.c.app_id).limit(1)
               .scalar_subquery())
    return (select(_S.c.id).where(state_in(_S.c.state, RUNNABLE), _S.c.app_id == fairest,
                                  _S.c.cancel_requested == false())
            .order_by(*ORDER).limit(1).with_for_update(skip_locked=True).scalar_subquery())


def positions_query() -> Select[Any]:
    """:func:`position_query` for many steps of one app in one statement: ``(step id, position)``
    of each runnable step of app ``app`` whose id is in the expanding bind parameter ``ids``. The
    app's queue is numbered once in claim order (a window over it, O(queue)); one count per step
    would cost a page of queued tasks the queue's length each."""
    t = _S
    ranked = (select(t.c.id, (func.row_number().over(order_by=ORDER) - 1).label("position"))
              .where(state_in(t.c.state, RUNNABLE), t.c.app_id == bindparam("app", type_=t.c.app_id.type))
              .subquery())
    return select(ranked.c.id, ranked.c.position).where(ranked.c.id.in_(bindparam("ids", expanding=True)))


def position_query(topped: bool) -> Select[int]:
    """How many of the app's runnable steps come before a step (bind parameters ``app``,
    ``topped``, ``prio``, ``created``, ``id``). Other apps' steps are not counted: they are
    interleaved fairly, whatever their number."""
    t = _S
    p_topped, p_prio = bindparam("topped", type_=t.c.topped_at.type), bindparam("prio", type_=Integer)
    p_created, p_id = bindparam("created", type_=t.c.created_at.type), bindparam("id", type_=t.c.id.type)
    if topped:
        ahead_topped, same_topped = t.c.topped_at > p_topped, t.c.topped_at == p_topped
    else:
        ahead_topped, same_topped = t.c.topped_at.is_not(None), t.c.topped_at.is_(None)
    ahead = or_(
        ahead_topped,
        and_(same_topped, t.c.priority > p_prio),
        and_(same_topped, t.c.priority == p_prio,
             or_(t.c.created_at < p_created, and_(t.c.created_at == p_created, t.c.id < p_id))),
    )
    return (select(func.count()).select_from(t)
            .where(state_in(t.c.state, RUNNABLE), t.c.app_id == bindparam("app", type_=t.c.app_id.type), ahead))
