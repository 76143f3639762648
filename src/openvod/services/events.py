"""Events: recorded in the caller's transaction, then pulled (long-poll + confirm) or pushed.

Recording. :func:`record` adds the event *and* its push deliveries (one to the app's callback URL
if set, one to a task's own ``cb_url`` if given) to the caller's session, so they exist iff the
change they report commits. A task's own callback follows the task's ``cb_format``
(:class:`~openvod.domain.events.CallbackFormat`): ``event`` pushes every state change as the event;
``kingsoft`` (Kingsoft's CreateTask ``cbUrl``) pushes only the end (succ, fail, canceled), with a
body the dispatcher has rendered in that format (``deliveries.Dispatcher(formats=...)``).

Waking waiters. A global SQLAlchemy ``after_commit`` listener sends "events for app Y" through
the committing context's signals (``ctx.signals``, found in the session's ``info``) after any
commit of a session that recorded an event (or called :func:`notify_on_commit`); callers need do
nothing. Long-pollers and the push dispatcher wake at once. Other processes (job runners) write
events too: with signals shared between processes (PostgreSQL) their commits wake this one's
waiters as well, and a puller re-checks the database every ``ctx.signals.recheck_seconds`` as a
safety net; with signals local to the process (SQLite) every :data:`RECHECK_SECONDS` — a bounded
wait, not a spin. Either way no later than a handed-out event becomes visible again (no signal
says so).

Pulling. :func:`pull_events` hands out up to :data:`PULL_BATCH` visible, unconfirmed events,
oldest first, and hides each for ``pull_redeliver_seconds``; unless confirmed by then it is handed
out again. The handle is ``"<event_id>.<pulls>"``: it names one hand-out. :func:`confirm_events`
accepts any handle of an event, stale ones included — a consumer that processed the event from an
earlier hand-out has done the work, and refusing its confirm would only cause a duplicate. Handles
that are malformed, unknown, purged or of another app are ignored, never an error, so retrying a
confirm is harmless and no app can probe another's event ids.

Looking. :func:`list_recent` pages through an app's events, newest first, for people and
dashboards. It only reads: it neither hands events out nor confirms them, so it never takes an
event away from the app's pull consumer.
"""

from __future__ import annotations

import asyncio
import logging
import re
import secrets
import threading
import time
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, bindparam, event, func, insert, select, update
from sqlalchemy.orm import Session

from openvod.config import Settings
from openvod.db.models import App, Delivery, Event, Task, utcnow
from openvod.domain.events import CallbackFormat, DeliveryState, EventType
from openvod.domain.tasks import TERMINAL
from openvod.domain.views.events import EventView, RecentEventView
from openvod.errors import InvalidParameter
from openvod.ids import new_id
from openvod.runtime import SIGNALS_INFO_KEY, Context, Signals, Topic
from openvod.services.urls import render

__all__ = [
    "CALLBACK_METHODS",
    "CODE_CALLBACK_METHOD",
    "MAX_CONFIRM",
    "MAX_RECENT",
    "PULL_BATCH",
    "RECHECK_SECONDS",
    "EventType",
    "confirm_events",
    "list_recent",
    "new_callback_secret",
    "notify_on_commit",
    "pull_events",
    "pull_events_async",
    "record",
    "record_core",
]

log = logging.getLogger("openvod.events")

PULL_BATCH = 16
RECHECK_SECONDS = 1.0
CALLBACK_METHODS = frozenset({"POST", "PUT"})
CODE_CALLBACK_METHOD = "InvalidParameter.CallbackMethod"
MAX_CONFIRM = 100
MAX_RECENT = 100
_EVENT_ID = re.compile(r"ev[0-9a-z]{26}")
_EVENT_TYPE = re.compile(r"[A-Za-z][A-Za-z0-9_.]{0,63}")
_NOTIFY_KEY = "openvod.events.notify"
# Deliveries get their real deadline (created + push_retry_hours) from the dispatcher's settings
# on their first attempt; record() has only a session, and runs in processes that may not have
# loaded settings. Until then the default stands in.
_PLACEHOLDER_RETRY = timedelta(hours=float(Settings.model_fields["push_retry_hours"].default))


def notify_on_commit(s: Session, app_id: str | None = None) -> None:
    """Wake the waiters of ``app_id``'s events (None: every waiter) once ``s`` commits; nothing
    happens if it rolls back."""
    s.info.setdefault(_NOTIFY_KEY, set()).add(app_id)


