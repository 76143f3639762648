"""SnapshotByTimeOffset, SampleSnapshot and CoverBySnapshot make the promised images (real FFmpeg).

The ``ramp`` source shows which frame an image came from: frame ``n`` is a flat grey of luma
``16 + 5n`` (video range), 10 frames a second, so a PNG's mean grey tells its frame number.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import av
import pytest

from openvod.errors import InvalidParameter, MediaError
from openvod.media.ffmpeg import run_ffmpeg
from openvod.media.probe import probe
from openvod.media.snapshots import (
    CoverBySnapshotSpec,
    SampleSnapshotSpec,
    SnapshotByTimeOffsetSpec,
    build_cover,
    build_sample_snapshots,
    build_snapshots_by_offset,
    ms_to_s,
    sample_offsets,
)
from openvod.media.transcode import SourceInfo
from tests.media import make_audio, make_clip

TIMEOUT = 60
STRATEGIES = ["seek", "decode"]


def make_ramp(path: Path, seconds: float) -> Path:
    """160x120, 10 fps, frame n a flat grey of luma 16+5n; a keyframe every 15 frames, so seeks land between."""
    picture = f"color=black:size=160x120:rate=10:duration={seconds},geq=lum=16+5*N:cb=128:cr=128"
    run_ffmpeg(["-f", "lavfi", "-i", picture, "-c:v", "libx264", "-preset", "ultrafast", "-qp", "0", "-g", "15",
                "-pix_fmt", "yuv420p", str(path)], timeout=TIMEOUT)
    return path


@pytest.fixture(scope="module")
def media(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("snapshot-sources")


@pytest.fixture(scope="module")
def ramp(media: Path) -> Path:
    """4 s, frames 0-39."""
    return make_ramp(media / "ramp.mp4", 4)


@pytest.fixture(scope="module")
def short_ramp(media: Path) -> Path:
    """0.5 s, frames 0-4."""
    return make_ramp(media / "short_ramp.mp4", 0.5)


@pytest.fixture(scope="module")
def awkward(media: Path) -> dict[str, Path]:
    """2 s sources that trip naive pipelines."""
    return {
        "odd": make_clip(media / "odd.mp4", seconds=2, width=853, height=479, pix_fmt="yuv444p"),
        "rotated": make_clip(media / "rotated.mp4", seconds=2, width=320, height=240, rotate=90),
        "vfr": make_clip(media / "vfr.mp4", seconds=2, width=320, height=240, vfr=True),
        "10bit": make_clip(media / "10bit.mp4", seconds=2, width=320, height=240, pix_fmt="yuv420p10le"),
    }


@pytest.fixture(scope="module")
def audio_only(media: Path) -> Path:
    return make_audio(media / "tone.m4a", 2)


def source(path: Path) -> SourceInfo:
    return SourceInfo.from_probe(probe(path))


def image(path: Path) -> tuple[int, int, float]:
    """Width, height and mean luma of a still image."""
    with av.open(str(path)) as container:
        frame = next(container.decode(video=0))
        gray = frame.reformat(format="gray")
        plane = gray.planes[0]
        data = bytes(plane)
        rows = [data[y * plane.line_size: y * plane.line_size + gray.width] for y in range(gray.height)]
        luma = sum(sum(r) for r in rows) / (gray.width * gray.height)
        return frame.width, frame.height, luma


def frame_number(path: Path) -> int:
    """The ramp frame a PNG shows (PNG is full-range RGB: video luma 16-235 became 0-255)."""
    return round(image(path)[2] * 219 / 255 / 5)


def run(plan: Any) -> None:
    run_ffmpeg(plan.args, timeout=TIMEOUT, duration=plan.duration)


def test_ms_to_s() -> None:
    assert ms_to_s(1500) == 1.5
    assert ms_to_s(0) == 0.0


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_offsets_pick_the_first_frame_at_or_after_each(strategy: Any, ramp: Path, tmp_path: Path) -> None:
    offsets = (ms_to_s(1030), 0.0, 2.55, 10.0, 1.03)
    plan = build_snapshots_by_offset(SnapshotByTimeOffsetSpec(offsets=offsets, format="png"), ramp, source(ramp),
                                     tmp_path, strategy=strategy)
    run(plan)
    images = plan.outputs.images
    assert [img.offset for img in images] == [1.03, 0.0, 2.55, 4.0, 1.03]  # 10 s clamped to the 4 s duration
    assert [frame_number(img.path) for img in images] == [11, 0, 26, 39, 11]  # 10 s: the last frame
    assert images[0].path == images[4].path  # equal offsets share a file
    assert sorted(p.name for p in tmp_path.iterdir()) == [f"snapshot_{i}.png" for i in range(4)]
    assert all(image(img.path)[:2] == (160, 120) for img in images)


@pytest.mark.parametrize("strategy", STRATEGIES)
@pytest.mark.parametrize("fmt", ["jpg", "png", "webp"])
def test_formats_and_sizes(fmt: Any, strategy: Any, ramp: Path, tmp_path: Path) -> None:
    spec = SnapshotByTimeOffsetSpec(offsets=(0.5, 1.5), format=fmt, width=80)
    plan = build_snapshots_by_offset(spec, ramp, source(ramp), tmp_path, strategy=strategy)
    run(plan)
    assert (plan.outputs.width, plan.outputs.height) == (80, 60)
    assert [p.suffix for p in plan.outputs.files] == [f".{fmt}"] * 2
    for img in plan.outputs.images:
        assert image(img.path)[:2] == (80, 60)


def test_both_sides_letterbox_or_stretch(ramp: Path, tmp_path: Path) -> None:
    lumas = {}
    for fill in ("black", "stretch"):
        spec = SnapshotByTimeOffsetSpec(offsets=(3.0,), format="png", width=100, height=40, fill=fill)
        plan = build_snapshots_by_offset(spec, ramp, source(ramp), tmp_path, stem=fill)
        run(plan)
        width, height, lumas[fill] = image(plan.outputs.images[0].path)
        assert (width, height) == (100, 40)
    # Letter-boxed, the 4:3 picture is 53x40 of the 100x40 box, the rest black.
    assert lumas["black"] / lumas["stretch"] == pytest.approx(53 / 100, abs=0.03)


def test_auto_seeks_for_a_few_offsets_in_long_media(ramp: Path, tmp_path: Path) -> None:
    spec = SnapshotByTimeOffsetSpec(offsets=(60.0, 300.0, 1200.0))
    long_film = SourceInfo(duration=3600.0, width=1920, height=1080, fps=25.0)
    args = build_snapshots_by_offset(spec, ramp, long_film, tmp_path).args
    assert args.count("-i") == 3 and args.count("-ss") == 3
    many = SnapshotByTimeOffsetSpec(offsets=tuple(float(t) for t in range(0, 3600, 60)))
    args = build_snapshots_by_offset(many, ramp, long_film, tmp_path).args
    assert args.count("-i") == 1 and "-fps_mode" in args


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_sample_every_n_seconds(strategy: Any, ramp: Path, tmp_path: Path) -> None:
    spec = SampleSnapshotSpec(sample_type="Time", interval=1.5, format="png")
    plan = build_sample_snapshots(spec, ramp, source(ramp), tmp_path, strategy=strategy)
    run(plan)
    assert plan.outputs.count == 3  # 0, 1.5, 3.0 s
    assert len(list(tmp_path.iterdir())) == 3
    assert [frame_number(img.path) for img in plan.outputs.images] == [0, 15, 30]


@pytest.mark.parametrize(("percent", "frames"), [(25, [0, 10, 20, 30]), (30, [0, 12, 24, 36]), (100, [0])])
def test_sample_every_n_percent(percent: int, frames: list[int], ramp: Path, tmp_path: Path) -> None:
    spec = SampleSnapshotSpec(sample_type="Percent", interval=percent, format="png")
    plan = build_sample_snapshots(spec, ramp, source(ramp), tmp_path)
    run(plan)
    assert plan.outputs.count == len(frames) == len(list(tmp_path.iterdir()))
    # 1.2 s steps fall between frames, so the first frame at or after each is picked (12, 24, 36).
    assert [frame_number(img.path) for img in plan.outputs.images] == frames


def test_sample_offsets_counts() -> None:
    assert sample_offsets(SampleSnapshotSpec("Time", 1), 4.0) == [0, 1, 2, 3]
    assert len(sample_offsets(SampleSnapshotSpec("Time", 1), 4.01)) == 5
    assert len(sample_offsets(SampleSnapshotSpec("Time", 10), 4.0)) == 1
    assert len(sample_offsets(SampleSnapshotSpec("Percent", 10), 123.0)) == 10


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_cover_past_the_end_is_the_last_frame(strategy: Any, short_ramp: Path, tmp_path: Path) -> None:
    plan = build_cover(CoverBySnapshotSpec(position_type="Time", position=10, format="png"), short_ramp,
                       source(short_ramp), tmp_path, strategy=strategy)
    run(plan)
    assert plan.outputs.path == tmp_path / "cover.png"
    assert frame_number(plan.outputs.path) == 4


def test_cover_at_a_percentage(ramp: Path, tmp_path: Path) -> None:
    plan = build_cover(CoverBySnapshotSpec(position_type="Percent", position=50.5, format="png"), ramp,
                       source(ramp), tmp_path)
    run(plan)
    assert plan.outputs.offset == pytest.approx(2.02)
    assert frame_number(plan.outputs.path) == 21


@pytest.mark.parametrize(
    ("name", "size"),
    [("odd", (852, 478)), ("rotated", (240, 320)), ("vfr", (320, 240)), ("10bit", (320, 240))],
)
def test_awkward_sources(name: str, size: tuple[int, int], awkward: dict[str, Path], tmp_path: Path) -> None:
    path = awkward[name]
    plan = build_snapshots_by_offset(SnapshotByTimeOffsetSpec(offsets=(0.3, 1.9, 5.0)), path, source(path), tmp_path)
    run(plan)
    assert (plan.outputs.width, plan.outputs.height) == size
    for img in plan.outputs.images:
        assert image(img.path)[:2] == size
    sample = build_sample_snapshots(SampleSnapshotSpec("Time", 0.5, width=100), path, source(path), tmp_path)
    run(sample)
    assert sample.outputs.count == 4
    assert all(p.is_file() for p in sample.outputs.files)


def test_rotation_with_adaptive_sides(awkward: dict[str, Path], tmp_path: Path) -> None:
    path = awkward["rotated"]  # upright 240x320
    spec = SnapshotByTimeOffsetSpec(offsets=(1.0,), width=160, height=120, resolution_adaptive=True)
    plan = build_snapshots_by_offset(spec, path, source(path), tmp_path)
    run(plan)
    assert image(plan.outputs.images[0].path)[:2] == (120, 160)


def test_audio_only_has_no_video(audio_only: Path, tmp_path: Path) -> None:
    src = source(audio_only)
    builders: list[Any] = [
        lambda: build_snapshots_by_offset(SnapshotByTimeOffsetSpec(offsets=(1.0,)), audio_only, src, tmp_path),
        lambda: build_sample_snapshots(SampleSnapshotSpec(), audio_only, src, tmp_path),
        lambda: build_cover(CoverBySnapshotSpec(), audio_only, src, tmp_path),
    ]
    for build in builders:
        with pytest.raises(MediaError) as err:
            build()
        assert err.value.code == "FailedOperation.NoVideo"
        assert "tone.m4a" in err.value.message and "audio only" in err.value.message


@pytest.mark.parametrize(
    ("make", "code"),
    [
        (lambda: SnapshotByTimeOffsetSpec(offsets=()), "InvalidParameter.TimeOffset"),
        (lambda: SnapshotByTimeOffsetSpec(offsets=(-1.0,)), "InvalidParameter.TimeOffset"),
        (lambda: SnapshotByTimeOffsetSpec(offsets=(float("nan"),)), "InvalidParameter.TimeOffset"),
        (lambda: SnapshotByTimeOffsetSpec(offsets=(1.0,) * 501), "InvalidParameter.TimeOffset"),
        (lambda: SnapshotByTimeOffsetSpec(offsets=(1.0,), format="bmp"), "InvalidParameter.Format"),  # type: ignore[arg-type]
        (lambda: SnapshotByTimeOffsetSpec(offsets=(1.0,), width=8), "InvalidParameter.Width"),
        (lambda: SnapshotByTimeOffsetSpec(offsets=(1.0,), height=5000), "InvalidParameter.Height"),
        (lambda: SnapshotByTimeOffsetSpec(offsets=(1.0,), fill="white"), "InvalidParameter.FillType"),  # type: ignore[arg-type]
        (lambda: SampleSnapshotSpec(sample_type="Frames"), "InvalidParameter.SampleType"),  # type: ignore[arg-type]
        (lambda: SampleSnapshotSpec(interval=0), "InvalidParameter.SampleInterval"),
        (lambda: SampleSnapshotSpec(sample_type="Percent", interval=101), "InvalidParameter.SampleInterval"),
        (lambda: CoverBySnapshotSpec(position_type="Frame"), "InvalidParameter.PositionType"),  # type: ignore[arg-type]
        (lambda: CoverBySnapshotSpec(position_type="Percent", position=120), "InvalidParameter.PositionValue"),
        (lambda: CoverBySnapshotSpec(position=-2), "InvalidParameter.PositionValue"),
    ],
)
def test_specs_refuse_bad_values(make: Any, code: str) -> None:
    with pytest.raises(InvalidParameter) as err:
        make()
    assert err.value.code == code


def test_output_names_stay_in_the_directory(ramp: Path, tmp_path: Path) -> None:
    with pytest.raises(InvalidParameter):
        build_snapshots_by_offset(SnapshotByTimeOffsetSpec(offsets=(1.0,)), ramp, source(ramp), tmp_path,
                                  stem="../x")
    with pytest.raises(InvalidParameter):
        build_snapshots_by_offset(SnapshotByTimeOffsetSpec(offsets=(1.0,)), ramp, source(ramp), tmp_path,
                                  stem="a%d")


def test_a_percent_sign_in_the_directory(ramp: Path, tmp_path: Path) -> None:
    out = tmp_path / "100%d done"
    out.mkdir()
    plan = build_sample_snapshots(SampleSnapshotSpec("Time", 2), ramp, source(ramp), out)
    run(plan)
    assert sorted(p.name for p in out.iterdir()) == ["sample_0.jpg", "sample_1.jpg"]
