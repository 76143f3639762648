from __future__ import annotations

import importlib
import re
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from openvod.errors import InvalidParameter, ProbeFailed
from openvod.media import metadata_summary, probe
from tests.media import make_clip, make_garbage, truncate

TIME = re.compile(r"^-?\d+\.\d{6}$")  # ffprobe prints times with %f
RATIO = re.compile(r"^\d+/\d+$")
DIGITS = re.compile(r"^\d+$")
# The package re-exports the probe() function under the submodule's name; fetch the module itself.
probe_module = importlib.import_module("openvod.media.probe")


def _video(info: dict[str, Any]) -> dict[str, Any]:
    return next(s for s in info["streams"] if s["codec_type"] == "video")


def _audio(info: dict[str, Any]) -> dict[str, Any]:
    return next(s for s in info["streams"] if s["codec_type"] == "audio")


# --- probe: ffprobe-compatible JSON -------------------------------------------------------------


def test_720p_clip_has_ffprobe_fields_and_formats(clip_720p: Path) -> None:
    info = probe(clip_720p)

    fmt = info["format"]
    assert fmt["filename"] == str(clip_720p)
    assert fmt["nb_streams"] == 2
    assert fmt["format_name"] == "mov,mp4,m4a,3gp,3g2,mj2"
    assert fmt["format_long_name"] == "QuickTime / MOV"
    assert TIME.match(fmt["duration"]) and TIME.match(fmt["start_time"])
    assert float(fmt["duration"]) == pytest.approx(10, abs=0.1)
    assert fmt["size"] == str(clip_720p.stat().st_size)
    assert DIGITS.match(fmt["bit_rate"])
    assert fmt["probe_score"] == 100
    assert fmt["tags"]["major_brand"] == "isom"

    video = _video(info)
    assert video["index"] == 0
    assert video["codec_name"] == "h264"
    assert video["codec_long_name"] == "H.264 / AVC / MPEG-4 AVC / MPEG-4 part 10"
    assert video["profile"] == "Constrained Baseline"  # x264 ultrafast
    assert (video["codec_tag_string"], video["codec_tag"]) == ("avc1", "0x31637661")
    assert (video["width"], video["height"]) == (1280, 720)
    assert (video["coded_width"], video["coded_height"]) == (1280, 720)
    assert video["pix_fmt"] == "yuv420p"
    assert isinstance(video["level"], int)
    assert video["r_frame_rate"] == video["avg_frame_rate"] == "25/1"
    assert RATIO.match(video["time_base"])
    assert TIME.match(video["start_time"]) and TIME.match(video["duration"])
    assert float(video["duration"]) == pytest.approx(10, abs=0.1)
    assert DIGITS.match(video["bit_rate"])
    assert video["nb_frames"] == "250"
    assert video["disposition"]["default"] == 1 and video["disposition"]["attached_pic"] == 0
    assert "side_data_list" not in video

    audio = _audio(info)
    assert audio["codec_name"] == "aac"
    assert audio["codec_type"] == "audio"
    assert audio["sample_rate"] == "44100"
    assert audio["channels"] == 1
    assert audio["channel_layout"] == "mono"
    assert audio["sample_fmt"] == "fltp"
    assert audio["time_base"] == "1/44100"
    assert audio["r_frame_rate"] == "0/0"
    assert DIGITS.match(audio["bit_rate"])


def test_720p_clip_metadata_summary(clip_720p: Path) -> None:
    size = clip_720p.stat().st_size
    meta = metadata_summary(probe(clip_720p), size=size, md5="d41d8cd98f00b204e9800998ecf8427e")

    assert meta["Size"] == size
    assert meta["Container"] == "mov,mp4,m4a,3gp,3g2,mj2"
    assert meta["Duration"] == pytest.approx(10, abs=0.1)
    assert meta["VideoDuration"] == pytest.approx(10, abs=0.1)
    assert meta["AudioDuration"] == pytest.approx(10, abs=0.1)
    assert (meta["Width"], meta["Height"], meta["Rotate"]) == (1280, 720, 0)
    [video] = meta["VideoStreamSet"]
    assert video["Codec"] == "h264" and video["Fps"] == 25
    assert (video["Width"], video["Height"]) == (1280, 720)
    assert "CodecTag" not in video  # Tencent reports it for HEVC only
    [audio] = meta["AudioStreamSet"]
    assert audio == {"Bitrate": audio["Bitrate"], "SamplingRate": 44100, "Codec": "aac", "Channel": 1}
    assert meta["Bitrate"] == video["Bitrate"] + audio["Bitrate"] > 0
    assert meta["Md5"] == "d41d8cd98f00b204e9800998ecf8427e"


