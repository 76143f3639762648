"""The probe worker: open a file with PyAV and print ffprobe-compatible JSON.

Run only as a child process by :func:`openvod.media.probe.probe`::

    python -m openvod.media._avprobe --max-pixels N [--own-output] -- PATH

Exit status 0 prints ``{"streams": [...], "format": {...}}``; exit status :data:`EXIT_REJECTED`
prints ``{"error": "...", "code": "..."}`` for input that is not media, is truncated/corrupt, is
a reference format (HLS, ffconcat, ...; see :mod:`openvod.media.inputs`) or has frames above
``max_pixels``; :data:`EXIT_OUT_OF_MEMORY` means the worker ran out of its address space.
Anything else (a libav crash, an unexpected exception) is the parent's to report. The output mirrors
``ffprobe -print_format json -show_format -show_streams`` (FFmpeg 7): the same field names, with
strings where ffprobe prints strings and fields ffprobe would print as N/A left out.

Known differences from ffprobe, because PyAV does not expose the data:

* ``probe_score`` is always 100: PyAV does not return libavformat's score, and a file reaches
  this point only when a demuxer accepted it and found at least one audio or video stream.
* ``side_data_list`` (the Display Matrix) comes from the first decoded frame of the first video
  stream, because PyAV 18 does not expose a stream's coded side data; other video streams have
  none. ``coded_width``/``coded_height`` are likewise known only for that stream.
* ``codec_long_name`` is the decoder's long name (e.g. libdav1d's for AV1), not the descriptor's.
"""

from __future__ import annotations

import json
import math
import os
import re
import struct
import sys
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import av.error
import av.logging
from av.container import InputContainer
from av.stream import Disposition, Stream
from av.video.frame import VideoFrame
from av.video.stream import VideoStream

from openvod.media.inputs import (
    FRAME_TOO_LARGE_CODE,
    UNSUPPORTED_CONTAINER_CODE,
    decoder_options,
    demuxer_options,
)
from openvod.media.probe import EXIT_OUT_OF_MEMORY, EXIT_REJECTED

__all__ = ["Rejected", "inspect", "main"]


_FIRST_FRAME_PACKETS = 64  # packets to read looking for the first decodable video frame
_PROBE_SCORE = 100
# Demuxers that accept files which are not audio or video (tty renders .txt files as "video").
_NOT_MEDIA_FORMATS = frozenset({"tty"})
# Demuxers that open the files or URLs their input names (for the refusal's message).
_REFERENCE_FORMATS = frozenset({"hls", "dash", "concat", "image2", "image2pipe", "webm_dash_manifest", "svg_pipe",
                                "mov_refs", "imf", "ffmetadata", "lavfi", "avisynth", "vapoursynth"})
# Leading bytes of containers we accept: a failure on such a file means truncated or corrupt.
_SIGNATURES: tuple[tuple[int, bytes], ...] = (
    (4, b"ftyp"),  # MP4 / MOV / 3GP
    (4, b"moov"),
    (4, b"mdat"),
    (4, b"wide"),
    (4, b"free"),
    (0, b"\x1a\x45\xdf\xa3"),  # Matroska / WebM
    (0, b"RIFF"),  # AVI / WAV
    (0, b"OggS"),
    (0, b"FLV"),
    (0, b"ID3"),  # MP3
    (0, b"fLaC"),
    (0, b"\x00\x00\x01\xba"),  # MPEG-PS
    (0, b"\x30\x26\xb2\x75"),  # ASF / WMV
)


_WHITELIST_REFUSAL = "Format not on whitelist"
_PIXELS_REFUSAL = re.compile(r"Picture size (\d+)x(\d+) exceeds specified max pixel count")


class Rejected(Exception):
    """The input is not a media file, or is truncated or corrupt (message says which)."""

    def __init__(self, message: str, code: str | None = None) -> None:
        super().__init__(message)
        self.code = code


def _looks_like_container(head: bytes) -> bool:
    if len(head) >= 189 and head[0] == 0x47 and head[188] == 0x47:  # MPEG-TS sync bytes
        return True
    return any(head[offset : offset + len(magic)] == magic for offset, magic in _SIGNATURES)


