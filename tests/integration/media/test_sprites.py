"""ImageSprites makes the promised sheets and WebVTT index (real FFmpeg, sheets decoded)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import av
import pytest

from openvod.errors import InvalidParameter, MediaError
from openvod.media.ffmpeg import run_ffmpeg
from openvod.media.probe import probe
from openvod.media.sprites import ImageSpritesSpec, SpriteOutputs, build_sprites, webvtt_for_sprites
from openvod.media.transcode import SourceInfo
from tests.media import make_audio, make_clip

TIMEOUT = 60
CUE = re.compile(r"(\d\d):(\d\d):(\d\d)\.(\d\d\d) --> (\d\d):(\d\d):(\d\d)\.(\d\d\d)")


@pytest.fixture(scope="module")
def media(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("sprite-sources")


@pytest.fixture(scope="module")
def clip(media: Path) -> Path:
    """5 s, 320x180 (16:9), with audio."""
    return make_clip(media / "clip.mp4", seconds=5, width=320, height=180)


@pytest.fixture(scope="module")
def ramp(media: Path) -> Path:
    """4 s, 160x120, 10 fps; frame n a flat grey of luma 16+5n."""
    path = media / "ramp.mp4"
    picture = "color=black:size=160x120:rate=10:duration=4,geq=lum=16+5*N:cb=128:cr=128"
    run_ffmpeg(["-f", "lavfi", "-i", picture, "-c:v", "libx264", "-preset", "ultrafast", "-qp", "0",
                "-pix_fmt", "yuv420p", str(path)], timeout=TIMEOUT)
    return path


@pytest.fixture(scope="module")
def awkward(media: Path) -> dict[str, Path]:
    return {
        "odd": make_clip(media / "odd.mp4", seconds=2, width=853, height=479, pix_fmt="yuv444p"),
        "rotated": make_clip(media / "rotated.mp4", seconds=2, width=320, height=240, rotate=90),
        "vfr": make_clip(media / "vfr.mp4", seconds=2, width=320, height=240, vfr=True),
        "10bit": make_clip(media / "10bit.mp4", seconds=2, width=320, height=240, pix_fmt="yuv420p10le"),
    }


def source(path: Path) -> SourceInfo:
    return SourceInfo.from_probe(probe(path))


def make(spec: ImageSpritesSpec, path: Path, out: Path) -> SpriteOutputs:
    plan = build_sprites(spec, path, source(path), out)
    run_ffmpeg(plan.args, timeout=TIMEOUT, duration=plan.duration)
    return plan.outputs


def gray(path: Path) -> tuple[int, int, list[bytes]]:
    with av.open(str(path)) as container:
        frame = next(container.decode(video=0)).reformat(format="gray")
    plane = frame.planes[0]
    data = bytes(plane)
    return frame.width, frame.height, [data[y * plane.line_size: y * plane.line_size + frame.width]
                                       for y in range(frame.height)]


def region_mean(rows: list[bytes], x: int, y: int, w: int, h: int) -> float:
    # The middle of the cell: JPEG/scaling blur bleeds a few pixels over cell edges.
    x0, y0, x1, y1 = x + w // 4, y + h // 4, x + 3 * w // 4, y + 3 * h // 4
    return sum(sum(r[x0:x1]) for r in rows[y0:y1]) / ((x1 - x0) * (y1 - y0))


def cues(vtt: str) -> list[tuple[float, float, str]]:
    out = []
    lines = vtt.splitlines()
    assert lines[0] == "WEBVTT"
    for i, line in enumerate(lines):
        m = CUE.fullmatch(line)
        if m:
            v = [int(g) for g in m.groups()]
            start = v[0] * 3600 + v[1] * 60 + v[2] + v[3] / 1000
            end = v[4] * 3600 + v[5] * 60 + v[6] + v[7] / 1000
            out.append((start, end, lines[i + 1]))
    return out


def test_sheets_dimensions_and_vtt(clip: Path, tmp_path: Path) -> None:
    out = make(ImageSpritesSpec(interval=1, rows=2, columns=2), clip, tmp_path)
    assert out.count == 5 and len(out.sheets) == 2
    assert (out.cell_width, out.cell_height) == (142, 80)  # the defaults
    assert sorted(p.name for p in tmp_path.iterdir()) == ["sheet_0.jpg", "sheet_1.jpg"]
    for sheet in out.sheets:
        width, height, _ = gray(sheet.path)
        assert (width, height) == (sheet.width, sheet.height) == (2 * 142, 2 * 80)
    # The last sheet holds one thumbnail; the rest of it stays black.
    _, _, rows = gray(out.sheets[1].path)
    assert region_mean(rows, 0, 0, 142, 80) > 40
    assert region_mean(rows, 142, 0, 142, 80) < 20 and region_mean(rows, 0, 80, 284, 80) < 20

    vtt = webvtt_for_sprites(out, url_prefix="https://cdn.example/v/")
    found = cues(vtt)
    assert len(found) == 5
    assert found[0][0] == 0 and found[-1][1] == pytest.approx(5.0, abs=0.05)
    assert all(a[1] == b[0] for a, b in zip(found, found[1:], strict=False))  # no gaps
    assert [c[2] for c in found] == [
        "https://cdn.example/v/sheet_0.jpg#xywh=0,0,142,80",
        "https://cdn.example/v/sheet_0.jpg#xywh=142,0,142,80",
        "https://cdn.example/v/sheet_0.jpg#xywh=0,80,142,80",
        "https://cdn.example/v/sheet_0.jpg#xywh=142,80,142,80",
        "https://cdn.example/v/sheet_1.jpg#xywh=0,0,142,80",
    ]
    assert out.vtt_path == tmp_path / "sheet.vtt"


def test_thumbnails_are_in_time_order_across_the_grid(ramp: Path, tmp_path: Path) -> None:
    out = make(ImageSpritesSpec(interval=0.5, width=40, height=30, rows=2, columns=3, format="png"), ramp, tmp_path)
    assert out.count == 8 and len(out.sheets) == 2
    for i in range(out.count):
        sheet, x, y, w, h = out.cell(i)
        _, _, rows = gray(out.sheets[sheet].path)
        frame = round(region_mean(rows, x, y, w, h) * 219 / 255 / 5)  # PNG: full-range grey of 16+5n
        assert frame == 5 * i  # thumbnail i: the frame at i * 0.5 s


def test_the_cell_keeps_the_aspect_ratio_with_one_side(clip: Path, tmp_path: Path) -> None:
    out = make(ImageSpritesSpec(interval=2, width=0, height=60, rows=1, columns=3), clip, tmp_path)
    assert (out.cell_width, out.cell_height) == (106, 60)
    assert gray(out.sheets[0].path)[:2] == (318, 60)


@pytest.mark.parametrize(
    ("name", "cell"),
    [("odd", (142, 80)), ("rotated", (60, 80)), ("vfr", (106, 80)), ("10bit", (106, 80))],
)
def test_awkward_sources(name: str, cell: tuple[int, int], awkward: dict[str, Path], tmp_path: Path) -> None:
    out = make(ImageSpritesSpec(interval=0.5, width=0, height=80, rows=2, columns=2), awkward[name], tmp_path)
    assert (out.cell_width, out.cell_height) == cell
    assert out.count == 4 and len(out.sheets) == 1
    assert gray(out.sheets[0].path)[:2] == (2 * cell[0], 160)


def test_webvtt_timestamps_past_an_hour(tmp_path: Path) -> None:
    from openvod.media.common import Image

    out = SpriteOutputs(sheets=(Image(tmp_path / "s_0.jpg", 1420, 800),), vtt_path=tmp_path / "s.vtt",
                        cell_width=142, cell_height=80, columns=10, rows=10, interval=3600.0, count=2,
                        duration=3725.5)
    vtt = webvtt_for_sprites(out)
    assert "00:00:00.000 --> 01:00:00.000\ns_0.jpg#xywh=0,0,142,80" in vtt
    assert "01:00:00.000 --> 01:02:05.500\ns_0.jpg#xywh=142,0,142,80" in vtt


def test_audio_only_has_no_video(tmp_path: Path) -> None:
    tone = make_audio(tmp_path / "tone.m4a", 1)
    with pytest.raises(MediaError) as err:
        build_sprites(ImageSpritesSpec(), tone, source(tone), tmp_path)
    assert err.value.code == "FailedOperation.NoVideo"


def test_sheets_too_large(clip: Path, tmp_path: Path) -> None:
    with pytest.raises(InvalidParameter) as err:
        build_sprites(ImageSpritesSpec(width=4096, columns=10), clip, source(clip), tmp_path)
    assert "at most 16384" in err.value.message


@pytest.mark.parametrize(
    ("kw", "code"),
    [
        ({"interval": 0}, "InvalidParameter.SampleInterval"),
        ({"rows": 0}, "InvalidParameter.RowCount"),
        ({"columns": 101}, "InvalidParameter.ColumnCount"),
        ({"width": 3}, "InvalidParameter.Width"),
        ({"fill": "gauss"}, "InvalidParameter.FillType"),
        ({"format": "gif"}, "InvalidParameter.Format"),
    ],
)
def test_spec_refuses_bad_values(kw: dict[str, Any], code: str) -> None:
    with pytest.raises(InvalidParameter) as err:
        ImageSpritesSpec(**kw)
    assert err.value.code == code
