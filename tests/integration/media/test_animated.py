"""AnimatedGraphics makes the promised GIF and animated WebP (real FFmpeg, outputs inspected)."""

from __future__ import annotations

import struct
from pathlib import Path
from typing import Any

import av
import pytest

from openvod.errors import InvalidParameter, MediaError
from openvod.media.animated import AnimatedGraphicsSpec, build_animated, clip_range
from openvod.media.ffmpeg import run_ffmpeg
from openvod.media.probe import probe
from openvod.media.transcode import SourceInfo
from tests.media import make_audio, make_clip

TIMEOUT = 60


@pytest.fixture(scope="module")
def media(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("animated-sources")


@pytest.fixture(scope="module")
def clip(media: Path) -> Path:
    """4 s, 320x240, 25 fps, with audio."""
    return make_clip(media / "clip.mp4", seconds=4, width=320, height=240)


@pytest.fixture(scope="module")
def awkward(media: Path) -> dict[str, Path]:
    return {
        "odd": make_clip(media / "odd.mp4", seconds=2, width=853, height=479, pix_fmt="yuv444p"),
        "rotated": make_clip(media / "rotated.mp4", seconds=2, width=320, height=240, rotate=90),
        "vfr": make_clip(media / "vfr.mp4", seconds=2, width=320, height=240, vfr=True),
        "10bit": make_clip(media / "10bit.mp4", seconds=2, width=320, height=240, pix_fmt="yuv420p10le"),
        "short": make_clip(media / "short.mp4", seconds=0.5, width=320, height=240),
    }


def source(path: Path) -> SourceInfo:
    return SourceInfo.from_probe(probe(path))


def make(spec: AnimatedGraphicsSpec, path: Path, out: Path) -> Any:
    plan = build_animated(spec, path, source(path), out)
    run_ffmpeg(plan.args, timeout=TIMEOUT, duration=plan.duration)
    return plan.outputs


def gif_info(path: Path) -> tuple[int, int, int]:
    """Width, height and frame count, decoded."""
    assert path.read_bytes()[:6] == b"GIF89a"
    with av.open(str(path)) as container:
        frames = list(container.decode(video=0))
    return frames[0].width, frames[0].height, len(frames)


def webp_info(path: Path) -> tuple[int, int, int, int]:
    """Canvas width, height, frame count and loop count, from the RIFF chunks (libav cannot
    decode animated WebP)."""
    data = path.read_bytes()
    assert data[:4] == b"RIFF" and data[8:12] == b"WEBP"
    width = height = loops = -1
    frames = 0
    pos = 12
    while pos + 8 <= len(data):
        tag, size = data[pos:pos + 4], struct.unpack("<I", data[pos + 4:pos + 8])[0]
        body = data[pos + 8:pos + 8 + size]
        if tag == b"VP8X":
            assert body[0] & 0x02, "VP8X without the animation flag"
            width = int.from_bytes(body[4:7], "little") + 1
            height = int.from_bytes(body[7:10], "little") + 1
        elif tag == b"ANIM":
            loops = struct.unpack("<H", body[4:6])[0]
        elif tag == b"ANMF":
            frames += 1
        pos += 8 + size + (size & 1)
    return width, height, frames, loops


def test_gif_defaults_source_size_10fps_5s_clamped(clip: Path, tmp_path: Path) -> None:
    out = make(AnimatedGraphicsSpec(), clip, tmp_path)
    assert out.path == tmp_path / "animated.gif"
    assert (out.width, out.height, out.start, out.end, out.frames) == (320, 240, 0.0, 4.0, 40)
    width, height, frames = gif_info(out.path)
    assert (width, height) == (320, 240)
    assert abs(frames - 40) <= 1


def test_gif_range_size_and_rate(clip: Path, tmp_path: Path) -> None:
    out = make(AnimatedGraphicsSpec(width=160, fps=5, start=1, end=3), clip, tmp_path)
    assert (out.width, out.height, out.frames) == (160, 120, 10)
    width, height, frames = gif_info(out.path)
    assert (width, height) == (160, 120)
    assert abs(frames - 10) <= 1


def test_gif_keeps_odd_sides(clip: Path, tmp_path: Path) -> None:
    out = make(AnimatedGraphicsSpec(width=161, height=99, end=1), clip, tmp_path)
    assert gif_info(out.path)[:2] == (161, 99) == (out.width, out.height)


def test_gif_palette_is_made_in_the_same_run(clip: Path, tmp_path: Path) -> None:
    args = build_animated(AnimatedGraphicsSpec(), clip, source(clip), tmp_path).args
    assert args.count("-i") == 1
    graph = args[args.index("-filter_complex") + 1]
    assert "split" in graph and "palettegen=stats_mode=diff" in graph and "paletteuse=dither=bayer" in graph


def test_webp(clip: Path, tmp_path: Path) -> None:
    out = make(AnimatedGraphicsSpec(format="webp", height=90, fps=8, start=0.5, end=2.5, quality=60), clip, tmp_path)
    assert out.path == tmp_path / "animated.webp"
    assert (out.width, out.height, out.frames) == (120, 90, 16)
    width, height, frames, loops = webp_info(out.path)
    assert (width, height, loops) == (120, 90, 0)  # loop 0: forever
    assert abs(frames - 16) <= 1


def test_start_past_the_end_moves_back(clip: Path, tmp_path: Path) -> None:
    spec = AnimatedGraphicsSpec(start=10, width=80)
    assert clip_range(spec, 4.0) == (3.0, 4.0)
    out = make(spec, clip, tmp_path)
    assert (out.start, out.end) == (3.0, 4.0)
    assert abs(gif_info(out.path)[2] - 10) <= 1


def test_clip_range() -> None:
    assert clip_range(AnimatedGraphicsSpec(start=1), 60.0) == (1.0, 6.0)
    assert clip_range(AnimatedGraphicsSpec(start=1, end=0), 60.0) == (1.0, 6.0)
    assert clip_range(AnimatedGraphicsSpec(start=1, end=30), 20.0) == (1.0, 20.0)
    assert clip_range(AnimatedGraphicsSpec(start=5), 0.5) == (0.0, 0.5)
    assert clip_range(AnimatedGraphicsSpec(start=5), None) == (5.0, 10.0)


@pytest.mark.parametrize(
    ("name", "gif_size", "webp_size"),
    [
        ("odd", (160, 90), (160, 90)),
        ("rotated", (160, 213), (160, 214)),  # upright: 240x320 shown, so portrait
        ("vfr", (160, 120), (160, 120)),
        ("10bit", (160, 120), (160, 120)),
    ],
)
def test_awkward_sources(name: str, gif_size: tuple[int, int], webp_size: tuple[int, int],
                         awkward: dict[str, Path], tmp_path: Path) -> None:
    path = awkward[name]
    gif = make(AnimatedGraphicsSpec(width=160), path, tmp_path)
    assert gif_info(gif.path)[:2] == gif_size == (gif.width, gif.height)
    assert abs(gif_info(gif.path)[2] - 20) <= 1
    webp = make(AnimatedGraphicsSpec(format="webp", width=160), path, tmp_path)
    assert webp_info(webp.path)[:2] == webp_size == (webp.width, webp.height)


def test_odd_source_makes_even_webp(awkward: dict[str, Path], tmp_path: Path) -> None:
    out = make(AnimatedGraphicsSpec(format="webp", end=0.5), awkward["odd"], tmp_path)
    assert webp_info(out.path)[:2] == (852, 478)  # the odd row and column dropped, never upscaled
    gif = make(AnimatedGraphicsSpec(format="gif", end=0.5), awkward["odd"], tmp_path)
    assert gif_info(gif.path)[:2] == (853, 479)


def test_a_half_second_clip(awkward: dict[str, Path], tmp_path: Path) -> None:
    out = make(AnimatedGraphicsSpec(start=3), awkward["short"], tmp_path)
    assert (out.start, out.frames) == (0.0, 5)
    assert out.end == pytest.approx(0.5, abs=0.03)  # the container's duration (AAC frames round it up)
    assert abs(gif_info(out.path)[2] - 5) <= 1


def test_audio_only_has_no_video(tmp_path: Path) -> None:
    tone = make_audio(tmp_path / "tone.m4a", 1)
    with pytest.raises(MediaError) as err:
        build_animated(AnimatedGraphicsSpec(), tone, source(tone), tmp_path)
    assert err.value.code == "FailedOperation.NoVideo"
    assert "AnimatedGraphics" in err.value.message and "tone.m4a" in err.value.message


@pytest.mark.parametrize(
    ("kw", "code"),
    [
        ({"format": "apng"}, "InvalidParameter.Format"),
        ({"width": 5}, "InvalidParameter.Width"),
        ({"height": 9000}, "InvalidParameter.Height"),
        ({"fps": 0}, "InvalidParameter.Fps"),
        ({"fps": 31}, "InvalidParameter.Fps"),
        ({"start": -1}, "InvalidParameter.StartTimeOffset"),
        ({"start": 5, "end": 4}, "InvalidParameter.EndTimeOffset"),
        ({"quality": 0}, "InvalidParameter.Quality"),
    ],
)
def test_spec_refuses_bad_values(kw: dict[str, Any], code: str) -> None:
    with pytest.raises(InvalidParameter) as err:
        AnimatedGraphicsSpec(**kw)
    assert err.value.code == code