def _rejected(path: Path, reason: str) -> Rejected:
    with path.open("rb") as fh:
        head = fh.read(512)
    kind = "truncated or corrupt" if _looks_like_container(head) else "not a media file"
    return Rejected(f"{kind}: {path} ({reason})")


def _seconds(value: int | None, time_base: Fraction | None) -> str | None:
    if value is None or time_base is None:
        return None
    return f"{float(value * time_base):f}"


def _ratio(value: Fraction | None, sep: str = "/") -> str:
    if value is None:
        return f"0{sep}0"
    return f"{value.numerator}{sep}{value.denominator}"


def _fourcc(tag: str) -> tuple[str, str]:
    """``(codec_tag_string, codec_tag)`` as ffprobe prints them (``av_fourcc_make_string``)."""
    raw = tag.encode("latin-1")
    text = "".join(
        chr(c) if chr(c).isascii() and (chr(c).isalnum() or chr(c) in ". -_") else f"[{c}]" for c in raw
    )
    return text, f"0x{int.from_bytes(raw, 'little'):04x}"


def _disposition(flags: Disposition) -> dict[str, int]:
    return {flag.name: int(flag in flags) for flag in Disposition if flag.name is not None}


def _stream(stream: Stream) -> dict[str, Any]:
    # Streams without a decoder (data, unknown codecs) have no codec context.
    ctx: Any = getattr(stream, "codec_context", None)
    out: dict[str, Any] = {"index": stream.index}
    if ctx is not None:
        out["codec_name"] = ctx.codec.canonical_name
        out["codec_long_name"] = ctx.codec.long_name
        if stream.profile:
            out["profile"] = stream.profile
    out["codec_type"] = stream.type
    try:
        out["codec_tag_string"], out["codec_tag"] = _fourcc(stream.codec_tag)
    except (AttributeError, UnicodeDecodeError):
        pass  # PyAV decodes the tag as ASCII and fails on other bytes
    if ctx is not None and stream.type == "video":
        out["width"], out["height"] = ctx.width, ctx.height
        sar = getattr(stream, "sample_aspect_ratio", None)
        if sar and ctx.width and ctx.height:
            out["sample_aspect_ratio"] = _ratio(sar, ":")
            out["display_aspect_ratio"] = _ratio(Fraction(ctx.width * sar, ctx.height), ":")
        if ctx.pix_fmt:
            out["pix_fmt"] = ctx.pix_fmt
        out["level"] = ctx.level
    elif ctx is not None and stream.type == "audio":
        if ctx.format is not None:
            out["sample_fmt"] = ctx.format.name
        out["sample_rate"] = str(ctx.sample_rate)
        out["channels"] = ctx.channels
        if ctx.layout is not None and ctx.layout.name:
            out["channel_layout"] = ctx.layout.name
    if isinstance(stream, VideoStream):
        out["r_frame_rate"] = _ratio(stream.base_rate)
        out["avg_frame_rate"] = _ratio(stream.average_rate)
    else:
        out["r_frame_rate"] = out["avg_frame_rate"] = "0/0"
    out["time_base"] = _ratio(stream.time_base)
    for key, ts_key, value in (
        ("start_time", "start_pts", stream.start_time),
        ("duration", "duration_ts", stream.duration),
    ):
        seconds = _seconds(value, stream.time_base)
        if seconds is not None:
            out[ts_key], out[key] = value, seconds
    if ctx is not None and ctx.bit_rate:
        out["bit_rate"] = str(ctx.bit_rate)
    if stream.frames:
        out["nb_frames"] = str(stream.frames)
    out["disposition"] = _disposition(stream.disposition)
    if stream.metadata:
        out["tags"] = dict(stream.metadata)
    return out


def _usable(stream: dict[str, Any]) -> bool:
    if stream["codec_type"] == "video":
        return bool(stream.get("width")) and bool(stream.get("height"))
    return stream["codec_type"] == "audio" and str(stream.get("sample_rate", "0")) != "0"


