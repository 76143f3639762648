"""media/loudness.py: loudnorm's report parsed, pass 2's chain, and both passes with real FFmpeg."""

from __future__ import annotations

import math
import threading
from pathlib import Path

import av
import pytest

from openvod.domain.presets import parse_params
from openvod.errors import Cancelled, InvalidParameter, MediaError
from openvod.media.ffmpeg import run_ffmpeg
from openvod.media.ladder import AdaptiveStreamingSpec, Rung, build_ladder, finish_ladder
from openvod.media.loudness import (
    LoudnessMeasurement,
    LoudnessTarget,
    apply_filter,
    measure_loudness,
    normalization_type,
    parse_loudnorm_json,
)
from openvod.media.probe import probe
from openvod.media.transcode import SourceInfo, build_audio_args, build_transcode_args
from tests.media import integrated_loudness, make_leveled_clip

REPORT = """[out#0/null @ 0x5603f9577dc0] Output #0, null, to 'pipe:':
[Parsed_loudnorm_0 @ 0x7ff180001d80]
{
\t"input_i" : "-34.80",
\t"input_tp" : "-30.12",
\t"input_lra" : "0.00",
\t"input_thresh" : "-44.80",
\t"output_i" : "-22.98",
\t"output_tp" : "-18.32",
\t"output_lra" : "0.00",
\t"output_thresh" : "-32.98",
\t"normalization_type" : "dynamic",
\t"target_offset" : "-0.02"
}
[out#0/null @ 0x5603f9577dc0] video:0KiB audio:2250KiB subtitle:0KiB other streams:0KiB
size=N/A time=00:00:06.00 bitrate=N/A speed=54.8x elapsed=0:00:00.10"""

SILENCE = """[Parsed_loudnorm_0 @ 0x7f7304001d80]
{
\t"input_i" : "-inf",
\t"input_tp" : "-inf",
\t"input_lra" : "0.00",
\t"input_thresh" : "-70.00",
\t"output_i" : "-inf",
\t"output_tp" : "-inf",
\t"output_lra" : "0.00",
\t"output_thresh" : "-70.00",
\t"normalization_type" : "dynamic",
\t"target_offset" : "inf"
}"""


def test_parse_report_among_other_lines() -> None:
    m = parse_loudnorm_json(REPORT)
    assert (m.integrated, m.true_peak, m.lra, m.threshold, m.target_offset) == (-34.8, -30.12, 0.0, -44.8, -0.02)
    assert not m.silent
    assert m.report() == {"IntegratedLoudness": -34.8, "TruePeak": -30.12, "LoudnessRange": 0.0}


def test_parse_silence() -> None:
    m = parse_loudnorm_json(SILENCE)
    assert m.integrated == -math.inf and m.target_offset == math.inf and m.silent
    assert m.report() == {"IntegratedLoudness": None, "TruePeak": None, "LoudnessRange": 0.0}  # JSON has no inf
    assert normalization_type(LoudnessTarget(), m) == "None"
    with pytest.raises(InvalidParameter):
        apply_filter(LoudnessTarget(), m, 44100)


def test_parse_takes_the_last_report() -> None:
    m = parse_loudnorm_json(SILENCE + "\n" + REPORT.replace("-34.80", "-12.50"))
    assert m.integrated == -12.5


@pytest.mark.parametrize("stderr", [
    "",  # no report at all (no audio stream)
    "[Parsed_loudnorm_0 @ 0x1] \n{ not json }",
    '[Parsed_loudnorm_0 @ 0x1] \n{"input_i" : "-20.0"}',  # values missing
    REPORT.replace('"-30.12"', '"loud"'),
    REPORT.replace('"-34.80"', '"nan"'),
])
def test_parse_refuses_what_is_not_a_measurement(stderr: str) -> None:
    with pytest.raises(MediaError) as exc:
        parse_loudnorm_json(stderr)
    assert exc.value.code == "FailedOperation.LoudnessMeasure"


@pytest.mark.parametrize(("kwargs", "code"), [
    ({"integrated": -4}, "InvalidParameterValue.IntegratedLoudness"),
    ({"integrated": -71}, "InvalidParameterValue.IntegratedLoudness"),
    ({"true_peak": 0.5}, "InvalidParameterValue.TruePeak"),
    ({"lra": 0.5}, "InvalidParameterValue.LoudnessRange"),
    ({"lra": True}, "InvalidParameterValue.LoudnessRange"),
])
def test_target_ranges(kwargs: dict[str, float], code: str) -> None:
    with pytest.raises(InvalidParameter) as exc:
        LoudnessTarget(**kwargs)
    assert exc.value.code == code


def test_apply_chain_linear_for_a_steady_signal() -> None:
    m = parse_loudnorm_json(REPORT)
    chain = apply_filter(LoudnessTarget(-16, -1.5, 11), m, 44100)
    # a range of 0 would make loudnorm fall back to dynamic mode: passed as 0.01
    assert chain == ("loudnorm=I=-16:TP=-1.5:LRA=11:measured_I=-34.8:measured_TP=-30.12:measured_LRA=0.01:"
                     "measured_thresh=-44.8:offset=-0.02:linear=true:print_format=none,aresample=44100")
    assert normalization_type(LoudnessTarget(), m) == "Linear"


