"""Chunk-parallel encoding benchmark (issue 13).

    bench/run chunked   (or: .venv/bin/python bench/chunked.py [--repeat 3] [--chunk-seconds 15])

A 60 s 1080p source transcoded with ``system-720p-h264``, every FFmpeg limited to one thread
(``OPENVOD_FFMPEG_THREADS=1``) so that each worker process stands for one machine of one core.
``-threads 1`` alone does not make FFmpeg use one core: its command line runs demuxing, each
decoder and each encoder on threads of their own (the audio encoder beside the video's), so the
one-worker servers are also pinned to one core (CPU affinity, inherited by the workers and their
FFmpeg): a one-core machine. The two-worker server gets both cores: two such machines.
Submit -> ``succ`` wall time through the API (the source uploaded beforehand) of:

1. one worker, one pass (``chunk_seconds=0``): the baseline;
2. one worker, in chunks: what splitting costs (seeks, the audio step, the join);
3. two workers, in chunks: the scale-out, target <= 0.6 of (1).

The three servers run side by side, idle but for the one being measured, and the runs are
interleaved (1, 2, 3, 1, 2, 3...), so a machine that other work slows down slows all three alike.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import sqlite3
import statistics
import sys
import time
from datetime import datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.conftest import ServerProc, make_server  # noqa: E402
from tests.media import make_clip  # noqa: E402
from tests.tus import upload_bytes  # noqa: E402

PRESET = "system-720p-h264"


def _server(work: Path, clip: Path, *, workers: int, chunk_seconds: float) -> tuple[ServerProc, str]:
    """A server whose processes may use ``workers`` cores, with ``clip`` uploaded: (server, FileId)."""
    everything = os.sched_getaffinity(0)
    os.sched_setaffinity(0, set(sorted(everything)[:workers]))  # the server, its workers and FFmpeg inherit it
    try:
        srv = make_server(work / f"srv-{workers}-{chunk_seconds:g}", {
            "OPENVOD_WORKERS": str(workers), "OPENVOD_CHUNK_SECONDS": str(chunk_seconds),
            "OPENVOD_FFMPEG_THREADS": "1"})
    finally:
        os.sched_setaffinity(0, everything)
    with srv.client() as c:
        return srv, upload_bytes(c, clip.read_bytes(), clip.name, chunk=64 << 20)


def _transcode(srv: ServerProc, file_id: str, key: str) -> tuple[float, str]:
    """Submit -> succ seconds of one transcode, and its steps' times."""
    with srv.client() as c:
        t0 = time.perf_counter()
        r = c.post("/v1/tasks", json={"preset": PRESET, "sources": [{"file_id": file_id}], "dst_key": key})
        assert r.status_code == 201, r.text
        while (t := c.get(f"/v1/tasks/{r.json()['task_id']}/wait", params={"timeout": 30},
                          timeout=60).json())["state"] not in ("succ", "fail"):
            pass
        took = time.perf_counter() - t0
        assert t["state"] == "succ", t
        steps = _step_times(srv.data_dir, t["task_id"])
        c.delete(f"/v1/tasks/{t['task_id']}")
    return took, steps


def _step_times(data_dir: Path, task_id: str) -> str:
    with sqlite3.connect(data_dir / "openvod.db") as db:
        rows = db.execute("SELECT kind, started_at, finished_at FROM task_step WHERE task_id = ? ORDER BY idx",
                          (task_id,)).fetchall()

    def secs(a: str, b: str) -> float:
        return (datetime.fromisoformat(b) - datetime.fromisoformat(a)).total_seconds()

    return ", ".join(f"{kind.removeprefix('transcode_')} {secs(a, b):.1f}" for kind, a, b in rows)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--chunk-seconds", type=float, default=15.0)
    ap.add_argument("--dir", type=Path, default=Path("bench/out"))
    args = ap.parse_args()
    work = args.dir.resolve() / "chunked"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    clip = make_clip(work / "src1080.mp4", seconds=60, width=1920, height=1080)
    configs = {"1 worker, one pass": (1, 0.0), "1 worker, chunked": (1, args.chunk_seconds),
               "2 workers, chunked": (2, args.chunk_seconds)}
    servers = {name: _server(work, clip, workers=w, chunk_seconds=s) for name, (w, s) in configs.items()}
    runs: dict[str, list[float]] = {name: [] for name in configs}
    try:
        for i in range(args.repeat):
            for name, (srv, file_id) in servers.items():
                load = os.getloadavg()[0]  # other work on the machine skews a wall-time ratio: say how busy
                took, steps = _transcode(srv, file_id, f"o{i}.mp4")
                runs[name].append(took)
                print(f"  run {i + 1} {name:<19} {took:6.2f} s (load {load:.2f}); steps {steps}", flush=True)
    finally:
        for srv, _ in servers.values():
            srv.stop()
    a, b, c = (statistics.median(r) for r in runs.values())
    print(f"60 s 1080p -> {PRESET}, one core and one FFmpeg thread per worker, chunks of {args.chunk_seconds:g} s "
          f"(medians of {args.repeat}):")
    for name, r in runs.items():
        print(f"  {name:<19} {statistics.median(r):7.2f} s   runs {', '.join(f'{x:.2f}' for x in r)}")
    print(f"ratio 2 workers chunked / 1 worker one pass: {c / a:.3f} (target <= 0.6); "
          f"1 worker chunked / one pass (the cost of splitting): {b / a:.3f}; "
          f"2 workers / 1 worker chunked: {c / b:.3f}")
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
