"""A written HLS ladder read back from its playlists, and made to hold RFC 8216 once FFmpeg has run.

    ladder = finish_ladder(out_dir)     # fix target durations and bandwidths, then read it back
    ladder.master, [v.codecs for v in ladder.variants], ladder.files

Playlists name their files relative to themselves (a master may name playlists in
subdirectories: :mod:`openvod.media.ladder_parts`); a name leaving ``out_dir`` is refused.
:mod:`openvod.media.ladder` re-exports these names.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, replace
from pathlib import Path

from openvod.errors import MediaError

__all__ = ["MASTER_PLAYLIST", "LadderOutputs", "Rendition", "finish_ladder", "ladder_outputs", "playlist_attributes"]

MASTER_PLAYLIST = "master.m3u8"
_TAG = re.compile(r"#(EXT[A-Z0-9-]+):?(.*)")
_ATTR = re.compile(r'([A-Z0-9-]+)=("[^"]*"|[^,]*)')


@dataclass(frozen=True)
class Rendition:
    """One media playlist and its files, as the playlists describe them. ``width``/``height``/
    ``bandwidth``/``codecs`` come from the master (``None``/``""`` for an audio group member)."""

    playlist: Path
    segments: tuple[Path, ...]
    durations: tuple[float, ...]
    init: Path | None = None
    key_uris: tuple[str, ...] = ()
    width: int | None = None
    height: int | None = None
    bandwidth: int | None = None
    codecs: str = ""


@dataclass(frozen=True)
class LadderOutputs:
    """A written ladder: ``variants`` are the master's ``EXT-X-STREAM-INF`` entries (for an
    audio-only ladder, its one audio rendition), ``audio`` its ``EXT-X-MEDIA`` audio rendition."""

    master: Path
    variants: tuple[Rendition, ...]
    audio: Rendition | None

    @property
    def files(self) -> list[Path]:
        """Every file of the ladder: the master, then each rendition's playlist, init and segments."""
        out = [self.master]
        for r in (*self.variants, *([self.audio] if self.audio else [])):
            out += [r.playlist, *([r.init] if r.init else []), *r.segments]
        return list(dict.fromkeys(out))


def playlist_attributes(text: str) -> dict[str, str]:
    """The ``NAME=value`` attributes of an HLS tag (quotes removed)."""
    return {k: v.strip('"') for k, v in _ATTR.findall(text)}


def _inside(out_dir: Path, uri: str, base: Path | None = None) -> Path:
    """``uri`` as a playlist in ``base`` (default ``out_dir``) names it: relative to the playlist."""
    where = base if base is not None else out_dir
    path = (where / uri).resolve()
    if "://" in uri or not path.is_relative_to(out_dir.resolve()):
        raise MediaError(f"HLS playlist in {where} names {uri!r}, outside the ladder")
    return where / uri


def _media_playlist(out_dir: Path, uri: str) -> Rendition:
    playlist = _inside(out_dir, uri)
    segments: list[Path] = []
    durations: list[float] = []
    init: Path | None = None
    keys: list[str] = []
    pending: float | None = None
    for line in playlist.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        tag = _TAG.fullmatch(line)
        if tag:
            name, value = tag.groups()
            if name == "EXTINF":
                pending = float(value.split(",", 1)[0])
            elif name == "EXT-X-MAP":
                init = _inside(out_dir, playlist_attributes(value)["URI"], playlist.parent)
            elif name == "EXT-X-KEY" and "URI" in playlist_attributes(value):
                keys.append(playlist_attributes(value)["URI"])
        elif line and not line.startswith("#"):
            segments.append(_inside(out_dir, line, playlist.parent))
            durations.append(pending if pending is not None else 0.0)
            pending = None
    return Rendition(playlist=playlist, segments=tuple(segments), durations=tuple(durations), init=init,
                     key_uris=tuple(dict.fromkeys(keys)))


def ladder_outputs(out_dir: Path) -> LadderOutputs:
    """Read a written ladder back from ``out_dir/master.m3u8`` and the playlists it names.

    Raises :class:`~openvod.errors.MediaError` when the master is missing or names files outside
    ``out_dir``.
    """
    master = out_dir / MASTER_PLAYLIST
    if not master.is_file():
        raise MediaError(f"no HLS master playlist at {master}; did the ladder run finish?")
    variants: list[Rendition] = []
    audio: Rendition | None = None
    stream_inf: dict[str, str] | None = None
    for line in master.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        tag = _TAG.fullmatch(line)
        if tag:
            name, value = tag.groups()
            if name == "EXT-X-STREAM-INF":
                stream_inf = playlist_attributes(value)
            elif name == "EXT-X-MEDIA":
                media = playlist_attributes(value)
                if media.get("TYPE") == "AUDIO" and "URI" in media:
                    audio = _media_playlist(out_dir, media["URI"])
        elif line and not line.startswith("#") and stream_inf is not None:
            width = height = None
            if "RESOLUTION" in stream_inf:
                w, _, h = stream_inf["RESOLUTION"].partition("x")
                width, height = int(w), int(h)
            variants.append(replace(_media_playlist(out_dir, line), width=width, height=height,
                                    bandwidth=int(stream_inf.get("BANDWIDTH", 0)) or None,
                                    codecs=stream_inf.get("CODECS", "")))
            stream_inf = None
    return LadderOutputs(master=master, variants=tuple(variants), audio=audio)