def test_odd_dimensions_survive(media_dir: Path) -> None:
    # 4:2:0 needs even sizes; 4:4:4 H.264 does not.
    clip = make_clip(media_dir / "odd.mp4", seconds=1, width=853, height=479, pix_fmt="yuv444p", audio=False)

    info = probe(clip)
    meta = metadata_summary(info, size=clip.stat().st_size, md5=None)

    assert (_video(info)["width"], _video(info)["height"]) == (853, 479)
    assert _video(info)["profile"] == "High 4:4:4 Predictive"
    assert (meta["Width"], meta["Height"]) == (853, 479)
    assert meta["AudioStreamSet"] == [] and meta["AudioDuration"] == 0
    assert meta["Md5"] == ""


@pytest.mark.parametrize(("rotate", "matrix_rotation"), [(90, -90), (180, -180), (270, 90)])
def test_rotation_from_display_matrix(media_dir: Path, rotate: int, matrix_rotation: int) -> None:
    clip = make_clip(media_dir / f"rot{rotate}.mp4", seconds=1, width=320, height=240, rotate=rotate)

    info = probe(clip)
    video = _video(info)
    meta = metadata_summary(info, size=1, md5=None)

    [side_data] = video["side_data_list"]
    assert side_data["side_data_type"] == "Display Matrix"
    assert side_data["rotation"] == matrix_rotation  # counter-clockwise, as ffprobe >= 5 shows it
    assert side_data["displaymatrix"].startswith("\n00000000: ")
    assert video["tags"]["rotate"] == str(rotate)  # clockwise, as ffprobe < 5 showed it
    assert meta["Rotate"] == rotate
    assert (meta["Width"], meta["Height"]) == (320, 240)  # stored, not displayed, dimensions


def test_audio_only(audio_only: Path) -> None:
    info = probe(audio_only)
    meta = metadata_summary(info, size=audio_only.stat().st_size, md5=None)

    assert [s["codec_type"] for s in info["streams"]] == ["audio"]
    assert meta["VideoStreamSet"] == []
    assert (meta["Width"], meta["Height"], meta["Rotate"]) == (0, 0, 0)
    assert meta["VideoDuration"] == 0
    assert meta["AudioDuration"] == pytest.approx(3, abs=0.1)
    assert meta["AudioStreamSet"][0]["Codec"] == "aac"


def test_variable_frame_rate(media_dir: Path) -> None:
    clip = make_clip(media_dir / "vfr.mp4", seconds=4, width=320, height=240, vfr=True)

    info = probe(clip)
    video = _video(info)
    meta = metadata_summary(info, size=1, md5=None)

    assert video["r_frame_rate"] == "25/1"
    assert video["avg_frame_rate"] != "25/1"
    avg_num, avg_den = map(int, video["avg_frame_rate"].split("/"))
    assert 15 < avg_num / avg_den < 24
    assert int(video["nb_frames"]) < 100
    assert 15 <= meta["VideoStreamSet"][0]["Fps"] < 25


def test_10_bit_profile(media_dir: Path) -> None:
    clip = make_clip(media_dir / "10bit.mp4", seconds=1, width=320, height=240, pix_fmt="yuv420p10le")

    video = _video(probe(clip))

    assert video["profile"] == "High 10"
    assert video["pix_fmt"] == "yuv420p10le"


# --- probe: bad input ---------------------------------------------------------------------------


def test_truncated_without_moov_is_corrupt(small_clip: Path, tmp_path: Path) -> None:
    half = truncate(small_clip, tmp_path / "half.mp4", 0.5)  # moov is at the end: cut off

    with pytest.raises(ProbeFailed) as exc:
        probe(half, timeout=20)
    assert re.match(r"truncated or corrupt: .*half\.mp4.*moov atom not found", exc.value.message)
    assert exc.value.code == "FailedOperation.ProbeFailed"


def test_truncated_with_moov_first_still_probes(media_dir: Path, tmp_path: Path) -> None:
    clip = make_clip(media_dir / "faststart.mp4", seconds=2, width=320, height=240, faststart=True)
    half = truncate(clip, tmp_path / "half.mp4", 0.5)

    info = probe(half, timeout=20)

    # Like ffprobe, the index (moov) is believed: the duration is the one it claims.
    assert float(info["format"]["duration"]) == pytest.approx(2, abs=0.1)
    assert info["format"]["size"] == str(half.stat().st_size)


def test_garbage_is_not_media(tmp_path: Path) -> None:
    junk = make_garbage(tmp_path / "upload.mp4", 64 * 1024)

    with pytest.raises(ProbeFailed) as exc:
        probe(junk, timeout=20)
    assert re.match(r"not a media file: .*upload\.mp4 \(.+\)", exc.value.message)


