"""MPEG-DASH manifests over a written fMP4 ladder: the DASH half of CMAF packaging.

    ladder = finish_ladder(out_dir)                   # an fMP4 (segment_type="fmp4") HLS ladder
    mpd = write_mpd(ladder, out_dir / MPD_NAME)       # manifest.mpd naming the very same files

The HLS ladder's init and media segments are already CMAF: one track per file, every rung cut at
the same keyframes. The MPD references those files where they lie, so one set of segments serves
both manifests (half the storage of two ladders). Each Representation has a ``SegmentList`` with
an explicit ``SegmentTimeline``, timed from the segments themselves (``tfdt`` and sample
durations, :mod:`openvod.media.mp4frag`), not from the playlists' rounded ``EXTINF``s; segment
references are plain relative URLs (``sourceURL``/``media`` attributes), so a server can sign
each one as it serves the manifest, as it does HLS playlists. Video rungs are grouped into one
``AdaptationSet`` per codec (players switch within a set, and a set should not mix codecs).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from xml.sax.saxutils import quoteattr

from openvod.errors import MediaError
from openvod.media.ladder import LadderOutputs, Rendition
from openvod.media.mp4frag import fragment_timing, track_timescale

__all__ = ["MPD_NAME", "DashManifest", "write_mpd"]

MPD_NAME = "manifest.mpd"
_NS = "urn:mpeg:dash:schema:mpd:2011"
_PROFILES = "urn:mpeg:dash:profile:isoff-main:2011,urn:mpeg:dash:profile:cmaf:2019"


@dataclass(frozen=True)
class DashManifest:
    """A written MPD: its ``path``, its ``duration`` in seconds, and ``files``, every init and
    media segment it references (all already in the ladder)."""

    path: Path
    duration: float
    files: tuple[Path, ...]


@dataclass(frozen=True)
class _Timed:
    rendition: Rendition
    timescale: int
    times: tuple[tuple[int, int], ...]  # (start, duration) per segment, in timescale ticks
    bandwidth: int

    @property
    def seconds(self) -> float:
        return sum(d for _, d in self.times) / self.timescale


def _timed(r: Rendition) -> _Timed:
    if r.init is None:
        raise MediaError(f"{r.playlist.name} has no EXT-X-MAP init segment: DASH needs an fMP4 ladder",
                         code="FailedOperation.UnsupportedFormat")
    scale = track_timescale(r.init)
    times = tuple(fragment_timing(seg, r.init) for seg in r.segments)
    peak = 0.0
    for seg, (_, ticks) in zip(r.segments, times, strict=True):
        if ticks > 0:
            peak = max(peak, seg.stat().st_size * 8 * scale / ticks)
    return _Timed(r, scale, times, max(1, math.ceil(peak)))


def _timeline(times: tuple[tuple[int, int], ...]) -> str:
    """``<S t= d= r=>`` runs: consecutive segments of one duration share an ``S``."""
    runs: list[list[int]] = []  # [t, d, repeats]
    for start, dur in times:
        last = runs[-1] if runs else None
        if last is not None and dur == last[1] and start == last[0] + last[1] * (last[2] + 1):
            last[2] += 1
        else:
            runs.append([start, dur, 0])
    return "".join(f'<S t="{t}" d="{d}"{f" r={quoteattr(str(n))}" if n else ""}/>' for t, d, n in runs)


def _rel(path: Path, base: Path) -> str:
    return path.relative_to(base).as_posix()


def _representation(rid: str, t: _Timed, base: Path, extra: str) -> str:
    r = t.rendition
    urls = "".join(f"<SegmentURL media={quoteattr(_rel(s, base))}/>" for s in r.segments)
    init = r.init
    assert init is not None  # checked by _timed
    return (f"<Representation id={quoteattr(rid)} bandwidth=\"{t.bandwidth}\"{extra}>"
            f"<SegmentList timescale=\"{t.timescale}\"><Initialization sourceURL={quoteattr(_rel(init, base))}/>"
            f"<SegmentTimeline>{_timeline(t.times)}</SegmentTimeline>{urls}</SegmentList></Representation>")


def _split_codecs(codecs: str) -> tuple[str, str]:
    """(video, audio) entries of an HLS ``CODECS`` attribute."""
    video = audio = ""
    for entry in (c.strip() for c in codecs.split(",") if c.strip()):
        if entry.startswith(("mp4a", "ac-3", "ec-3", "opus", "fLaC")):
            audio = audio or entry
        else:
            video = video or entry
    return video, audio


def _iso_duration(seconds: float) -> str:
    return f"PT{seconds:.3f}S"


def write_mpd(ladder: LadderOutputs, path: Path) -> DashManifest:
    """Write a static MPD at ``path`` (beside the ladder's files) for fMP4 ladder ``ladder``.

    Raises :class:`~openvod.errors.MediaError` (``FailedOperation.UnsupportedFormat``) for an
    MPEG-TS ladder, which DASH cannot carry."""
    base = path.parent
    sets: dict[str, list[str]] = {}
    audio_codec = ""
    longest = 0.0
    files: list[Path] = []
    video_variants = [v for v in ladder.variants if v.width]
    for i, v in enumerate(video_variants):
        t = _timed(v)
        video, audio = _split_codecs(v.codecs)
        audio_codec = audio_codec or audio
        extra = f' width="{v.width}" height="{v.height}" sar="1:1"' + (f" codecs={quoteattr(video)}" if video else "")
        family = video.split(".", 1)[0] or "video"
        sets.setdefault(family, []).append(_representation(f"v{i}", t, base, extra))
        longest = max(longest, t.seconds)
        files += [*([v.init] if v.init else []), *v.segments]
    audio_rendition = ladder.audio or next((v for v in ladder.variants if not v.width), None)
    body: list[str] = []
    for n, (_family, reps) in enumerate(sets.items()):
        body.append(f'<AdaptationSet id="{n}" contentType="video" mimeType="video/mp4" segmentAlignment="true" '
                    f'startWithSAP="1">{"".join(reps)}</AdaptationSet>')
    if audio_rendition is not None:
        t = _timed(audio_rendition)
        if not audio_codec:
            audio_codec = _split_codecs(audio_rendition.codecs)[1] or "mp4a.40.2"
        extra = f" codecs={quoteattr(audio_codec)}"
        body.append(f'<AdaptationSet id="{len(sets)}" contentType="audio" mimeType="audio/mp4" lang="und" '
                    f'segmentAlignment="true" startWithSAP="1">'
                    f'<AudioChannelConfiguration schemeIdUri="urn:mpeg:dash:23003:3:audio_channel_configuration:2011" '
                    f'value="2"/>{_representation("audio", t, base, extra)}</AdaptationSet>')
        longest = max(longest, t.seconds) if not video_variants else longest
        files += [*([audio_rendition.init] if audio_rendition.init else []), *audio_rendition.segments]
    if not body:
        raise MediaError(f"the ladder at {ladder.master} has no renditions to put in an MPD")
    segment_max = max((d for r in (*video_variants, *([audio_rendition] if audio_rendition else []))
                       for d in r.durations), default=1.0)
    text = (f'<?xml version="1.0" encoding="utf-8"?>\n'
            f'<MPD xmlns="{_NS}" profiles="{_PROFILES}" type="static" '
            f'mediaPresentationDuration="{_iso_duration(longest)}" minBufferTime="{_iso_duration(segment_max)}" '
            f'maxSegmentDuration="{_iso_duration(segment_max)}">\n'
            f'<Period id="0" start="PT0S">\n' + "\n".join(body) + "\n</Period>\n</MPD>\n")
    path.write_text(text, encoding="utf-8")
    return DashManifest(path=path, duration=longest, files=tuple(dict.fromkeys(files)))
