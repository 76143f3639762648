"""Push delivery of events: the app's callback settings, the delivery log, and the dispatcher.

Every push is a ``delivery`` row (see :func:`openvod.services.events.record`); all its state lives
in the database, so deliveries survive restarts and crashes. The :class:`Dispatcher` claims due
rows with a short lease (``next_attempt_at = now + 2 × push_timeout``): a process that dies
mid-send leaves a row that becomes due again when the lease runs out — a late retry, never a loss.
Receivers therefore see at-least-once delivery and dedupe on ``OpenVOD-Event-Id``.

Bodies: a delivery of format ``event`` carries the signed event envelope (``event_id``, ``type``,
``created_at``, ``app_id``, ``payload``). Another format (a Kingsoft task's ``cbUrl``: see
:class:`~openvod.domain.events.CallbackFormat`) is rendered, when it is sent, by the
:data:`BodyRenderer` the transport that owns the format hands to the :class:`Dispatcher`; the
headers (signature included) are the same.

Target policy: http(s) only; loopback and private addresses are allowed for the default app
(self-hosted users call their own services) and, only when ``callback_allow_private`` is set, for
other apps (tenants must not aim the server at its internal network); link-local and
cloud-metadata addresses never. Each rule is checked when the URL is configured and again, on the
resolved address, at every connection (DNS can change); and when ``callback_allowlist`` is set,
only the hosts it names (``host`` or ``*.domain``) are reached.
"""

from __future__ import annotations

import json
import logging
import random
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from datetime import timedelta
from ipaddress import ip_address
from typing import Any

import httpx
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from openvod import __version__
from openvod.client.webhooks import EVENT_ID_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER, sign
from openvod.config import Settings
from openvod.db.models import App, Delivery, Event, utcnow
from openvod.domain.events import CallbackFormat, DeliveryState
from openvod.domain.times import iso_ms
from openvod.domain.views.events import CallbackView, DeliveryAttemptView, DeliveryView
from openvod.errors import InvalidParameter, NotFound, OpenVODError
from openvod.net.addresses import ALWAYS_REFUSED, classify_address, is_allowed
from openvod.net.transport import GuardedBackend, GuardedTransport, Resolver, system_resolver
from openvod.runtime import Context, Topic
from openvod.services.events import (
    CALLBACK_METHODS,
    CODE_CALLBACK_METHOD,
    RECHECK_SECONDS,
    new_callback_secret,
    notify_on_commit,
)
from openvod.services.stored_secrets import open_callback_secret, seal_callback_secret
from openvod.services.urls import render

__all__ = [
    "BACKOFF_CAP",
    "CODE_CALLBACK_METHOD",
    "CODE_CALLBACK_URL",
    "BodyRenderer",
    "DeliveryState",
    "Dispatcher",
    "backoff_delay",
    "check_callback",
    "clear_callback",
    "get_callback",
    "host_allowlisted",
    "list_deliveries",
    "private_callbacks_allowed",
    "redeliver",
    "set_callback",
]

log = logging.getLogger("openvod.deliveries")

CODE_CALLBACK_URL = "InvalidParameter.CallbackUrl"
BACKOFF_CAP = 3600.0
LOG_KEEP = 50
_RESOLVE_TIMEOUT = 3.0
_MIN_IDLE = 0.05  # floor of the dispatcher's wait, so a row it cannot claim never makes it spin
_resolve_pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="openvod-callback-dns")

BodyRenderer = Callable[[Context, str, dict[str, Any]], dict[str, Any]]
"""``render(ctx, app_id, event payload) -> JSON body`` of a push in a format other than ``event``,
called as the push is sent. An :class:`~openvod.errors.OpenVODError` (the task was deleted, say)
fails the delivery for good; any other exception is retried."""


def backoff_delay(attempt: int, base: float, cap: float = BACKOFF_CAP, rng: random.Random | None = None) -> float:
    """Seconds to wait after failed attempt number ``attempt`` (1-based): "full jitter", uniform in
    ``[0, min(cap, base × 2^(attempt-1))]``, so many failing receivers do not retry in lockstep."""
    ceiling = min(cap, base * 2.0 ** min(max(attempt - 1, 0), 62))
    return (rng or random).uniform(0.0, ceiling)


# --- target policy ----------------------------------------------------------------------------

