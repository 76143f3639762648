"""Per-title ladders against the fixed ladder (issue 16, item 2).

    bench/run per-title   (or: .venv/bin/python bench/per_title.py [--seconds 20] [--clips slide,noise])

A corpus of generated 1080p clips of different complexity (a still slide with text, a slowly
panning gradient with a small moving object, high-motion noise, animation-like flat colours),
each made into the same 5-rung H.264 HLS ladder (1080/720/480/360/240 at 5000/2800/1400/800/400
kbps, x264 veryfast, OpenVOD's ``DEFAULT_RUNGS``) twice in the same run: with the fixed bitrates,
and with the bitrates per-title analysis picks (``PerTitleSpec()`` defaults: VMAF 95 for every
rung at its own size, 64 kbps floor, each rung's fixed bitrate as its cap, rungs adding < 2 VMAF
dropped). Reported per rung: video bits (segment bytes), and VMAF of the rendition against the
source scaled to the rung (libvmaf, every ``--vmaf-subsample``-th frame); per clip: the analysis
time against the fixed ladder's encode time.
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import imageio_ffmpeg  # noqa: E402

from openvod.media.common import Plan  # noqa: E402
from openvod.media.ffmpeg import run_ffmpeg  # noqa: E402
from openvod.media.ladder import DEFAULT_RUNGS, AdaptiveStreamingSpec, Rung, build_ladder, ladder_outputs  # noqa: E402
from openvod.media.per_title import PerTitleResult, PerTitleSpec, analyse  # noqa: E402
from openvod.media.probe import probe  # noqa: E402
from openvod.media.transcode import SourceInfo  # noqa: E402
from openvod.media.vmaf import compare_args, read_vmaf  # noqa: E402

FFMPEG = imageio_ffmpeg.get_ffmpeg_exe()
FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"


def _text(text: str, size: int, y: int) -> str:
    return f"drawtext=fontfile={FONT}:text='{text}':fontsize={size}:fontcolor=0x202020:x=120:y={y}"


def corpus(seconds: float) -> dict[str, str]:
    """lavfi graphs of the four clips (1920x1080, 25 fps, ``seconds`` long)."""
    d = f"d={seconds}"
    return {
        "slide": ",".join([f"color=c=0xf4f4f0:s=1920x1080:r=25:{d}", _text("Quarterly review", 96, 120),
                           _text("Revenue grew 12 percent on new customers", 56, 360),
                           _text("Churn fell to 2.1 percent - lowest since 2019", 56, 460),
                           _text("Next - open the Singapore office in Q3", 56, 560)]),
        "gradient-pan": (f"gradients=s=3840x1080:r=25:{d}:speed=0.002:c0=0x203060:c1=0x80a0d0:c2=0xe0c090:nb_colors=3,"
                         f"crop=1920:1080:x='t*20':y=0[bg];testsrc2=s=160x120:r=25:{d}[obj];"
                         "[bg][obj]overlay=x='880+60*sin(t)':y='480+40*cos(t)'"),
        "noise": f"testsrc2=s=1920x1080:r=25:{d},noise=alls=40:allf=t+u",
        "animation": (f"life=s=480x270:r=25:mold=0:ratio=0.2:death_color=0x2040a0:life_color=0xf0d020,"
                      f"scale=1920:1080:flags=neighbor,trim=duration={seconds}"),
    }


def make(path: Path, graph: str) -> Path:
    # Near-lossless, so the ladders' losses dominate what VMAF sees.
    subprocess.run([FFMPEG, "-nostdin", "-loglevel", "error", "-y", "-filter_complex", graph, "-c:v", "libx264",
                    "-preset", "ultrafast", "-crf", "16", "-pix_fmt", "yuv420p", "-an", str(path)],
                   check=True, timeout=1800)
    return path


CPU = {"s": 0.0}  # CPU seconds (user + system) of the FFmpeg runs timed by the last _run


def _children_cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def _run(args: list[str], duration: float | None = None) -> float:
    # CPU time beside wall time: on a shared machine the wall time follows the load, the CPU
    # time of the runs much less.
    t0, c0 = time.perf_counter(), _children_cpu()
    run_ffmpeg(args, timeout=3600, duration=duration)
    CPU["s"] += _children_cpu() - c0
    return time.perf_counter() - t0


def _analyse(spec: PerTitleSpec, src: Path, info: SourceInfo, scratch: Path) -> PerTitleResult:
    def run(plan: Plan[Any]) -> None:
        _run(plan.args, plan.duration)

    return analyse(spec, DEFAULT_RUNGS, src, info, scratch, run)


def encode_ladder(src: Path, info: SourceInfo, rungs: tuple[Rung, ...], out: Path) -> float:
    out.mkdir()
    plan = build_ladder(AdaptiveStreamingSpec(rungs=rungs), src, info, out)
    return _run(plan.args, plan.duration)


def measure(src: Path, out: Path, subsample: int) -> dict[int, tuple[int, float]]:
    """Per rung height: (video bits, VMAF against the source at the rung's size)."""
    ladder = ladder_outputs(out)
    found: dict[int, tuple[int, float]] = {}
    for i, v in enumerate(ladder.variants):
        assert v.width and v.height
        bits = sum(p.stat().st_size for p in v.segments) * 8
        log = out / f"vmaf{i}.json"
        _run(compare_args(v.playlist, src, v.width, v.height, log, subsample=subsample))
        found[min(v.width, v.height)] = (bits, read_vmaf(log))
    return found


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=20.0)
    ap.add_argument("--clips", default="slide,gradient-pan,noise,animation")
    ap.add_argument("--vmaf-subsample", type=int, default=5)
    args = ap.parse_args()
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
          f"ffmpeg {Path(FFMPEG).name}")
    graphs = corpus(args.seconds)
    spec = PerTitleSpec()
    totals = {"fixed_bits": 0.0, "pt_bits": 0.0, "fixed_s": 0.0, "analysis_s": 0.0, "pt_s": 0.0,
              "fixed_cpu": 0.0, "analysis_cpu": 0.0}
    print(f"load average before: {Path('/proc/loadavg').read_text().split()[:3]}")
    worst = 100.0
    with tempfile.TemporaryDirectory(prefix="openvod-per-title-") as tmp:
        work = Path(tmp)
        for name in args.clips.split(","):
            src = make(work / f"{name}.mp4", graphs[name])
            info = SourceInfo.from_probe(probe(src))
            CPU["s"] = 0.0
            fixed_s = encode_ladder(src, info, DEFAULT_RUNGS, work / f"{name}-fixed")
            fixed_cpu = CPU["s"]
            CPU["s"] = 0.0
            scratch = work / f"{name}-probe"
            scratch.mkdir()
            t0 = time.perf_counter()
            result = _analyse(spec, src, info, scratch)
            analysis_s = time.perf_counter() - t0
            analysis_cpu = CPU["s"]
            pt_s = encode_ladder(src, info, result.rungs, work / f"{name}-pt")
            fixed = measure(src, work / f"{name}-fixed", args.vmaf_subsample)
            pt = measure(src, work / f"{name}-pt", args.vmaf_subsample)
            fb, pb = sum(b for b, _ in fixed.values()), sum(b for b, _ in pt.values())
            print(f"\n{name}: fixed ladder {fb / 8e6:7.2f} MB, per-title {pb / 8e6:7.2f} MB "
                  f"({(1 - pb / fb) * 100:+.1f}% fewer bits); fixed encode {fixed_s:6.2f} s, analysis "
                  f"{analysis_s:6.2f} s ({analysis_s / fixed_s * 100:.0f}%), per-title encode {pt_s:6.2f} s; "
                  f"CPU: fixed "
                  f"{fixed_cpu:.1f} s, analysis {analysis_cpu:.1f} s ({analysis_cpu / fixed_cpu * 100:.0f}%)")
            print("  rung  fixed kbps  VMAF   | per-title kbps  VMAF  predicted  delta")
            for c in result.choices:
                key = min(c.width, c.height)
                fk, fv = fixed[key]
                if key in pt:
                    pk, pv = pt[key]
                    worst = min(worst, pv - fv)
                    print(f"  {key:4d}p {fk / args.seconds / 1000:9.0f} {fv:6.2f} | {pk / args.seconds / 1000:12.0f} "
                          f"{pv:6.2f} {c.vmaf:8.2f} {pv - fv:+7.2f}   (asked {c.bitrate // 1000} kbps)")
                else:
                    print(f"  {key:4d}p {fk / args.seconds / 1000:9.0f} {fv:6.2f} | dropped (gain {c.gain:.2f} < "
                          f"{spec.min_gain:g})")
            totals["fixed_bits"] += fb
            totals["pt_bits"] += pb
            totals["fixed_s"] += fixed_s
            totals["analysis_s"] += analysis_s
            totals["pt_s"] += pt_s
            totals["fixed_cpu"] += fixed_cpu
            totals["analysis_cpu"] += analysis_cpu
    cfb, cpb = totals["fixed_bits"], totals["pt_bits"]
    print(f"\ncorpus: per-title uses {(1 - cpb / cfb) * 100:.1f}% fewer bits than the fixed ladder "
          f"({cpb / 8e6:.2f} MB vs {cfb / 8e6:.2f} MB); worst rung VMAF delta {worst:+.2f} (kept rungs); "
          f"analysis {totals['analysis_s']:.1f} s = {totals['analysis_s'] / totals['fixed_s'] * 100:.0f}% of the "
          f"fixed ladder's encode time ({totals['fixed_s']:.1f} s); CPU {totals['analysis_cpu']:.1f} s = "
          f"{totals['analysis_cpu'] / totals['fixed_cpu'] * 100:.0f}% of {totals['fixed_cpu']:.1f} s")
    print(f"load average after: {Path('/proc/loadavg').read_text().split()[:3]}")


if __name__ == "__main__":
    main()
