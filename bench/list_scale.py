"""Lists at scale (issue 17): is every list, search and lookup as fast among a million tasks and
media as among ten thousand, on SQLite and on PostgreSQL, through the real API?

    .venv/bin/python bench/list_scale.py [--sizes 10000,100000,1000000] [--engines sqlite,postgresql]
                                         [--repeat 30]

For each engine, a fresh database (SQLite: a file in a temp dir, migrated; PostgreSQL: a fresh
migrated database on the test server, ``OPENVOD_TEST_PG`` or postgresql://postgres@127.0.0.1:5432/postgres,
dropped at the end) is grown to each size in turn: that many tasks (one step each) and that many
media (one source object each), seeded by bulk SQL (executemany in 50k batches on SQLite, ``COPY``
on PostgreSQL) in a child process, so this process's RSS is the server's alone. Rows look like
the services' own: three apps (the default app 90%, then 7% and 3%), created over two years; tasks
96% succ, 3% fail, 1% canceled, 70% ``noop`` ({"sleep": 0}) and 30% processing tasks
(``procedure``/``process_media``) of one of the app's media; plus a queue of 200 ``init`` and 4
``exec`` tasks, the newest, whatever the size (history grows, a queue does not); media names of
two words from a list and a number, with the probe and MetaData of a real clip. PostgreSQL gets
the task tally's deltas folded and ``VACUUM ANALYZE`` after each seeding (what housekeeping and
autovacuum do to a loaded table within minutes);
SQLite gets nothing (OpenVOD never runs ``ANALYZE``).

Each call goes through the ASGI app in process (``create_app(build_context(...))``, no workers,
no lifespan: no housekeeping thread prunes the two-year-old tasks) with ``httpx.ASGITransport``,
authenticated as the default app's key: HTTP Basic for ``/v1``, TC3 for Tencent, SigV4 for
Kingsoft, each request signed before its clock starts. Two warm-up runs, then ``--repeat`` runs;
p50 and p99 (with 30 runs, the slowest but one) in ms, per engine and size, and the ratio of the
largest size's p50 to the smallest's. "deep" is the page half-way through the list: the keyset
marker of the row there (computed by SQL as bench/media_list.py does), or for the offset-based
wire formats the offset itself. /proc/self/status VmRSS after each size; /proc/loadavg before and
after each size (other sessions may share the 2 cores).
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import hashlib
import json
import random
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from multiprocessing import get_context
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import httpx  # noqa: E402

WORDS = ["holiday", "interview", "lecture", "trailer", "vlog", "match", "recital", "demo", "launch", "wedding",
         "keynote", "tutorial", "concert", "review", "unboxing", "podcast", "sermon", "webinar", "highlights",
         "teaser", "recap", "livestream", "briefing", "rehearsal", "workshop", "gameplay", "montage", "drone",
         "timelapse", "standup"]
T0 = datetime(2024, 1, 1, tzinfo=UTC)
SPAN = timedelta(days=730)
QUEUE = (200, 4)  # init, exec: the newest tasks, at every size
BATCH = 50_000
SID, SKEY = "AKIDbenchlistscale00000000000000001", "benchlistscalesecretkey000000001"
HOST = "openvod.bench"
RANGE = ("20250601", "20250630")  # "by date range": one month, in the middle of the two years
COMMON, RARE = "holiday", "-4242."  # name search: a word in ~1/15 of the names; a number in ~10 a million


# ---------------------------------------------------------------- seeding (in a child process)

def _ts(at: datetime) -> datetime:
    return at.astimezone(UTC).replace(tzinfo=None)


def _task_id(at: datetime, i: int) -> str:
    return f"{int(at.timestamp() * 1000):012x}{i:020x}{at:%Y%m%d}"


def _file_id(at: datetime, i: int) -> str:
    return f"{int(at.timestamp() * 1000):013d}{i % 1_000_000:06d}"


def _app_of(rng: random.Random, app_ids: list[str]) -> str:
    r = rng.random()
    return app_ids[0] if r < 0.90 else app_ids[1] if r < 0.97 else app_ids[2]


TASK_COLS = ("id", "app_id", "kind", "state", "priority", "input", "output", "cb_method", "cb_format", "ext_param",
             "error_code", "error_message", "created_at", "started_at", "finished_at", "updated_at", "file_id",
             "procedure", "session_id", "session_context", "notify_mode")
STEP_COLS = ("task_id", "app_id", "idx", "kind", "state", "priority", "input", "output", "progress", "attempts",
             "lease_owner", "lease_expires_at", "cancel_requested", "error_code", "error_message", "created_at",
             "started_at", "finished_at")
MEDIA_COLS = ("id", "app_id", "name", "description", "class_id", "source_bucket", "source_key", "media_type",
              "probe", "meta", "size", "duration", "state", "source_context", "session_context", "procedure",
              "task_priority", "task_notify_mode", "storage_region", "created_at", "updated_at")
OBJECT_COLS = ("app_id", "bucket", "key", "size", "etag", "content_type", "acl", "media_id", "role", "created_at")
_NOOP_IN = json.dumps({"sleep": 0})
_FLOW_IN = json.dumps({"MediaProcessTask": {"CoverBySnapshotTaskSet": [
    {"Definition": 10, "PositionType": "Percent", "PositionValue": 10}]}, "ExtInfo": ""})
_STEP_FLOW_IN = json.dumps({"definition": 10, "template": {"Format": "jpg"}, "step": {"PositionValue": 10}})


def _task_rows(i: int, app: str, at: datetime, state: str, file_id: str | None,
               ) -> tuple[tuple[Any, ...], tuple[Any, ...]]:
    started = at + timedelta(seconds=(i % 50) + 1) if state != "init" else None
    finished = started + timedelta(seconds=(i % 600) + 2) if started and state not in ("init", "exec") else None
    kind = ("procedure" if i % 2 else "process_media") if file_id else "noop"
    err = ("FailedOperation.Step", "step 0 failed: ffmpeg exited 1") if state == "fail" else (
        ("FailedOperation.Canceled", "the task was cancelled by a user") if state == "canceled" else (None, None))
    tid = _task_id(at, i)
    task = (tid, app, kind, state, 0, _FLOW_IN if file_id else _NOOP_IN, None, "POST", "event", "", err[0], err[1],
            _ts(at), started and _ts(started), finished and _ts(finished), _ts(finished or started or at), file_id,
            "bench-flow" if kind == "procedure" else "", None, "", "Finish")
    step = (tid, app, 0, "CoverBySnapshot" if file_id else "noop", state, 0, _STEP_FLOW_IN if file_id else _NOOP_IN,
            None, 100.0 if state == "succ" else 0.0, 0 if state == "init" else 1,
            "bench-worker" if state == "exec" else None,
            _ts(datetime.now(UTC) + timedelta(days=1)) if state == "exec" else None, False, err[0], err[1], _ts(at),
            started and _ts(started), finished and _ts(finished))
    return task, step


def _batch(start: int, stop: int, app_ids: list[str], probe: str, meta: str) -> dict[str, list[tuple[Any, ...]]]:
    rng = random.Random(start)
    out: dict[str, list[tuple[Any, ...]]] = {"task": [], "task_step": [], "media": [], "object": []}
    for i in range(start, stop):
        app = _app_of(rng, app_ids)
        at = T0 + SPAN * rng.random()
        fid = _file_id(at, i)
        name = f"{rng.choice(WORDS)}-{rng.choice(WORDS)}-{rng.randrange(100_000)}.mp4"
        key = f"{app}/uploads/{fid}/{name}"
        size = rng.randrange(1, 4000) * 1_048_576 + rng.randrange(1_048_576)
        out["media"].append((fid, app, name, "", 0, "vod", key, "video", probe, meta, size,
                             round(rng.uniform(5, 3600), 3), "Normal", "", "", "", 0, "Finish", "", _ts(at), _ts(at)))
        out["object"].append((app, "vod", key, size, hashlib.md5(key.encode()).hexdigest(), "video/mp4", "private",
                              fid, "source", _ts(at)))
        r = rng.random()
        state = "succ" if r < 0.96 else "fail" if r < 0.99 else "canceled"
        task, step = _task_rows(i, app, at + timedelta(seconds=5), state, fid if rng.random() < 0.30 else None)
        out["task"].append(task)
        out["task_step"].append(step)
    return out


def _queue(app_ids: list[str]) -> dict[str, list[tuple[Any, ...]]]:
    out: dict[str, list[tuple[Any, ...]]] = {"task": [], "task_step": [], "media": [], "object": []}
    rng = random.Random(17)
    base = T0 + SPAN + timedelta(minutes=1)
    for n in range(sum(QUEUE)):
        i = 10**12 + n  # ids apart from the history's
        task, step = _task_rows(i, _app_of(rng, app_ids), base + timedelta(seconds=n),
                                "exec" if n < QUEUE[1] else "init", None)
        out["task"].append(task)
        out["task_step"].append(step)
    return out


_COLS = {"task": TASK_COLS, "task_step": STEP_COLS, "media": MEDIA_COLS, "object": OBJECT_COLS}


def _sqlite_value(v: Any) -> Any:
    return f"{v:%Y-%m-%d %H:%M:%S.%f}" if isinstance(v, datetime) else v  # SQLAlchemy's SQLite format


def _fold_tally(url: str) -> None:
    from openvod.db.session import Database
    from openvod.services import task_counts

    db = Database(url)
    try:
        with db.session() as s:
            task_counts.fold(s)
    finally:
        db.dispose()


def seed(engine: str, url: str, app_ids: list[str], start: int, stop: int, queue: bool, probe: str,
         meta: str) -> float:
    """Insert rows ``start`` to ``stop`` (and the queue, with ``queue``); the seconds it took."""
    began = time.perf_counter()
    batches: Iterator[dict[str, list[tuple[Any, ...]]]] = (
        _batch(at, min(stop, at + BATCH), app_ids, probe, meta) for at in range(start, stop, BATCH))
    if queue:
        batches = iter([_queue(app_ids), *batches])
    if engine == "sqlite":
        import sqlite3

        conn = sqlite3.connect(url.removeprefix("sqlite:///"))
        conn.execute("PRAGMA synchronous=OFF")
        for b in batches:
            with conn:
                for table, rows in b.items():
                    cols = _COLS[table]
                    conn.executemany(f"INSERT INTO {table} ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})",
                                     [tuple(_sqlite_value(v) for v in r) for r in rows])
        conn.close()
    else:
        import psycopg

        with psycopg.connect(url) as pg:
            for b in batches:
                with pg.cursor() as cur:
                    for table, rows in b.items():
                        with cur.copy(f"COPY {table} ({', '.join(_COLS[table])}) FROM STDIN") as copy:
                            for r in rows:
                                copy.write_row(r)
                pg.commit()
            pg.autocommit = True
            _fold_tally(url)  # the task tally's pending deltas (one per COPYed task), as housekeeping would
            pg.execute("VACUUM ANALYZE")
    return time.perf_counter() - began


# ---------------------------------------------------------------- the calls

@dataclass
class Call:
    """One measured request: what it is, and how to make it (a fresh signature each time)."""

    name: str
    what: str
    build: Callable[[], tuple[str, str, dict[str, str], bytes]]  # method, path?query, headers, body
    check: Callable[[Any], bool]


@dataclass
class Marks:
    """Ids and markers taken from the database at one size."""

    app: str
    n_app: int
    desc_half: str
    asc_half: str
    fail_half: str
    range_half: str
    media_half: str
    task_id: str
    file_id: str
    file_with_tasks: str
    extra: dict[str, Any] = field(default_factory=dict)


def _basic() -> dict[str, str]:
    return {"authorization": "Basic " + base64.b64encode(f"{SID}:{SKEY}".encode()).decode()}


def _v1(path: str, **q: Any) -> Callable[[], tuple[str, str, dict[str, str], bytes]]:
    target = path + ("?" + urlencode(q) if q else "")
    return lambda: ("GET", target, _basic(), b"")


def _tencent(action: str, params: dict[str, Any]) -> Callable[[], tuple[str, str, dict[str, str], bytes]]:
    from openvod.auth import tc3

    body = json.dumps(params).encode()

    def build() -> tuple[str, str, dict[str, str], bytes]:
        ts = int(time.time())
        date = datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d")
        headers = {"content-type": "application/json; charset=utf-8", "host": HOST, "x-tc-action": action,
                   "x-tc-timestamp": str(ts), "x-tc-version": "2018-07-17"}
        sig = tc3.sign(SKEY, method="POST", query="", headers=headers, signed_headers=["content-type", "host"],
                       payload_hash=hashlib.sha256(body).hexdigest(), timestamp=ts, date=date)
        headers["authorization"] = (f"TC3-HMAC-SHA256 Credential={SID}/{date}/vod/tc3_request, "
                                    f"SignedHeaders=content-type;host, Signature={sig}")
        return "POST", "/", headers, body
    return build


def _kingsoft(action: str, params: dict[str, Any]) -> Callable[[], tuple[str, str, dict[str, str], bytes]]:
    from openvod.auth import sigv4

    query = urlencode(sorted((k, str(v)) for k, v in params.items()))

    def build() -> tuple[str, str, dict[str, str], bytes]:
        now = datetime.now(UTC)
        amz, day = now.strftime("%Y%m%dT%H%M%SZ"), now.strftime("%Y%m%d")
        headers = {"host": HOST, "x-action": action, "x-amz-date": amz, "x-version": "2016-09-19"}
        signed = ("host", "x-action", "x-amz-date")
        creq = sigv4.canonical_request("GET", "/", query, headers.items(), signed, sigv4.payload_hash(b""))
        scope = f"{day}/cn-beijing-6/offline/aws4_request"
        sig = sigv4.signature(SKEY, day, "cn-beijing-6", "offline", sigv4.string_to_sign(amz, scope, creq))
        headers["authorization"] = (f"AWS4-HMAC-SHA256 Credential={SID}/{scope}, SignedHeaders={';'.join(signed)}, "
                                    f"Signature={sig}")
        return "GET", "/?" + query, headers, b""
    return build


def _items(key: str, at_least: int = 1) -> Callable[[Any], bool]:
    def check(j: Any) -> bool:
        node = j.get("Response", j)
        return isinstance(node.get(key), list) and len(node[key]) >= at_least
    return check


def calls(m: Marks) -> list[Call]:
    half, lo, hi = m.n_app // 2, *RANGE
    return [
        Call("v1 tasks newest", "GET /v1/tasks?order=desc (100 a page)", _v1("/v1/tasks", order="desc"),
             _items("items", 100)),
        Call("v1 tasks newest deep", "… &marker=<task id half-way>",
             _v1("/v1/tasks", order="desc", marker=m.desc_half), _items("items", 100)),
        Call("v1 tasks by state", "GET /v1/tasks?order=desc&state=fail", _v1("/v1/tasks", order="desc", state="fail"),
             _items("items", 1)),
        Call("v1 tasks by state deep", "… &marker=<half-way through the failed>",
             _v1("/v1/tasks", order="desc", state="fail", marker=m.fail_half), _items("items", 1)),
        Call("v1 tasks by file", "GET /v1/tasks?file_id=<a media's>", _v1("/v1/tasks", file_id=m.file_with_tasks),
             _items("items", 1)),
        Call("v1 tasks date range", f"GET /v1/tasks?order=desc&start={lo}&end={hi}",
             _v1("/v1/tasks", order="desc", start=lo, end=hi), _items("items", 1)),
        Call("v1 tasks date range deep", "… &marker=<half-way through the month>",
             _v1("/v1/tasks", order="desc", start=lo, end=hi, marker=m.range_half), _items("items", 1)),
        Call("v1 task by id", "GET /v1/tasks/{id}", _v1(f"/v1/tasks/{m.task_id}"), lambda j: "task_id" in j),
        Call("console live list", "GET /v1/tasks?limit=50&order=desc (console/tasks.js)",
             _v1("/v1/tasks", limit=50, order="desc"), _items("items", 50)),
        Call("v1 media newest", "GET /v1/media (20 a page)", _v1("/v1/media"), _items("items", 20)),
        Call("v1 media deep", "GET /v1/media?marker=<half-way>", _v1("/v1/media", marker=m.media_half),
             _items("items", 20)),
        Call("v1 media name common", f"GET /v1/media?name={COMMON}", _v1("/v1/media", name=COMMON),
             _items("items", 20)),
        Call("v1 media name rare", f"GET /v1/media?name={RARE}", _v1("/v1/media", name=RARE), lambda j: "items" in j),
        Call("v1 media by id", "GET /v1/media/{FileId}", _v1(f"/v1/media/{m.file_id}"), lambda j: "file_id" in j),
        Call("ks GetTaskList", "GetTaskList marker=0 limit=100", _kingsoft("GetTaskList", {"marker": 0, "limit": 100}),
             _items("taskInfo", 100)),
        Call("ks GetTaskList marker", "… marker=<the marker a reply gave, half-way>",
             _kingsoft("GetTaskList", {"marker": half, "limit": 100}), _items("taskInfo", 100)),
        Call("ks GetTaskList offset", "… marker=<a plain offset half-way, no reply gave it>",
             _kingsoft("GetTaskList", {"marker": half + 7, "limit": 100}), _items("taskInfo", 100)),
        Call("ks GetTaskList range", f"GetTaskList startdate={lo} enddate={hi}",
             _kingsoft("GetTaskList", {"startdate": lo, "enddate": hi, "limit": 100}), _items("taskInfo", 1)),
        Call("ks GetTaskMetaInfo", "GetTaskMetaInfo marker=0 (10 a page)", _kingsoft("GetTaskMetaInfo", {"marker": 0}),
             _items("metaInfo", 10)),
        Call("ks GetTaskMetaInfo offset", "… marker=<a plain offset half-way>",
             _kingsoft("GetTaskMetaInfo", {"marker": half + 7}), _items("metaInfo", 10)),
        Call("ks GetTaskByTaskID", "GetTaskByTaskID", _kingsoft("GetTaskByTaskID", {"taskid": m.task_id}),
             lambda j: "taskInfo" in j),
        Call("tc SearchMedia", "SearchMedia Limit=10", _tencent("SearchMedia", {"Limit": 10}),
             _items("MediaInfoSet", 10)),
        Call("tc SearchMedia deep", "SearchMedia Offset=4990 Limit=10 (Tencent's cap: Offset+Limit <= 5000)",
             _tencent("SearchMedia", {"Offset": min(4990, m.extra["n_media"] // 2), "Limit": 10}),
             _items("MediaInfoSet", 10)),
        Call("tc SearchMedia Text", f"SearchMedia Text={COMMON}", _tencent("SearchMedia", {"Text": COMMON}),
             _items("MediaInfoSet", 10)),
        Call("tc SearchMedia Names", f"SearchMedia Names=[{RARE}]", _tencent("SearchMedia", {"Names": [RARE]}),
             _items("MediaInfoSet", 0)),
        Call("tc DescribeMediaInfos", "DescribeMediaInfos FileIds=[id]",
             _tencent("DescribeMediaInfos", {"FileIds": [m.file_id]}), _items("MediaInfoSet", 1)),
        Call("tc DescribeTasks", "DescribeTasks Limit=10 (oldest first)", _tencent("DescribeTasks", {"Limit": 10}),
             _items("TaskSet", 10)),
        Call("tc DescribeTasks deep", "… ScrollToken=<task id half-way>",
             _tencent("DescribeTasks", {"Limit": 10, "ScrollToken": m.asc_half}), _items("TaskSet", 10)),
        Call("tc DescribeTasks by file", "DescribeTasks FileId=<a media's>",
             _tencent("DescribeTasks", {"FileId": m.file_with_tasks}), _items("TaskSet", 1)),
    ]


# ---------------------------------------------------------------- measuring

def _marks(db: Any, app: str) -> Marks:
    from sqlalchemy import func, select

    from openvod.db.models import Media, Task
    from openvod.domain.media_sort import MediaSort, SortOrder, encode_marker

    lo = datetime.strptime(RANGE[0], "%Y%m%d").replace(tzinfo=UTC)
    hi = datetime.strptime(RANGE[1], "%Y%m%d").replace(tzinfo=UTC) + timedelta(days=1)
    with db.session() as s:
        def at(q: Any, n: int) -> str:
            return str(s.scalar(q.offset(n).limit(1)))

        n_app = int(s.scalar(select(func.count()).select_from(Task).where(Task.app_id == app)) or 0)
        mine = select(Task.id).where(Task.app_id == app)
        n_fail = int(s.scalar(select(func.count()).select_from(Task).where(Task.app_id == app, Task.state == "fail"))
                     or 0)
        in_range = mine.where(Task.created_at >= lo, Task.created_at < hi)
        n_range = int(s.scalar(select(func.count()).select_from(in_range.subquery())) or 0)
        n_media = int(s.scalar(select(func.count()).select_from(Media).where(Media.app_id == app)) or 0)
        media_half = at(select(Media.id).where(Media.app_id == app).order_by(Media.id.desc()), n_media // 2)
        with_tasks = at(mine.where(Task.file_id.is_not(None)).order_by(Task.id), n_app // 4)
        file_with_tasks = str(s.scalar(select(Task.file_id).where(Task.id == with_tasks)))
        return Marks(
            app=app, n_app=n_app,
            desc_half=at(mine.order_by(Task.id.desc()), n_app // 2),
            asc_half=at(mine.order_by(Task.id), n_app // 2),
            fail_half=at(mine.where(Task.state == "fail").order_by(Task.id.desc()), n_fail // 2),
            range_half=at(in_range.order_by(Task.id.desc()), n_range // 2),
            media_half=encode_marker(MediaSort.CREATED, SortOrder.DESC, None, media_half),
            task_id=at(mine.order_by(Task.id), n_app // 3),
            file_id=media_half, file_with_tasks=file_with_tasks,
            extra={"n_fail": n_fail, "n_range": n_range, "n_media": n_media},
        )


async def _measure(client: httpx.AsyncClient, call: Call, repeat: int) -> list[float]:
    runs = []
    for n in range(repeat + 2):
        method, target, headers, body = call.build()
        began = time.perf_counter()
        r = await client.request(method, target, headers=headers, content=body)
        took = time.perf_counter() - began
        j = r.json()
        if r.status_code != 200 or not call.check(j) or "Error" in j.get("Response", {}) or j.get("errNum", 0):
            raise SystemExit(f"{call.name}: unexpected answer {r.status_code} {str(j)[:400]}")
        if n >= 2:
            runs.append(took * 1000)
    return runs


async def _prime(client: httpx.AsyncClient, m: Marks) -> None:
    """Page to just before half-way so that "ks GetTaskList marker" asks for the marker a reply
    gave (the offset the server remembers), as a client paging through would."""
    half = m.n_app // 2
    method, target, headers, body = _kingsoft("GetTaskList", {"marker": half - 100, "limit": 100})()
    reply = (await client.request(method, target, headers=headers, content=body)).json()
    if reply.get("marker") != half:
        raise SystemExit(f"GetTaskList marker={half - 100} answered marker {reply.get('marker')!r}, not {half}")


def _p(runs: list[float], q: float) -> float:
    ordered = sorted(runs)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def _rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def _load() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def _probe_json(tmp: Path) -> tuple[str, str]:
    """The probe and MetaData of a real 4 s clip, as ingest stores them."""
    from tests.media import make_clip

    from openvod.media.probe import metadata_summary, probe

    clip = make_clip(tmp / "clip.mp4", seconds=4, width=640, height=360)
    info = probe(clip)
    return json.dumps(info), json.dumps(metadata_summary(info, size=clip.stat().st_size, md5="0" * 32))


@contextmanager
def _database(engine: str, tmp: Path) -> Iterator[str]:
    if engine == "sqlite":
        yield f"sqlite:///{tmp / 'openvod.db'}"
        return
    from tests.pg import PgServer

    server = PgServer()
    try:
        with server.database(migrated=False) as url:
            yield url
    finally:
        server.close()


Results = dict[tuple[str, str], dict[int, tuple[float, float]]]


async def _run_engine(engine: str, sizes: list[int], repeat: int, probe: str, meta: str, results: Results,
                      notes: list[str], calls_seen: dict[str, str]) -> None:
    from openvod.api.app import create_app
    from openvod.config import Settings
    from openvod.services import apps
    from openvod.services.context import build_context

    with tempfile.TemporaryDirectory(prefix="openvod-lists-") as tmp_, _database(engine, Path(tmp_)) as url:
        tmp = Path(tmp_)
        ctx = build_context(Settings(data_dir=tmp / "data", database_url=url, workers=0, task_retention_days=0))
        default, _ = apps.ensure_default_app(ctx.db, SID, SKEY)
        app_ids = [default.id, apps.create_app(ctx.db, "bench-b")[0].id, apps.create_app(ctx.db, "bench-c")[0].id]
        app = create_app(ctx)
        have = 0
        pool = ProcessPoolExecutor(max_workers=1, mp_context=get_context("spawn"))
        try:
            async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=f"http://{HOST}",
                                         timeout=600) as client:
                for n in sizes:
                    before = _load()
                    took = pool.submit(seed, engine, url, app_ids, have, n, have == 0, probe, meta).result()
                    have = n
                    m = _marks(ctx.db, default.id)
                    print(f"{engine} {n:>9,}: seeded in {took:.1f} s; default app {m.n_app:,} tasks "
                          f"({m.extra['n_fail']:,} failed, {m.extra['n_range']:,} in {RANGE[0]}-{RANGE[1]}), "
                          f"{m.extra['n_media']:,} media", flush=True)
                    await _prime(client, m)
                    for call in calls(m):
                        calls_seen[call.name] = call.what
                        runs = await _measure(client, call, repeat)
                        results.setdefault((engine, call.name), {})[n] = (_p(runs, 0.5), _p(runs, 0.99))
                        print(f"  {call.name:<28}{_p(runs, 0.5):>9.2f}{_p(runs, 0.99):>9.2f} ms", flush=True)
                    note = (f"{engine} {n:,}: seeded in {took:.1f} s; RSS {_rss_mb():.0f} MB after; "
                            f"loadavg {before} before, {_load()} after")
                    print(note, flush=True)
                    notes.append(note)
        finally:
            pool.shutdown()
            ctx.db.dispose()


def main() -> None:
    ap = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    ap.add_argument("--sizes", default="10000,100000,1000000")
    ap.add_argument("--engines", default="sqlite,postgresql")
    ap.add_argument("--repeat", type=int, default=30)
    args = ap.parse_args()
    sizes = [int(n) for n in args.sizes.split(",")]
    results: Results = {}
    notes: list[str] = []
    seen: dict[str, str] = {}
    with tempfile.TemporaryDirectory(prefix="openvod-lists-clip-") as tmp:
        probe, meta = _probe_json(Path(tmp))
    for engine in args.engines.split(","):
        asyncio.run(_run_engine(engine, sizes, args.repeat, probe, meta, results, notes, seen))
    first, last = sizes[0], sizes[-1]
    print(f"\np50 / p99 ms of {args.repeat} runs; ratio = p50 at {last:,} / p50 at {first:,}; "
          f"target: ratio <= 2 and p50 < 50 ms at {last:,}")
    print(f"{'call':<28}{'db':<11}" + "".join(f"{n:>18,}" for n in sizes) + f"{'ratio':>8}  target")
    for name in seen:
        for engine in args.engines.split(","):
            by = results.get((engine, name), {})
            if last not in by or first not in by:
                continue
            ratio = by[last][0] / by[first][0]
            ok = "met" if ratio <= 2 and by[last][0] < 50 else "MISSED"
            print(f"{name:<28}{engine:<11}" + "".join(f"{by[n][0]:>9.2f}/{by[n][1]:<8.2f}" for n in sizes)
                  + f"{ratio:>7.2f}x  {ok}")
    print("\ncalls:")
    for name, what in seen.items():
        print(f"  {name}: {what}")
    print("\n" + "\n".join(notes))


if __name__ == "__main__":
    main()