def _first_frame(container: InputContainer, stream: VideoStream, max_pixels: int) -> VideoFrame | None:
    stream.codec_context.options = {**stream.codec_context.options, **decoder_options(max_pixels)}
    try:
        for count, packet in enumerate(container.demux(stream)):
            for frame in packet.decode():
                return frame
            if count >= _FIRST_FRAME_PACKETS:
                break
    except (av.error.FFmpegError, ValueError):
        pass  # an undecodable picture still leaves the container-level facts worth reporting
    return None


def _display_rotation(matrix: tuple[int, ...]) -> float | None:
    """``av_display_rotation_get``: the counter-clockwise angle in degrees, or None if degenerate."""
    a, b, _, c, d = (v / 65536 for v in matrix[:5])
    scale_x, scale_y = math.hypot(a, c), math.hypot(b, d)
    if scale_x == 0 or scale_y == 0:
        return None
    return -math.degrees(math.atan2(b / scale_y, a / scale_x))


def _display_matrix_side_data(matrix: tuple[int, ...]) -> dict[str, Any]:
    rows = "".join(
        f"{row:08x}: " + "".join(f" {v:11d}" for v in matrix[3 * row : 3 * row + 3]) + "\n"
        for row in range(3)
    )
    rotation = _display_rotation(matrix)
    return {
        "side_data_type": "Display Matrix",
        "displaymatrix": "\n" + rows,
        "rotation": 0 if rotation is None else round(rotation),
    }


def _add_first_frame_facts(container: InputContainer, streams: list[dict[str, Any]], max_pixels: int) -> None:
    """Coded size and Display Matrix from the first frame of the first non-cover video stream."""
    for stream in container.streams.video:
        if stream.codec_context is None or Disposition.attached_pic in stream.disposition:
            continue
        entry = streams[stream.index]
        frame = _first_frame(container, stream, max_pixels)
        if frame is None:
            return
        ctx = stream.codec_context
        if ctx.coded_width and ctx.coded_height:
            entry["coded_width"], entry["coded_height"] = ctx.coded_width, ctx.coded_height
        side_data_list: Any = frame.side_data  # the stubs type its items as str; they are SideData
        for side_data in side_data_list:
            raw = bytes(side_data)
            if side_data.type.name == "DISPLAYMATRIX" and len(raw) == 36:
                matrix = struct.unpack("<9i", raw)
                entry["side_data_list"] = [_display_matrix_side_data(matrix)]
                rotation = _display_rotation(matrix)
                tags = entry.setdefault("tags", {})
                if rotation and "rotate" not in tags:
                    # What ffprobe < 5 showed: the clockwise turn a player applies, 0-359.
                    tags["rotate"] = str(round(-rotation) % 360)
        return


def _format(container: InputContainer, path: Path, nb_streams: int) -> dict[str, Any]:
    fmt = container.format
    out: dict[str, Any] = {
        "filename": str(path),
        "nb_streams": nb_streams,
        "format_name": fmt.name,
        "format_long_name": fmt.long_name,
    }
    for key, value in (("start_time", container.start_time), ("duration", container.duration)):
        seconds = _seconds(value, Fraction(1, av.time_base))
        if seconds is not None:
            out[key] = seconds
    out["size"] = str(path.stat().st_size)
    if container.bit_rate:
        out["bit_rate"] = str(container.bit_rate)
    out["probe_score"] = _PROBE_SCORE
    if container.metadata:
        out["tags"] = dict(container.metadata)
    return out


def _libav_reason(exc: av.error.FFmpegError) -> str:
    """libav's error text plus its last log line (e.g. "moov atom not found"), without the path."""
    _, found, last_log = str(exc).partition("; last error log: ")
    reason = str(exc.strerror or type(exc).__name__)
    return f"{reason}: {last_log.strip()}" if found else reason


def _format_description(name: str) -> str:
    try:
        long_name = av.ContainerFormat(name, "r").long_name
    except ValueError:
        return name
    return f"{long_name} ({name})"


