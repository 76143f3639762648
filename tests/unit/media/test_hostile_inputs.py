"""Hostile uploads: reference formats that name other files, and frames that declare huge sizes.

A tenant's upload must never make the prober or FFmpeg open anything but itself. The "secret"
below stands for another tenant's stored object: a valid clip, so any read of it would show (a
probe would report its streams, an FFmpeg run would write output). Real FFmpeg and PyAV throughout.
"""

from __future__ import annotations

import importlib
import json
import re
import resource
import signal
import struct
import subprocess
import sys
import time
import zlib
from collections.abc import Callable
from pathlib import Path

import imageio_ffmpeg
import pytest

from openvod.domain.presets import parse_params
from openvod.errors import FFmpegFailed, ProbeFailed
from openvod.media.animated import AnimatedGraphicsSpec, build_animated
from openvod.media.common import Plan
from openvod.media.ffmpeg import run_ffmpeg
from openvod.media.inputs import (
    FRAME_TOO_LARGE_CODE,
    LIMIT_EXCEEDED_CODE,
    UNSUPPORTED_CONTAINER_CODE,
    MediaLimits,
    input_args,
)
from openvod.media.ladder import AdaptiveStreamingSpec, Rung, build_ladder
from openvod.media.probe import probe
from openvod.media.process import Rlimits, spawn
from openvod.media.snapshots import (
    CoverBySnapshotSpec,
    SampleSnapshotSpec,
    SnapshotByTimeOffsetSpec,
    build_cover,
    build_sample_snapshots,
    build_snapshots_by_offset,
)
from openvod.media.sprites import ImageSpritesSpec, build_sprites
from openvod.media.transcode import SourceInfo, build_transcode_args

# The package re-exports probe() under the submodule's name; fetch the module itself.
probe_module = importlib.import_module("openvod.media.probe")
TIMEOUT = 60
# What a probe of the playlist would have said had it been accepted: the secret's streams.
SOURCE = SourceInfo(has_video=True, has_audio=True, duration=2.0, width=320, height=240, fps=25.0)


def _ffmpeg(*args: str) -> None:
    argv = [imageio_ffmpeg.get_ffmpeg_exe(), "-nostdin", "-hide_banner", "-loglevel", "error", "-y", *args]
    subprocess.run(argv, check=True, capture_output=True, timeout=120)


_VIDEO = ("-f", "lavfi", "-i", "testsrc2=size=320x240:rate=25:duration=2")
_AUDIO = ("-f", "lavfi", "-i", "sine=frequency=440:duration=2")


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("hostile")
    _ffmpeg(*_VIDEO, *_AUDIO, "-c:v", "libx264", "-preset", "ultrafast", "-c:a", "aac", str(d / "secret.ts"))
    return d


@pytest.fixture(scope="module")
def secret(files: Path) -> Path:
    """Another tenant's object: a valid 2 s MPEG-TS clip."""
    return files / "secret.ts"


def _write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def _playlist(segment: str) -> str:
    return f"#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:2\n#EXTINF:2.0,\n{segment}\n#EXT-X-ENDLIST\n"


@pytest.fixture(scope="module")
def hostile(files: Path, secret: Path) -> dict[str, Path]:
    """Uploads that name ``secret``: HLS by absolute path and by file:// URL, ffconcat lists."""
    return {
        "hls-path": _write(files / "by-path.m3u8", _playlist(str(secret))),
        "hls-url": _write(files / "by-url.m3u8", _playlist(secret.as_uri())),
        "hls-relative": _write(files / "relative.m3u8", _playlist(secret.name)),
        "ffconcat-path": _write(files / "list.ffconcat", f"ffconcat version 1.0\nfile '{secret}'\n"),
        # concat's "safe" mode admits a plain relative name: the dangerous case.
        "ffconcat-relative": _write(files / "innocent.mp4", f"ffconcat version 1.0\nfile '{secret.name}'\n"),
    }


def test_the_secret_itself_is_readable(secret: Path) -> None:
    # The control: refusals below are about the playlist, not an unreadable target.
    assert float(probe(secret)["format"]["duration"]) > 1.5


@pytest.mark.parametrize("kind", ["hls-path", "hls-url", "hls-relative", "ffconcat-path", "ffconcat-relative"])
def test_probe_refuses_reference_formats(hostile: dict[str, Path], kind: str) -> None:
    with pytest.raises(ProbeFailed) as exc:
        probe(hostile[kind], timeout=20)
    assert exc.value.code == UNSUPPORTED_CONTAINER_CODE
    detected = "hls" if kind.startswith("hls") else "concat"
    assert exc.value.message.startswith("unsupported container:")
    assert f"({detected})" in exc.value.message and "refers to other files" in exc.value.message


