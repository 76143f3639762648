"""Per-title picking (media/per_title.py): the curve arithmetic, clamping, dropping, and the
FFmpeg arguments of the probes — no FFmpeg run here (tests/integration/processing/test_per_title.py
runs it)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from openvod.errors import InvalidParameter, MediaError
from openvod.media.ladder import Rung
from openvod.media.per_title import (
    Curve,
    PerTitleSpec,
    Probes,
    bitrate_for,
    build_probe_encodes,
    build_probe_scores,
    choose,
    probe_bitrates,
    sample_windows,
    vmaf_at,
)
from openvod.media.transcode import SourceInfo
from openvod.media.vmaf import read_vmaf

CURVE = ((1_000_000.0, 90.0), (2_000_000.0, 96.0))


def test_bitrate_is_interpolated_in_log_bitrate() -> None:
    assert bitrate_for(CURVE, 93) == pytest.approx(math.sqrt(2) * 1e6)
    assert bitrate_for(CURVE, 96) == pytest.approx(2e6)
    assert vmaf_at(CURVE, math.sqrt(2) * 1e6) == pytest.approx(93)
    three = ((400_000.0, 80.0), (1_000_000.0, 90.0), (2_000_000.0, 96.0))
    assert bitrate_for(three, 85) == pytest.approx(math.sqrt(0.4) * 1e6)  # halfway in log between 400k and 1M
    assert bitrate_for(list(reversed(three)), 85) == bitrate_for(three, 85)  # order of points does not matter


def test_beyond_the_probes_the_curve_is_extrapolated_down_and_flat_up() -> None:
    assert bitrate_for(CURVE, 87) == pytest.approx(1e6)  # never below the lowest probe: a VBV cliff may lie there
    assert bitrate_for(CURVE, 99) == pytest.approx(2e6 * math.sqrt(2))  # a bitrate to try: clamped by the caller
    assert vmaf_at(CURVE, 4e6) == 96  # no more quality assumed than the best probe measured
    assert vmaf_at(CURVE, 500_000) == pytest.approx(84)
    assert vmaf_at(((1e6, 10.0), (2e6, 60.0)), 1e3) == 0  # clamped to 0-100


def test_a_flat_or_noisy_curve() -> None:
    flat = ((1e6, 90.0), (2e6, 90.0))
    assert bitrate_for(flat, 95) is None  # more bits buy nothing: the caller takes its cap
    assert bitrate_for(flat, 85) == pytest.approx(1e6)
    dip = ((1e6, 92.0), (2e6, 91.0))  # more bits scoring lower is measurement noise
    assert vmaf_at(dip, 2e6) == 92
    same = ((280_000.0, 97.0), (281_000.0, 97.2))  # an encoder undershooting every probe: one point
    assert bitrate_for(same, 95) == pytest.approx(280_000)
    assert bitrate_for(((1e6, 90.0),), 85) == pytest.approx(1e6) and bitrate_for(((1e6, 90.0),), 95) is None
    with pytest.raises(InvalidParameter):
        bitrate_for((), 90)


def _planned(*rungs: tuple[int, int]) -> list[tuple[int, int, Rung]]:
    return [(h * 16 // 9 // 2 * 2, h, Rung(h, kbps * 1000)) for h, kbps in rungs]


def test_clamped_to_the_rung_cap_and_the_floor() -> None:
    planned = _planned((720, 2800), (360, 800))
    easy = Curve(own=((50_000.0, 97.0), (100_000.0, 99.0)), cross=((50_000.0, 30.0), (100_000.0, 32.0)))
    hard = Curve(own=((3e6, 60.0), (9e6, 80.0)), cross=((3e6, 50.0), (9e6, 70.0)))
    result = choose(PerTitleSpec(), planned, [hard, easy])
    top, low = result.choices
    # target out of reach: the cap, and its VMAF read off the curve (extrapolated below 3 Mbit/s)
    assert top.bitrate == 2_800_000 and top.vmaf == pytest.approx(60 - 20 * math.log(3 / 2.8) / math.log(3))
    assert top.kept
    assert low.bitrate == 64_000  # target met below the floor: the floor (64 kbps by default)
    capped = choose(PerTitleSpec(max_bitrate=1_000_000, min_bitrate=200_000), planned, [hard, easy])
    assert [c.bitrate for c in capped.choices] == [1_000_000, 200_000]
    assert [r.video_bitrate for r in capped.rungs] == [1_000_000, 200_000]
    assert capped.rungs[0].height == 720


def test_targets_step_down_the_ladder() -> None:
    spec = PerTitleSpec(top_vmaf=95, vmaf_step=3)
    assert [spec.target(i) for i in range(3)] == [95, 92, 89]
    planned = _planned((720, 5000), (360, 5000))
    curve = Curve(own=((1e6, 89.0), (2e6, 95.0)), cross=((1e6, 10.0), (2e6, 20.0)))
    result = choose(spec, planned, [curve, curve])
    assert [c.bitrate for c in result.choices] == [2_000_000, 1_414_000]  # 92: halfway, in log bitrate
    assert result.report(1.234)["Rungs"][0] == {"Width": 1280, "Height": 720, "Bitrate": 2000, "Vmaf": 95.0,
                                                "TargetVmaf": 95.0, "VmafGain": 80.0}
    assert result.report(1.234)["AnalysisSeconds"] == 1.23


def test_rungs_adding_less_than_2_vmaf_are_dropped() -> None:
    planned = _planned((1080, 5000), (720, 2800), (360, 800))
    own = ((1e6, 90.0), (4e6, 96.0))
    curves = [Curve(own=own),
              Curve(own=own, cross=((1e6, 89.0), (4e6, 94.5))),  # 720p shown at 1080p: 95 - 93.9 < 2, 1080p goes
              Curve(own=own, cross=((1e6, 80.0), (4e6, 85.0)))]  # 360p shown at 720p: far below, 720p stays
    result = choose(PerTitleSpec(), planned, curves)
    assert [c.kept for c in result.choices] == [False, True, True]
    assert result.choices[0].gain is not None and result.choices[0].gain < 2
    assert result.choices[1].gain is not None and result.choices[1].gain >= 2
    assert [r.height for r in result.rungs] == [720, 360]
    report = result.report(0)
    assert [r["Height"] for r in report["Rungs"]] == [720, 360] and report["DroppedRungs"][0]["Height"] == 1080
    assert result.choices[2].gain is None  # the lowest rung is never dropped
    kept = choose(PerTitleSpec(min_gain=0.5), planned, curves)
    assert all(c.kept for c in kept.choices)


def test_a_smaller_rung_never_gets_more_bits_than_the_one_above() -> None:
    planned = _planned((1080, 5000), (720, 2800))
    top = Curve(own=((1e6, 95.0), (5e6, 99.0)))
    mid = Curve(own=((560_000.0, 80.0), (2.8e6, 99.0)), cross=((560_000.0, 50.0), (2.8e6, 60.0)))
    result = choose(PerTitleSpec(), planned, [top, mid])
    assert [c.bitrate for c in result.choices] == [1_000_000, 1_000_000]  # 720p alone would ask ~1.9 Mbit/s
    assert result.choices[1].vmaf == pytest.approx(vmaf_at(mid.own, 1e6)) and result.choices[1].vmaf < 95


def test_equal_rungs_stay_two_rungs() -> None:
    planned = _planned((360, 800), (360, 800))
    curve = Curve(own=((1e5, 90.0), (1e6, 99.0)), cross=((1e5, 90.0), (1e6, 99.0)))
    result = choose(PerTitleSpec(), planned, [curve, curve])
    assert len(result.rungs) == 1  # the same picture twice adds nothing: the upper one goes
    with pytest.raises(InvalidParameter):
        choose(PerTitleSpec(), planned, [curve])


def test_sample_windows() -> None:
    assert sample_windows(4, 3, 1) == [(0.0, 3)]
    assert sample_windows(2, 3, 1) == [(0.0, 2)]
    assert sample_windows(30, 3, 1) == [(4.5, 1), (14.5, 1), (24.5, 1)]
    # A sampling budget (8% of the source by default): fewer windows first, then shorter ones.
    def flat(windows: list[tuple[float, float]]) -> list[float]:
        return [x for w in windows for x in w]

    assert flat(sample_windows(20, 3, 1, 0.08)) == pytest.approx([4.6, 0.8, 14.6, 0.8])
    assert flat(sample_windows(30, 3, 1, 0.08)) == pytest.approx([4.6, 0.8, 14.6, 0.8, 24.6, 0.8])
    assert sample_windows(100, 3, 1, 0.08) == sample_windows(100, 3, 1)  # long sources: as many as asked
    assert sample_windows(8, 3, 1, 0.08) == [(3.5, 1)]  # never under a second in all
    assert sample_windows(4, 3, 1, 0.08) == [(0.0, 3)]  # too short to sample: not cut down


@pytest.mark.parametrize("kwargs", [
    {"top_vmaf": 101}, {"top_vmaf": float("nan")}, {"vmaf_step": -1}, {"min_bitrate": 10_000},
    {"min_bitrate": 500_000, "max_bitrate": 400_000}, {"samples": 0}, {"sample_seconds": 0.1},
    {"probe_fractions": ()}, {"probe_fractions": (1.5,)}, {"preset": "warp"}, {"vmaf_subsample": 0},
    {"sample_share": 0}, {"sample_share": 1.5},
])
def test_bad_specs(kwargs: dict[str, object]) -> None:
    with pytest.raises(InvalidParameter):
        PerTitleSpec(**kwargs)  # type: ignore[arg-type]


def test_probe_arguments(tmp_path: Path) -> None:
    spec = PerTitleSpec()
    info = SourceInfo(duration=30, width=1920, height=1080, fps=30)
    planned = _planned((1080, 5000), (720, 2800), (240, 400))
    assert probe_bitrates(spec, planned[2][2]) == [400_000, 80_000]
    assert probe_bitrates(PerTitleSpec(probe_fractions=(1, 0.1)), planned[2][2]) == [400_000, 64_000]  # the floor
    plan = build_probe_encodes(spec, planned, tmp_path / "src.mp4", info, tmp_path)
    # 30 s: 8% is 2.4 s, three windows of 0.8 s, each opened at the keyframe before it
    assert plan.args.count("-ss") == 3 and plan.duration == pytest.approx(2.4)
    assert plan.args.count("-noaccurate_seek") == 3
    assert plan.args.count("libx264") == 6 and plan.args.count("-f") == 6
    assert plan.args[plan.args.index("-force_key_frames") + 1] == "0,0.8,1.6"  # every sample starts with a keyframe
    assert plan.args[plan.args.index("-threads") + 1] == "1"
    assert "setpts=N/(30*TB)" in plan.args[plan.args.index("-filter_complex") + 1]
    assert "-crf" not in plan.args  # the ladder's ABR, not CRF
    scores = build_probe_scores(spec, planned, tmp_path / "src.mp4", info, plan.outputs, tmp_path)
    graph = scores.args[scores.args.index("-filter_complex") + 1]
    assert graph.count("libvmaf") == 6 + 4  # own scores for every probe, cross scores below the top rung
    assert "scale=1920:1080" in graph and "n_subsample=5" in graph and "n_threads=1" in graph
    with pytest.raises(InvalidParameter):
        build_probe_scores(spec, planned, tmp_path / "src.mp4", info, Probes({}, {}, 3), tmp_path / "a:b")


def test_read_vmaf(tmp_path: Path) -> None:
    log = tmp_path / "v.json"
    log.write_text(json.dumps({"pooled_metrics": {"vmaf": {"mean": 93.25}}}))
    assert read_vmaf(log) == 93.25
    log.write_text("{}")
    with pytest.raises(MediaError) as e:
        read_vmaf(log)
    assert e.value.code == "FailedOperation.Vmaf"
    with pytest.raises(MediaError):
        read_vmaf(tmp_path / "missing.json")