def host_allowlisted(settings: Settings, host: str) -> bool:
    """True if ``callback_allowlist`` is empty or names ``host`` (exactly, or as ``*.domain``)."""
    if not settings.callback_allowlist:
        return True
    host = host.strip("[]").rstrip(".").lower()
    for entry in settings.callback_allowlist:
        entry = entry.strip().strip("[]").rstrip(".").lower()
        if host == entry or (entry.startswith("*.") and host.endswith(entry[1:])):
            return True
    return False


def _json(body: dict[str, Any]) -> bytes:
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()


def _forbidden(url: str, why: str) -> InvalidParameter:
    return InvalidParameter(f"callback URL {url!r} {why}", code=CODE_CALLBACK_URL)


def private_callbacks_allowed(ctx: Context, app_id: str) -> bool:
    """May ``app_id``'s callbacks reach loopback and private addresses? The default app may (its
    operator runs the receivers); other apps only when ``callback_allow_private`` is set."""
    if ctx.settings.callback_allow_private:
        return True
    with ctx.db.session() as s:
        return bool(s.scalar(select(App.is_default).where(App.id == app_id)))


def check_callback(
    settings: Settings, url: str, method: str = "POST", *, resolver: Resolver = system_resolver,
    allow_private: bool = True,
) -> tuple[str, str]:
    """Validate a callback URL and method at configuration time; return them normalised.

    Raises ``InvalidParameter`` with ``InvalidParameter.CallbackMethod`` for a method other than
    POST or PUT, and ``InvalidParameter.CallbackUrl`` for a URL that is not http(s), is outside
    ``callback_allowlist``, or whose host is (or resolves to) a link-local or metadata address, or
    (``allow_private`` false: see :func:`private_callbacks_allowed`) a loopback or private one.
    A host that does not resolve now is accepted; each push checks its addresses again.
    """
    verb = method.upper()
    if verb not in CALLBACK_METHODS:
        raise InvalidParameter(f"callback method {method!r} is not supported; use POST or PUT",
                               code=CODE_CALLBACK_METHOD)
    if len(url) > 1024:
        raise _forbidden(url[:64] + "...", "is longer than 1024 characters")
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, TypeError) as exc:
        raise _forbidden(url, f"is not a valid URL: {exc}") from exc
    if parsed.scheme not in ("http", "https"):
        raise _forbidden(url, f"uses scheme {parsed.scheme!r}; only http and https are allowed")
    host = parsed.raw_host.decode("ascii").lower()
    if not host:
        raise _forbidden(url, "has no host")
    if not host_allowlisted(settings, host):
        raise _forbidden(url, f"names host {host!r}, which is not in this server's callback_allowlist")
    for address in _addresses(host, parsed.port or (443 if parsed.scheme == "https" else 80), resolver):
        kind = classify_address(address)
        if kind in ALWAYS_REFUSED:
            raise _forbidden(url, f"reaches {address} ({kind.value}), which callbacks may never target")
        if not is_allowed(address, allow_private=allow_private):
            raise _forbidden(url, f"reaches {address} ({kind.value}); only the default app's callbacks may "
                                  "target non-public addresses unless the operator sets callback_allow_private")
    return str(parsed), verb


def _addresses(host: str, port: int, resolver: Resolver) -> Sequence[str]:
    try:
        return [str(ip_address(host))]
    except ValueError:
        pass
    future = _resolve_pool.submit(resolver, host, port)
    try:
        return future.result(timeout=_RESOLVE_TIMEOUT)
    except (FutureTimeout, OSError):
        return []


# --- app callback settings and the delivery log -----------------------------------------------

def _signing_secret(ctx: Context, s: Session, app: App) -> str:
    """The app's push-signing secret in clear; created (sealed at rest) on first use. Every app
    can sign: its tasks' own callbacks use it too."""
    if not app.callback_secret:
        sealed = seal_callback_secret(ctx.db, app.id, new_callback_secret())
        # Conditional, so of two processes creating it at once one wins and both use its secret.
        s.execute(update(App).where(App.id == app.id, (App.callback_secret.is_(None)) | (App.callback_secret == ""))
                  .values(callback_secret=sealed).execution_options(synchronize_session=False))
        s.refresh(app, ["callback_secret"])
    assert app.callback_secret is not None
    return open_callback_secret(ctx.db, app.id, app.callback_secret)


def _callback(ctx: Context, s: Session, app: App) -> CallbackView:
    return CallbackView(url=app.callback_url, method=app.callback_method or "POST",
                        secret=_signing_secret(ctx, s, app))


