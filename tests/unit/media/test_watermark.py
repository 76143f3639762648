"""Watermarks drawn by the transcode and the HLS ladder in their own FFmpeg run, checked in the
output's pixels: the watermark's colour where the template puts it, the background elsewhere."""

from __future__ import annotations

from pathlib import Path

import pytest

from openvod.domain.presets import parse_params
from openvod.errors import InvalidParameter
from openvod.media.ffmpeg import run_ffmpeg
from openvod.media.ladder import AdaptiveStreamingSpec, Rung, build_ladder, finish_ladder
from openvod.media.transcode import SourceInfo, build_transcode_args
from openvod.media.watermark import ImageMark, Length, TextMark, Watermark
from tests.media import frame_rgb, make_flat_clip, make_image

W, H = 320, 240
BACKGROUND = (0x20, 0x40, 0x60)
Box = tuple[int, int, int, int]  # x0, y0, x1, y1 (exclusive)


def mean(rgb: bytes, width: int, box: Box) -> tuple[float, float, float]:
    x0, y0, x1, y1 = box
    sums, n = [0, 0, 0], 0
    for y in range(y0, y1):
        row = rgb[(y * width + x0) * 3:(y * width + x1) * 3]
        for c in range(3):
            sums[c] += sum(row[c::3])
        n += x1 - x0
    return sums[0] / n, sums[1] / n, sums[2] / n


def near(got: tuple[float, float, float], want: tuple[int, int, int], tol: float = 24) -> bool:
    return all(abs(g - w) <= tol for g, w in zip(got, want, strict=True))


def bright(rgb: bytes, width: int, box: Box, want: tuple[int, int, int]) -> float:
    """The share of pixels in ``box`` within 60 of ``want`` on every channel (text covers part of its box)."""
    x0, y0, x1, y1 = box
    hits = 0
    for y in range(y0, y1):
        for x in range(x0, x1):
            i = (y * width + x) * 3
            hits += all(abs(rgb[i + c] - want[c]) <= 60 for c in range(3))
    return hits / ((x1 - x0) * (y1 - y0))


