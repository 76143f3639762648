"""Prometheus metrics: what the database says about the queue and the workers, and the counters
this process keeps.

Two sources, one scrape (``GET /metrics``, api/metrics.py):

* **The database**, read at each scrape by :func:`scrape`: queue depth per app, the run time of
  steps finished lately, and the workers' lease renewals. Steps run in other processes (the local
  executor's workers) or on other machines (``openvod worker``), so the database is the one
  place that sees them all; every API server reports the same numbers, whichever is scraped.
* **This process**, in :data:`REGISTRY`: bytes of uploads it received (:func:`count_upload_bytes`,
  called where tus and S3/COS bodies are written), HTTP latency (api/metrics.py), and the
  process's CPU, memory and GC. Counters start at 0 when the process starts, as Prometheus expects.

The queries are bounded by the queue and the recent past, not by history: the queue depth counts
only ``init`` and ``exec`` steps (a range of ``ix_step_app_queue``), durations only steps that
started within ``job_timeout`` of the window (a range of ``ix_step_app_started`` per app).

    registry = scrape(ctx)                # read the database now
    body = generate_latest(registry)      # prometheus_client renders it
"""

from __future__ import annotations

import bisect
import logging
import time
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal

from prometheus_client import (
    GC_COLLECTOR,
    PLATFORM_COLLECTOR,
    PROCESS_COLLECTOR,
    CollectorRegistry,
    Counter,
    disable_created_metrics,
)
from prometheus_client.core import GaugeHistogramMetricFamily, GaugeMetricFamily, Metric
from sqlalchemy import func, select
from sqlalchemy.exc import SQLAlchemyError

from openvod import __version__
from openvod.db.models import App, TaskStep, utcnow
from openvod.domain.tasks import StepState
from openvod.errors import OpenVODError
from openvod.runtime import Context

__all__ = [
    "QUEUE_STATES",
    "REGISTRY",
    "STEP_BUCKETS",
    "STEP_WINDOW_SECONDS",
    "Snapshot",
    "WorkerHost",
    "count_upload_bytes",
    "read_snapshot",
    "scrape",
]

log = logging.getLogger("openvod.metrics")

# No `_created` series: in the 0.0.4 text format they are one more gauge per series, unused here.
disable_created_metrics()  # type: ignore[no-untyped-call]  # prometheus_client leaves it unannotated
REGISTRY = CollectorRegistry()
"""This process's own metrics (counters and histograms kept in memory)."""
for _collector in (PROCESS_COLLECTOR, PLATFORM_COLLECTOR, GC_COLLECTOR):
    REGISTRY.register(_collector)

_UPLOAD_BYTES = Counter("openvod_upload_bytes", "Bytes of upload bodies this process received, by transport "
                        "(tus: tus PATCH; s3: S3 gateway and COS PutObject/UploadPart).",
                        ["transport"], registry=REGISTRY)
_UPLOAD_CHILDREN = {t: _UPLOAD_BYTES.labels(t) for t in ("tus", "s3")}

QUEUE_STATES = (StepState.WAIT, StepState.INIT, StepState.EXEC)
"""The states the queue depth counts: held until the rest of their task succeeds (a chunked
transcode's join), waiting to run, and running. Finished steps are history; counting them would
read the whole table at every scrape."""

STEP_WINDOW_SECONDS = 600.0
"""Step durations cover the steps finished in this many seconds before the scrape."""

STEP_BUCKETS = (1.0, 5.0, 15.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1200.0, 1800.0, 3600.0, 7200.0, 21600.0)
_FINISHED_STATES = (StepState.SUCC.value, StepState.FAIL.value)


def count_upload_bytes(transport: Literal["tus", "s3"], n: int) -> None:
    """Add ``n`` bytes of an upload body received by ``transport`` (called per block as it arrives)."""
    _UPLOAD_CHILDREN[transport].inc(n)


@dataclass(frozen=True)
class WorkerHost:
    """The steps leased by the processes of one host (the first part of ``lease_owner``)."""

    host: str
    running: int
    heartbeat_age: float  # seconds since the stalest of its leases was renewed


