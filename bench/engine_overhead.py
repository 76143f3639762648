"""Engine overhead benchmarks.

    bench/run engine      (or: .venv/bin/python bench/engine_overhead.py [--repeat 3] [--tasks 1000])

1. Orchestration: submit -> ``succ`` wall time of a 720p H.264 transcode through OpenVOD (upload
   done beforehand; timed from the POST to the long-poll answering ``succ``), against the bare
   ffmpeg command with the same arguments, in the same run, for a 10 s and a 60 s clip.
2. Scheduler: N no-op tasks queued while no worker runs, then ``--workers`` workers drain them;
   engine time per task = drain wall time / N. For exactly as long as they drain, ``wrk`` measures
   GET /v1/tasks/{id} (it is interrupted when the last task is done, so idle time never counts).
"""

from __future__ import annotations

import argparse
import base64
import os
import platform
import shutil
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import imageio_ffmpeg  # noqa: E402
from tests.conftest import ServerProc, make_server  # noqa: E402
from tests.media import make_clip  # noqa: E402
from tests.tus import upload_bytes  # noqa: E402

from openvod.domain.presets import parse_params  # noqa: E402
from openvod.media.probe import probe  # noqa: E402
from openvod.media.transcode import SourceInfo, build_transcode_args  # noqa: E402
from openvod.services.presets import SYSTEM_PRESETS  # noqa: E402

PRESET = "system-720p-h264"


def _bare(clip: Path, out: Path) -> float:
    spec = parse_params(SYSTEM_PRESETS[PRESET].params)
    args = build_transcode_args(spec, [clip], out, sources=[SourceInfo.from_probe(probe(clip))])
    argv = [imageio_ffmpeg.get_ffmpeg_exe(), "-nostdin", "-hide_banner", "-y", "-loglevel", "error", *args]
    t0 = time.perf_counter()
    subprocess.run(argv, check=True, timeout=900)
    return time.perf_counter() - t0


def _through_openvod(srv: ServerProc, file_id: str, n: int) -> float:
    with srv.client() as c:
        t0 = time.perf_counter()
        tid = c.post("/v1/tasks", json={"preset": PRESET, "sources": [{"file_id": file_id}],
                                        "dst_key": f"bench/{n}.mp4"}).json()["task_id"]
        while (t := c.get(f"/v1/tasks/{tid}/wait", params={"timeout": 30}, timeout=60).json())["state"] not in (
                "succ", "fail"):
            pass  # each call is a long-poll of up to 30 s
        elapsed = time.perf_counter() - t0
    assert t["state"] == "succ", t
    return elapsed


def orchestration(work: Path, repeat: int) -> None:
    srv = make_server(work / "orch", {"OPENVOD_WORKERS": "1"})
    try:
        for seconds in (10, 60):
            clip = make_clip(work / f"clip{seconds}.mp4", seconds=seconds, width=1280, height=720)
            with srv.client() as c:
                fid = upload_bytes(c, clip.read_bytes(), clip.name, chunk=64 << 20)
            bare, ours = [], []
            for i in range(repeat):  # interleaved, so drift in machine load hits both alike
                bare.append(_bare(clip, work / "bare.mp4"))
                ours.append(_through_openvod(srv, fid, seconds * 100 + i))
            b, o = statistics.median(bare), statistics.median(ours)
            target = 1.10 if seconds == 10 else 1.03
            print(f"orchestration {seconds:2d} s clip: bare ffmpeg {b:6.2f} s, OpenVOD submit->succ {o:6.2f} s, "
                  f"ratio {o / b:.3f} (target <= {target})  runs bare {_fmt(bare)} / openvod {_fmt(ours)}")
    finally:
        srv.stop()


def scheduler(work: Path, n: int, workers: int) -> None:
    d = work / "sched"
    d.mkdir()
    srv = make_server(d, {"OPENVOD_WORKERS": "0"})
    with srv.client() as c:
        t0 = time.perf_counter()
        ids = [c.post("/v1/tasks", json={"kind": "noop"}).json()["task_id"] for _ in range(n)]
        submit = time.perf_counter() - t0
    srv.stop()
    srv.env["OPENVOD_WORKERS"] = str(workers)
    srv.start()
    t0 = time.perf_counter()
    wrk = None
    if shutil.which("wrk"):
        auth = base64.b64encode(f"{srv.secret_id}:{srv.secret_key}".encode()).decode()
        wrk = subprocess.Popen(["wrk", "-t1", "-c4", "-d300s", "-H", f"Authorization: Basic {auth}",
                                f"{srv.url}/v1/tasks/{ids[-1]}"], stdout=subprocess.PIPE, text=True)
    with srv.client() as c:
        while c.get(f"/v1/tasks/{ids[-1]}/wait", params={"timeout": 30}, timeout=60).json()["state"] != "succ":
            pass
        drain = time.perf_counter() - t0
        if wrk is not None:
            wrk.send_signal(signal.SIGINT)  # wrk then reports on the time it ran: the drain
        done = c.get("/v1/tasks", params={"state": "succ", "limit": 0}).json()["total"]
    rate = "wrk not installed"
    if wrk is not None:
        out, _ = wrk.communicate(timeout=60)
        rate = next((ln.split()[-1] for ln in out.splitlines() if ln.startswith("Requests/sec")), "?") + " req/s"
    srv.stop()
    print(f"scheduler: {n} no-op tasks submitted in {submit:.2f} s ({submit / n * 1000:.2f} ms each via the API); "
          f"drained by {workers} worker(s) in {drain:.2f} s = {drain / n * 1000:.2f} ms engine time per task "
          f"(target < 5); {done} succ")
    print(f"GET /v1/tasks/{{id}} while draining (wrk, 4 connections, {drain:.1f} s): {rate} (target >= 1000)")


def _fmt(runs: list[float]) -> str:
    return ", ".join(f"{r:.2f}" for r in runs)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--tasks", type=int, default=1000)
    ap.add_argument("--dir", type=Path, default=Path("bench/out"))
    ap.add_argument("--workers", type=int, default=1, help="worker processes draining the no-op tasks")
    ap.add_argument("--only", choices=["orchestration", "scheduler"], default=None)
    args = ap.parse_args()
    work = args.dir.resolve() / "engine"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    if args.only in (None, "scheduler"):
        scheduler(work, args.tasks, args.workers)
    if args.only in (None, "orchestration"):
        orchestration(work, args.repeat)
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