@pytest.fixture(scope="module")
def flat(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_flat_clip(tmp_path_factory.mktemp("wm") / "flat.mp4", seconds=2, width=W, height=H)


@pytest.fixture(scope="module")
def red_png(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_image(tmp_path_factory.mktemp("wm") / "red.png", width=64, height=32, color="0xFF0000")


def transcode(src: Path, out: Path, marks: tuple[Watermark, ...], video: dict[str, object] | None = None) -> Path:
    spec = parse_params({"f": "mp4", "VIDEO": {"vcodec": "h264", "preset": "ultrafast", **(video or {})},
                         "AUDIO": {"acodec": "aac"}})
    run_ffmpeg(build_transcode_args(spec, [src], out, sources=[SourceInfo(duration=2.0)], watermarks=marks),
               timeout=60)
    return out


def test_image_watermark_on_a_transcode_sits_where_the_template_puts_it(flat: Path, red_png: Path,
                                                                        tmp_path: Path) -> None:
    # 20% of 320 = 64 px wide, height kept (32); top-right corner 10 px in from the right, 5% (12 px) down
    mark = Watermark(ImageMark(red_png, "png", width=Length(20, "%")), origin="TopRight", x=Length(10, "px"),
                     y=Length(5, "%"))
    rgb = frame_rgb(transcode(flat, tmp_path / "out.mp4", (mark,)), 1.0, W, H)
    assert near(mean(rgb, W, (W - 70, 16, W - 14, 40)), (255, 0, 0), 40)   # inside 246..310 x 12..44
    assert near(mean(rgb, W, (W - 120, 16, W - 80, 40)), BACKGROUND)        # left of it, same rows
    assert near(mean(rgb, W, (W - 70, 60, W - 14, 90)), BACKGROUND)         # below it
    assert near(mean(rgb, W, (20, 150, 100, 220)), BACKGROUND)


def test_image_watermark_size_and_transparency_follow_the_output_frame(flat: Path, red_png: Path,
                                                                       tmp_path: Path) -> None:
    # the output is 640x480: 25% is 160 px wide (80 tall), from the bottom-left corner at 0,0; half transparent
    mark = Watermark(ImageMark(red_png, "png", width=Length(25, "%"), opacity=0.5), origin="BottomLeft")
    out = transcode(flat, tmp_path / "big.mp4", (mark,), {"width": 640, "height": 480})
    rgb = frame_rgb(out, 1.0, 640, 480)
    half = (round((255 + BACKGROUND[0]) / 2), round(BACKGROUND[1] / 2), round(BACKGROUND[2] / 2))
    assert near(mean(rgb, 640, (8, 480 - 72, 152, 480 - 8)), half, 30)      # 0..160 x 400..480
    assert near(mean(rgb, 640, (168, 480 - 72, 230, 480 - 8)), BACKGROUND)  # right of it
    assert near(mean(rgb, 640, (8, 480 - 150, 152, 480 - 90)), BACKGROUND)  # above it


def test_text_watermark_on_a_transcode_shows_in_its_window_only(flat: Path, tmp_path: Path) -> None:
    mark = Watermark(TextMark("OPENVOD", font_size=40, color="FFFF00"), origin="BottomRight",
                     x=Length(10, "px"), y=Length(10, "px"), start=0.8, end=1.6)
    out = transcode(flat, tmp_path / "text.mp4", (mark,))
    corner = (W - 200, H - 60, W - 10, H - 10)  # "OPENVOD" at 40 px is ~180x30, its bottom-right at 310,230
    shown, before = frame_rgb(out, 1.2, W, H), frame_rgb(out, 0.2, W, H)
    assert bright(shown, W, corner, (255, 255, 0)) > 0.08
    assert bright(shown, W, (10, 10, 200, 60), (255, 255, 0)) == 0  # top-left: nothing
    assert bright(before, W, corner, (255, 255, 0)) == 0             # before StartTimeOffset: nothing
    assert near(mean(before, W, corner), BACKGROUND)


def test_ladder_rungs_carry_the_watermarks_scaled_with_the_picture(flat: Path, red_png: Path,
                                                                   tmp_path: Path) -> None:
    marks = (Watermark(ImageMark(red_png, "png", width=Length(20, "%")), x=Length(5, "%"), y=Length(5, "%")),
             Watermark(TextMark("HLS", font_size=48, color="00FF00"), origin="BottomRight", x=Length(8, "px"),
                       y=Length(8, "px")))
    spec = AdaptiveStreamingSpec(rungs=(Rung(240, 400_000), Rung(120, 150_000)), preset="ultrafast",
                                 segment_seconds=1, watermarks=marks)
    out = tmp_path / "hls"
    out.mkdir()
    plan = build_ladder(spec, flat, SourceInfo(duration=2.0, width=W, height=H, fps=25), out)
    run_ffmpeg(plan.args, timeout=120, duration=plan.duration)
    ladder = finish_ladder(out)
    sizes = sorted((v.width or 0, v.height or 0) for v in ladder.variants)
    assert sizes == [(160, 120), (320, 240)]
    for rung in ladder.variants:
        w, h = rung.width or 0, rung.height or 0
        k = w / W  # the picture's scale: the watermark scales with it
        rgb = frame_rgb(rung.playlist, 1.0, w, h)
        # image: 64x32 at (16, 12) in source pixels
        assert near(mean(rgb, w, (int(20 * k), int(16 * k), int(76 * k), int(40 * k))), (255, 0, 0), 45), (w, h)
        assert near(mean(rgb, w, (int(100 * k), int(16 * k), int(150 * k), int(40 * k))), BACKGROUND), (w, h)
        # text: bottom-right, ~100x36 source pixels
        text_box = (int((W - 110) * k), int((H - 50) * k), int((W - 8) * k), int((H - 8) * k))
        assert bright(rgb, w, text_box, (0, 255, 0)) > 0.1, (w, h)
        assert bright(rgb, w, (0, int(150 * k), int(100 * k), h), (0, 255, 0)) == 0, (w, h)


def test_watermarks_refuse_a_copied_video(flat: Path, red_png: Path, tmp_path: Path) -> None:
    spec = parse_params({"f": "mp4", "VIDEO": {"vcodec": "copy"}, "AUDIO": {"acodec": "aac"}})
    with pytest.raises(InvalidParameter) as err:
        build_transcode_args(spec, [flat], tmp_path / "x.mp4", watermarks=(Watermark(ImageMark(red_png, "png")),))
    assert err.value.code == "InvalidParameter.Watermark"


def test_a_watermark_image_is_opened_only_as_its_format(red_png: Path) -> None:
    from openvod.media.watermark import watermark_inputs
    args = watermark_inputs((Watermark(ImageMark(red_png, "png")), Watermark(TextMark("x"))))
    assert args == ["-f", "png_pipe", "-max_pixels", str(8192 * 8192), "-protocol_whitelist", "file",
                    "-i", str(red_png.absolute())]


def test_text_with_filter_syntax_is_drawn_as_text(flat: Path, tmp_path: Path) -> None:
    # quotes, colons, commas, brackets, backslashes and %{...} must neither break the graph nor be evaluated
    mark = Watermark(TextMark("a'b:c,d;e[f]g\\h %{pts} [0:v]", font_size=20, color="FFFFFF"), x=Length(4, "px"),
                     y=Length(4, "px"))
    out = transcode(flat, tmp_path / "odd.mp4", (mark,))
    assert bright(frame_rgb(out, 1.0, W, H), W, (0, 0, 300, 30), (255, 255, 255)) > 0.05


@pytest.mark.parametrize("bad", [
    {"start": -1.0}, {"start": 2.0, "end": 1.0}, {"end": float("nan")},
])
def test_bad_watermark_windows_are_refused(bad: dict[str, float]) -> None:
    with pytest.raises(InvalidParameter) as err:
        Watermark(TextMark("x"), **bad)  # type: ignore[arg-type]
    assert err.value.code == "InvalidParameter.Watermark"