def _app(s: Session, app_id: str) -> App:
    app = s.get(App, app_id)
    if app is None:
        raise NotFound(f"app {app_id} does not exist", code="ResourceNotFound.App")
    return app


def get_callback(ctx: Context, app_id: str) -> CallbackView:
    """The app's push settings (``url`` None when unset)."""
    with ctx.db.session() as s:
        return _callback(ctx, s, _app(s, app_id))


def set_callback(ctx: Context, app_id: str, url: str, method: str = "POST") -> CallbackView:
    """Push the app's future events to ``url``. Creates the signing secret on first use and keeps
    it afterwards. Deliveries already queued keep the URL they were queued with."""
    url, verb = check_callback(ctx.settings, url, method, allow_private=private_callbacks_allowed(ctx, app_id))
    with ctx.db.session() as s:
        app = _app(s, app_id)
        app.callback_url, app.callback_method = url, verb
        return _callback(ctx, s, app)


def clear_callback(ctx: Context, app_id: str) -> CallbackView:
    """Stop pushing the app's events. The secret stays: a task's own callback still uses it."""
    with ctx.db.session() as s:
        app = _app(s, app_id)
        app.callback_url, app.callback_method = None, "POST"
        return _callback(ctx, s, app)


def _attempt(entry: dict[str, Any]) -> DeliveryAttemptView:
    return DeliveryAttemptView(at=entry["at"], attempt=entry["attempt"], status=entry["status"],
                               error=entry["error"], ms=entry["ms"])


def _delivery(d: Delivery, event_type: str) -> DeliveryView:
    return DeliveryView(
        id=d.id, event_id=d.event_id, event_type=event_type, url=d.url, method=d.method,
        state=d.state, attempts=d.attempts, last_status=d.last_status, last_error=d.last_error,
        next_attempt_at=d.next_attempt_at if d.state == DeliveryState.PENDING else None,
        deadline_at=d.deadline_at, created_at=d.created_at, updated_at=d.updated_at,
        log=tuple(_attempt(e) for e in d.log or []),
    )


def list_deliveries(ctx: Context, app_id: str, *, state: str | None = None, limit: int = 20) -> list[DeliveryView]:
    """The app's most recent deliveries, newest first, each with its attempt log."""
    query = select(Delivery, Event.type).join(Event, Event.id == Delivery.event_id).where(Delivery.app_id == app_id)
    if state:
        try:
            query = query.where(Delivery.state == DeliveryState(state).value)
        except ValueError as exc:
            raise InvalidParameter(f"state must be pending, done or failed, got {state!r}",
                                   code="InvalidParameter.State") from exc
    with ctx.db.session() as s:
        rows = s.execute(query.order_by(Delivery.id.desc()).limit(max(1, min(limit, 100)))).all()
        return [_delivery(d, t) for d, t in rows]


def redeliver(ctx: Context, app_id: str, delivery_id: int) -> DeliveryView:
    """Send a delivery again now, whatever its state, with a fresh ``push_retry_hours`` deadline.
    The receiver gets the same event id again."""
    now = utcnow()
    with ctx.db.session() as s:
        d = s.get(Delivery, delivery_id)
        if d is None or d.app_id != app_id:
            raise NotFound(f"delivery {delivery_id} does not exist", code="ResourceNotFound.Delivery")
        d.state, d.next_attempt_at = DeliveryState.PENDING.value, now
        d.deadline_at = now + timedelta(hours=ctx.settings.push_retry_hours)
        notify_on_commit(s, app_id)
        ev = s.get(Event, d.event_id)
        return _delivery(d, ev.type if ev else "")


# --- the dispatcher ---------------------------------------------------------------------------

@dataclass(frozen=True)
class _Job:
    delivery_id: int
    event_id: str
    url: str
    method: str
    body: bytes | None  # None: rendered in ``format`` from the event's payload as it is sent
    secret: str
    attempt: int
    allow_private: bool  # may connect to loopback/private addresses (see private_callbacks_allowed)
    format: str = CallbackFormat.EVENT.value
    app_id: str = ""
    payload: dict[str, Any] | None = None


@dataclass(frozen=True)
class _Outcome:
    status: int | None
    error: str | None
    permanent: bool
    ms: int


