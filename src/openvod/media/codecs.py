"""Per-rung video encoders of a ladder: H.264 (x264), H.265 (x265) and AV1 (SVT-AV1).

    args = encoder_args(1, "h265", preset="veryfast", bitrate=2_800_000, gop=100)
    # ["-c:v:1", "libx265", "-tag:v:1", "hvc1", "-preset:v:1", "veryfast", ...]

Every option is given per output stream (``:v:<i>``), so one FFmpeg run may mix codecs, one per
rung. All three encoders get a fixed GOP of one segment and no scene-cut keyframes, so rungs
switch at the same segment boundaries whatever their codec. H.265 is tagged ``hvc1`` (parameter
sets in the sample entry), the form Apple's HLS and browsers' MSE require in fMP4; neither H.265
nor AV1 can go in MPEG-TS HLS segments, which :data:`FMP4_ONLY` says.
"""

from __future__ import annotations

from typing import Literal, get_args

__all__ = ["FMP4_ONLY", "VIDEO_CODECS", "VideoCodec", "encoder_args"]

VideoCodec = Literal["h264", "h265", "av1"]
VIDEO_CODECS: tuple[VideoCodec, ...] = get_args(VideoCodec)
FMP4_ONLY: frozenset[str] = frozenset({"h265", "av1"})
"""Codecs a ladder can carry in fMP4 (CMAF) segments only."""

# SVT-AV1 presets are numbers (0 slowest - 13 fastest); x264's names, mapped to the SVT preset of
# roughly the same place on the speed scale.
_SVT_PRESETS = {"ultrafast": 12, "superfast": 11, "veryfast": 10, "faster": 9, "fast": 8, "medium": 7,
                "slow": 6, "slower": 5, "veryslow": 4, "placebo": 3}


def encoder_args(index: int, codec: VideoCodec, *, preset: str, bitrate: int, gop: int) -> list[str]:
    """FFmpeg options encoding output video stream ``index`` with ``codec`` at ``bitrate`` bit/s
    (VBV-capped at 1.1x for x264/x265), a keyframe every ``gop`` frames, at x264 speed ``preset``."""
    s = f":v:{index}"
    g = str(gop)
    if codec == "h264":
        return [f"-c{s}", "libx264", f"-preset{s}", preset, f"-b{s}", str(bitrate), f"-maxrate{s}",
                str(bitrate * 11 // 10), f"-bufsize{s}", str(bitrate * 2), f"-g{s}", g, f"-keyint_min{s}", g,
                f"-sc_threshold{s}", "0"]
    if codec == "h265":
        # x265 opens GOPs and cuts at scene changes by default: both would break segment alignment.
        return [f"-c{s}", "libx265", f"-tag{s}", "hvc1", f"-preset{s}", preset, f"-b{s}", str(bitrate),
                f"-maxrate{s}", str(bitrate * 11 // 10), f"-bufsize{s}", str(bitrate * 2), f"-g{s}", g,
                f"-keyint_min{s}", g, f"-forced-idr{s}", "1",
                f"-x265-params{s}", "scenecut=0:open-gop=0:log-level=error"]
    if codec == "av1":
        # SVT-AV1 takes a max rate only in CRF mode, so the target bit rate alone (VBR) is given.
        return [f"-c{s}", "libsvtav1", f"-preset{s}", str(_SVT_PRESETS.get(preset, 10)), f"-b{s}", str(bitrate),
                f"-g{s}", g, f"-svtav1-params{s}", "scd=0"]
    raise ValueError(f"unknown video codec {codec!r}; one of {', '.join(VIDEO_CODECS)}")
