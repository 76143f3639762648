"""CMAF packaging and publishing early (issue 16).

    bench/run cmaf   (or: .venv/bin/python bench/cmaf.py [--seconds 20] [--height 1080])

1. Storage and wall time: one CMAF ladder (one set of fMP4 segments, an HLS master and a DASH MPD
   naming them) against separate HLS (MPEG-TS, Tencent's default) and DASH (fMP4) ladders of the
   same source, same rungs, same encoder settings, in the same run. Printed as ratios.
2. Publishing early: the lowest rung (and the audio) encoded first, then the other rungs: time to
   the first playable master, and to the whole ladder, against the one-run ladder's time.

The source is a generated clip (testsrc2 + sine), 3 rungs (1080/720/360 for a 1080p source).
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.media import make_clip  # noqa: E402

from openvod.media.dash import MPD_NAME, write_mpd  # noqa: E402
from openvod.media.ffmpeg import run_ffmpeg  # noqa: E402
from openvod.media.ladder import AdaptiveStreamingSpec, LadderOutputs, Rung, build_ladder, finish_ladder  # noqa: E402
from openvod.media.ladder_parts import combine_ladders, split_rungs, without_audio  # noqa: E402
from openvod.media.probe import probe  # noqa: E402
from openvod.media.transcode import SourceInfo  # noqa: E402


def _ladder(spec: AdaptiveStreamingSpec, src: Path, info: SourceInfo, out: Path) -> LadderOutputs:
    out.mkdir(parents=True, exist_ok=True)
    plan = build_ladder(spec, src, info, out)
    run_ffmpeg(plan.args, timeout=3600, duration=plan.duration)
    return finish_ladder(out)


def _size(paths: list[Path]) -> int:
    return sum(p.stat().st_size for p in set(paths))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--height", type=int, default=1080)
    args = parser.parse_args()
    h = args.height
    rungs = (Rung(h, 5_000_000), Rung(h * 2 // 3 // 2 * 2, 2_800_000), Rung(h // 3 // 2 * 2, 800_000))
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    with tempfile.TemporaryDirectory(prefix="openvod-bench-cmaf-") as tmp:
        work = Path(tmp)
        src = make_clip(work / "src.mp4", seconds=args.seconds, width=h * 16 // 9 // 2 * 2, height=h)
        info = SourceInfo.from_probe(probe(src, timeout=60))
        print(f"source: {args.seconds:g} s {info.width}x{info.height}, rungs {[r.height for r in rungs]}, "
              f"x264 veryfast, 4 s segments")

        t0 = time.monotonic()
        cmaf = _ladder(AdaptiveStreamingSpec(rungs=rungs, segment_type="fmp4"), src, info, work / "cmaf")
        mpd = write_mpd(cmaf, work / "cmaf" / MPD_NAME)
        cmaf_time = time.monotonic() - t0
        cmaf_size = _size([*cmaf.files, mpd.path])

        t0 = time.monotonic()
        hls = _ladder(AdaptiveStreamingSpec(rungs=rungs, segment_type="ts"), src, info, work / "hls")
        dash = _ladder(AdaptiveStreamingSpec(rungs=rungs, segment_type="fmp4"), src, info, work / "dash")
        dash_mpd = write_mpd(dash, work / "dash" / MPD_NAME)
        separate_time = time.monotonic() - t0
        separate_size = _size([*hls.files, *dash_mpd.files, dash_mpd.path])
        print(f"CMAF (one ladder, HLS + DASH manifests): {cmaf_size / 1e6:.2f} MB in {cmaf_time:.1f} s")
        print(f"separate HLS (ts) + DASH (fMP4) ladders: {separate_size / 1e6:.2f} MB in {separate_time:.1f} s")
        print(f"storage ratio CMAF / separate: {cmaf_size / separate_size:.3f} (target <= 0.55); "
              f"wall time ratio: {cmaf_time / separate_time:.3f}")

        spec = AdaptiveStreamingSpec(rungs=rungs, segment_type="fmp4")
        halves = split_rungs(spec, info)
        assert halves is not None
        low, high = halves
        early = work / "early"
        t0 = time.monotonic()
        _ladder(low, src, info, early / "low")
        combine_ladders(early, ["low"])
        write_mpd(combine_ladders(early, ["low"]), early / MPD_NAME)
        first = time.monotonic() - t0
        _ladder(high, src, without_audio(info), early / "high")
        write_mpd(combine_ladders(early, ["low", "high"]), early / MPD_NAME)
        whole = time.monotonic() - t0
        print(f"publish early: first playable rung ({low.rungs[0].height}p + audio) after {first:.1f} s, "
              f"whole ladder after {whole:.1f} s")
        print(f"  vs the one-run CMAF ladder ({cmaf_time:.1f} s): first playable at {first / cmaf_time:.3f}x, "
              f"whole ladder at {whole / cmaf_time:.3f}x (the source is decoded twice)")
        shutil.rmtree(work / "hls", ignore_errors=True)


if __name__ == "__main__":
    main()