def test_text_file_is_not_media(tmp_path: Path) -> None:
    # libavformat's tty demuxer would render it as a 640x400 "video".
    text = tmp_path / "notes.txt"
    text.write_text("hello\n" * 200)

    with pytest.raises(ProbeFailed) as exc:
        probe(text)
    assert re.match(r"not a media file: .*notes\.txt", exc.value.message)


def test_empty_and_missing_files(tmp_path: Path) -> None:
    empty = tmp_path / "empty.mp4"
    empty.write_bytes(b"")

    with pytest.raises(ProbeFailed, match="not a media file"):
        probe(empty)
    with pytest.raises(ProbeFailed, match="no such file"):
        probe(tmp_path / "missing.mp4")


def test_hung_worker_is_killed_and_reaped(
    small_clip: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pidfile = tmp_path / "pid"
    script = f"import os, time; open({str(pidfile)!r}, 'w').write(str(os.getpid())); time.sleep(60)"
    monkeypatch.setattr(probe_module, "_worker_argv", lambda path, *_: [sys.executable, "-c", script])

    started = time.monotonic()
    with pytest.raises(ProbeFailed, match=r"took longer than 1s"):
        probe(small_clip, timeout=1)

    assert time.monotonic() - started < 4
    pid = int(pidfile.read_text())
    assert not Path(f"/proc/{pid}").exists()  # killed and reaped, not a zombie


def test_crashing_worker_is_reported(small_clip: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    crash = "import os, sys; sys.stderr.write('segfault in libav\\n'); sys.stderr.flush(); os.abort()"
    monkeypatch.setattr(probe_module, "_worker_argv", lambda path, *_: [sys.executable, "-c", crash])

    with pytest.raises(ProbeFailed, match=r"worker died, killed by SIGABRT.*segfault in libav"):
        probe(small_clip)


def test_probe_rejects_bad_timeout(small_clip: Path) -> None:
    with pytest.raises(InvalidParameter):
        probe(small_clip, timeout=0)


# --- metadata_summary on hand-written probe JSON ------------------------------------------------


def _stream(**fields: Any) -> dict[str, Any]:
    return {"disposition": {"attached_pic": 0}, **fields}


def test_cover_art_is_not_video() -> None:
    info = {
        "format": {"format_name": "mp3", "duration": "3.000000", "bit_rate": "128000"},
        "streams": [
            _stream(codec_type="audio", codec_name="mp3", sample_rate="44100", channels=2, bit_rate="128000"),
            {"codec_type": "video", "codec_name": "mjpeg", "width": 600, "height": 600,
             "disposition": {"attached_pic": 1}},
        ],
    }  # fmt: skip

    meta = metadata_summary(info, size=48000, md5=None)

    assert meta["VideoStreamSet"] == [] and (meta["Width"], meta["Height"]) == (0, 0)
    [audio] = meta["AudioStreamSet"]
    assert audio == {"Bitrate": 128000, "SamplingRate": 44100, "Codec": "mp3", "Channel": 2}
    assert meta["AudioDuration"] == 3.0  # falls back to the container's duration


def test_hevc_codec_tag_and_container_bitrate_fallback() -> None:
    info = {
        "format": {"format_name": "matroska,webm", "duration": "5.000000", "bit_rate": "900000"},
        "streams": [
            _stream(codec_type="video", codec_name="hevc", codec_tag_string="hvc1", width=1920,
                    height=1080, avg_frame_rate="30000/1001", r_frame_rate="30000/1001"),
        ],
    }  # fmt: skip

    meta = metadata_summary(info, size=1, md5=None)

    assert meta["VideoStreamSet"] == [
        {"Bitrate": 0, "Height": 1080, "Width": 1920, "Codec": "hevc", "Fps": 30, "CodecTag": "hvc1"}
    ]
    assert meta["Bitrate"] == 900000  # Matroska streams carry no bitrate: use the container's


@pytest.mark.parametrize(
    ("stream", "expected"),
    [
        (_stream(side_data_list=[{"side_data_type": "Display Matrix", "rotation": -90}]), 90),
        (_stream(side_data_list=[{"side_data_type": "Display Matrix", "rotation": 90}]), 270),
        (_stream(side_data_list=[{"side_data_type": "Display Matrix", "rotation": 180}]), 180),
        (_stream(side_data_list=[{"side_data_type": "Display Matrix", "rotation": -88}]), 90),
        (_stream(tags={"rotate": "90"}), 90),
        (_stream(tags={"rotate": "-90"}), 270),
        (_stream(), 0),
    ],
)
def test_rotate_normalisation(stream: dict[str, Any], expected: int) -> None:
    info = {"format": {}, "streams": [{"codec_type": "video", "width": 2, "height": 2, **stream}]}

    assert metadata_summary(info, size=0, md5=None)["Rotate"] == expected

