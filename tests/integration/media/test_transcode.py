"""Every preset field changes real FFmpeg output as promised (outputs probed, frames decoded)."""

from __future__ import annotations

from array import array
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import av
import pytest

from openvod.domain.presets import Container, parse_params
from openvod.errors import InvalidParameter
from openvod.media.ffmpeg import run_ffmpeg
from openvod.media.probe import probe
from openvod.media.transcode import SourceInfo, build_transcode_args, expected_duration, hls_segment_pattern

MP4 = "mov,mp4,m4a,3gp,3g2,mj2"


def transcode(params: dict[str, Any], inputs: Sequence[Path], out: Path, **kw: Any) -> dict[str, Any]:
    args = build_transcode_args(parse_params(params), list(inputs), out, **kw)
    run_ffmpeg(args, timeout=120)
    return probe(out, own_output=True)  # an HLS output is a playlist OpenVOD wrote


def streams(info: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    return [s for s in info["streams"] if s["codec_type"] == kind]


def video(info: dict[str, Any]) -> dict[str, Any]:
    (v,) = streams(info, "video")
    return v


def audio(info: dict[str, Any]) -> dict[str, Any]:
    (a,) = streams(info, "audio")
    return a


def size(info: dict[str, Any]) -> tuple[int, int]:
    v = video(info)
    return int(v["width"]), int(v["height"])


def duration(info: dict[str, Any]) -> float:
    return float(info["format"]["duration"])


def gray_frame(path: Path, at: float) -> list[bytes]:
    """Rows of luma of the first frame shown at or after ``at`` seconds."""
    with av.open(str(path)) as container:
        for frame in container.decode(video=0):
            if frame.time is not None and frame.time + 1e-3 >= at:
                gray = frame.reformat(format="gray")
                plane = gray.planes[0]
                data = bytes(plane)
                return [data[y * plane.line_size: y * plane.line_size + gray.width] for y in range(gray.height)]
    raise AssertionError(f"{path} has no frame at {at}s")


def mean(rows: Sequence[bytes]) -> float:
    return sum(sum(r) for r in rows) / sum(len(r) for r in rows)


def loudness(path: Path, start: float, end: float) -> float:
    """RMS of the first audio stream between ``start`` and ``end`` seconds (0 = silence)."""
    resampler = av.AudioResampler(format="flt", layout="mono")
    total, count = 0.0, 0
    with av.open(str(path)) as container:
        for frame in container.decode(audio=0):
            if frame.time is None or not start <= frame.time < end:
                continue
            for mono in resampler.resample(frame):
                samples = array("f", bytes(mono.planes[0])[: mono.samples * 4])
                total += sum(x * x for x in samples)
                count += len(samples)
    assert count, f"no audio in {path} between {start}s and {end}s"
    return float((total / count) ** 0.5)


# --- containers -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("f", "format_name", "vcodec", "acodec"),
    [
        ("mp4", MP4, "h264", "aac"),
        ("webm", "matroska,webm", "vp9", "opus"),
        ("mkv", "matroska,webm", "h264", "aac"),
        ("flv", "flv", "h264", "aac"),
        ("ts", "mpegts", "h264", "aac"),
        ("hls", "hls", "h264", "aac"),
        ("mp3", "mp3", None, "mp3"),
        ("m4a", MP4, None, "aac"),
        ("aac", "aac", None, "aac"),
        ("gif", "gif", "gif", None),
    ],
)
def test_container(
    f: str, format_name: str, vcodec: str | None, acodec: str | None, clip: Path, tmp_path: Path
) -> None:
    params: dict[str, Any] = {"f": f, "VIDEO": {"preset": "ultrafast"}} if vcodec not in (None, "gif") else {"f": f}
    info = transcode(params, [clip], tmp_path / f"out{Container(f).extension}")
    assert info["format"]["format_name"] == format_name
    assert [s["codec_name"] for s in streams(info, "video")] == ([vcodec] if vcodec else [])
    assert [s["codec_name"] for s in streams(info, "audio")] == ([acodec] if acodec else [])
    assert duration(info) == pytest.approx(2.0, abs=0.2)


