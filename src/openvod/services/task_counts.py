"""Task totals and integer offsets from the task tally, not by counting rows.

``task_tally`` (migration 0011, kept by triggers) holds, per app, state and *bucket* — the tasks
whose ids share their first :data:`~openvod.db.models.TALLY_PREFIX` characters, ~4.66 hours of
creation time — how many tasks there are. An id range (a range of days: ``id_floor``) is the
buckets wholly inside it, summed from the tally, plus the tasks of the two buckets it cuts, counted
in the index:

    total(app, lo, hi) = Σ tally[b] for lo ≤ b < hi  +  count(lo ≤ id < first full bucket)
                                                     +  count(last bucket's start ≤ id < hi)

so a total costs the number of buckets in the range plus at most two buckets of tasks, whatever
the app holds. An integer offset (Kingsoft's ``marker``) finds its bucket by running sums, then
walks inside that one bucket.

PostgreSQL's triggers append to ``task_tally_delta`` rather than updating shared rows; reads add
those, and :func:`fold` moves them into the tally (after a read that saw many, and from
housekeeping).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement, Engine, and_, func, literal_column, select, text, union_all
from sqlalchemy.orm import Session

from openvod.db.models import TALLY_PREFIX, Task, TaskTally, TaskTallyDelta
from openvod.domain.keys import prefix_end

__all__ = ["FOLD_AFTER", "fold", "id_at_offset", "rebuild", "state_counts", "total"]

FOLD_AFTER = 5000  # pending deltas a read may see before it folds them in
_FOLD_KEY = "hashtext('openvod.task_tally.fold')"  # the advisory lock folds (and a recount) take


def _bounds(lo: str | None, hi: str | None) -> tuple[str | None, str | None]:
    """The buckets wholly inside ids ``[lo, hi)``: ``[first, end)`` (None: unbounded). A bucket
    is a string of TALLY_PREFIX characters, and a task is in a bucket below ``first`` exactly when
    its id is below ``first`` (so too for ``end``): the edges ``[lo, first)`` and ``[end, hi)``
    are id ranges, whatever shape the ids have. Nothing is parsed."""
    first = end = None
    if lo is not None:
        first = prefix_end(lo[:TALLY_PREFIX]) or lo  # lo's own bucket is an edge: counted
    if hi is not None:
        end = hi[:TALLY_PREFIX]
    return first, end


def _tally_rows(app_id: str, first: str | None, end: str | None, states: Sequence[str]) -> Any:
    """The tally's rows and the pending deltas of ``app_id`` in buckets ``[first, end)``, as
    ``(bucket, n)`` — one statement, so one snapshot however a concurrent fold moves them."""
    def where(table: Any) -> list[ColumnElement[bool]]:
        conds: list[ColumnElement[bool]] = [table.app_id == app_id]
        if first is not None:
            conds.append(table.bucket >= first)
        if end is not None:
            conds.append(table.bucket < end)
        if states:
            conds.append(table.state.in_(states))
        return conds

    return union_all(
        select(TaskTally.bucket.label("bucket"), TaskTally.n.label("n"), literal_column("0").label("pending"))
        .where(*where(TaskTally)),
        select(TaskTallyDelta.bucket, TaskTallyDelta.d, literal_column("1")).where(*where(TaskTallyDelta)),
    ).subquery()


def _edge_count(s: Session, app_id: str, lo: str, hi: str, states: Sequence[str]) -> int:
    conds = [Task.app_id == app_id, Task.id >= lo, Task.id < hi]
    if states:
        conds.append(Task.state == states[0] if len(states) == 1 else Task.state.in_(states))
    return int(s.scalar(select(func.count()).select_from(Task).where(*conds)) or 0)


def total(s: Session, app_id: str, lo: str | None, hi: str | None, states: Sequence[str] = ()) -> int:
    """How many tasks ``app_id`` has with ids in ``[lo, hi)`` (None: unbounded) in any of
    ``states`` (all states when empty)."""
    first, end = _bounds(lo, hi)
    if first is not None and end is not None and first >= end:  # within two buckets: count them
        return _edge_count(s, app_id, lo or "", hi or "", states)
    rows = _tally_rows(app_id, first, end, states)
    n, pending = s.execute(select(func.coalesce(func.sum(rows.c.n), 0),
                                  func.coalesce(func.sum(rows.c.pending), 0))).one()
    n = int(n)
    if lo is not None and first is not None and lo < first:
        n += _edge_count(s, app_id, lo, first, states)
    if hi is not None and end is not None and end < hi:
        n += _edge_count(s, app_id, end, hi, states)
    if int(pending) > FOLD_AFTER:
        fold(s)
    return n


def state_counts(s: Session, app_id: str) -> dict[str, int]:
    """``app_id``'s tasks by state (states it has none of are left out)."""
    rows = union_all(select(TaskTally.state.label("state"), TaskTally.n.label("n")).where(TaskTally.app_id == app_id),
                     select(TaskTallyDelta.state, TaskTallyDelta.d).where(TaskTallyDelta.app_id == app_id)).subquery()
    return {state: int(n) for state, n in s.execute(select(rows.c.state, func.sum(rows.c.n)).group_by(rows.c.state))
            if n}