def test_hls_under_an_innocent_name_is_refused_too(files: Path, secret: Path) -> None:
    # FFmpeg 7+ no longer sniffs HLS in a .mp4; older builds (a configured system FFmpeg) did.
    with pytest.raises(ProbeFailed) as exc:
        probe(_write(files / "x.mp4", _playlist(str(secret))), timeout=20)
    assert exc.value.code in (UNSUPPORTED_CONTAINER_CODE, "FailedOperation.ProbeFailed")
    assert "duration" not in exc.value.message


def test_own_hls_output_can_still_be_probed(hostile: dict[str, Path]) -> None:
    # OpenVOD probes the playlists it wrote itself (own_output): HLS is admitted, files only.
    info = probe(hostile["hls-relative"], own_output=True)
    assert info["format"]["format_name"] == "hls"


Builder = Callable[[Path, Path], Plan[object] | list[str]]

_BUILDERS: dict[str, Builder] = {
    "transcode": lambda src, out: build_transcode_args(
        parse_params({"f": "mp4", "VIDEO": {"preset": "ultrafast"}}),
        [src], out / "o.mp4", sources=[SOURCE]),
    "transcode-join": lambda src, out: build_transcode_args(
        parse_params({"f": "mp4", "VIDEO": {"width": 320, "height": 240, "preset": "ultrafast"}}),
        [src, src], out / "o.mp4", sources=[SOURCE, SOURCE]),
    "snapshots-seek": lambda src, out: build_snapshots_by_offset(
        SnapshotByTimeOffsetSpec(offsets=(0.0, 1.0)), src, SOURCE, out, strategy="seek"),
    "snapshots-decode": lambda src, out: build_snapshots_by_offset(
        SnapshotByTimeOffsetSpec(offsets=(0.0, 1.0)), src, SOURCE, out, strategy="decode"),
    "sample": lambda src, out: build_sample_snapshots(SampleSnapshotSpec(interval=50), src, SOURCE, out),
    "cover": lambda src, out: build_cover(CoverBySnapshotSpec(position=1.0), src, SOURCE, out),
    "sprites": lambda src, out: build_sprites(ImageSpritesSpec(interval=1, rows=2, columns=2), src, SOURCE, out),
    "animated": lambda src, out: build_animated(AnimatedGraphicsSpec(end=1), src, SOURCE, out),
    "ladder": lambda src, out: build_ladder(
        AdaptiveStreamingSpec(rungs=(Rung(240, 300_000),), segment_seconds=1), src, SOURCE, out),
}


def _args(built: Plan[object] | list[str]) -> list[str]:
    return built.args if isinstance(built, Plan) else built


@pytest.mark.parametrize("entry", sorted(_BUILDERS))
def test_every_ffmpeg_entry_point_guards_each_input(entry: str, secret: Path, tmp_path: Path) -> None:
    args = _args(_BUILDERS[entry](secret, tmp_path))
    inputs = [i for i, arg in enumerate(args) if arg == "-i"]
    assert inputs
    for i in inputs:
        # input_args' options sit right before each -i (other input options, e.g. -ss, before them)
        assert args[i - 6:i] == input_args(secret)[:6]