@pytest.mark.parametrize("f", ["mp4", "m4a"])
def test_mp4_and_m4a_are_faststart(f: str, clip: Path, tmp_path: Path) -> None:
    out = tmp_path / f"out.{f}"
    transcode({"f": f}, [clip], out)
    data = out.read_bytes()
    assert 0 < data.index(b"moov") < data.index(b"mdat")


def test_hls_playlist_and_segments_side_by_side(clip: Path, tmp_path: Path) -> None:
    out = tmp_path / "hls" / "index.m3u8"
    out.parent.mkdir()
    transcode({"f": "hls", "VIDEO": {"height": 120}}, [clip], out)
    playlist = out.read_text()
    assert "#EXT-X-PLAYLIST-TYPE:VOD" in playlist and "#EXT-X-ENDLIST" in playlist
    assert "index_00000.ts" in playlist
    assert (out.parent / "index_00000.ts").is_file()
    assert hls_segment_pattern(out) == out.parent / "index_%05d.ts"
    assert size(probe(out.parent / "index_00000.ts")) == (160, 120)


# --- video codecs -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("f", "vcodec", "codec_name"),
    [("mp4", "h264", "h264"), ("mp4", "h265", "hevc"), ("webm", "vp9", "vp9"), ("webm", "av1", "av1"),
     ("mkv", "av1", "av1"), ("flv", "h265", "hevc")],
)
def test_vcodec(f: str, vcodec: str, codec_name: str, clip: Path, tmp_path: Path) -> None:
    info = transcode({"f": f, "VIDEO": {"vcodec": vcodec, "preset": "ultrafast"}}, [clip], tmp_path / f"out.{f}")
    v = video(info)
    assert v["codec_name"] == codec_name
    assert v["pix_fmt"] == "yuv420p"
    assert size(info) == (320, 240)
    if (f, vcodec) == ("mp4", "h265"):
        assert v["codec_tag_string"] == "hvc1"  # what Apple players need


def test_copy_keeps_the_streams_untouched(odd_clip: Path, tmp_path: Path) -> None:
    info = transcode({"f": "mkv", "VIDEO": {"vcodec": "copy"}, "AUDIO": {"acodec": "copy"}}, [odd_clip],
                     tmp_path / "out.mkv")
    v = video(info)
    # A re-encode would have made 4:2:0 at even sides; a copy keeps 4:4:4 at 321x241.
    assert (v["codec_name"], v["pix_fmt"], size(info)) == ("h264", "yuv444p", (321, 241))
    assert audio(info)["codec_name"] == "aac"


# --- size, aspect, fps, rotation ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("settings", "expected"),
    [
        ({"width": 160, "height": 90}, (160, 90)),  # as=0: exactly the box, stretched
        ({"width": 640, "height": 360, "as": 1}, (480, 360)),  # as=1: fitted inside the box
        ({"width": 200, "height": 200, "as": 1}, (200, 150)),
        ({"width": 160}, (160, 120)),  # one side: the other keeps the aspect ratio
        ({"height": 180, "width": 0}, (240, 180)),
        ({"width": 0, "height": 0}, (320, 240)),
    ],
)
def test_width_height_and_keep_aspect(
    settings: dict[str, Any], expected: tuple[int, int], clip: Path, tmp_path: Path
) -> None:
    info = transcode({"f": "mp4", "VIDEO": {**settings, "preset": "ultrafast"}}, [clip], tmp_path / "out.mp4")
    assert size(info) == expected
    assert video(info).get("sample_aspect_ratio", "1:1") in ("1:1", "0:1")


@pytest.mark.parametrize(
    ("settings", "expected"),
    [({}, (320, 240)), ({"width": 160}, (160, 120)), ({"width": 100, "height": 100, "as": 1}, (100, 76))],
)
def test_odd_source_sides_become_even(
    settings: dict[str, Any], expected: tuple[int, int], odd_clip: Path, tmp_path: Path
) -> None:
    info = transcode({"f": "mp4", "VIDEO": {**settings, "preset": "ultrafast"}}, [odd_clip], tmp_path / "out.mp4")
    assert size(info) == expected
    assert video(info)["pix_fmt"] == "yuv420p"


def test_gif_keeps_odd_sides(odd_clip: Path, tmp_path: Path) -> None:
    assert size(transcode({"f": "gif", "VIDEO": {"width": 161}}, [odd_clip], tmp_path / "out.gif")) == (161, 121)