def test_dynamic_when_the_gain_would_clip_or_the_range_is_wide() -> None:
    peaky = LoudnessMeasurement(integrated=-40, true_peak=-5, lra=3, threshold=-50, target_offset=0)
    assert normalization_type(LoudnessTarget(-23, -1, 7), peaky) == "Dynamic"  # -5 + 17 dB > -1 dBTP
    wide = LoudnessMeasurement(integrated=-30, true_peak=-20, lra=15, threshold=-40, target_offset=0)
    assert normalization_type(LoudnessTarget(-23, -1, 7), wide) == "Dynamic"
    # out-of-range measurements are clamped to loudnorm's option ranges, or FFmpeg refuses the graph
    hot = LoudnessMeasurement(integrated=2.5, true_peak=120, lra=0, threshold=1, target_offset=-200)
    assert "measured_I=0:measured_TP=99:" in apply_filter(LoudnessTarget(), hot, 48000)
    assert "measured_thresh=0:offset=-99:" in apply_filter(LoudnessTarget(), hot, 48000)


@pytest.fixture(scope="module")
def quiet(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_leveled_clip(tmp_path_factory.mktemp("loud") / "quiet.mp4", seconds=5, sound="tone", gain_db=-14)


def test_measure_and_apply_in_a_transcode(quiet: Path, tmp_path: Path) -> None:
    target = LoudnessTarget(-16, -1, 7)
    seen: list[float] = []
    m = measure_loudness(quiet, target, timeout=60, duration=5, on_progress=seen.append)
    assert -37 < m.integrated < -33 and seen[-1] == 100
    spec = parse_params({"f": "mp4", "VIDEO": {"vcodec": "h264", "width": 160, "height": 120},
                         "AUDIO": {"acodec": "aac", "ar": "44100"}})
    out = tmp_path / "out.mp4"
    args = build_transcode_args(spec, [quiet], out, audio_filter=apply_filter(target, m, 44100))
    run_ffmpeg(args, timeout=120)
    assert abs(integrated_loudness(out) - -16) <= 1
    with av.open(str(out)) as c:  # back from loudnorm's 192 kHz
        assert c.streams.audio[0].sample_rate == 44100
    # the chunk path's audio step takes the same chain (it encodes the whole file's audio)
    assert "-af" in build_audio_args(spec, quiet, tmp_path / "a.mp4", audio_filter="anull")


def test_audio_filter_needs_one_input_and_a_reencode(quiet: Path, tmp_path: Path) -> None:
    copy = parse_params({"f": "mp4", "VIDEO": {"vcodec": "h264"}, "AUDIO": {"acodec": "copy"}})
    with pytest.raises(InvalidParameter) as exc:
        build_transcode_args(copy, [quiet], tmp_path / "o.mp4", audio_filter="anull")
    assert exc.value.code == "InvalidParameter.AudioFilter"
    aac = parse_params({"f": "mp4", "VIDEO": {"vcodec": "h264"}, "AUDIO": {"acodec": "aac"}})
    with pytest.raises(InvalidParameter):
        build_transcode_args(aac, [quiet, quiet], tmp_path / "o.mp4", audio_filter="anull")


def test_ladder_audio_normalised_and_read_back(quiet: Path, tmp_path: Path) -> None:
    target = LoudnessTarget(-23, -1, 7)
    m = measure_loudness(quiet, target, timeout=60)
    spec = AdaptiveStreamingSpec(rungs=(Rung(120, 100_000),), segment_type="fmp4", audio_sample_rate=44100,
                                 loudness=apply_filter(target, m, 44100))
    plan = build_ladder(spec, quiet, SourceInfo.from_probe(probe(quiet, timeout=30)), tmp_path)
    assert plan.args[plan.args.index("-af") + 1] == spec.loudness
    run_ffmpeg(plan.args, timeout=120, duration=plan.duration)
    ladder = finish_ladder(tmp_path)
    assert ladder.audio is not None
    back = measure_loudness(ladder.audio.playlist, target, timeout=60, own_output=True)
    assert abs(back.integrated - -23) <= 1


def test_measure_cancelled_and_without_audio(quiet: Path, tmp_path: Path) -> None:
    stop = threading.Event()
    stop.set()
    with pytest.raises(Cancelled):
        measure_loudness(quiet, LoudnessTarget(), timeout=60, cancel=stop)
    mute = tmp_path / "mute.mp4"
    run_ffmpeg(["-i", str(quiet), "-map", "0:v", "-c", "copy", str(mute)], timeout=60)
    with pytest.raises(MediaError):  # FFmpeg refuses the map: the caller checks for audio first
        measure_loudness(mute, LoudnessTarget(), timeout=60)