@pytest.mark.parametrize("entry", sorted(_BUILDERS))
@pytest.mark.parametrize("kind", ["hls-path", "hls-url", "ffconcat-relative"])
def test_ffmpeg_refuses_to_follow_a_playlist(entry: str, kind: str, hostile: dict[str, Path], tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    with pytest.raises(FFmpegFailed) as exc:
        run_ffmpeg(_args(_BUILDERS[entry](hostile[kind], out)), timeout=TIMEOUT)
    assert "Format not on whitelist" in exc.value.stderr_tail
    assert [p.name for p in out.rglob("*") if p.is_file() and p.stat().st_size] == []


def test_the_same_builders_still_read_the_secret_itself(secret: Path, tmp_path: Path) -> None:
    # The control for the refusals above: with a real file each entry point writes output.
    for entry, build in _BUILDERS.items():
        out = tmp_path / entry
        out.mkdir()
        run_ffmpeg(_args(build(secret, out)), timeout=TIMEOUT)
        assert any(p.stat().st_size for p in out.rglob("*") if p.is_file()), entry


# --- ordinary single-file formats keep working ---------------------------------------------------

_H264_AAC = [*_VIDEO, *_AUDIO, "-c:v", "libx264", "-preset", "ultrafast", "-c:a", "aac"]
_ORDINARY = {
    "clip.mp4": ("mov,mp4,m4a,3gp,3g2,mj2", _H264_AAC),
    "clip.mkv": ("matroska,webm", _H264_AAC),
    "clip.webm": ("matroska,webm", [*_VIDEO, *_AUDIO, "-c:v", "libvpx-vp9", "-deadline", "realtime",
                                    "-cpu-used", "8", "-c:a", "libopus"]),
    "clip.ts": ("mpegts", _H264_AAC),
    "tone.mp3": ("mp3", [*_AUDIO, "-c:a", "libmp3lame"]),
    "tone.wav": ("wav", [*_AUDIO]),
    "still.png": ("png_pipe", ["-f", "lavfi", "-i", "testsrc2=size=64x48", "-frames:v", "1", "-update", "1"]),
    "still.jpg": ("jpeg_pipe", ["-f", "lavfi", "-i", "testsrc2=size=64x48", "-frames:v", "1", "-update", "1"]),
}  # fmt: skip


@pytest.mark.parametrize("name", sorted(_ORDINARY))
def test_single_file_formats_still_probe_and_transcode(name: str, tmp_path: Path) -> None:
    fmt, gen = _ORDINARY[name]
    src = tmp_path / name
    _ffmpeg(*gen, str(src))
    info = probe(src)
    assert info["format"]["format_name"] == fmt
    has_video = any(s["codec_type"] == "video" for s in info["streams"])
    params: dict[str, object] = {"f": "mp4", "VIDEO": {"preset": "ultrafast"}} if has_video else {"f": "m4a"}
    out = tmp_path / ("o.mp4" if has_video else "o.m4a")
    run_ffmpeg(build_transcode_args(parse_params(params), [src], out, sources=[SourceInfo.from_probe(info)]),
               timeout=TIMEOUT)
    assert probe(out)["streams"]


# --- frames that declare a huge size -------------------------------------------------------------


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def _zeros_zlib(n: int) -> bytes:
    """A zlib stream of ``n`` zero bytes, built in milliseconds: after a full flush the deflater
    starts afresh, so every further MiB of zeros compresses to the same bytes."""
    piece = 1 << 20
    c = zlib.compressobj(9, zlib.DEFLATED, -15)
    zeros = bytes(piece)
    first = c.compress(zeros) + c.flush(zlib.Z_FULL_FLUSH)
    again = c.compress(zeros) + c.flush(zlib.Z_FULL_FLUSH)
    full, rest = divmod(n, piece)
    tail = c.compress(bytes(rest)) + c.flush(zlib.Z_FINISH)
    adler = ((n % 65521) << 16) | 1  # adler32 of n zeros
    return b"\x78\xda" + first + again * (full - 1) + tail + struct.pack(">I", adler)


def huge_png(path: Path, width: int = 16000, height: int = 16000) -> Path:
    """A complete, valid black RGB PNG of ``width`` x ``height`` (16000x16000: ~0.75 MB on disk,
    768 MB decoded)."""
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    idat = _zeros_zlib(height * (1 + 3 * width))
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", header) + _png_chunk(b"IDAT", idat)
                     + _png_chunk(b"IEND", b""))
    return path


@pytest.fixture(scope="module")
def bomb(files: Path) -> Path:
    return huge_png(files / "bomb.png")


def test_the_bomb_is_a_real_png(bomb: Path) -> None:
    assert bomb.stat().st_size < 1024 * 1024
    data = bomb.read_bytes()
    idat = data[8 + 25 + 8:-12 - 4]
    assert len(zlib.decompressobj().decompress(idat, 1 << 20)) == 1 << 20  # inflates (bounded here)


_PROBE_IN_A_CHILD = """
import json, resource, sys, time
from pathlib import Path
from openvod.errors import OpenVODError
from openvod.media.probe import probe
started = time.monotonic()
try:
    probe(Path(sys.argv[1]), timeout=30)
    code = None
except OpenVODError as exc:
    code = exc.code
print(json.dumps({"code": code, "seconds": time.monotonic() - started,
                  "maxrss_kb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss}))
"""


def test_pixel_bomb_is_refused_before_decoding(bomb: Path) -> None:
    # A fresh interpreter, so RUSAGE_CHILDREN covers the probe worker alone.
    out = subprocess.run([sys.executable, "-c", _PROBE_IN_A_CHILD, str(bomb)], capture_output=True, check=True,
                         timeout=60)
    result = json.loads(out.stdout)
    assert result["code"] == FRAME_TOO_LARGE_CODE
    assert result["seconds"] < 10
    # Decoding would take 768 MB; the worker stays near its interpreter's own size.
    assert result["maxrss_kb"] < 200 * 1024


def test_pixel_bomb_message_names_size_and_setting(bomb: Path) -> None:
    with pytest.raises(ProbeFailed, match=r"16000x16000 frames .* more than 67108864 \(setting max_pixels\)"):
        probe(bomb)


