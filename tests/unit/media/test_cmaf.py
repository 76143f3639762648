"""CMAF packaging with real FFmpeg: one set of fMP4 segments named by an HLS master and a DASH MPD,
H.265/AV1 rungs with RFC 6381 CODECS, and a ladder made in two parts (publish early)."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from openvod.errors import InvalidParameter, MediaError
from openvod.media.dash import MPD_NAME, write_mpd
from openvod.media.ffmpeg import run_ffmpeg
from openvod.media.ladder import AdaptiveStreamingSpec, LadderOutputs, Rung, build_ladder, finish_ladder
from openvod.media.ladder_parts import combine_ladders, split_rungs, without_audio
from openvod.media.mp4frag import fragment_timing, track_timescale
from openvod.media.probe import probe
from openvod.media.transcode import SourceInfo
from tests.media import make_clip

NS = {"d": "urn:mpeg:dash:schema:mpd:2011"}


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """4 s, 320x240, 25 fps H.264 + AAC."""
    return make_clip(tmp_path_factory.mktemp("cmaf") / "clip.mp4", seconds=4, width=320, height=240)


def _info(path: Path) -> SourceInfo:
    return SourceInfo.from_probe(probe(path, timeout=30))


def _ladder(spec: AdaptiveStreamingSpec, clip: Path, out: Path, source: SourceInfo | None = None) -> LadderOutputs:
    out.mkdir(parents=True, exist_ok=True)
    plan = build_ladder(spec, clip, source or _info(clip), out)
    run_ffmpeg(plan.args, timeout=120, duration=plan.duration)
    return finish_ladder(out)


def parse_mpd(path: Path) -> tuple[float, list[dict[str, object]]]:
    """(mediaPresentationDuration, [{id, codecs, init, media: [...], seconds}]) of an MPD."""
    root = ET.parse(path).getroot()
    m = re.fullmatch(r"PT([\d.]+)S", root.attrib["mediaPresentationDuration"])
    assert m, root.attrib
    reps = []
    for aset in root.iterfind("d:Period/d:AdaptationSet", NS):
        for rep in aset.iterfind("d:Representation", NS):
            seg = rep.find("d:SegmentList", NS)
            assert seg is not None
            scale = int(seg.attrib["timescale"])
            ticks = sum(int(s.attrib["d"]) * (1 + int(s.attrib.get("r", 0)))
                        for s in seg.iterfind("d:SegmentTimeline/d:S", NS))
            init = seg.find("d:Initialization", NS)
            assert init is not None
            reps.append({"id": rep.attrib["id"], "codecs": rep.attrib.get("codecs", ""),
                         "type": aset.attrib["contentType"], "init": init.attrib["sourceURL"],
                         "media": [u.attrib["media"] for u in seg.iterfind("d:SegmentURL", NS)],
                         "seconds": ticks / scale})
    return float(m[1]), reps


def test_cmaf_hls_and_dash_name_the_same_segments(clip: Path, tmp_path: Path) -> None:
    spec = AdaptiveStreamingSpec(rungs=(Rung(240, 400_000), Rung(120, 150_000)), segment_type="fmp4",
                                 segment_seconds=2)
    ladder = _ladder(spec, clip, tmp_path)
    mpd = write_mpd(ladder, tmp_path / MPD_NAME)
    duration, reps = parse_mpd(mpd.path)
    assert abs(duration - 4.0) < 0.1
    assert [r["type"] for r in reps] == ["video", "video", "audio"]
    dash_files: set[Path] = set()
    for rep in reps:
        files = [tmp_path / str(rep["init"]), *(tmp_path / str(u) for u in rep["media"])]  # type: ignore[attr-defined]
        assert all(f.is_file() for f in files), rep
        assert abs(float(rep["seconds"]) - 4.0) < 0.1, rep  # type: ignore[arg-type]
        dash_files.update(files)
    hls_media = {p for p in ladder.files if p.suffix != ".m3u8"}
    assert dash_files == hls_media == set(mpd.files)  # one set of segments, named by both manifests
    assert {p.name for p in tmp_path.iterdir()} == {p.name for p in (*ladder.files, mpd.path)}
    assert reps[0]["codecs"] == ladder.variants[0].codecs.split(",")[0]
    assert reps[2]["codecs"] == "mp4a.40.2"
    # the timeline comes from the segments themselves
    v0 = ladder.variants[0]
    assert v0.init is not None
    assert fragment_timing(v0.segments[1], v0.init)[0] == 2 * track_timescale(v0.init)


def test_dash_needs_fmp4(clip: Path, tmp_path: Path) -> None:
    ladder = _ladder(AdaptiveStreamingSpec(rungs=(Rung(120, 150_000),), segment_seconds=2), clip, tmp_path)
    with pytest.raises(MediaError) as e:
        write_mpd(ladder, tmp_path / MPD_NAME)
    assert e.value.code == "FailedOperation.UnsupportedFormat"


def test_h265_and_av1_rungs_carry_rfc6381_codecs(clip: Path, tmp_path: Path) -> None:
    spec = AdaptiveStreamingSpec(rungs=(Rung(240, 400_000), Rung(180, 300_000, codec="h265"),
                                        Rung(120, 200_000, codec="av1")), segment_type="fmp4", segment_seconds=2)
    ladder = _ladder(spec, clip, tmp_path)
    codecs = [v.codecs.split(",") for v in ladder.variants]
    assert [c[1] for c in codecs] == ["mp4a.40.2"] * 3  # the audio rendition's codec in every variant
    assert re.fullmatch(r"avc1\.[0-9a-fA-F]{6}", codecs[0][0]), codecs
    assert re.fullmatch(r"hvc1\.[1-3]\.[0-9A-F]{1,8}\.[LH]\d{1,3}(\.[0-9A-F]{1,2}){0,6}", codecs[1][0]), codecs
    assert re.fullmatch(r"av01\.0\.\d{2}[MH]\.(08|10)", codecs[2][0]), codecs
    inits = [v.init.read_bytes() for v in ladder.variants if v.init]
    assert b"avc1" in inits[0] and b"hvc1" in inits[1] and b"hev1" not in inits[1] and b"av01" in inits[2]
    # every codec keyframes at the same segment boundaries
    assert len({v.durations for v in ladder.variants}) == 1 and ladder.variants[0].durations == (2.0, 2.0)
    _, reps = parse_mpd(write_mpd(ladder, tmp_path / MPD_NAME).path)
    assert [r["codecs"] for r in reps[:3]] == [c[0] for c in codecs]


@pytest.mark.parametrize("codec", ["h265", "av1"])
def test_h265_and_av1_refuse_ts_segments(codec: str) -> None:
    with pytest.raises(InvalidParameter) as e:
        AdaptiveStreamingSpec(rungs=(Rung(240, 400_000, codec=codec),), segment_type="ts")  # type: ignore[arg-type]
    assert e.value.code == "InvalidParameter.SegmentType"
    with pytest.raises(InvalidParameter):
        Rung(240, 400_000, codec="vp9")  # type: ignore[arg-type]


def test_a_ladder_in_two_parts_plays_as_one(clip: Path, tmp_path: Path) -> None:
    spec = AdaptiveStreamingSpec(rungs=(Rung(240, 400_000), Rung(180, 250_000), Rung(120, 150_000)),
                                 segment_type="fmp4", segment_seconds=2)
    source = _info(clip)
    halves = split_rungs(spec, source)
    assert halves is not None
    low, high = halves
    assert [r.height for r in low.rungs] == [120] and [r.height for r in high.rungs] == [240, 180]
    _ladder(low, clip, tmp_path / "low", source)
    early = combine_ladders(tmp_path, ["low"])
    assert [v.height for v in early.variants] == [120] and early.audio is not None
    _ladder(high, clip, tmp_path / "high", without_audio(source))
    assert not list((tmp_path / "high").glob("audio*"))  # the audio is encoded once, by the first part
    whole = combine_ladders(tmp_path, ["low", "high"])
    master = whole.master.read_text()
    assert [v.height for v in whole.variants] == [240, 180, 120]
    assert master.count('AUDIO="group_aud"') == 3 and master.count("TYPE=AUDIO") == 1
    assert all(v.codecs.endswith(",mp4a.40.2") for v in whole.variants)
    assert len({v.durations for v in whole.variants}) == 1  # same keyframes in both runs: switchable
    assert whole.audio is not None and whole.audio.playlist == tmp_path / "low" / "audio.m3u8"
    assert all(v.bandwidth and v.bandwidth > 128_000 for v in whole.variants)  # the audio counted in
    _, reps = parse_mpd(write_mpd(whole, tmp_path / MPD_NAME).path)
    assert [r["id"] for r in reps] == ["v0", "v1", "v2", "audio"]
    assert split_rungs(AdaptiveStreamingSpec(rungs=(Rung(240, 400_000),)), source) is None


def test_mp4frag_refuses_what_is_not_fmp4(tmp_path: Path) -> None:
    junk = tmp_path / "junk.m4s"
    junk.write_bytes(b"\x00\x00\x00\x10moof" + b"\xff" * 64)
    with pytest.raises(MediaError):
        fragment_timing(junk)
    (tmp_path / "empty.mp4").write_bytes(b"")
    with pytest.raises(MediaError):
        track_timescale(tmp_path / "empty.mp4")
