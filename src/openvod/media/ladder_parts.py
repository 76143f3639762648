"""A ladder made in parts, for publishing early: the lowest rung first, the others after.

    low, high = split_rungs(spec, source)          # two specs, or None when one run is all there is
    # run build_ladder(low, ..., out_dir / "low") and finish_ladder(out_dir / "low"), then
    ladder = combine_ladders(out_dir, ["low"])     # out_dir/master.m3u8: playable now
    # run build_ladder(high, ..., out_dir / "high", audio=False) and finish it, then
    ladder = combine_ladders(out_dir, ["low", "high"])   # the whole ladder, largest rung first

Both runs force keyframes at the same segment times (``expr:gte(t,n_forced*seg)`` and a GOP of
one segment), so the rungs of the two parts stay switchable at every segment. The audio is encoded
once, by the first part; the top master names each part's playlists under its subdirectory.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

from openvod.errors import MediaError
from openvod.media.ladder import (
    MASTER_PLAYLIST,
    AdaptiveStreamingSpec,
    LadderOutputs,
    finish_ladder,
    plan_rungs,
)
from openvod.media.ladder_files import playlist_attributes
from openvod.media.transcode import SourceInfo

__all__ = ["combine_ladders", "split_rungs", "without_audio"]

_URI = re.compile(r'URI="([^"]*)"')


def split_rungs(spec: AdaptiveStreamingSpec,
                source: SourceInfo) -> tuple[AdaptiveStreamingSpec, AdaptiveStreamingSpec] | None:
    """``(lowest rung, the other rungs)`` as two specs, or None when the source plans fewer than
    two video rungs (nothing to gain by splitting)."""
    planned = plan_rungs(spec, source)
    if len(planned) < 2:
        return None
    rungs = [rung for _, _, rung in planned]
    return replace(spec, rungs=(rungs[-1],)), replace(spec, rungs=tuple(rungs[:-1]))


def without_audio(source: SourceInfo) -> SourceInfo:
    """``source`` as a later part sees it: its audio is already in the first part."""
    return replace(source, has_audio=False)


def combine_ladders(out_dir: Path, parts: Sequence[str]) -> LadderOutputs:
    """Write ``out_dir/master.m3u8`` naming every variant of the finished ladders in the
    subdirectories ``parts`` (largest first) and the first audio rendition found, which every
    variant then refers to (``AUDIO`` group, its codec added to ``CODECS``); then make it hold
    RFC 8216 with :func:`~openvod.media.ladder.finish_ladder` (bandwidths count the audio)."""
    version = "#EXT-X-VERSION:7"
    audio_line: str | None = None
    group = audio_codec = ""
    variants: list[tuple[int, int, str, str]] = []  # (height, bandwidth, STREAM-INF attributes, uri)
    for part in parts:
        master = out_dir / part / MASTER_PLAYLIST
        if not master.is_file():
            raise MediaError(f"no HLS master playlist at {master}; did that part of the ladder run?")
        pending: str | None = None
        for line in master.read_text(encoding="utf-8").splitlines():
            line = line.strip()
            if line.startswith("#EXT-X-VERSION:"):
                version = max(version, line)
            elif line.startswith("#EXT-X-MEDIA:") and audio_line is None \
                    and (media := playlist_attributes(line)).get("TYPE") == "AUDIO":
                found = _URI.search(line)
                audio_line = line.replace(found.group(0), f'URI="{part}/{found.group(1)}"') if found else line
                group = media.get("GROUP-ID", "")
            elif line.startswith("#EXT-X-STREAM-INF:"):
                pending = line.split(":", 1)[1]
                codecs = playlist_attributes(pending).get("CODECS", "")
                audio_codec = audio_codec or next((c for c in codecs.split(",") if c.startswith("mp4a")), "")
            elif line and not line.startswith("#") and pending is not None:
                own = playlist_attributes(pending)
                height = int(own.get("RESOLUTION", "0x0").partition("x")[2] or 0)
                variants.append((height, int(own.get("BANDWIDTH", 0)), pending, f"{part}/{line}"))
                pending = None
    out = ["#EXTM3U", version, "#EXT-X-INDEPENDENT-SEGMENTS", *([audio_line] if audio_line else [])]
    for _, _, attrs, uri in sorted(variants, key=lambda v: (v[0], v[1]), reverse=True):
        own = playlist_attributes(attrs)
        if group and "AUDIO" not in own:
            attrs += f',AUDIO="{group}"'
        if audio_codec and "CODECS" in own and audio_codec not in own["CODECS"].split(","):
            attrs = attrs.replace(f'CODECS="{own["CODECS"]}"', f'CODECS="{own["CODECS"]},{audio_codec}"')
        out += [f"#EXT-X-STREAM-INF:{attrs}", uri]
    (out_dir / MASTER_PLAYLIST).write_text("\n".join(out) + "\n", encoding="utf-8")
    return finish_ladder(out_dir)