def test_max_pixels_is_configurable(secret: Path) -> None:
    assert probe(secret, limits=MediaLimits(max_pixels=320 * 240))["streams"]
    with pytest.raises(ProbeFailed) as exc:
        probe(secret, limits=MediaLimits(max_pixels=320 * 240 - 1))
    assert exc.value.code == FRAME_TOO_LARGE_CODE


def test_ffmpeg_refuses_the_bomb_quickly(bomb: Path, tmp_path: Path) -> None:
    started = time.monotonic()
    with pytest.raises(FFmpegFailed) as exc:
        run_ffmpeg(_args(build_cover(CoverBySnapshotSpec(), bomb, SourceInfo(width=16000, height=16000), tmp_path)),
                   timeout=TIMEOUT)
    assert "exceeds specified max pixel count 67108864" in exc.value.stderr_tail
    assert time.monotonic() - started < 10


def test_ffmpeg_takes_the_configured_pixel_cap(secret: Path, tmp_path: Path) -> None:
    args = _args(build_cover(CoverBySnapshotSpec(), secret, SOURCE, tmp_path))
    with pytest.raises(FFmpegFailed) as exc:
        run_ffmpeg(args, timeout=TIMEOUT, limits=MediaLimits(max_pixels=320 * 240 - 1))
    assert "exceeds specified max pixel count 76799" in exc.value.stderr_tail
    run_ffmpeg(args, timeout=TIMEOUT, limits=MediaLimits(max_pixels=320 * 240))
    assert (tmp_path / "cover.jpg").stat().st_size


# --- resource limits on the children -------------------------------------------------------------


def _run(code: str, limits: Rlimits) -> tuple[int, bytes]:
    with spawn([sys.executable, "-c", code], limits=limits) as proc:
        stdout, _ = proc.communicate(timeout=30)
    return proc.returncode, stdout


def test_memory_limit_holds_in_the_child() -> None:
    grab = "b = bytearray(600 * 1024 * 1024)"
    assert _run(grab, Rlimits(memory_bytes=2048 << 20))[0] == 0
    assert _run(grab, Rlimits(memory_bytes=300 << 20))[0] == 1  # MemoryError


def test_cpu_limit_holds_in_the_child() -> None:
    started = time.monotonic()
    assert _run("while True: pass", Rlimits(cpu_seconds=1))[0] == -signal.SIGXCPU
    assert time.monotonic() - started < 10


def test_children_write_no_core_files() -> None:
    status, out = _run("import resource; print(resource.getrlimit(resource.RLIMIT_CORE))", Rlimits())
    assert (status, out.strip()) == (0, b"(0, 0)")


def test_memory_cap_contains_the_bomb_even_without_the_pixel_cap(bomb: Path) -> None:
    # The backstop: with max_pixels lifted, RLIMIT_AS still keeps the worker under its cap
    # (decoding the first frame then fails for want of memory and is left out of the report).
    code = _PROBE_IN_A_CHILD.replace("timeout=30", "timeout=30, limits=MediaLimits(max_pixels=2**31 - 1, "
                                     "probe_memory_mb=384)")
    code = code.replace("from openvod.media.probe",
                        "from openvod.media.inputs import MediaLimits\nfrom openvod.media.probe")
    out = subprocess.run([sys.executable, "-c", code, str(bomb)], capture_output=True, check=True, timeout=60)
    assert json.loads(out.stdout)["maxrss_kb"] < 384 * 1024


@pytest.mark.parametrize(
    ("worker", "message"),
    [
        ("import os; os._exit(4)", "needs more than the probe's 1024 MB (setting probe_memory_mb)"),
        ("import resource\nresource.setrlimit(resource.RLIMIT_CPU, (1, 2))\nwhile True: pass",
         "needs more than 21 CPU seconds"),
    ],
)
def test_probe_reports_its_resource_limits(
    worker: str, message: str, secret: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(probe_module, "_worker_argv", lambda *_: [sys.executable, "-c", worker])
    with pytest.raises(ProbeFailed, match=re.escape(message)) as exc:
        probe(secret, timeout=20)
    assert exc.value.code == LIMIT_EXCEEDED_CODE


def test_resource_limit_values() -> None:
    assert dict(Rlimits(memory_bytes=1 << 30).pairs())[resource.RLIMIT_AS] == (1 << 30, 1 << 30)
    assert dict(Rlimits(cpu_seconds=5).pairs())[resource.RLIMIT_CPU] == (5, 6)
    assert dict(Rlimits().pairs()) == {resource.RLIMIT_CORE: (0, 0)}
