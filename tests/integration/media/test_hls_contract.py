"""The HLS ladder holds RFC 8216 as an independent parser (the ``m3u8`` package) and FFmpeg's own
HLS demuxer read it: versions, BANDWIDTH/AVERAGE-BANDWIDTH counting the audio rendition,
RESOLUTION/CODECS matching the rungs' streams, segments starting on keyframes at the same times
in every rung, TARGETDURATION covering every segment, no
sub-100 ms trailing audio segment (a 9 s clip cut at 1.5 s leaves a 23 ms one from FFmpeg), the
template's audio sample rate applied, and the whole ladder decoding without an error."""

from __future__ import annotations

import io
import math
import subprocess
from pathlib import Path
from typing import Any

import av
import imageio_ffmpeg
import m3u8
import pytest

from openvod.media.ffmpeg import run_ffmpeg
from openvod.media.ladder import AdaptiveStreamingSpec, LadderOutputs, Rung, build_ladder, finish_ladder
from openvod.media.probe import probe
from openvod.media.transcode import SourceInfo
from tests.media import make_clip

SEG = 1.5
RUNGS = (Rung(360, 600_000), Rung(240, 300_000))
RATE = 32_000  # differs from the source's, so applying it shows
H264_PROFILES = {"Baseline": 0x42, "Constrained Baseline": 0x42, "Main": 0x4D, "High": 0x64}


@pytest.fixture(scope="module", params=["ts", "fmp4"])
def ladder(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> LadderOutputs:
    src = make_clip(tmp_path_factory.mktemp("hls-src") / "clip.mp4", seconds=9, width=640, height=360)
    out_dir = tmp_path_factory.mktemp(f"hls-{request.param}")
    spec = AdaptiveStreamingSpec(rungs=RUNGS, segment_seconds=SEG, segment_type=request.param,
                                 audio_sample_rate=RATE, audio_bitrate=128_000)
    plan = build_ladder(spec, src, SourceInfo.from_probe(probe(src)), out_dir)
    run_ffmpeg(plan.args, timeout=120, duration=plan.duration)
    return finish_ladder(out_dir)


def rates(playlist: m3u8.M3U8, base: Path) -> tuple[float, float]:
    """(peak, average) bit rate measured from the segment files: the peak is per segment (the
    strictest reading; segments under half the target duration are pooled with the one before)."""
    init = (base / playlist.segment_map[0].uri).stat().st_size if playlist.segment_map else 0
    sizes = [(base / s.uri).stat().st_size for s in playlist.segments]
    durations = [float(s.duration) for s in playlist.segments]
    total = sum(durations)
    pooled: list[tuple[int, float]] = []
    for size, dur in zip(sizes, durations, strict=True):
        if pooled and dur < 0.5 * playlist.target_duration:
            pooled[-1] = (pooled[-1][0] + size, pooled[-1][1] + dur)
        else:
            pooled.append((size, dur))
    peak = max(size * 8 / dur for size, dur in pooled) + init * 8 / total
    return peak, (sum(sizes) + init) * 8 / total


def first_stream(rendition: m3u8.M3U8, base: Path, kind: str) -> Any:
    data = b"".join((base / u).read_bytes() for u in
                    [*([rendition.segment_map[0].uri] if rendition.segment_map else []), rendition.segments[0].uri])
    container = av.open(io.BytesIO(data))
    return container, getattr(container.streams, kind)[0]


def test_master_and_media_playlists_hold_rfc8216(ladder: LadderOutputs) -> None:
    base = ladder.master.parent
    master = m3u8.load(str(ladder.master))
    assert master.is_variant and master.version is not None and master.version >= 3
    audio_media = [m for m in master.media if m.type == "AUDIO"]
    assert len(audio_media) == 1
    audio = m3u8.load(str(base / audio_media[0].uri))
    assert audio.version == master.version and audio.is_endlist and audio.playlist_type == "vod"
    audio_peak, audio_avg = rates(audio, base)

    container, a = first_stream(audio, base, "audio")
    with container:
        assert a.sample_rate == RATE, "the template's audio SampleRate is applied"
        assert a.codec_context.profile == "LC"
    for playlist in (audio, *(m3u8.load(str(base / p.uri)) for p in master.playlists)):
        assert playlist.version == master.version
        assert playlist.target_duration >= max(math.floor(float(s.duration) + 0.5) for s in playlist.segments)
        assert all(float(s.duration) >= 0.1 for s in playlist.segments), "no sub-100 ms segment"

    assert len(master.playlists) == len(RUNGS)
    for variant in master.playlists:
        info = variant.stream_info
        media = m3u8.load(str(base / variant.uri))
        video_peak, video_avg = rates(media, base)
        assert info.bandwidth >= video_peak + audio_peak, (variant.uri, info.bandwidth, video_peak, audio_peak)
        assert info.average_bandwidth >= video_avg + audio_avg, (variant.uri, info.average_bandwidth)
        # AVERAGE-BANDWIDTH is a measurement, not a ceiling: within 2 % of what the segments hold.
        assert info.average_bandwidth <= (video_avg + audio_avg) * 1.02
        assert info.bandwidth >= info.average_bandwidth
        assert info.audio == audio_media[0].group_id

        container, v = first_stream(media, base, "video")
        with container:
            assert info.resolution == (v.codec_context.width, v.codec_context.height)
            avc, mp4a = info.codecs.split(",")
            assert avc == f"avc1.{H264_PROFILES[v.codec_context.profile]:02x}00{v.codec_context.level:02x}" \
                or (avc[:7] == f"avc1.{H264_PROFILES[v.codec_context.profile]:02x}"
                    and int(avc[-2:], 16) == v.codec_context.level), (avc, v.codec_context.profile)
            assert mp4a == "mp4a.40.2"


def test_segments_start_on_keyframes_at_the_same_times_in_every_rung(ladder: LadderOutputs) -> None:
    base = ladder.master.parent
    master = m3u8.load(str(ladder.master))
    starts: list[list[float]] = []
    for variant in master.playlists:
        media = m3u8.load(str(base / variant.uri))
        init = (base / media.segment_map[0].uri).read_bytes() if media.segment_map else b""
        times = []
        for segment in media.segments:
            with av.open(io.BytesIO(init + (base / segment.uri).read_bytes())) as container:
                first = next(p for p in container.demux(video=0) if p.size)
                assert first.is_keyframe, (variant.uri, segment.uri)
                assert first.pts is not None and first.time_base is not None
                times.append(float(first.pts * first.time_base))
        starts.append(times)
    assert len(starts) == len(RUNGS) and len(starts[0]) >= 5
    for other in starts[1:]:
        assert len(other) == len(starts[0])
        assert all(abs(a - b) < 0.001 for a, b in zip(starts[0], other, strict=True)), (starts[0], other)


def test_the_whole_ladder_decodes_through_ffmpegs_hls_demuxer(ladder: LadderOutputs) -> None:
    proc = subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-hide_banner", "-v", "error", "-xerror",
                           "-i", str(ladder.master), "-map", "0", "-f", "null", "-"],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0 and not proc.stderr.strip(), proc.stderr[-2000:]
