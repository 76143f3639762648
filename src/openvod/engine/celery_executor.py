"""The ``celery`` executor: steps run by ``openvod worker`` processes (Celery workers on a Redis
broker), on this machine or others; the API server only enqueues.

**The database stays the queue.** Tasks, steps, leases, attempts and cancels live where the
``local`` executor keeps them (:mod:`openvod.engine.queue`). A Celery message is a *token*: "a
step may be runnable". The worker that receives one leases the step the database hands out next
(:func:`queue.claim`: fair across apps, then move-to-top, priority and age within an app, with
``FOR UPDATE SKIP LOCKED`` on PostgreSQL), runs it, heartbeats the lease and settles it in one
transaction, exactly as a local worker does — and, like one, leases its next step in that same
transaction while there is one, for up to :data:`CHAIN_SECONDS` (one commit and no broker round
trip per step; the spare tokens this leaves in the broker find nothing and cost a delivery). So:

* priorities and move-to-top keep their meaning: the order is decided by the database at the
  moment a worker is free, not when a message was sent (a message queued before a task was
  moved to the top runs the topped task);
* a duplicate or stray delivery runs nothing twice: a token that finds no runnable step (or only
  steps of apps at their running cap) does nothing;
* a lost token loses nothing: the dispatcher tops tokens up to the number of runnable steps
  (:func:`top_up`: runnable steps minus tokens waiting in the broker's list) whenever work is
  added and on its housekeeping timer, and every worker tops up after each step;
* a worker that is SIGKILLed leaves its lease to expire (``lease_seconds``); the sweep puts the
  step back (an attempt counted) and it runs once more elsewhere. ``acks_late`` with
  ``reject_on_worker_lost`` hands the token of a dead pool process back to the broker.

**Cancels** reach a running step on another machine at once: the dispatcher publishes
``"<step id>:<lease owner>"`` on the Redis channel :data:`CANCEL_CHANNEL` for every running step
with ``cancel_requested``; each worker process subscribes and sets the cancel event of the step it
runs when the owner matches (FFmpeg is stopped by the job's cancel watch). The heartbeat reading
``cancel_requested`` from the database stays the fallback (a lost publish, a restarted broker).

Celery, kombu and redis are imported only here and only when this executor is chosen: the
embedded default installs none of them (``pip install openvod[scale]``).
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import socket
import threading
import time
import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, cast

from sqlalchemy import Table, func, select

from openvod.config import Settings
from openvod.db.models import TaskStep
from openvod.domain.tasks import CLAIM, TaskState
from openvod.engine import queue
from openvod.engine.executor import ContextFactory, ExecutorHealth
from openvod.engine.guards import state_in
from openvod.engine.worker import Heartbeat, run_step
from openvod.errors import InvalidParameter, UpstreamError
from openvod.runtime import Context, Topic

if TYPE_CHECKING:
    from celery import Celery
    from redis import Redis

__all__ = ["CANCEL_CHANNEL", "TASK_NAME", "CeleryExecutor", "celery_app", "run_worker", "top_up"]

log = logging.getLogger("openvod.engine.celery")

TASK_NAME = "openvod.run_step"
CANCEL_CHANNEL = "openvod:cancel"
MAX_TOKENS_PER_ROUND = 1000  # tokens sent in one top-up; the next round sends the rest
HOUSEKEEPING_SECONDS = 2.0  # lease expiry sweep, cancel check and token top-up, besides wake-ups
# A token's pool process goes on to the next runnable step for this long (settling one step and
# leasing the next in one transaction); a warm shutdown waits at most this plus the running step.
CHAIN_SECONDS = 10.0
WORKER_KEY = "openvod:worker:"
"""Redis key prefix under which each ``openvod worker`` node says it is up: ``{prefix}{queue}:{node}``,
a JSON value that expires unless renewed (see :func:`announce`, :func:`live_workers`)."""
WORKER_BEAT_SECONDS = 10.0  # how often a node renews its key; the key lives three times as long
CLAIM_TRIES = 4  # claims a token makes (5, 10, 20 ms apart) while steps are runnable but contended

_S = cast(Table, TaskStep.__table__)
_RUNNABLE = (select(func.count()).select_from(_S)
             .where(state_in(_S.c.state, CLAIM.sources), _S.c.cancel_requested.is_(False)))


def _require_scale(what: str) -> None:
    try:
        import celery  # noqa: F401
        import redis  # noqa: F401
    except ImportError as exc:
        raise InvalidParameter(
            f"{what} needs Celery and the Redis client: pip install 'openvod[scale]'",
            code="InvalidParameter.Executor") from exc


def celery_app(settings: Settings) -> Celery:
    """The Celery app both sides use: the broker from ``broker_url``, late acks (a token is
    acknowledged once its step has settled), one token prefetched per pool process."""
    _require_scale("executor=celery")
    from celery import Celery

    if not settings.broker_url:
        raise InvalidParameter("executor=celery needs OPENVOD_BROKER_URL (redis://host:port/db)",
                                 code="InvalidParameter.BrokerUrl")
    app = Celery("openvod", broker=settings.broker_url, set_as_current=False)
    app.conf.update(
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        task_ignore_result=True,
        task_default_queue=settings.celery_queue,
        task_serializer="json",
        accept_content=["json"],
        broker_connection_retry_on_startup=True,
        worker_hijack_root_logger=False,
        worker_send_task_events=False,
        # A token unacknowledged this long (its worker vanished with the broker's reservation) is
        # delivered again; the step itself was already recovered by its lease expiring.
        broker_transport_options={"visibility_timeout": max(60, int(settings.lease_seconds * 4))},
    )
    return app


def _redis(settings: Settings) -> Redis:
    from redis import Redis

    assert settings.broker_url is not None
    return Redis.from_url(settings.broker_url, socket_timeout=10, socket_connect_timeout=10,
                          health_check_interval=30)


def runnable_steps(ctx: Context) -> int:
    with ctx.db.engine.connect() as conn:
        return int(conn.execute(_RUNNABLE).scalar() or 0)


def top_up(ctx: Context, app: Celery, redis: Redis) -> int:
    """Send tokens so that the broker holds one per runnable step (at most
    :data:`MAX_TOKENS_PER_ROUND` at a time). Returns how many were sent. Races between senders
    only send a few spare tokens, which find nothing to run."""
    queue_name = ctx.settings.celery_queue
    waiting: Any = redis.llen(queue_name)  # tokens no worker has taken yet
    need = min(runnable_steps(ctx) - int(waiting), MAX_TOKENS_PER_ROUND)
    for _ in range(max(0, need)):
        app.send_task(TASK_NAME, queue=queue_name)
    return max(0, need)


class CeleryExecutor:
    """The dispatcher side, inside ``openvod serve``: tops tokens up when work is added, sweeps
    expired leases, publishes cancels. It runs no step itself."""

    def __init__(self, ctx: Context) -> None:
        _require_scale("executor=celery")
        self.ctx = ctx
        self.app = celery_app(ctx.settings)
        self.redis = _redis(ctx.settings)
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="celery-dispatcher", daemon=True)
        self._unsubscribe: Callable[[], None] | None = None
        self._cancels_sent: set[tuple[int, str]] = set()
        self._last_sweep = 0.0

    def start(self) -> None:
        self._unsubscribe = self.ctx.signals.subscribe(Topic.WORK, lambda _key: self.wake())
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        if self._unsubscribe is not None:
            self._unsubscribe()
        self._wake.set()
        self._thread.join(timeout=timeout)
        self.redis.close()

    def wake(self) -> None:
        self._wake.set()

    def health(self) -> ExecutorHealth:
        running = self._thread.is_alive() and not self._stop.is_set()
        try:
            self.redis.ping()
        except Exception:  # noqa: BLE001 - any broker failure means "not healthy"
            running = False
        return ExecutorHealth(kind="celery", running=running, workers=0, alive=0, busy=0)

    def _loop(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(HOUSEKEEPING_SECONDS)
            self._wake.clear()
            if self._stop.is_set():
                break
            try:
                self._round()
            except Exception:  # the broker or database is away: retry on the next round
                log.exception("celery dispatch round failed")
                self._stop.wait(1.0)

    def _round(self) -> None:
        settings = self.ctx.settings
        now = time.monotonic()
        if now - self._last_sweep >= min(HOUSEKEEPING_SECONDS, settings.lease_seconds / 2):
            self._last_sweep = now
            n = queue.expire_leases(self.ctx.db, settings.max_attempts)
            if n:
                log.warning("%d step(s) had expired leases (a worker was lost) and were put back", n)
        self._send_cancels()
        top_up(self.ctx, self.app, self.redis)

    def _send_cancels(self) -> None:
        with self.ctx.db.engine.connect() as conn:
            doomed = {(int(r.id), str(r.lease_owner)) for r in conn.execute(
                select(_S.c.id, _S.c.lease_owner).where(_S.c.cancel_requested.is_(True),
                                                        _S.c.state == TaskState.EXEC.value,
                                                        _S.c.lease_owner.is_not(None)))}
        for step_id, owner in doomed - self._cancels_sent:
            n = self.redis.publish(CANCEL_CHANNEL, f"{step_id}:{owner}")
            log.info("cancel of step %s (lease %s) published to %s worker process(es)", step_id, owner, n)
        self._cancels_sent = doomed


# -- the worker side ---------------------------------------------------------------------------

class _WorkerState:
    """What one pool process of ``openvod worker`` holds between tokens."""

    def __init__(self, ctx: Context, app: Celery) -> None:
        self.ctx = ctx
        self.app = app
        self.redis = _redis(ctx.settings)
        self.heartbeat = Heartbeat(ctx)
        self.prefix = f"{socket.gethostname()}:{os.getpid()}:"
        self.current: tuple[int, str, threading.Event] | None = None
        self.lock = threading.Lock()
        threading.Thread(target=self._listen_cancels, name="cancel-listener", daemon=True).start()

    def warm_up(self) -> None:
        """Before this process takes its first token (Celery counts it up only after this signal
        handler returns): open its database and Redis connections and compile the claim."""
        try:
            queue.warm_up(self.ctx.db)
            runnable_steps(self.ctx)
            self.redis.ping()
        except Exception:  # a database or broker away now is met, and retried, by the first token
            log.warning("warming up the worker process's connections failed", exc_info=True)

    def _listen_cancels(self) -> None:
        delay = 0.5
        while True:
            try:
                # Any: redis-py's stubs type pubsub() and listen() differently from release to release
                pubsub: Any = cast(Any, self.redis).pubsub(ignore_subscribe_messages=True)
                pubsub.subscribe(CANCEL_CHANNEL)
                delay = 0.5
                for msg in pubsub.listen():  # blocks on the socket: no polling
                    data = msg.get("data")
                    text = data.decode() if isinstance(data, bytes) else str(data)
                    step, _, owner = text.partition(":")
                    with self.lock:
                        cur = self.current
                    if cur is not None and str(cur[0]) == step and cur[1] == owner:
                        log.info("cancel of step %s received", step)
                        cur[2].set()
            except Exception:
                log.warning("cancel channel lost; reconnecting in %.1f s", delay, exc_info=True)
                time.sleep(delay)
                delay = min(delay * 2, 30.0)

    def run_token(self) -> int:
        """Lease the step the database hands out next and run it; while steps keep coming, for up to
        :data:`CHAIN_SECONDS`, settle each and lease the next in one transaction (as a local worker
        does: one commit and no broker round trip per step). Returns how many steps ran."""
        claim = self._claim()
        ran, until = 0, time.monotonic() + CHAIN_SECONDS
        while claim is not None:
            cancel = threading.Event()
            with self.lock:
                self.current = (claim.step_id, claim.owner, cancel)
            chain = time.monotonic() < until
            try:
                claim = run_step(self.ctx, claim, self.heartbeat, next_owner=self._owner() if chain else None,
                                 cancel_event=cancel)
            finally:
                with self.lock:
                    self.current = None
            ran += 1
            if claim is None and chain:
                claim = self._claim()
        if ran:
            try:
                top_up(self.ctx, self.app, self.redis)
            except Exception:
                log.warning("token top-up after %d step(s) failed", ran, exc_info=True)
        return ran

    def _claim(self) -> queue.Claim | None:
        """Lease the next step. Claimers racing for the same head can all come back empty while
        steps wait (the fair pick is made before the row lock, and a locked head is skipped):
        look again a few times, backing off, while the database says steps are runnable."""
        settings = self.ctx.settings
        for attempt in range(CLAIM_TRIES):
            claims = queue.claim(self.ctx.db, [self._owner()], settings.lease_seconds,
                                 max_running=settings.app_max_running_steps)
            if claims:
                return claims[0]
            if attempt + 1 < CLAIM_TRIES and runnable_steps(self.ctx) > 0:
                time.sleep(0.005 * 2**attempt)
            else:
                break
        return None

    def _owner(self) -> str:
        return f"{self.prefix}{uuid.uuid4().hex[:12]}"


_state: _WorkerState | None = None


def announce(settings: Settings, node: str, concurrency: int, stop: threading.Event) -> None:
    """Until ``stop``: keep ``node``'s key in Redis (renewed every :data:`WORKER_BEAT_SECONDS`,
    expiring after three missed renewals), so /metrics shows idle workers too — a node holding
    no lease is otherwise invisible. Removes the key on a clean stop. Runs on a thread of the
    worker's main process; a broker away is logged and retried at the next beat."""
    from redis.exceptions import RedisError

    redis = _redis(settings)
    key = f"{WORKER_KEY}{settings.celery_queue}:{node}"
    value = json.dumps({"node": node, "host": socket.gethostname(), "pid": os.getpid(), "concurrency": concurrency,
                        "started": time.time()})
    while True:
        try:
            redis.set(key, value, ex=int(3 * WORKER_BEAT_SECONDS))
        except RedisError as exc:
            log.warning("could not announce worker %s to the broker (%s); retrying", node, exc)
        if stop.wait(WORKER_BEAT_SECONDS):
            break
    try:
        redis.delete(key)
    except RedisError:
        log.warning("could not withdraw worker %s from the broker", node, exc_info=True)