@event.listens_for(Session, "after_commit")
def _after_commit(s: Session) -> None:
    app_ids = s.info.pop(_NOTIFY_KEY, None)
    signals: Signals | None = s.info.get(SIGNALS_INFO_KEY)
    if app_ids and signals is not None:
        for app_id in app_ids:
            signals.events_recorded(app_id)


@event.listens_for(Session, "after_rollback")
def _after_rollback(s: Session) -> None:
    s.info.pop(_NOTIFY_KEY, None)


def new_callback_secret() -> str:
    """A fresh HMAC secret for signing an app's pushes."""
    return "whsec_" + secrets.token_hex(24)


def record(
    s: Session,
    app_id: str,
    type_: str,
    payload: dict[str, Any],
    *,
    cb_url: str | None = None,
    cb_method: str = "POST",
) -> str:
    """Add an event in the caller's transaction, so it exists iff the change it reports does.

    Also queues its pushes: to the app's callback URL if one is set, and to ``cb_url`` (a task's
    own callback) if given; a ``cb_url`` equal to the app's callback is pushed once. Check
    ``cb_url`` with ``deliveries.check_callback`` when the task is created: this function never
    fails the caller's transaction over it, so a method other than POST/PUT only yields a delivery
    that is ``failed`` from the start. Waiters wake when the session commits. Returns the event id.
    """
    s.flush()  # the Core statements below then see the caller's pending changes (the app's, say)
    event_id = record_core(s.connection(), app_id, type_, payload, cb_url=cb_url, cb_method=cb_method)
    notify_on_commit(s, app_id)
    return event_id


_APPS = App.__table__
_APP_CALLBACK = (select(_APPS.c.callback_url, _APPS.c.callback_method, _APPS.c.callback_secret)
                 .where(_APPS.c.id == bindparam("app_id")))


def record_core(
    conn: Connection,
    app_id: str,
    type_: str,
    payload: dict[str, Any],
    *,
    cb_url: str | None = None,
    cb_method: str = "POST",
) -> str:
    """:func:`record` in Core statements on ``conn``, for hot paths (the job engine) that keep
    no ORM objects. Same rows, same pushes; the caller's pending ORM changes are not seen, and
    nothing wakes waiters: call :func:`notify_on_commit` on the session owning ``conn`` (or
    ``ctx.signals.events_recorded(app_id)`` after the commit). Returns the event id."""
    method = (cb_method or "POST").upper()
    now = utcnow()
    event_id = new_id("ev")
    conn.execute(insert(Event), {"id": event_id, "app_id": app_id, "type": type_, "payload": payload,
                                 "created_at": now, "visible_at": now, "pulls": 0})
    app = conn.execute(_APP_CALLBACK, {"app_id": app_id}).first()
    own = _own_callback(conn, type_, payload, cb_url) if cb_url else None
    # The app's signing secret, if it has none yet, is made (sealed) when the first push is sent.
    targets = _targets(app, (cb_url, method, own) if cb_url and own else None)
    if targets:
        conn.execute(insert(Delivery), [_delivery(event_id, app_id, url, verb, fmt, now) for url, verb, fmt in targets])
    return event_id


_TASK_CB_FORMAT = select(Task.__table__.c.cb_format).where(Task.__table__.c.id == bindparam("task_id"))


def _own_callback(conn: Connection, type_: str, payload: dict[str, Any], cb_url: str) -> CallbackFormat | None:
    """The format of the push to a task's own ``cb_url`` for this event, or None for no push: a
    ``kingsoft`` task's callback hears only of its end."""
    if type_ != EventType.TASK_STATE_CHANGED:
        return CallbackFormat.EVENT
    found = conn.execute(_TASK_CB_FORMAT, {"task_id": str(payload.get("TaskId"))}).scalar()
    if found != CallbackFormat.KINGSOFT:
        return CallbackFormat.EVENT
    return CallbackFormat.KINGSOFT if payload.get("State") in TERMINAL else None


def _targets(app: Any, own: tuple[str, str, CallbackFormat] | None) -> list[tuple[str, str, CallbackFormat]]:
    """Where an event is pushed: the app's callback (``app`` is a row or an ``App``, or None), then
    a task's own callback ``(url, method, format)`` unless it is the same push as the app's."""
    targets: list[tuple[str, str, CallbackFormat]] = []
    if app is not None and app.callback_url:
        targets.append((app.callback_url, app.callback_method or "POST", CallbackFormat.EVENT))
    if own is not None and own not in targets:
        targets.append(own)
    return targets


