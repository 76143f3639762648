"""Processing outputs for playback tests, made with FFmpeg directly and stored the way the jobs
store them: bytes through ``ctx.storage``, an ``Object`` row per file with media_id, role, info.

    ladder = make_ladder(tmp_path / "hls")                  # 2-rung H.264/AAC HLS, 2 s segments
    lib = Library(ctx, app_id)
    lib.put_tree(file_id, "hls", ladder, role="AdaptiveDynamicStreaming", main="master.m3u8")
"""

from __future__ import annotations

import io
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import imageio_ffmpeg
from sqlalchemy import select

from openvod.db.models import Object
from openvod.runtime import Context
from openvod.services.playback import content_type

TIMEOUT = 120.0


def ffmpeg(args: list[str], cwd: Path | None = None) -> None:
    argv = [imageio_ffmpeg.get_ffmpeg_exe(), "-nostdin", "-hide_banner", "-loglevel", "error", "-y", *args]
    result = subprocess.run(argv, capture_output=True, timeout=TIMEOUT, check=False, cwd=cwd)
    if result.returncode != 0:
        raise RuntimeError(f"ffmpeg failed ({result.returncode}): {argv}\n{result.stderr.decode(errors='replace')}")


def make_ladder(out: Path, *, seconds: int = 6, key_info: Path | None = None) -> Path:
    """A 640x360 (H.264 Main) + 320x180 (Baseline) ladder with AAC, 2 s segments, one decode
    split into both rungs: ``master.m3u8``, ``v0/index.m3u8``, ``v0/seg_000.ts``, ... in ``out``.
    ``key_info`` (an FFmpeg key info file) encrypts the segments with AES-128."""
    out.mkdir(parents=True, exist_ok=True)
    args = [
        "-f", "lavfi", "-i", f"testsrc2=size=640x360:rate=25:duration={seconds}",
        "-f", "lavfi", "-i", f"sine=frequency=1000:sample_rate=44100:duration={seconds}",
        "-filter_complex", "[0:v]split=2[a][b];[a]scale=640:360[v0];[b]scale=320:180[v1]",
        "-map", "[v0]", "-map", "1:a", "-map", "[v1]", "-map", "1:a",
        "-c:v", "libx264", "-pix_fmt", "yuv420p", "-preset:v:0", "veryfast", "-preset:v:1", "ultrafast",
        "-profile:v:0", "main", "-profile:v:1", "baseline", "-b:v:0", "800k", "-b:v:1", "300k",
        "-g", "50", "-keyint_min", "50", "-sc_threshold", "0",
        "-c:a", "aac", "-b:a", "64k", "-ac", "2",
        "-f", "hls", "-hls_time", "2", "-hls_playlist_type", "vod",
    ]  # fmt: skip
    if key_info is not None:
        args += ["-hls_key_info_file", str(key_info)]
    args += ["-hls_segment_filename", "v%v/seg_%03d.ts", "-master_pl_name", "master.m3u8",
             "-var_stream_map", "v:0,a:0 v:1,a:1", "v%v/index.m3u8"]
    ffmpeg(args, cwd=out)
    return out


def make_image(path: Path, *, width: int = 320, height: int = 180) -> Path:
    """One ``testsrc2`` frame; the format follows the suffix (.jpg, .png, .webp, .gif)."""
    ffmpeg(["-f", "lavfi", "-i", f"testsrc2=size={width}x{height}:rate=1:duration=1", "-frames:v", "1",
            str(path)])
    return path


@dataclass(frozen=True)
class Sprites:
    sheet: Path
    vtt: Path
    cell: tuple[int, int]


def make_sprites(out: Path, *, seconds: int = 6, cell: tuple[int, int] = (160, 90)) -> Sprites:
    """One sprite sheet (a 3x2 grid of one frame per second) and its WebVTT index."""
    out.mkdir(parents=True, exist_ok=True)
    w, h = cell
    sheet = out / "sheet_0.jpg"
    ffmpeg(["-f", "lavfi", "-i", f"testsrc2=size=640x360:rate=25:duration={seconds}",
            "-vf", f"fps=1,scale={w}:{h},tile=3x2", "-frames:v", "1", str(sheet)])
    cues = ["WEBVTT", ""]
    for i in range(seconds):
        x, y = (i % 3) * w, (i // 3) * h
        cues += [f"00:00:{i:02d}.000 --> 00:00:{i + 1:02d}.000", f"{sheet.name}#xywh={x},{y},{w},{h}", ""]
    vtt = out / "sprites.vtt"
    vtt.write_text("\n".join(cues))
    return Sprites(sheet, vtt, cell)


class Library:
    """Stores outputs of an app's media as the processing jobs do."""

    def __init__(self, ctx: Context, app_id: str, bucket: str = "vod") -> None:
        self.ctx, self.app_id, self.bucket = ctx, app_id, bucket

    def key(self, file_id: str, rel: str) -> str:
        return f"{self.app_id}/media/{file_id}/{rel}"

    def put(self, file_id: str, rel: str, data: bytes, *, role: str = "", definition: int | None = None,
            info: dict[str, Any] | None = None) -> str:
        """Store ``data`` at output ``rel`` of media ``file_id`` and record its row; returns the key."""
        key = self.key(file_id, rel)
        stat = self.ctx.storage.put(self.bucket, key, io.BytesIO(data), content_type=content_type(key))
        with self.ctx.db.session() as s:
            row = s.scalar(select(Object).where(Object.app_id == self.app_id, Object.bucket == self.bucket,
                                                Object.key == key))
            if row is None:
                row = Object(app_id=self.app_id, bucket=self.bucket, key=key)
                s.add(row)
            row.size, row.etag, row.content_type = stat.size, stat.etag, stat.content_type
            row.media_id, row.role, row.definition, row.info = file_id, role, definition, info
        return key

    def put_tree(self, file_id: str, rel: str, tree: Path, *, role: str, main: str, definition: int | None = None,
                 info: dict[str, Any] | None = None) -> str:
        """Store every file of ``tree`` under ``rel``; ``main`` gets ``role``, the rest
        ``{role}.part``. Returns the key of ``main``."""
        main_key = ""
        for path in sorted(p for p in tree.rglob("*") if p.is_file()):
            name = path.relative_to(tree).as_posix()
            is_main = name == main
            key = self.put(file_id, f"{rel}/{name}", path.read_bytes(), role=role if is_main else f"{role}.part",
                           definition=definition, info=info if is_main else None)
            main_key = key if is_main else main_key
        assert main_key, f"{main} not in {tree}"
        return main_key