class Dispatcher:
    """Sends due deliveries from a background thread, at most ``concurrency`` at a time.

    The thread sleeps until the next delivery falls due, a commit records an event (through
    ``ctx.signals``, topic ``events``), a send finishes, or :data:`RECHECK_SECONDS` pass
    (rows written by other processes). ``start()`` once, ``stop()`` at shutdown. ``formats``
    renders the bodies of deliveries in formats other than ``event``; a delivery in a format it
    lacks fails, naming the format.
    """

    def __init__(self, ctx: Context, *, concurrency: int = 4, resolver: Resolver = system_resolver,
                 formats: Mapping[str, BodyRenderer] | None = None) -> None:
        self._ctx = ctx
        self._formats = dict(formats or {})
        self._concurrency = concurrency
        self._resolver = resolver
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._lock = threading.Lock()
        self._inflight = 0
        self._pool = ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="openvod-push")
        self._thread = threading.Thread(target=self._run, name="push-dispatcher", daemon=True)
        self._unsubscribe: Callable[[], None] | None = None

    def start(self) -> None:
        self._unsubscribe = self._ctx.signals.subscribe(Topic.EVENTS, lambda _app_id: self._wake.set())
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        """Stop claiming; wait up to ``timeout`` for the loop. Sends still in flight are abandoned
        to their leases: they are retried later, by this process or the next."""
        self._stopping.set()
        self._wake.set()
        if self._unsubscribe is not None:
            self._unsubscribe()
        self._thread.join(timeout)
        self._pool.shutdown(wait=False, cancel_futures=True)

    def _run(self) -> None:
        failures = 0
        while not self._stopping.is_set():
            self._wake.clear()  # before looking: a wake-up during the look is not lost
            try:
                self._dispatch_due()
                idle = self._idle_seconds()
                failures = 0
            except Exception:  # the database may be briefly unavailable; back off and retry
                failures += 1
                idle = min(RECHECK_SECONDS * 2.0 ** min(failures, 5), 30.0)
                log.exception("push dispatcher round failed; retrying in %.1f s", idle)
            self._wake.wait(idle)

    def _free_slots(self) -> int:
        with self._lock:
            return self._concurrency - self._inflight

    def _idle_seconds(self) -> float:
        if self._free_slots() <= 0:
            return RECHECK_SECONDS  # a finishing send wakes the loop
        with self._ctx.db.session() as s:
            due = s.scalar(select(func.min(Delivery.next_attempt_at)).where(Delivery.state == DeliveryState.PENDING))
        if due is None:
            return RECHECK_SECONDS
        return min(max((due - utcnow()).total_seconds(), _MIN_IDLE), RECHECK_SECONDS)

    def _dispatch_due(self) -> None:
        free = self._free_slots()
        if free <= 0:
            return
        for job in self._claim(free):
            with self._lock:
                self._inflight += 1
            self._pool.submit(self._attempt, job).add_done_callback(self._finished)

    def _finished(self, _future: object) -> None:
        with self._lock:
            self._inflight -= 1
        self._wake.set()

    def _claim(self, limit: int) -> list[_Job]:
        settings = self._ctx.settings
        now = utcnow()
        lease_until = now + timedelta(seconds=settings.push_timeout * 2)
        jobs: list[_Job] = []
        with self._ctx.db.session() as s:
            due = s.scalars(
                select(Delivery.id)
                .where(Delivery.state == DeliveryState.PENDING, Delivery.next_attempt_at <= now)
                .order_by(Delivery.next_attempt_at)
                .limit(limit)
            ).all()
            for delivery_id in due:
                # The condition repeats the query's, so of two processes racing for a row one wins.
                taken = s.execute(
                    update(Delivery)
                    .where(Delivery.id == delivery_id, Delivery.state == DeliveryState.PENDING,
                           Delivery.next_attempt_at <= now)
                    .values(next_attempt_at=lease_until)
                    .execution_options(synchronize_session=False)
                )
                if getattr(taken, "rowcount", 0) != 1:
                    continue
                d = s.get(Delivery, delivery_id, populate_existing=True)
                ev = s.get(Event, d.event_id) if d is not None else None
                app = s.get(App, d.app_id) if d is not None else None
                if d is None or ev is None or app is None:
                    continue
                if d.attempts == 0:  # record() could not know push_retry_hours; see events.py
                    d.deadline_at = d.created_at + timedelta(hours=settings.push_retry_hours)
                secret = _signing_secret(self._ctx, s, app)
                body = None
                if d.format == CallbackFormat.EVENT:
                    body = _json({"event_id": ev.id, "type": ev.type, "created_at": iso_ms(ev.created_at),
                                  "app_id": ev.app_id, "payload": render(self._ctx, ev.app_id, ev.payload)})
                allow_private = app.is_default or settings.callback_allow_private
                jobs.append(_Job(d.id, ev.id, d.url, d.method, body, secret, d.attempts + 1, allow_private,
                                 d.format, ev.app_id, dict(ev.payload or {})))
        return jobs

    def _body(self, job: _Job) -> bytes | _Outcome:
        """The job's body, or the outcome of an attempt that could not render one."""
        if job.body is not None:
            return job.body
        renderer = self._formats.get(job.format)
        if renderer is None:
            return _Outcome(None, f"this server renders no {job.format!r} callbacks (Dispatcher formats)", True, 0)
        try:
            return _json(renderer(self._ctx, job.app_id, job.payload or {}))
        except OpenVODError as exc:  # the task is gone: no later attempt can render it either
            return _Outcome(None, f"{exc.code}: {exc.message}", True, 0)
        except Exception as exc:  # the database, say: retried like a failed send
            log.exception("rendering the %s body of delivery %d failed", job.format, job.delivery_id)
            return _Outcome(None, f"rendering the {job.format} body failed: {type(exc).__name__}", False, 0)

    def _attempt(self, job: _Job) -> None:
        body = self._body(job)
        outcome = body if isinstance(body, _Outcome) else self._send(job, body)
        try:
            self._record(job, outcome)
        except Exception:  # the lease runs out and the delivery is tried again
            log.exception("recording push attempt %d of delivery %d failed", job.attempt, job.delivery_id)

    def _send(self, job: _Job, body: bytes) -> _Outcome:
        timeout = self._ctx.settings.push_timeout
        started = time.monotonic()
        status: int | None = None
        error: str | None = None
        permanent = False
        try:
            host = httpx.URL(job.url).raw_host.decode("ascii")
            if not host_allowlisted(self._ctx.settings, host):
                raise _forbidden(job.url, "is no longer in this server's callback_allowlist")
            timestamp = int(time.time())
            headers = {
                "Content-Type": "application/json",
                "User-Agent": f"OpenVOD-Webhook/{__version__}",
                EVENT_ID_HEADER: job.event_id,
                TIMESTAMP_HEADER: str(timestamp),
                SIGNATURE_HEADER: sign(job.secret, timestamp, body),
                "OpenVOD-Delivery-Id": str(job.delivery_id),
                "OpenVOD-Delivery-Attempt": str(job.attempt),
            }
            backend = GuardedBackend(allow_private=job.allow_private, deadline=started + timeout,
                                     resolver=self._resolver)
            with (
                httpx.Client(transport=GuardedTransport(backend), timeout=httpx.Timeout(timeout),
                             follow_redirects=False, trust_env=False) as client,
                client.stream(job.method, job.url, content=body, headers=headers) as response,
            ):
                status = response.status_code  # the body is never read: only the status counts
            if not 200 <= status < 300:
                error = f"HTTP {status}"
        except InvalidParameter as exc:  # refused target: retrying cannot help
            error, permanent = f"{exc.code}: {exc.message}", True
        except httpx.InvalidURL as exc:
            error, permanent = f"invalid URL: {exc}", True
        except httpx.HTTPError as exc:
            error = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
        return _Outcome(status, error, permanent, int((time.monotonic() - started) * 1000))

    def _record(self, job: _Job, outcome: _Outcome) -> None:
        now = utcnow()
        with self._ctx.db.session() as s:
            d = s.get(Delivery, job.delivery_id)
            if d is None or d.state != DeliveryState.PENDING:
                return  # purged, or settled by another process meanwhile
            d.attempts += 1
            entry: dict[str, Any] = {"at": iso_ms(now), "attempt": d.attempts, "status": outcome.status,
                                     "error": outcome.error, "ms": outcome.ms}
            d.log = [*(d.log or []), entry][-LOG_KEEP:]
            d.last_status, d.last_error = outcome.status, outcome.error
            if outcome.error is None:
                d.state = DeliveryState.DONE.value
                return
            retry_at = now + timedelta(seconds=backoff_delay(d.attempts, self._ctx.settings.push_backoff_base))
            if outcome.permanent or retry_at > d.deadline_at:
                d.state = DeliveryState.FAILED.value
                log.warning("delivery %d of event %s to %s failed for good after %d attempts: %s",
                            d.id, d.event_id, d.url, d.attempts, outcome.error)
            else:
                d.next_attempt_at = retry_at