def id_at_offset(s: Session, app_id: str, offset: int, lo: str | None, hi: str | None) -> str | None:
    """The id of the ``offset``-th task (1-based) of ``app_id`` with ids in ``[lo, hi)``, oldest
    first, or None past the end: running sums of the buckets find the one it lies in, and only
    that bucket's index entries are walked."""
    first, end = _bounds(lo, hi)
    segments: list[tuple[str | None, str | None, int | None]] = []  # (id from, id to, tasks; None: count)
    if first is not None and end is not None and first >= end:
        segments.append((lo, hi, None))
    else:
        if lo is not None and first is not None and lo < first:
            segments.append((lo, first, None))
        rows = _tally_rows(app_id, first, end, ())
        for bucket, n in s.execute(select(rows.c.bucket, func.sum(rows.c.n)).group_by(rows.c.bucket)
                                   .order_by(rows.c.bucket)):
            segments.append((bucket, prefix_end(bucket), int(n)))  # the ids of the bucket
        if end is not None and hi is not None and end < hi:
            segments.append((end, hi, None))
    left = offset
    for start, stop, n in segments:
        if n is None:
            n = _edge_count(s, app_id, start or "", stop or "", ())
        if left <= n:
            conds = [Task.app_id == app_id]
            if start is not None:
                conds.append(Task.id >= start)
            if stop is not None:
                conds.append(Task.id < stop)
            return s.scalar(select(Task.id).where(and_(*conds)).order_by(Task.id).offset(left - 1).limit(1))
        left -= n
    return None


def fold(s: Session) -> None:
    """Move the pending deltas into the tally (PostgreSQL; SQLite's triggers write the tally
    directly), in ``s``'s transaction: no second connection (a read that folds must not wait for
    the pool it holds a connection of). One statement; while another transaction folds, this one
    does nothing (the advisory lock is tried, not waited for)."""
    if s.get_bind().engine.dialect.name != "postgresql":
        return
    if not s.scalar(text(f"SELECT pg_try_advisory_xact_lock({_FOLD_KEY})")):
        return
    s.execute(text(
        "WITH moved AS (DELETE FROM task_tally_delta RETURNING app_id, bucket, state, d) "
        "INSERT INTO task_tally (app_id, bucket, state, n) "
        "SELECT app_id, bucket, state, sum(d) FROM moved GROUP BY app_id, bucket, state "
        "ORDER BY app_id, bucket, state "
        "ON CONFLICT (app_id, bucket, state) DO UPDATE SET n = task_tally.n + excluded.n"))


_FOLD_LOCK = f"SELECT pg_advisory_xact_lock({_FOLD_KEY})"


def rebuild(engine: Engine) -> int:
    """Count every app's tasks again and replace the tally with the counts (``openvod
    recount-tasks``): for an operator who changed ``task`` with its triggers off. One transaction
    that sees one snapshot (PostgreSQL: ``REPEATABLE READ``, holding the fold's lock): a change
    committed after it began keeps its pending delta and is not counted, so nothing is counted
    twice or lost. Returns how many tasks were counted."""
    postgres = engine.dialect.name == "postgresql"
    options = {"isolation_level": "REPEATABLE READ"} if postgres else {}
    with engine.connect().execution_options(**options) as conn, conn.begin():
        if postgres:
            conn.execute(text(_FOLD_LOCK))
        conn.execute(text("DELETE FROM task_tally_delta"))
        conn.execute(text("DELETE FROM task_tally"))
        conn.execute(text("INSERT INTO task_tally (app_id, bucket, state, n) "
                          "SELECT app_id, substr(id, 1, 6), state, count(*) FROM task GROUP BY 1, 2, 3"))
        return int(conn.scalar(text("SELECT coalesce(sum(n), 0) FROM task_tally")) or 0)
