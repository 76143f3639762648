"""Timing read from fragmented MP4 (CMAF) files: what a DASH manifest's timeline needs.

    timescale = track_timescale(Path("v0_init.mp4"))       # mdhd of the one track: 12800
    start, length = fragment_timing(Path("v0_00000.m4s"))   # tfdt and summed trun durations

Only the boxes on the way are parsed (ISO/IEC 14496-12: ``moov/trak/mdia/mdhd``,
``moov/mvex/trex``, ``moof/traf/{tfhd,tfdt,trun}``); files FFmpeg's HLS muxer writes hold one
track each. A malformed file is a :class:`~openvod.errors.MediaError`, never a crash.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from pathlib import Path

from openvod.errors import MediaError

__all__ = ["fragment_timing", "track_timescale"]

_CONTAINERS = {b"moov", b"trak", b"mdia", b"mvex", b"moof", b"traf"}
_MAX_BOX_FILE = 512 * 1024 * 1024  # a segment this big is not one FFmpeg wrote for a ladder


def _boxes(data: bytes, start: int, end: int, where: Path) -> Iterator[tuple[bytes, int, int]]:
    """(type, payload start, payload end) of the boxes in ``data[start:end]``."""
    pos = start
    while pos + 8 <= end:
        size, kind = struct.unpack_from(">I4s", data, pos)
        header = 8
        if size == 1:
            if pos + 16 > end:
                break
            size, header = struct.unpack_from(">Q", data, pos + 8)[0], 16
        elif size == 0:
            size = end - pos
        if size < header or pos + size > end:
            raise MediaError(f"{where.name}: box {kind!r} at byte {pos} overruns its parent",
                             code="FailedOperation.Mp4")
        yield kind, pos + header, pos + size
        pos += size


def _find(data: bytes, path: tuple[bytes, ...], where: Path) -> list[tuple[int, int]]:
    """Payload ranges of every box at ``path`` (e.g. ``(b"moof", b"traf", b"trun")``)."""
    found = [(0, len(data))]
    for kind in path:
        found = [(s, e) for start, end in found for k, s, e in _boxes(data, start, end, where) if k == kind]
    return found


def _read(path: Path) -> bytes:
    try:
        if path.stat().st_size > _MAX_BOX_FILE:
            raise MediaError(f"{path.name} is over {_MAX_BOX_FILE} bytes: not a ladder segment",
                             code="FailedOperation.Mp4")
        return path.read_bytes()
    except OSError as exc:
        raise MediaError(f"cannot read {path}: {exc}", code="FailedOperation.Mp4") from exc


def track_timescale(init: Path) -> int:
    """Ticks per second of the (first) track of init segment ``init`` (its ``mdhd``)."""
    data = _read(init)
    found = _find(data, (b"moov", b"trak", b"mdia", b"mdhd"), init)
    if not found:
        raise MediaError(f"{init.name} has no moov/trak/mdia/mdhd box: not an MP4 init segment",
                         code="FailedOperation.Mp4")
    start, _ = found[0]
    version = data[start]
    scale = struct.unpack_from(">I", data, start + (20 if version == 1 else 12))[0]
    if not scale:
        raise MediaError(f"{init.name}: the track's timescale is 0", code="FailedOperation.Mp4")
    return int(scale)


def _default_duration(init: Path | None) -> int:
    if init is None:
        return 0
    data = _read(init)
    found = _find(data, (b"moov", b"mvex", b"trex"), init)
    return int(struct.unpack_from(">I", data, found[0][0] + 12)[0]) if found else 0


def fragment_timing(segment: Path, init: Path | None = None) -> tuple[int, int]:
    """``(start, duration)`` of media segment ``segment`` in its track's timescale: the first
    fragment's ``tfdt`` decode time, and the sum of every sample's duration in all its fragments
    (from ``trun``, else ``tfhd``'s default, else ``init``'s ``trex`` default)."""
    data = _read(segment)
    trex_default: int | None = None
    start: int | None = None
    total = 0
    for t0, t1 in _find(data, (b"moof", b"traf"), segment):
        default = None
        for kind, s, _e in _boxes(data, t0, t1, segment):
            if kind == b"tfhd":
                flags = int.from_bytes(data[s + 1:s + 4], "big")
                pos = s + 8 + (8 if flags & 0x1 else 0) + (4 if flags & 0x2 else 0)
                if flags & 0x8:
                    default = struct.unpack_from(">I", data, pos)[0]
            elif kind == b"tfdt" and start is None:
                start = struct.unpack_from(">Q" if data[s] == 1 else ">I", data, s + 4)[0]
            elif kind == b"trun":
                flags = int.from_bytes(data[s + 1:s + 4], "big")
                count = struct.unpack_from(">I", data, s + 4)[0]
                pos = s + 8 + (4 if flags & 0x1 else 0) + (4 if flags & 0x4 else 0)
                per = 4 * bin(flags & 0xF00).count("1")
                if flags & 0x100:
                    total += sum(struct.unpack_from(">I", data, pos + i * per)[0] for i in range(count))
                else:
                    if default is None:
                        if trex_default is None:
                            trex_default = _default_duration(init)
                        default = trex_default
                    total += default * count
    if start is None:
        raise MediaError(f"{segment.name} has no moof/traf/tfdt box: not a fragmented MP4 segment",
                         code="FailedOperation.Mp4")
    return int(start), int(total)