def _peak_rate(sizes: list[int], durations: tuple[float, ...], target: float) -> float:
    """RFC 8216 §4.3.4.2's peak segment bit rate: the highest bit rate of any run of contiguous
    segments lasting 0.5-1.5 target durations (the whole playlist when no run qualifies)."""
    best = 0.0
    for i in range(len(sizes)):
        bits, dur = 0, 0.0
        for j in range(i, len(sizes)):
            bits, dur = bits + sizes[j] * 8, dur + durations[j]
            if dur > 1.5 * target:
                break
            if dur >= 0.5 * target:
                best = max(best, bits / dur)
    total = sum(durations)
    return best or (sum(sizes) * 8 / total if total > 0 else 0.0)


def _rates(r: Rendition) -> tuple[float, float]:
    """(peak, average) bit rate of a rendition, measured from its segment files (init included)."""
    sizes = [p.stat().st_size for p in r.segments]
    total = sum(r.durations)
    if not sizes or total <= 0:
        return 0.0, 0.0
    init = r.init.stat().st_size if r.init else 0
    target = max(1, max(math.floor(d + 0.5) for d in r.durations))
    return _peak_rate(sizes, r.durations, target) + init * 8 / total, (sum(sizes) + init) * 8 / total


def _fix_target_duration(r: Rendition) -> None:
    """Raise ``EXT-X-TARGETDURATION`` to every segment's rounded duration (RFC 8216 §4.3.3.1)."""
    need = max((math.floor(d + 0.5) for d in r.durations), default=1)
    lines = r.playlist.read_text(encoding="utf-8").splitlines()
    for i, line in enumerate(lines):
        if line.startswith("#EXT-X-TARGETDURATION:") and int(line.split(":", 1)[1]) < need:
            lines[i] = f"#EXT-X-TARGETDURATION:{need}"
            r.playlist.write_text("\n".join(lines) + "\n", encoding="utf-8")
            return


def _merge_short_tail(r: Rendition) -> None:
    """Append a trailing segment under 100 ms (the AAC encoder's last frames past the video's end)
    to the segment before it: MPEG-TS and fMP4 fragments both stay valid when concatenated. Not
    for encrypted segments, which are padded and encrypted one by one."""
    if len(r.segments) < 2 or r.durations[-1] >= 0.1 or r.key_uris:
        return
    prev, last = r.segments[-2], r.segments[-1]
    with prev.open("ab") as f:
        f.write(last.read_bytes())
    lines = r.playlist.read_text(encoding="utf-8").splitlines()
    i_last = max(i for i, line in enumerate(lines) if line.strip() and not line.startswith("#")
                 and (r.playlist.parent / line.strip()) == last)
    i_prev = max(i for i, line in enumerate(lines[:i_last]) if line.strip() and not line.startswith("#"))
    inf_prev = max(i for i in range(i_prev) if lines[i].startswith("#EXTINF:"))
    lines[inf_prev] = f"#EXTINF:{r.durations[-2] + r.durations[-1]:.6f},"
    inf_last = max(i for i in range(i_prev + 1, i_last) if lines[i].startswith("#EXTINF:"))
    del lines[inf_last:i_last + 1]
    r.playlist.write_text("\n".join(lines) + "\n", encoding="utf-8")
    last.unlink()


def finish_ladder(out_dir: Path) -> LadderOutputs:
    """Make FFmpeg's ladder playlists hold RFC 8216 once it has run, then read it back.

    Every media playlist's ``EXT-X-TARGETDURATION`` covers its longest rounded segment, and each
    variant's ``BANDWIDTH``/``AVERAGE-BANDWIDTH`` in the master count its audio rendition too
    (FFmpeg counts only the video when the audio is a separate ``EXT-X-MEDIA`` group): measured
    from the segment files, peak video + peak audio, and average video + average audio.
    """
    ladder = ladder_outputs(out_dir)
    for r in (*ladder.variants, *([ladder.audio] if ladder.audio else [])):
        if r.width is None:  # an audio rendition (the group's, or an audio-only ladder's variant)
            _merge_short_tail(r)
    ladder = ladder_outputs(out_dir)
    for r in (*ladder.variants, *([ladder.audio] if ladder.audio else [])):
        _fix_target_duration(r)
    audio_peak, audio_avg = _rates(ladder.audio) if ladder.audio else (0.0, 0.0)
    rates = iter([_rates(v) for v in ladder.variants])
    out: list[str] = []
    for line in ladder.master.read_text(encoding="utf-8").splitlines():
        if line.startswith("#EXT-X-STREAM-INF:"):
            peak, avg = next(rates)
            attrs = line.split(":", 1)[1]
            own = playlist_attributes(attrs)
            bandwidth = max(int(own.get("BANDWIDTH", 0)), math.ceil(peak + audio_peak))
            average = math.ceil(avg + audio_avg)
            attrs = re.sub(r"(?<![A-Z-])BANDWIDTH=\d+", f"BANDWIDTH={bandwidth}", attrs)
            if "AVERAGE-BANDWIDTH=" in attrs:
                attrs = re.sub(r"AVERAGE-BANDWIDTH=\d+", f"AVERAGE-BANDWIDTH={average}", attrs)
            else:
                attrs = attrs.replace(f"BANDWIDTH={bandwidth}", f"BANDWIDTH={bandwidth},AVERAGE-BANDWIDTH={average}", 1)
            line = f"#EXT-X-STREAM-INF:{attrs}"
        out.append(line)
    ladder.master.write_text("\n".join(out) + "\n", encoding="utf-8")
    return ladder_outputs(out_dir)
