"""AdaptiveDynamicStreaming writes the promised HLS ladder (real FFmpeg, playlists parsed, segments decoded)."""

from __future__ import annotations

import io
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import av
import pytest
from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from openvod.errors import InvalidParameter, MediaError
from openvod.media.ffmpeg import run_ffmpeg
from openvod.media.ladder import (
    AdaptiveStreamingSpec,
    HlsEncryption,
    LadderOutputs,
    Rung,
    build_ladder,
    ladder_outputs,
    plan_rungs,
)
from openvod.media.probe import probe
from openvod.media.transcode import SourceInfo
from tests.media import make_audio, make_clip

TIMEOUT = 120
SEG = 1.0
RUNGS = (Rung(720, 1_500_000), Rung(360, 600_000), Rung(240, 300_000), Rung(144, 150_000, fps=12))
KEY = bytes(range(100, 116))
IV = bytes(range(16))
KEY_URI = "https://keys.example/hls?key=1&v=2"


@dataclass
class Ladder:
    args: list[str]
    out: LadderOutputs
    dir: Path


@pytest.fixture(scope="module")
def media(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("ladder-sources")


@pytest.fixture(scope="module")
def wide(media: Path) -> Path:
    """4 s, 640x360, 25 fps, with audio."""
    return make_clip(media / "wide.mp4", seconds=4, width=640, height=360)


@pytest.fixture(scope="module")
def make_ladder(tmp_path_factory: pytest.TempPathFactory) -> Callable[..., Ladder]:
    def make(path: Path, spec: AdaptiveStreamingSpec | None = None, **kw: Any) -> Ladder:
        out_dir = tmp_path_factory.mktemp("ladder")
        plan = build_ladder(spec or AdaptiveStreamingSpec(rungs=RUNGS, segment_seconds=SEG), path,
                            SourceInfo.from_probe(probe(path)), out_dir, **kw)
        run_ffmpeg(plan.args, timeout=TIMEOUT, duration=plan.duration)
        return Ladder(plan.args, ladder_outputs(out_dir), out_dir)
    return make


@pytest.fixture(scope="module")
def ts_ladder(wide: Path, make_ladder: Callable[..., Ladder]) -> Ladder:
    return make_ladder(wide)


def first_packets(segment: Path | bytes) -> list[Any]:
    """The video packets of a segment (a file, or bytes such as init + fragment)."""
    src: Any = io.BytesIO(segment) if isinstance(segment, bytes) else str(segment)
    with av.open(src) as container:
        return [p for p in container.demux(video=0) if p.size]


def decoded_size(segment: Path | bytes) -> tuple[int, int, str]:
    src: Any = io.BytesIO(segment) if isinstance(segment, bytes) else str(segment)
    with av.open(src) as container:
        frame = next(container.decode(video=0))
        return frame.width, frame.height, frame.format.name


def test_rungs_above_the_source_are_skipped(ts_ladder: Ladder) -> None:
    out = ts_ladder.out
    assert [(v.width, v.height) for v in out.variants] == [(640, 360), (426, 240), (256, 144)]
    bandwidths = [v.bandwidth or 0 for v in out.variants]
    assert bandwidths == sorted(bandwidths, reverse=True) and bandwidths[-1] > 100_000
    assert all(v.codecs.startswith("avc1.") and "mp4a.40.2" in v.codecs for v in out.variants)
    master = out.master.read_text()
    assert master.count("#EXT-X-STREAM-INF") == 3
    assert master.count("#EXT-X-MEDIA:TYPE=AUDIO") == 1 and 'AUDIO="group_aud"' in master
    assert out.audio is not None and out.audio.playlist.name == "audio.m3u8"
    assert sorted(p.name for p in ts_ladder.dir.glob("*.m3u8")) == ["audio.m3u8", "master.m3u8", "v0.m3u8",
                                                                     "v1.m3u8", "v2.m3u8"]
    assert set(ts_ladder.dir.iterdir()) == set(out.files)


def test_one_decode_and_one_audio_encode(ts_ladder: Ladder) -> None:
    args = ts_ladder.args
    assert args.count("-i") == 1
    graph = args[args.index("-filter_complex") + 1]
    assert "split=3" in graph
    assert args.count("-c:a") == 1
    assert [args[i + 1] for i, a in enumerate(args) if a == "-map" and ":a" in args[i + 1]] == ["0:a:0"]
    stream_map = args[args.index("-var_stream_map") + 1]
    assert stream_map == ("v:0,name:v0,agroup:aud v:1,name:v1,agroup:aud v:2,name:v2,agroup:aud "
                          "a:0,name:audio,agroup:aud,default:yes")


def test_segment_durations_match_the_target(ts_ladder: Ladder) -> None:
    renditions = [*ts_ladder.out.variants, ts_ladder.out.audio]
    for r in renditions:
        assert r is not None
        assert sum(r.durations) == pytest.approx(4.0, abs=0.1)
        for d in r.durations[:-1]:
            assert d == pytest.approx(SEG, abs=0.05)
        assert r.durations[-1] <= SEG + 0.05
        assert all(s.is_file() for s in r.segments)
    assert [len(v.segments) for v in ts_ladder.out.variants] == [4, 4, 4]


def test_keyframes_are_aligned_across_rungs(ts_ladder: Ladder) -> None:
    big, small = ts_ladder.out.variants[0], ts_ladder.out.variants[2]
    assert big.durations == small.durations
    for a, b in zip(big.segments, small.segments, strict=True):
        pa, pb = first_packets(a), first_packets(b)
        assert pa[0].is_keyframe and pb[0].is_keyframe, f"{a.name} or {b.name} does not start on a keyframe"
        assert float(pa[0].pts * pa[0].time_base) == pytest.approx(float(pb[0].pts * pb[0].time_base), abs=0.01)
        # A fixed GOP of one segment: no keyframe inside a segment.
        assert [p.is_keyframe for p in pa].count(True) == 1


def test_rung_frame_rate_cap(ts_ladder: Ladder) -> None:
    args = ts_ladder.args
    assert args[args.index("-g:v:2") + 1] == "12" and args[args.index("-g:v:0") + 1] == "25"
    info = probe(ts_ladder.out.variants[2].segments[0])
    (video,) = [s for s in info["streams"] if s["codec_type"] == "video"]
    assert video["avg_frame_rate"] in ("12/1", "12")


def test_fmp4_segments(wide: Path, make_ladder: Callable[..., Ladder]) -> None:
    ladder = make_ladder(wide, AdaptiveStreamingSpec(rungs=RUNGS[1:3], segment_seconds=2, segment_type="fmp4"))
    out = ladder.out
    assert [(v.width, v.height) for v in out.variants] == [(640, 360), (426, 240)]
    for r in [*out.variants, out.audio]:
        assert r is not None and r.init is not None and r.init.is_file()
        assert r.init.name.endswith("_init.mp4")
        assert all(s.suffix == ".m4s" for s in r.segments) and len(r.segments) >= 2
        assert '#EXT-X-MAP:URI="' in r.playlist.read_text()
    v0 = out.variants[0]
    assert v0.init is not None
    for seg in v0.segments:
        packets = first_packets(v0.init.read_bytes() + seg.read_bytes())
        assert packets[0].is_keyframe
    assert decoded_size(v0.init.read_bytes() + v0.segments[0].read_bytes())[:2] == (640, 360)


def decrypt(data: bytes, key: bytes, iv: bytes) -> bytes:
    decryptor = Cipher(algorithms.AES(key), modes.CBC(iv)).decryptor()
    padded = decryptor.update(data) + decryptor.finalize()
    unpadder = padding.PKCS7(128).unpadder()
    return unpadder.update(padded) + unpadder.finalize()


def unreadable(segment: Path) -> bool:
    try:
        with av.open(str(segment)) as container:
            return not any(True for _ in container.decode(video=0))
    except av.FFmpegError:
        return True


def test_aes_128_encryption(wide: Path, make_ladder: Callable[..., Ladder], tmp_path: Path) -> None:
    enc = HlsEncryption(key=KEY, key_uri=KEY_URI, iv=IV)
    keys = tmp_path / "keys"
    ladder = make_ladder(wide, AdaptiveStreamingSpec(rungs=RUNGS[1:3], segment_seconds=2, encryption=enc),
                         key_dir=keys)
    out = ladder.out
    assert (keys / "hls.key").read_bytes() == KEY
    assert all(KEY not in f.read_bytes() for f in out.files)  # the key never sits beside the ladder
    tag = f'#EXT-X-KEY:METHOD=AES-128,URI="{KEY_URI}",IV=0x{IV.hex()}'
    for r in [*out.variants, out.audio]:
        assert r is not None
        assert tag in r.playlist.read_text() and r.key_uris == (KEY_URI,)
        raw = r.segments[0].read_bytes()
        assert len(raw) % 16 == 0 and raw[0] != 0x47
        plain = decrypt(raw, KEY, IV)
        assert plain[0] == 0x47 and plain[188] == 0x47  # MPEG-TS sync bytes
    v0 = out.variants[0]
    assert unreadable(v0.segments[0])
    assert decoded_size(decrypt(v0.segments[1].read_bytes(), KEY, IV)) == (640, 360, "yuv420p")


def test_encryption_without_an_iv_picks_a_random_one(wide: Path, make_ladder: Callable[..., Ladder],
                                                      tmp_path: Path) -> None:
    enc = HlsEncryption(key=KEY, key_uri=KEY_URI)
    ladder = make_ladder(wide, AdaptiveStreamingSpec(rungs=RUNGS[2:3], segment_seconds=2, encryption=enc),
                         key_dir=tmp_path)
    v0 = ladder.out.variants[0]
    found = re.search(r'#EXT-X-KEY:METHOD=AES-128,URI="([^"]+)",IV=0x([0-9a-f]{32})\n', v0.playlist.read_text())
    assert found is not None and found.group(1) == KEY_URI
    iv = bytes.fromhex(found.group(2))
    assert iv != bytes(16)
    for seg in v0.segments:
        assert decoded_size(decrypt(seg.read_bytes(), KEY, iv)) == (426, 240, "yuv420p")


def test_encryption_needs_a_key_dir(wide: Path, tmp_path: Path) -> None:
    spec = AdaptiveStreamingSpec(encryption=HlsEncryption(key=KEY, key_uri=KEY_URI))
    with pytest.raises(InvalidParameter) as err:
        build_ladder(spec, wide, SourceInfo(duration=4, width=640, height=360, fps=25), tmp_path)
    assert err.value.code == "InvalidParameter.HlsKey"


def test_audio_only_source_makes_an_audio_only_ladder(media: Path, make_ladder: Callable[..., Ladder]) -> None:
    tone = make_audio(media / "tone.m4a", 3)
    ladder = make_ladder(tone)
    (only,) = ladder.out.variants
    assert ladder.out.audio is None
    assert only.width is None and only.codecs == "mp4a.40.2" and only.playlist.name == "audio.m3u8"
    assert sum(only.durations) == pytest.approx(3.0, abs=0.1)
    assert "-filter_complex" not in ladder.args and "-c:v" not in ladder.args
    assert ladder.args[ladder.args.index("-var_stream_map") + 1] == "a:0,name:audio"


def test_video_only_source_has_no_audio_group(media: Path, make_ladder: Callable[..., Ladder]) -> None:
    silent = make_clip(media / "silent.mp4", seconds=2, width=320, height=240, audio=False)
    ladder = make_ladder(silent)
    assert ladder.out.audio is None
    assert [(v.width, v.height) for v in ladder.out.variants] == [(320, 240), (192, 144)]
    assert "#EXT-X-MEDIA" not in ladder.out.master.read_text()
    assert "-c:a" not in ladder.args and "agroup" not in ladder.args[ladder.args.index("-var_stream_map") + 1]


@pytest.mark.parametrize(
    ("kw", "sizes"),
    [
        # Upright 240x320: the short side is 240, so the 240 rung keeps the source size.
        ({"rotate": 90, "width": 320, "height": 240}, [(240, 320), (144, 192)]),
        # Odd sides: every rung comes out even; 360 > 479 is kept, 720 is not.
        ({"width": 853, "height": 479, "pix_fmt": "yuv444p"}, [(642, 360), (428, 240), (256, 144)]),
        ({"width": 320, "height": 240, "pix_fmt": "yuv420p10le"}, [(320, 240), (192, 144)]),
        ({"width": 320, "height": 240, "vfr": True}, [(320, 240), (192, 144)]),
    ],
    ids=["rotated", "odd", "10bit", "vfr"],
)
def test_awkward_sources(kw: dict[str, Any], sizes: list[tuple[int, int]], media: Path,
                         make_ladder: Callable[..., Ladder]) -> None:
    name = "_".join(f"{k}{v}" for k, v in kw.items())
    path = make_clip(media / f"{name}.mp4", seconds=2, **kw)
    ladder = make_ladder(path)
    assert [(v.width, v.height) for v in ladder.out.variants] == sizes
    for v in ladder.out.variants:
        assert decoded_size(v.segments[0]) == (v.width, v.height, "yuv420p")
        assert first_packets(v.segments[-1])[0].is_keyframe
        assert sum(v.durations) == pytest.approx(2.0, abs=0.1)


def test_a_source_below_every_rung_keeps_the_smallest_at_its_own_size() -> None:
    spec = AdaptiveStreamingSpec(rungs=(Rung(1080, 4_000_000), Rung(720, 2_000_000)))
    small = SourceInfo(duration=2, width=321, height=181, fps=25)
    ((w, h, rung),) = plan_rungs(spec, small)
    assert (w, h, rung.height) == (320, 180, 720)  # the odd row and column dropped
    portrait = SourceInfo(duration=2, width=180, height=320, fps=25)
    assert [(w, h) for w, h, _ in plan_rungs(AdaptiveStreamingSpec(rungs=RUNGS), portrait)] == [(144, 256)]
    upscale = AdaptiveStreamingSpec(rungs=RUNGS, skip_higher=False)
    assert [(w, h) for w, h, _ in plan_rungs(upscale, portrait)][:2] == [(720, 1280), (360, 640)]


def test_a_percent_sign_in_the_output_directory_is_refused(wide: Path, tmp_path: Path) -> None:
    out = tmp_path / "100%v"
    out.mkdir()
    with pytest.raises(InvalidParameter) as err:
        build_ladder(AdaptiveStreamingSpec(), wide, SourceInfo(duration=4, width=640, height=360, fps=25), out)
    assert err.value.code == "InvalidParameter.OutputDir" and "100%v" in err.value.message


def test_ladder_outputs_needs_a_master(tmp_path: Path) -> None:
    with pytest.raises(MediaError):
        ladder_outputs(tmp_path)
    (tmp_path / "master.m3u8").write_text("#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=1\n../../etc/passwd\n")
    with pytest.raises(MediaError) as err:
        ladder_outputs(tmp_path)
    assert "outside the ladder" in err.value.message


@pytest.mark.parametrize(
    ("make", "code"),
    [
        (lambda: Rung(721, 1_000_000), "InvalidParameter.AdaptiveStreaming"),
        (lambda: Rung(720, 1_000), "InvalidParameter.AdaptiveStreaming"),
        (lambda: Rung(720, 1_000_000, fps=0), "InvalidParameter.AdaptiveStreaming"),
        (lambda: AdaptiveStreamingSpec(rungs=()), "InvalidParameter.AdaptiveStreaming"),
        (lambda: AdaptiveStreamingSpec(segment_seconds=0.5), "InvalidParameter.SegmentDuration"),
        (lambda: AdaptiveStreamingSpec(segment_type="cmaf"), "InvalidParameter.SegmentType"),  # type: ignore[arg-type]
        (lambda: AdaptiveStreamingSpec(preset="warp"), "InvalidParameter.Preset"),
        (lambda: AdaptiveStreamingSpec(segment_type="fmp4", encryption=HlsEncryption(key=KEY, key_uri=KEY_URI)),
         "InvalidParameter.SegmentType"),
        (lambda: HlsEncryption(key=b"short", key_uri=KEY_URI), "InvalidParameter.HlsKey"),
        (lambda: HlsEncryption(key=KEY, key_uri='https://x/"k"'), "InvalidParameter.HlsKey"),
        (lambda: HlsEncryption(key=KEY, key_uri="https://x/k\n#EXT-X-ENDLIST"), "InvalidParameter.HlsKey"),
        (lambda: HlsEncryption(key=KEY, key_uri=KEY_URI, iv=b"1234"), "InvalidParameter.HlsKey"),
    ],
)
def test_specs_refuse_bad_values(make: Any, code: str) -> None:
    with pytest.raises(InvalidParameter) as err:
        make()
    assert err.value.code == code


def test_key_is_not_in_the_spec_repr() -> None:
    assert KEY.hex() not in repr(HlsEncryption(key=KEY, key_uri=KEY_URI)) and str(KEY) not in repr(
        HlsEncryption(key=KEY, key_uri=KEY_URI))
