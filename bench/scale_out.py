"""Scale-out benchmarks (issue 13): the Celery executor against the local one, in the same run.

    bench/run scale [--tasks 300] [--only overhead|coordination] [--workers 32]

Both use PostgreSQL (a fresh database per server) and the Redis broker.

1. **Overhead**: no-op tasks through the API, end to end. (a) *latency*: one task at a time,
   POST then the long-poll answering ``succ``, median over ``--tasks / 5`` tasks; (b) *drain*:
   ``--tasks`` no-op tasks queued, then one worker (concurrency 1) drains them; time per task.
   Once with ``executor=local`` (workers=1, inside the server), once with ``executor=celery``
   (the server enqueues, one ``openvod worker --concurrency 1`` runs). Target: Celery < 20 ms
   per task end to end.
2. **Coordination**: ``--workers`` worker processes (two ``openvod worker`` nodes, half the
   pool each) on I/O-bound no-op tasks that sleep 1 s, queued before the workers start: tasks
   per second from the first step's start to the last one's finish (in the database) against
   the ideal ``workers``/s (``--rounds`` rounds of ``workers`` tasks, default 10). Target >= 0.9.
"""

from __future__ import annotations

import argparse
import os
import platform
import secrets
import shutil
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import psycopg  # noqa: E402
from tests.cluster import Worker, pg_database, redis_url  # noqa: E402
from tests.conftest import ServerProc, make_server, server_env  # noqa: E402


def _env(pg: str, run: str, executor: str, workers: int) -> dict[str, str]:
    env = {"OPENVOD_DATABASE_URL": pg, "OPENVOD_EXECUTOR": executor, "OPENVOD_WORKERS": str(workers),
           "OPENVOD_APP_MAX_QUEUED_TASKS": "100000"}
    if executor == "celery":
        env |= {"OPENVOD_BROKER_URL": redis_url(run), "OPENVOD_CELERY_QUEUE": f"bench-{run}"}
    return env


def _engine_seconds(pg: str, ids: list[str]) -> float:
    """From the first of ``ids``' steps starting to the last finishing, as the database saw it."""
    with psycopg.connect(pg) as conn:
        row = conn.execute("SELECT extract(epoch FROM max(finished_at) - min(started_at)) FROM task_step "
                           "WHERE task_id = ANY(%s)", (ids,)).fetchone()
    assert row is not None
    return float(row[0])


def _wait_all(srv: ServerProc, ids: list[str]) -> None:
    with srv.client() as c:
        for tid in ids:
            while c.get(f"/v1/tasks/{tid}/wait", params={"timeout": 30}, timeout=60).json()["state"] != "succ":
                pass


def _latency(srv: ServerProc, n: int) -> list[float]:
    out = []
    with srv.client() as c:
        for _ in range(n):
            t0 = time.perf_counter()
            tid = c.post("/v1/tasks", json={"kind": "noop"}).json()["task_id"]
            while c.get(f"/v1/tasks/{tid}/wait", params={"timeout": 30}, timeout=60).json()["state"] != "succ":
                pass
            out.append(time.perf_counter() - t0)
    return out


def _queue(srv: ServerProc, n: int, sleep: float = 0.0) -> list[str]:
    body = {"kind": "noop", "sleep": sleep} if sleep else {"kind": "noop"}
    with srv.client() as c:
        return [c.post("/v1/tasks", json=body).json()["task_id"] for _ in range(n)]


def overhead(work: Path, n: int) -> None:
    for executor in ("local", "celery"):
        run = secrets.token_hex(4)
        with pg_database("openvod_bench") as pg:
            d = work / f"overhead-{executor}"
            srv = make_server(d, _env(pg, run, executor, 1))
            workers: list[Worker] = []
            try:
                if executor == "celery":
                    workers = [Worker(d / "w0", d / "w0.log", server_env(d, srv.env), concurrency=1)]
                    workers[0].start()
                    workers[0].wait_ready()
                _latency(srv, 5)  # warm-up: connections, imports, first claims
                lat = _latency(srv, max(5, n // 5))
                if executor == "celery":
                    for w in workers:
                        w.stop()
                else:
                    srv.stop()
                    srv.env["OPENVOD_WORKERS"] = "0"
                    srv.start()
                ids = _queue(srv, n)
                t0 = time.perf_counter()
                if executor == "celery":
                    for w in workers:
                        w.start()
                else:
                    srv.stop()
                    srv.env["OPENVOD_WORKERS"] = "1"
                    srv.start()
                _wait_all(srv, ids[-1:])
                wall = time.perf_counter() - t0
                drain = _engine_seconds(pg, ids)
            finally:
                for w in workers:
                    w.stop()
                srv.stop()
        med = statistics.median(lat) * 1000
        print(f"overhead {executor:6s}: submit->succ latency median {med:6.1f} ms "
              f"(p90 {sorted(lat)[int(len(lat) * 0.9)] * 1000:.1f} ms, {len(lat)} tasks); "
              f"{n} queued no-op tasks drained by 1 worker: {drain / n * 1000:.1f} ms per task "
              f"(first start to last finish in the database; {wall:.1f} s wall with the worker's start)")


def coordination(work: Path, n_workers: int, rounds: int = 10) -> None:
    run = secrets.token_hex(4)
    with pg_database("openvod_bench") as pg:
        d = work / "coordination"
        srv = make_server(d, _env(pg, run, "celery", 0))
        half = n_workers // 2
        workers = [Worker(d / f"w{i}", d / f"w{i}.log", server_env(d, srv.env), concurrency=c)
                   for i, c in enumerate((half, n_workers - half))]
        try:
            n = n_workers * rounds
            t0 = time.perf_counter()
            ids = _queue(srv, n, 1.0)  # while no worker runs: the tokens wait in the broker
            submit = time.perf_counter() - t0
            for w in workers:
                w.start()
            for w in workers:
                w.wait_ready(180)
            _wait_all(srv, ids)
            wall = _engine_seconds(pg, ids)
            with psycopg.connect(pg) as conn:
                starts = [float(r[0]) for r in conn.execute(
                    "SELECT extract(epoch FROM started_at - min(started_at) OVER ()) FROM task_step "
                    "WHERE task_id = ANY(%s) ORDER BY started_at", (ids,))]
            print(f"step starts (s after the first), every {n_workers}th:", [round(x, 2) for x in starts[::n_workers]])
        finally:
            for w in workers:
                w.stop()
            srv.stop()
    rate = n / wall
    print(f"coordination: {n} no-op tasks sleeping 1 s, queued beforehand ({submit:.1f} s), then run by "
          f"{n_workers} worker processes (2 nodes): first start to last finish {wall:.2f} s = {rate:.1f} tasks/s, "
          f"ideal {n_workers}/s, ratio {rate / n_workers:.3f} (target >= 0.9)")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--tasks", type=int, default=300)
    ap.add_argument("--workers", type=int, default=32)
    ap.add_argument("--rounds", type=int, default=10, help="coordination: tasks = workers x rounds")
    ap.add_argument("--dir", type=Path, default=Path("bench/out"))
    ap.add_argument("--only", choices=["overhead", "coordination"], default=None)
    args = ap.parse_args()
    work = args.dir.resolve() / "scale"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    if args.only in (None, "overhead"):
        overhead(work, args.tasks)
    if args.only in (None, "coordination"):
        coordination(work, args.workers, args.rounds)
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