@dataclass(frozen=True)
class Snapshot:
    """What the database says at one moment (see the module docstring)."""

    queue: dict[tuple[str, str], int]  # (app_id, state) -> steps; every app, every QUEUE_STATES
    durations: dict[tuple[str, str], list[float]]  # (kind, state) -> run seconds of steps finished lately
    workers: list[WorkerHost] = field(default_factory=list)
    read_seconds: float = 0.0


def read_snapshot(ctx: Context, *, now: datetime | None = None) -> Snapshot:
    """Read the queue, the recent step durations and the leases, in one transaction."""
    started = time.perf_counter()
    now = now or utcnow()
    settings = ctx.settings
    with ctx.db.session() as s:
        app_ids = list(s.scalars(select(App.id)))
        queue = {(a, st.value): 0 for a in app_ids for st in QUEUE_STATES}
        for app_id, state, n in s.execute(
                select(TaskStep.app_id, TaskStep.state, func.count())
                .where(TaskStep.state.in_([st.value for st in QUEUE_STATES]))
                .group_by(TaskStep.app_id, TaskStep.state)):
            queue[(app_id, state)] = int(n)
        since = now - timedelta(seconds=STEP_WINDOW_SECONDS)
        # A step finished in the window started at most job_timeout (and a lease or two of
        # settling) before it: that bound turns the search into a range of ix_step_app_started.
        earliest = since - timedelta(seconds=settings.job_timeout + 2 * settings.lease_seconds + 60)
        durations: dict[tuple[str, str], list[float]] = defaultdict(list)
        if app_ids:
            for kind, state, begun, ended in s.execute(
                    select(TaskStep.kind, TaskStep.state, TaskStep.started_at, TaskStep.finished_at)
                    .where(TaskStep.app_id.in_(app_ids), TaskStep.started_at >= earliest,
                           TaskStep.finished_at >= since, TaskStep.state.in_(_FINISHED_STATES))):
                if begun is not None and ended is not None:
                    durations[(kind, state)].append(max(0.0, (ended - begun).total_seconds()))
        leases = s.execute(
            select(TaskStep.lease_owner, func.count(), func.min(TaskStep.lease_expires_at))
            .where(TaskStep.state == StepState.EXEC.value, TaskStep.lease_owner.is_not(None))
            .group_by(TaskStep.lease_owner)).all()
    return Snapshot(queue, dict(durations), _hosts(leases, now, settings.lease_seconds),
                    time.perf_counter() - started)


def _hosts(leases: Iterable[tuple[str | None, int, datetime | None]], now: datetime,
           lease_seconds: float) -> list[WorkerHost]:
    # A lease is renewed to now + lease_seconds, so it was last renewed lease_seconds before it expires.
    running: dict[str, int] = defaultdict(int)
    stalest: dict[str, float] = {}
    for owner, n, expires in leases:
        host = (owner or "").partition(":")[0] or "unknown"
        running[host] += int(n)
        if expires is not None:
            age = max(0.0, (now - expires).total_seconds() + lease_seconds)
            stalest[host] = max(stalest.get(host, 0.0), age)
    return [WorkerHost(h, running[h], stalest.get(h, 0.0)) for h in sorted(running)]