def _delivery(event_id: str, app_id: str, url: str, verb: str, fmt: CallbackFormat, now: datetime) -> dict[str, Any]:
    d: dict[str, Any] = {"event_id": event_id, "app_id": app_id, "url": url, "method": verb, "format": fmt.value,
                         "state": DeliveryState.PENDING, "attempts": 0, "next_attempt_at": now,
                         "deadline_at": now + _PLACEHOLDER_RETRY, "log": [], "last_error": None, "created_at": now,
                         "updated_at": now}
    if verb not in CALLBACK_METHODS:
        # Failing here would undo the caller's change (a task finishing); the refusal is kept
        # in the delivery log instead.
        d["state"], d["last_error"] = DeliveryState.FAILED, f"{CODE_CALLBACK_METHOD}: method {verb!r} is not supported"
    return d


def _item(ctx: Context, ev: Event) -> EventView:
    return EventView(
        event_handle=f"{ev.id}.{ev.pulls}",
        event_id=ev.id,
        type=ev.type,
        created_at=ev.created_at,
        payload=render(ctx, ev.app_id, ev.payload),  # URLs are signed as the event is handed out
    )


def _claim(ctx: Context, app_id: str) -> list[EventView]:
    """Hand out up to PULL_BATCH visible events of the app. Each row is taken with a conditional
    update on ``pulls``, so two pollers racing for the same event never both get it."""
    now = utcnow()
    hidden_until = now + timedelta(seconds=ctx.settings.pull_redeliver_seconds)
    out: list[EventView] = []
    with ctx.db.session() as s:
        rows = s.execute(
            select(Event.id, Event.pulls)
            .where(Event.app_id == app_id, Event.confirmed_at.is_(None), Event.visible_at <= now)
            .order_by(Event.id)
            .limit(PULL_BATCH)
        ).all()
        for event_id, pulls in rows:
            taken = s.execute(
                update(Event)
                .where(Event.id == event_id, Event.pulls == pulls, Event.confirmed_at.is_(None))
                .values(visible_at=hidden_until, pulls=pulls + 1)
                .execution_options(synchronize_session=False)
            )
            if getattr(taken, "rowcount", 0) == 1:
                ev = s.get(Event, event_id, populate_existing=True)
                if ev is not None:
                    out.append(_item(ctx, ev))
    return out


def _bounded_wait(settings: Settings, wait: float) -> float:
    return max(0.0, min(float(wait), settings.pull_wait_seconds))


def _recheck(ctx: Context, app_id: str) -> float:
    """How long an empty pull may wait before looking again: ``ctx.signals.recheck_seconds``, or
    less when an event handed out earlier becomes visible again before that (unsignalled)."""
    recheck = ctx.signals.recheck_seconds
    if recheck <= RECHECK_SECONDS:
        return recheck
    with ctx.db.session() as s:
        due = s.scalar(select(func.min(Event.visible_at))
                       .where(Event.app_id == app_id, Event.confirmed_at.is_(None), Event.visible_at > utcnow()))
    if due is None:
        return recheck
    return min(recheck, max((due - utcnow()).total_seconds(), 0.0) + 0.01)


def pull_events(ctx: Context, app_id: str, *, wait: float) -> list[EventView]:
    """Blocking pull: events at once if any wait, else block up to ``wait`` seconds (clamped to
    ``pull_wait_seconds``) for one to appear. Returns at most 16 events, oldest first; an empty
    list on timeout."""
    deadline = time.monotonic() + _bounded_wait(ctx.settings, wait)
    woken = threading.Event()

    def wake(key: str | None) -> None:
        if key is None or key == app_id:
            woken.set()

    with ctx.signals.listening(Topic.EVENTS, wake):
        while True:
            woken.clear()  # before the check: a commit after it still ends the wait below
            items = _claim(ctx, app_id)
            remaining = deadline - time.monotonic()
            if items or remaining <= 0:
                return items
            woken.wait(min(remaining, _recheck(ctx, app_id)))