def live_workers(settings: Settings) -> list[dict[str, Any]]:
    """The ``openvod worker`` nodes of this queue that announced themselves within the last
    three beats: ``{"node", "host", "pid", "concurrency", "started"}`` each, sorted by node.
    ``UpstreamError`` if the broker cannot be read."""
    from redis.exceptions import RedisError

    _require_scale("executor=celery")
    redis = _redis(settings)
    try:
        keys = sorted(redis.scan_iter(match=f"{WORKER_KEY}{settings.celery_queue}:*", count=500))
        values = cast(list[Any], redis.mget(keys)) if keys else []
    except RedisError as exc:
        raise UpstreamError(f"the broker could not be read: {exc}", code="FailedOperation.Broker") from exc
    out = []
    for raw in values:
        try:
            item = json.loads(raw)
        except (TypeError, ValueError):  # expired between SCAN and MGET, or not ours
            continue
        if isinstance(item, dict) and isinstance(item.get("node"), str):
            out.append(item)
    return sorted(out, key=lambda w: str(w["node"]))


def _clean_scratch(settings: Settings) -> None:
    for sub in ("work", "spool"):
        shutil.rmtree(settings.data_dir / sub, ignore_errors=True)


def run_worker(settings: Settings, build_context: ContextFactory, *, concurrency: int, queues: str | None,
               loglevel: str = "INFO", hostname: str | None = None) -> None:
    """``openvod worker``: a Celery worker whose pool processes run steps (blocks until stopped;
    SIGTERM is Celery's warm shutdown: running steps finish, then the worker exits)."""
    from celery import signals as celery_signals

    from openvod.logs import configure_logging

    configure_logging(settings, loglevel)
    app = celery_app(settings)
    _clean_scratch(settings)

    @app.task(name=TASK_NAME, ignore_result=True)  # type: ignore[untyped-decorator]
    def run_step_token() -> int:
        assert _state is not None, "worker_process_init did not run"
        return _state.run_token()

    def init_process(**_: Any) -> None:
        global _state
        from openvod.engine.jobs import load_all

        ctx = build_context(settings)
        load_all()
        _state = _WorkerState(ctx, app)
        _state.warm_up()

    celery_signals.worker_process_init.connect(init_process, weak=False)
    ctx = build_context(settings)
    try:
        n = queue.recover_dead_owners(ctx.db, settings.max_attempts, socket.gethostname())
        if n:
            log.info("recovered %d step(s) left running by dead processes of this host", n)
        top_up(ctx, app, _redis(settings))  # tokens lost with a broker restart come back
    finally:
        ctx.db.dispose()
    node = hostname or f"openvod-{os.getpid()}@{socket.gethostname()}"
    argv = ["worker", f"--concurrency={concurrency}", f"--queues={queues or settings.celery_queue}",
            f"--loglevel={loglevel}", "--without-gossip", "--without-mingle", "--pool=prefork", f"--hostname={node}"]
    stop = threading.Event()
    beat = threading.Thread(target=announce, args=(settings, node, concurrency, stop), name="announce", daemon=True)
    beat.start()
    try:
        app.worker_main(argv)
    finally:
        stop.set()
        beat.join(timeout=5)
