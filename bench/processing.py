"""Processing benchmarks (issue 4).

    bench/run processing   (or: .venv/bin/python bench/processing.py [--repeat 3])

1. Ladder: a 5-rung HLS ladder (1080/720/540/360/240) from a 1080p source in ONE ffmpeg run
   (one decode, audio encoded once), against five separate per-rung ffmpeg runs (what
   per-resolution job designs do), same source, same encoder settings, same run.
2. Upload complete -> cover + GIF available for a 60 s 720p clip through a task flow, against the
   bare ffmpeg commands the two steps run (one after the other).
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import imageio_ffmpeg  # noqa: E402
from tests.conftest import make_server  # noqa: E402
from tests.media import make_clip  # noqa: E402
from tests.tus import upload_bytes  # noqa: E402

from openvod.media.animated import AnimatedGraphicsSpec, build_animated  # noqa: E402
from openvod.media.ladder import AdaptiveStreamingSpec, Rung, build_ladder  # noqa: E402
from openvod.media.probe import probe  # noqa: E402
from openvod.media.snapshots import CoverBySnapshotSpec, build_cover  # noqa: E402
from openvod.media.transcode import SourceInfo  # noqa: E402

FFMPEG = imageio_ffmpeg.get_ffmpeg_exe()
RUNGS = (Rung(1080, 5_000_000), Rung(720, 2_800_000), Rung(540, 1_800_000), Rung(360, 800_000),
         Rung(240, 400_000))


def _run(args: list[str]) -> float:
    t0 = time.perf_counter()
    subprocess.run([FFMPEG, "-nostdin", "-hide_banner", "-loglevel", "error", "-y", *args], check=True, timeout=1800)
    return time.perf_counter() - t0


def ladder(work: Path, repeat: int) -> None:
    src = make_clip(work / "src1080.mp4", seconds=20, width=1920, height=1080)
    info = SourceInfo.from_probe(probe(src))
    one, five = [], []
    for i in range(repeat):
        out = work / f"one{i}"
        out.mkdir()
        plan = build_ladder(AdaptiveStreamingSpec(rungs=RUNGS), src, info, out)
        one.append(_run(plan.args))
        total = 0.0
        for r in RUNGS:  # the same encoder settings, one process (one decode, one audio encode) per rung
            d = work / f"rung{i}-{r.height}"
            d.mkdir()
            p = build_ladder(AdaptiveStreamingSpec(rungs=(r,)), src, info, d)
            total += _run(p.args)
        five.append(total)
        shutil.rmtree(out)
    a, b = statistics.median(one), statistics.median(five)
    print(f"ladder 5 rungs from 1080p (20 s): one run {a:6.2f} s, five per-rung runs {b:6.2f} s, "
          f"ratio {a / b:.3f} (target <= 0.65)  runs {_fmt(one)} / {_fmt(five)}")


def cover_gif(work: Path, repeat: int) -> None:
    clip = make_clip(work / "clip60.mp4", seconds=60, width=1280, height=720)
    info = SourceInfo.from_probe(probe(clip))
    bare = []
    for _ in range(repeat):
        gif = build_animated(AnimatedGraphicsSpec(fps=2, start=0, end=5), clip, info, work)
        cov = build_cover(CoverBySnapshotSpec(position=1), clip, info, work)
        bare.append(_run(gif.args) + _run(cov.args))
    srv = make_server(work / "srv", {"OPENVOD_WORKERS": "1"})
    ours = []
    try:
        with srv.client() as c:
            c.post("/v1/procedures", json={"name": "bench", "media_process_task": {
                "AnimatedGraphicTaskSet": [{"Definition": 20000, "StartTimeOffset": 0, "EndTimeOffset": 5}],
                "CoverBySnapshotTaskSet": [{"Definition": 10, "PositionType": "Time", "PositionValue": 1}]}})
            data = clip.read_bytes()
            for _ in range(repeat):
                fid = upload_bytes(c, data, "clip60.mp4", chunk=64 << 20, procedure="bench")
                t0 = time.perf_counter()  # upload complete: the FileId is known
                events = []
                while not any(e["type"] == "NewFileUpload" and e["payload"]["FileId"] == fid for e in events):
                    events = c.get("/v1/events", params={"wait": 1}).json()["items"]
                task = next(e for e in events if e["payload"].get("FileId") == fid)["payload"]["ProcedureTaskId"]
                while c.get(f"/v1/tasks/{task}/wait", params={"timeout": 30}, timeout=60).json()["state"] not in (
                        "succ", "fail"):
                    pass
                ours.append(time.perf_counter() - t0)
                m = c.get(f"/v1/media/{fid}").json()
                assert m["cover_url"] and m["outputs"]["animated_graphics"], m
    finally:
        srv.stop()
    a, b = statistics.median(ours), statistics.median(bare)
    print(f"upload complete -> cover + GIF (60 s 720p): OpenVOD {a:6.2f} s, bare ffmpeg (both commands) {b:6.2f} s, "
          f"ratio {a / b:.3f}  runs {_fmt(ours)} / {_fmt(bare)}")


def _fmt(runs: list[float]) -> str:
    return ", ".join(f"{r:.2f}" for r in runs)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--dir", type=Path, default=Path("bench/out"))
    ap.add_argument("--only", choices=["ladder", "cover-gif"], default=None)
    args = ap.parse_args()
    work = args.dir.resolve() / "processing"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    if args.only in (None, "ladder"):
        ladder(work, args.repeat)
    if args.only in (None, "cover-gif"):
        cover_gif(work, args.repeat)
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