async def pull_events_async(ctx: Context, app_id: str, *, wait: float) -> list[EventView]:
    """:func:`pull_events` for an event loop: the wait holds no thread, only the short database
    reads run on the default executor."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + _bounded_wait(ctx.settings, wait)
    woken = asyncio.Event()

    def wake(key: str | None) -> None:
        if key is not None and key != app_id:
            return
        try:
            loop.call_soon_threadsafe(woken.set)
        except RuntimeError:  # the loop has closed; nobody is waiting any more
            pass

    with ctx.signals.listening(Topic.EVENTS, wake):
        while True:
            woken.clear()
            items = await asyncio.to_thread(_claim, ctx, app_id)
            remaining = deadline - loop.time()
            if items or remaining <= 0:
                return items
            recheck = ctx.signals.recheck_seconds
            if recheck > RECHECK_SECONDS:  # a query to bound it: off the loop
                recheck = await asyncio.to_thread(_recheck, ctx, app_id)
            try:
                await asyncio.wait_for(woken.wait(), timeout=min(remaining, recheck))
            except TimeoutError:
                pass


def _parse_handle(handle: str) -> str | None:
    event_id, sep, pulls = handle.rpartition(".")
    if not sep or not event_id or not (pulls.isascii() and pulls.isdigit() and len(pulls) <= 19) or len(event_id) > 40:
        return None
    return event_id


def confirm_events(ctx: Context, app_id: str, handles: list[str]) -> int:
    """Mark the events named by ``handles`` as consumed, so they are never handed out again.

    Returns how many distinct events of ``app_id`` the handles name (confirmed now or before);
    handles that name nothing of this app are ignored, so ``result < len(handles)`` tells the
    caller some were. A stale handle (from an earlier hand-out) still confirms its event.
    """
    if len(handles) > MAX_CONFIRM:
        raise InvalidParameter(f"at most {MAX_CONFIRM} handles per confirm, got {len(handles)}",
                               code="InvalidParameter.EventHandles")
    ids = {eid for eid in map(_parse_handle, handles) if eid is not None}
    if not ids:
        return 0
    now = utcnow()
    with ctx.db.session() as s:
        s.execute(
            update(Event)
            .where(Event.app_id == app_id, Event.id.in_(ids), Event.confirmed_at.is_(None))
            .values(confirmed_at=now)
            .execution_options(synchronize_session=False)
        )
        found = s.scalars(select(Event.id).where(Event.app_id == app_id, Event.id.in_(ids))).all()
    return len(found)


def _recent_item(ctx: Context, ev: Event) -> RecentEventView:
    return RecentEventView(event_id=ev.id, type=ev.type, created_at=ev.created_at,
                           payload=render(ctx, ev.app_id, ev.payload), pulls=ev.pulls, confirmed_at=ev.confirmed_at)


def list_recent(
    ctx: Context, app_id: str, *, limit: int = 50, type_: str | None = None, marker: str | None = None
) -> tuple[list[RecentEventView], str | None]:
    """The app's events, newest first, without touching them (see "Looking" above).

    Keyset-paged: pass the returned ``next_marker`` (an event id; ``None`` on the last page) as
    ``marker`` for the next, older page; events recorded meanwhile never shift a page. ``type_``
    keeps one event type; empty ``type_`` and ``marker`` are ignored. In each item ``pulls`` counts hand-outs by
    ``GET /v1/events``, ``confirmed_at`` is ``None`` until a consumer confirmed it. Raises
    ``InvalidParameter`` (``.Limit``, ``.EventType``, ``.Marker``) for a limit outside 1-100, a
    malformed type or a marker that is not an event id.
    """
    if not 1 <= limit <= MAX_RECENT:
        raise InvalidParameter(f"limit must be 1-{MAX_RECENT}, got {limit}", code="InvalidParameter.Limit")
    if type_ and not _EVENT_TYPE.fullmatch(type_):
        example = EventType.NEW_FILE_UPLOAD
        raise InvalidParameter(f"type must be an event type such as {example!r}, got {type_[:80]!r}",
                               code="InvalidParameter.EventType")
    if marker and not _EVENT_ID.fullmatch(marker):
        raise InvalidParameter(f"marker must be the next_marker of an earlier page, got {marker[:80]!r}",
                               code="InvalidParameter.Marker")
    q = select(Event).where(Event.app_id == app_id).order_by(Event.id.desc()).limit(limit + 1)
    if type_:
        q = q.where(Event.type == type_)
    if marker:
        q = q.where(Event.id < marker)
    with ctx.db.session() as s:
        rows = list(s.scalars(q))
        items = [_recent_item(ctx, ev) for ev in rows[:limit]]
    return items, (rows[limit - 1].id if len(rows) > limit else None)