def test_vr_sets_the_frame_rate(clip: Path, tmp_path: Path) -> None:
    info = transcode({"f": "mp4", "VIDEO": {"vr": "10", "preset": "ultrafast"}}, [clip], tmp_path / "out.mp4")
    assert video(info)["avg_frame_rate"] == "10/1"
    assert int(video(info)["nb_frames"]) == 20
    assert duration(info) == pytest.approx(2.0, abs=0.15)


@pytest.mark.parametrize("vb", [300_000, 900_000])
def test_vb_sets_the_bitrate(vb: int, clip4: Path, tmp_path: Path) -> None:
    out = tmp_path / "out.mp4"
    info = transcode({"f": "mp4", "VIDEO": {"vb": f"{vb // 1000}k"}, "AUDIO": {"an": 1}}, [clip4], out)
    measured = out.stat().st_size * 8 / duration(info)
    assert measured == pytest.approx(vb, rel=0.3)


def test_crf_trades_size_for_quality(clip4: Path, tmp_path: Path) -> None:
    sizes = []
    for crf in (18, 40):
        out = tmp_path / f"crf{crf}.mp4"
        transcode({"f": "mp4", "VIDEO": {"crf": crf, "preset": "ultrafast"}, "AUDIO": {"an": 1}}, [clip4], out)
        sizes.append(out.stat().st_size)
    assert sizes[0] > 3 * sizes[1]