class _DatabaseCollector:
    def __init__(self, snap: Snapshot | None) -> None:
        self._snap = snap

    def collect(self) -> Iterator[Metric]:
        info = GaugeMetricFamily("openvod_build_info", "The running OpenVOD version (always 1).", labels=["version"])
        info.add_metric([__version__], 1)
        yield info
        up = GaugeMetricFamily("openvod_database_up", "1 if this scrape could read the database, else 0.")
        up.add_metric([], 0 if self._snap is None else 1)
        yield up
        snap = self._snap
        if snap is None:
            return
        read = GaugeMetricFamily("openvod_metrics_read_seconds", "Seconds this scrape spent reading the database.")
        read.add_metric([], snap.read_seconds)
        yield read
        queue = GaugeMetricFamily("openvod_queue_steps", "Steps waiting (init) and running (exec), per app.",
                                  labels=["app_id", "state"])
        for (app_id, state), n in sorted(snap.queue.items()):
            queue.add_metric([app_id, state], n)
        yield queue
        hist = GaugeHistogramMetricFamily(
            "openvod_step_duration_seconds",
            f"Run time (finished_at - started_at) of the steps that finished (succ or fail) in the last "
            f"{STEP_WINDOW_SECONDS:g} s, by step kind: a gauge histogram, read from the database, covering "
            "every worker.", labels=["kind", "state"])
        for (kind, state), values in sorted(snap.durations.items()):
            hist.add_metric([kind, state], _buckets(values), sum(values))
        yield hist
        beat = GaugeMetricFamily("openvod_worker_heartbeat_age_seconds", "Seconds since the stalest lease held "
                                 "by a host's workers was renewed (over lease_seconds: the lease has expired).",
                                 labels=["host"])
        running = GaugeMetricFamily("openvod_worker_running_steps", "Steps leased by a host's workers.",
                                    labels=["host"])
        for w in snap.workers:
            beat.add_metric([w.host], w.heartbeat_age)
            running.add_metric([w.host], w.running)
        yield beat
        yield running


def _buckets(values: list[float]) -> list[tuple[str, float]]:
    ordered = sorted(values)
    out = [(f"{le:g}", float(bisect.bisect_right(ordered, le))) for le in STEP_BUCKETS]
    return [*out, ("+Inf", float(len(ordered)))]


def read_nodes(ctx: Context) -> list[dict[str, Any]] | None:
    """With ``executor=celery``: the ``openvod worker`` nodes that announced themselves to the
    broker lately, busy or idle (``engine.celery_executor.live_workers``); None if the broker
    cannot be read."""
    from openvod.engine.celery_executor import live_workers

    try:
        return live_workers(ctx.settings)
    except OpenVODError as exc:  # the broker away: say so in openvod_broker_up, never fail the scrape
        log.warning("metrics: reading the worker nodes from the broker failed: %s", exc)
        return None


def _node_metrics(nodes: list[dict[str, Any]] | None) -> Iterator[Metric]:
    up = GaugeMetricFamily("openvod_broker_up", "1 if this scrape could read the worker nodes from the broker, else 0.")
    up.add_metric([], 0 if nodes is None else 1)
    yield up
    alive = GaugeMetricFamily("openvod_worker_node_concurrency", "Pool processes of each `openvod worker` node "
                              "that announced itself in the last 30 s, idle or busy (absent: the node is gone).",
                              labels=["node", "host"])
    for n in nodes or []:
        alive.add_metric([str(n["node"]), str(n.get("host", ""))], float(n.get("concurrency") or 0))
    yield alive


class _Both:
    """This process's registry, the scrape's database metrics and, with Celery, the worker nodes."""

    def __init__(self, db: _DatabaseCollector, nodes: list[dict[str, Any]] | None, celery: bool) -> None:
        self._db, self._nodes, self._celery = db, nodes, celery

    def collect(self) -> Iterator[Metric]:
        yield from REGISTRY.collect()
        yield from self._db.collect()
        if self._celery:
            yield from _node_metrics(self._nodes)


def scrape(ctx: Context) -> CollectorRegistry:
    """Read the database now; the registry holds those numbers and this process's own. If the
    database cannot be read, ``openvod_database_up`` is 0 and the process's metrics still come."""
    snap: Snapshot | None
    try:
        snap = read_snapshot(ctx)
    except (SQLAlchemyError, OpenVODError) as exc:
        log.warning("metrics: reading the database failed: %s", exc)
        snap = None
    celery = ctx.settings.executor == "celery"
    registry = CollectorRegistry()
    registry.register(_Both(_DatabaseCollector(snap), read_nodes(ctx) if celery else None, celery))
    return registry
