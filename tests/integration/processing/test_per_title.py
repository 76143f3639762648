"""Per-title ladders with real FFmpeg and libvmaf: the analysis, then the ladder it asks for,
measured against the source (media/per_title.py, media/vmaf.py), and the step end to end through
the server with system template 30."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import imageio_ffmpeg
import pytest

from openvod.media.ffmpeg import run_ffmpeg
from openvod.media.ladder import AdaptiveStreamingSpec, Rung, build_ladder, finish_ladder
from openvod.media.per_title import PerTitleResult, PerTitleSpec, analyse
from openvod.media.probe import probe
from openvod.media.transcode import SourceInfo
from openvod.media.vmaf import compare_args, read_vmaf
from tests.conftest import Server, make_app_server
from tests.integration.processing.test_processing import detail, result
from tests.tus import upload_bytes

FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"
TOLERANCE = 3.0
"""VMAF points a final rung may fall short of its target: the probes see a few sampled seconds,
each starting with a keyframe, the ladder the whole clip with one every segment."""
RUNGS = (Rung(360, 1_200_000), Rung(240, 600_000))
CLIPS = {
    "slide": (f"color=c=0xf4f4f0:s=640x360:r=25:d=4,drawtext=fontfile={FONT}:text='Quarterly review'"
              f":fontsize=40:x=30:y=40,drawtext=fontfile={FONT}:text='Revenue grew 12 percent':fontsize=24:x=30:y=160"),
    "noise": "testsrc2=s=640x360:r=25:d=4,noise=alls=40:allf=t+u",
}


def make(path: Path, graph: str) -> Path:
    argv = [imageio_ffmpeg.get_ffmpeg_exe(), "-nostdin", "-loglevel", "error", "-y", "-filter_complex", graph,
            "-c:v", "libx264", "-preset", "ultrafast", "-crf", "10", "-pix_fmt", "yuv420p", "-an", str(path)]
    subprocess.run(argv, check=True, capture_output=True, timeout=120)
    return path


def run(plan: Any) -> None:
    run_ffmpeg(plan.args, timeout=300, duration=plan.duration)


def per_title(tmp: Path, name: str) -> tuple[Path, SourceInfo, PerTitleResult]:
    src = make(tmp / f"{name}.mp4", CLIPS[name])
    info = SourceInfo.from_probe(probe(src, timeout=30))
    work = tmp / f"{name}-work"
    work.mkdir()
    return src, info, analyse(PerTitleSpec(), RUNGS, src, info, work, run)


def test_slide_gets_fewer_bits_than_noise_and_meets_its_target(tmp_path: Path) -> None:
    slide_src, slide_info, slide = per_title(tmp_path, "slide")
    _, _, noise = per_title(tmp_path, "noise")
    # Same rungs, same targets: the still slide needs a fraction of what noise cannot even reach.
    assert slide.choices[0].bitrate < noise.choices[0].bitrate / 2
    assert slide.choices[-1].bitrate < noise.choices[-1].bitrate
    assert noise.choices[-1].bitrate == 600_000 and noise.choices[-1].vmaf < 95  # capped at the fixed bitrate
    assert all(c.kept for c in slide.choices)  # text at 240p, upscaled, is far from 360p's
    # The ladder the analysis asked for, measured against the source at each rung's size.
    out = tmp_path / "slide-ladder"
    out.mkdir()
    run(build_ladder(AdaptiveStreamingSpec(rungs=slide.rungs), slide_src, slide_info, out))
    ladder = finish_ladder(out)
    assert len(ladder.variants) == len(slide.rungs) == 2
    for variant, choice in zip(ladder.variants, slide.choices, strict=True):
        assert variant.width and variant.height == choice.height
        log = tmp_path / f"vmaf-{choice.height}.json"
        run_ffmpeg(compare_args(variant.playlist, slide_src, variant.width, variant.height, log), timeout=300)
        measured = read_vmaf(log)
        assert measured >= choice.target - TOLERANCE, (choice, measured)
        bits = sum(p.stat().st_size for p in variant.segments) * 8
        assert bits / 4 < 2 * choice.bitrate  # it did encode at about the bitrate picked, not the template's
        assert choice.bitrate < next(r.video_bitrate for r in RUNGS if r.height == choice.height)


@pytest.fixture(scope="module")
def srv(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    s = make_app_server(tmp_path_factory.mktemp("per-title"), {"OPENVOD_WORKERS": "1"})
    yield s
    s.stop()


def test_system_template_30_end_to_end(srv: Server, tmp_path: Path) -> None:
    clip = make(tmp_path / "slide.mp4", CLIPS["slide"].replace("640x360", "426x240"))
    with srv.client() as c:
        fid = upload_bytes(c, clip.read_bytes(), "slide.mp4")
        r = c.post(f"/v1/media/{fid}/process", json={"media_process_task": {
            "AdaptiveDynamicStreamingTaskSet": [{"Definition": 30}]}})
        assert r.status_code == 201, r.text
        item = result(detail(c, r.json()["task_id"], 240), 0)
        assert item["Status"] == "SUCCESS", item
        out = item["Output"]
        report = out["PerTitle"]
        # 240p source: the 240p rung only (higher ones skipped), its bitrate picked under the 400 kbps cap.
        assert [(x["Height"], x["TargetVmaf"]) for x in report["Rungs"]] == [(240, 95)]
        assert 64 <= report["Rungs"][0]["Bitrate"] < 400 and report["Rungs"][0]["Vmaf"] >= 90
        assert report["AnalysisSeconds"] > 0 and report["DroppedRungs"] == []
        assert [x["Height"] for x in out["Rungs"]] == [240]
        master = httpx.get(out["Url"], timeout=30).text
        assert master.count("#EXT-X-STREAM-INF") == 1