@pytest.mark.parametrize(
    ("rotate", "expected", "white_side"),
    [(90, (240, 320), "top"), (180, (320, 240), "right"), (270, (240, 320), "bottom"), (0, (320, 240), "left")],
)
def test_rotate_turns_the_picture_clockwise(
    rotate: int, expected: tuple[int, int], white_side: str, left_white: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out.mp4"
    info = transcode({"f": "mp4", "VIDEO": {"rotate": rotate, "preset": "ultrafast"}}, [left_white], out)
    assert size(info) == expected
    rows = gray_frame(out, 0.0)
    w, h = len(rows[0]), len(rows)
    halves = {
        "top": rows[: h // 2], "bottom": rows[h // 2:],
        "left": [r[: w // 2] for r in rows], "right": [r[w // 2:] for r in rows],
    }  # fmt: skip
    assert mean(halves[white_side]) > 200
    opposite = {"top": "bottom", "bottom": "top", "left": "right", "right": "left"}[white_side]
    assert mean(halves[opposite]) < 50


# --- stream removal and audio settings ----------------------------------------------------------------


def test_an_removes_audio(clip: Path, tmp_path: Path) -> None:
    info = transcode({"f": "mp4", "AUDIO": {"an": 1}}, [clip], tmp_path / "out.mp4")
    assert streams(info, "audio") == [] and len(streams(info, "video")) == 1


def test_vn_removes_video(clip: Path, tmp_path: Path) -> None:
    info = transcode({"f": "mp4", "VIDEO": {"vn": 1}}, [clip], tmp_path / "out.mp4")
    assert streams(info, "video") == [] and len(streams(info, "audio")) == 1


def test_gif_drops_audio(clip: Path, tmp_path: Path) -> None:
    info = transcode({"f": "gif", "AUDIO": {"acodec": "aac"}}, [clip], tmp_path / "out.gif")
    assert streams(info, "audio") == []


def test_audio_ab_ar_channels(clip: Path, tmp_path: Path) -> None:
    info = transcode({"f": "m4a", "AUDIO": {"ab": "48k", "ar": "22050", "channels": "2"}}, [clip],
                     tmp_path / "out.m4a")
    a = audio(info)
    assert (a["codec_name"], a["sample_rate"], a["channels"]) == ("aac", "22050", 2)
    assert int(a["bit_rate"]) == pytest.approx(48_000, rel=0.3)


def test_mp3_audio_settings(clip: Path, tmp_path: Path) -> None:
    info = transcode({"f": "mp3", "AUDIO": {"ab": "96k", "ar": 32000, "channels": 1}}, [clip], tmp_path / "o.mp3")
    a = audio(info)
    assert (a["codec_name"], a["sample_rate"], a["channels"]) == ("mp3", "32000", 1)
    assert int(a["bit_rate"]) == 96_000


# --- several inputs ---------------------------------------------------------------------------------


def test_concat_joins_in_the_given_order(clip: Path, silent_wide: Path, tmp_path: Path) -> None:
    inputs = [clip, silent_wide]
    sources = [SourceInfo.from_probe(probe(p)) for p in inputs]
    assert expected_duration(sources) == pytest.approx(3.0, abs=0.05)
    out = tmp_path / "joined.mp4"
    info = transcode({"f": "mp4", "VIDEO": {"preset": "ultrafast"}}, inputs, out, sources=sources)
    assert duration(info) == pytest.approx(3.0, abs=0.3)
    assert size(info) == (320, 240)  # the first source's size; the 16:9 one is letter-boxed into it
    assert audio(info)["channels"] == 2
    # First the tone with full-height picture, then silence with black bars above and below.
    assert loudness(out, 0.2, 1.8) > 0.05  # the sine is at 1/8 of full scale: RMS 0.088
    assert loudness(out, 2.2, 2.9) < 0.001
    top_rows = gray_frame(out, 0.5)[:20]
    assert mean(top_rows) > 40
    assert mean(gray_frame(out, 2.5)[:20]) < 20


def test_concat_reversed_order(clip: Path, silent_wide: Path, tmp_path: Path) -> None:
    inputs = [silent_wide, clip]
    sources = [SourceInfo.from_probe(probe(p)) for p in inputs]
    out = tmp_path / "joined.mp4"
    info = transcode({"f": "mp4", "VIDEO": {"width": 320, "height": 180, "as": 1, "preset": "ultrafast"}},
                     inputs, out, sources=sources)
    assert duration(info) == pytest.approx(3.0, abs=0.3)
    assert size(info) == (320, 180)
    assert loudness(out, 0.1, 0.9) < 0.001
    assert loudness(out, 1.2, 2.8) > 0.05


def test_concat_to_gif_and_audio_only(clip: Path, silent_wide: Path, tmp_path: Path) -> None:
    sources = [SourceInfo.from_probe(probe(p)) for p in (clip, silent_wide)]
    gif = transcode({"f": "gif", "VIDEO": {"width": 160}}, [clip, silent_wide], tmp_path / "o.gif", sources=sources)
    assert size(gif) == (160, 120) and duration(gif) == pytest.approx(3.0, abs=0.3)
    m4a = transcode({"f": "m4a"}, [clip, silent_wide], tmp_path / "o.m4a", sources=sources)
    assert streams(m4a, "video") == [] and duration(m4a) == pytest.approx(3.0, abs=0.3)


def test_concat_refusals(clip: Path, silent_wide: Path, tmp_path: Path) -> None:
    spec = parse_params({"f": "mp4"})
    sized = parse_params({"f": "mp4", "VIDEO": {"width": 320, "height": 240}})
    with pytest.raises(InvalidParameter, match="silence can stand in for it only when its duration is known"):
        build_transcode_args(sized, [clip, silent_wide], tmp_path / "o.mp4", source_has_audio=[True, False])
    with pytest.raises(InvalidParameter, match="needs one frame size"):
        build_transcode_args(spec, [clip, clip], tmp_path / "o.mp4")
    with pytest.raises(InvalidParameter, match="copy cannot join several inputs"):
        build_transcode_args(parse_params({"f": "mkv", "VIDEO": {"vcodec": "copy"}}), [clip, clip], tmp_path / "o")
    with pytest.raises(InvalidParameter) as err:
        build_transcode_args(spec, [], tmp_path / "o.mp4")
    assert err.value.code == "InvalidParameter.Concat"


def test_concat_with_source_has_audio_and_a_sized_preset(clip: Path, tmp_path: Path) -> None:
    info = transcode({"f": "mp4", "VIDEO": {"width": 160, "height": 120, "preset": "ultrafast"}}, [clip, clip],
                     tmp_path / "o.mp4", source_has_audio=[True, True])
    assert size(info) == (160, 120) and duration(info) == pytest.approx(4.0, abs=0.3)


def test_args_are_a_list_with_absolute_paths(tmp_path: Path) -> None:
    args = build_transcode_args(parse_params({"f": "mp4"}), [Path("-tricky name.mp4")], Path("out put.mp4"))
    assert all(isinstance(a, str) for a in args)
    assert args[args.index("-i") + 1] == str(Path("-tricky name.mp4").absolute())
    assert args[-1] == str(Path("out put.mp4").absolute())