def _refused_format(path: Path, logs: list[tuple[int, str, str]]) -> Rejected | None:
    """The format allowlist's refusal, naming the detected format (libav logs it under its name)."""
    for _, name, message in logs:
        if not message.startswith(_WHITELIST_REFUSAL):
            continue
        if name in _NOT_MEDIA_FORMATS:
            return Rejected(f"not a media file: {path} (read as {_format_description(name)})")
        why = "a format that refers to other files or URLs" if name in _REFERENCE_FORMATS else "not accepted"
        return Rejected(
            f"unsupported container: {path} is {_format_description(name)}, {why}; upload one "
            "self-contained media file (MP4, MOV, MKV, WebM, TS, FLV, AVI, MP3, WAV, ...)",
            UNSUPPORTED_CONTAINER_CODE,
        )
    return None


def _too_large(path: Path, width: int, height: int, max_pixels: int) -> Rejected:
    return Rejected(
        f"frame too large: {path} has {width}x{height} frames ({width * height} pixels), more than "
        f"{max_pixels} (setting max_pixels)",
        FRAME_TOO_LARGE_CODE,
    )


def _refused_pixels(path: Path, logs: list[tuple[int, str, str]], max_pixels: int) -> Rejected | None:
    for _, _, message in logs:
        match = _PIXELS_REFUSAL.match(message)
        if match:
            return _too_large(path, int(match[1]), int(match[2]), max_pixels)
    return None


def _check_sizes(path: Path, container: InputContainer, max_pixels: int) -> None:
    for stream in container.streams.video:
        ctx = stream.codec_context
        if ctx is not None and ctx.width * ctx.height > max_pixels:
            raise _too_large(path, ctx.width, ctx.height, max_pixels)


def inspect(path: Path, *, max_pixels: int, own_output: bool = False) -> dict[str, Any]:
    """ffprobe-compatible JSON for ``path``; raises :class:`Rejected` for unusable input.

    Opens only formats from :mod:`openvod.media.inputs` (an HLS playlist OpenVOD wrote too, with
    ``own_output``) and refuses frames above ``max_pixels`` before decoding one.
    """
    with av.logging.Capture() as logs:
        try:
            container = av.open(
                str(path),
                metadata_errors="replace",
                container_options=demuxer_options(own_output=own_output),
                # Reaches the decoders avformat_find_stream_info opens (for formats that expose
                # their streams in the header), so a huge declared frame is never allocated.
                options=decoder_options(max_pixels),
            )
        except av.error.FFmpegError as exc:
            raise _refused_format(path, logs) or _rejected(path, _libav_reason(exc)) from exc
    with container:
        if container.format.name in _NOT_MEDIA_FORMATS:
            raise Rejected(f"not a media file: {path} (read as {container.format.long_name})")
        _check_sizes(path, container, max_pixels)
        streams = [_stream(stream) for stream in container.streams]
        if not any(_usable(stream) for stream in streams):
            raise _refused_pixels(path, logs, max_pixels) or _rejected(path, "no decodable audio or video stream")
        _add_first_frame_facts(container, streams, max_pixels)
        return {"streams": streams, "format": _format(container, path, len(streams))}


_USAGE = "usage: python -m openvod.media._avprobe --max-pixels N [--own-output] -- PATH"


def main(argv: list[str]) -> int:
    own_output = "--own-output" in argv[:3]
    rest = [a for a in argv[:3] if a != "--own-output"] + argv[3:]
    valid = len(rest) == 4 and rest[0] == "--max-pixels" and rest[2] == "--"
    if not valid or not (rest[1].isascii() and rest[1].isdecimal()):
        print(_USAGE, file=sys.stderr)
        return 2
    # Lets libav's last error line ("moov atom not found") reach the exception text and stderr.
    av.logging.set_level(av.logging.ERROR)
    try:
        result: dict[str, Any] = inspect(Path(rest[3]), max_pixels=int(rest[1]), own_output=own_output)
    except Rejected as exc:
        result, status = {"error": str(exc), "code": exc.code}, EXIT_REJECTED
    except MemoryError:
        os._exit(EXIT_OUT_OF_MEMORY)  # reporting it could need the memory that is missing
    else:
        status = 0
    json.dump(result, sys.stdout)
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
