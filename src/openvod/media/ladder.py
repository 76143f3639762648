"""AdaptiveDynamicStreaming: an HLS ladder from one decode, in one FFmpeg process.

    plan = build_ladder(AdaptiveStreamingSpec(), src, SourceInfo.from_probe(probe(src)), out_dir)
    run_ffmpeg(plan.args, timeout=3600, duration=plan.duration)
    ladder = ladder_outputs(out_dir)          # what was written, read back from the playlists
    ladder.master, [v.width for v in ladder.variants], ladder.files

The input is decoded once; ``split`` feeds one scaler and encoder per rung (H.264, H.265 or AV1,
``Rung.codec``: see :mod:`openvod.media.codecs`; the last two need ``fmp4``), and the audio
is encoded once (AAC, stereo) into its own rendition group that every rung's variant refers to
(``EXT-X-MEDIA TYPE=AUDIO``), so audio bytes are stored once, not once per rung. Keyframes sit at
the same times in every rung: a fixed GOP of one segment (``-g``/``-keyint_min``, no scene-cut
keyframes) and a keyframe forced at every segment boundary, so a player can switch rungs at any
segment. Rungs taller than the source are skipped (see :func:`plan_rungs`); audio-only input
makes an audio-only ladder and video-only input one without an audio group.

Files in ``out_dir``: ``master.m3u8``, ``v<i>.m3u8`` per rung (largest first) and ``audio.m3u8``,
segments ``<playlist stem>_<nnnnn>.ts`` (or ``.m4s`` after ``<playlist stem>_init.mp4`` for
fMP4). With :class:`HlsEncryption` every segment is AES-128-CBC encrypted and every media
playlist names the key URI; the key file itself goes to ``key_dir``, never beside the outputs.
An fMP4 ladder's segments are CMAF: :func:`openvod.media.dash.write_mpd` adds a DASH MPD naming
the same files; :mod:`openvod.media.ladder_parts` makes a ladder in two runs (publishing early).
"""

from __future__ import annotations

import math
import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from openvod.domain.presets import X264_PRESETS
from openvod.errors import InvalidParameter, MediaError
from openvod.media.codecs import FMP4_ONLY, VIDEO_CODECS, VideoCodec, encoder_args
from openvod.media.common import Plan, known_duration, num, path_arg
from openvod.media.inputs import MediaInput, input_args, input_name
from openvod.media.ladder_files import MASTER_PLAYLIST, LadderOutputs, Rendition, finish_ladder, ladder_outputs
from openvod.media.transcode import SourceInfo
from openvod.media.watermark import Watermark, watermark_chains, watermark_inputs

__all__ = [
    "DEFAULT_RUNGS",
    "DEFAULT_SEGMENT_SECONDS",
    "MASTER_PLAYLIST",
    "AdaptiveStreamingSpec",
    "HlsEncryption",
    "LadderLayout",
    "LadderOutputs",
    "PlannedRung",
    "Rendition",
    "Rung",
    "build_ladder",
    "finish_ladder",
    "ladder_outputs",
    "plan_rungs",
]

DEFAULT_SEGMENT_SECONDS = 4.0
AUDIO_NAME = "audio"
_DEFAULT_FPS = 25.0
_CODE = "InvalidParameter.AdaptiveStreaming"
_AAC_RATES = (8000, 11025, 12000, 16000, 22050, 24000, 32000, 44100, 48000, 88200, 96000)


@dataclass(frozen=True)
class Rung:
    """One quality level. ``height`` is the picture's short side (720 means 1280x720, or 720x1280
    for a portrait source); the long side follows the source's aspect ratio. ``fps`` caps the
    frame rate (``None`` keeps the source's)."""

    height: int
    video_bitrate: int
    fps: float | None = None
    codec: VideoCodec = "h264"

    def __post_init__(self) -> None:
        if self.codec not in VIDEO_CODECS:
            raise InvalidParameter(f"a rung codec must be one of {', '.join(VIDEO_CODECS)}, got {self.codec!r}",
                                   code=_CODE)
        if not isinstance(self.height, int) or isinstance(self.height, bool) or not 64 <= self.height <= 4320 \
                or self.height % 2:
            raise InvalidParameter(f"a rung height must be even and 64-4320, got {self.height!r}", code=_CODE)
        if not isinstance(self.video_bitrate, int) or not 32_000 <= self.video_bitrate <= 100_000_000:
            raise InvalidParameter(f"a rung video bitrate must be 32000-100000000 bit/s, got {self.video_bitrate!r}",
                                   code=_CODE)
        if self.fps is not None and not (math.isfinite(self.fps) and 1 <= self.fps <= 120):
            raise InvalidParameter(f"a rung fps must be 1-120, got {self.fps!r}", code=_CODE)


DEFAULT_RUNGS: tuple[Rung, ...] = (
    Rung(1080, 5_000_000), Rung(720, 2_800_000), Rung(480, 1_400_000), Rung(360, 800_000), Rung(240, 400_000),
)


@dataclass(frozen=True)
class HlsEncryption:
    """AES-128 segment encryption. ``key_uri`` is what playlists tell players to fetch the 16-byte
    ``key`` from. ``iv`` (16 bytes) is written into the playlists; ``None`` picks a random one
    for the ladder (FFmpeg would otherwise use all zeros for every segment)."""

    key: bytes = field(repr=False)
    key_uri: str
    iv: bytes | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.key, bytes) or len(self.key) != 16:
            raise InvalidParameter("an AES-128 key must be exactly 16 bytes", code="InvalidParameter.HlsKey")
        if self.iv is not None and (not isinstance(self.iv, bytes) or len(self.iv) != 16):
            raise InvalidParameter("an AES-128 IV must be exactly 16 bytes", code="InvalidParameter.HlsKey")
        if not self.key_uri or any(c in self.key_uri for c in '"\r\n') or len(self.key_uri) > 2048:
            raise InvalidParameter(f"the key URI must be 1-2048 characters without quotes or line breaks, "
                                   f"got {self.key_uri!r}", code="InvalidParameter.HlsKey")


@dataclass(frozen=True)
class AdaptiveStreamingSpec:
    """The ladder to make. ``segment_type`` ``ts`` writes MPEG-TS segments, ``fmp4`` fragmented
    MP4 (CMAF) ones; ``preset`` is the x264 speed. ``skip_higher`` (Tencent's
    ``DisableHigherVideoResolution``) drops rungs above the source; without it they upscale."""

    rungs: tuple[Rung, ...] = DEFAULT_RUNGS
    segment_seconds: float = DEFAULT_SEGMENT_SECONDS
    segment_type: Literal["ts", "fmp4"] = "ts"
    audio_bitrate: int = 128_000
    audio_sample_rate: int | None = None
    preset: str = "veryfast"
    encryption: HlsEncryption | None = None
    skip_higher: bool = True
    loudness: str | None = None  # the audio's -af chain: media.loudness.apply_filter
    # Drawn on the decoded source before the split: every rung carries them, scaled with the picture.
    watermarks: tuple[Watermark, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "rungs", tuple(self.rungs))  # a list is taken too, stored as a tuple
        if not self.rungs or len(self.rungs) > 10:
            raise InvalidParameter(f"a ladder needs 1-10 rungs, got {len(self.rungs)}", code=_CODE)
        if not all(isinstance(r, Rung) for r in self.rungs):
            raise InvalidParameter("every rung must be a Rung", code=_CODE)
        if not math.isfinite(self.segment_seconds) or not 1 <= self.segment_seconds <= 30:
            raise InvalidParameter(f"segment duration must be 1-30 s, got {self.segment_seconds!r}",
                                   code="InvalidParameter.SegmentDuration")
        if self.segment_type not in ("ts", "fmp4"):
            raise InvalidParameter(f"segment type must be ts or fmp4, got {self.segment_type!r}",
                                   code="InvalidParameter.SegmentType")
        if self.segment_type == "ts" and (odd := sorted({r.codec for r in self.rungs} & FMP4_ONLY)):
            raise InvalidParameter(f"{' and '.join(odd)} rungs need fmp4 segments: MPEG-TS HLS carries H.264 only",
                                   code="InvalidParameter.SegmentType")
        if self.encryption is not None and self.segment_type == "fmp4":
            raise InvalidParameter("AES-128 encryption needs ts segments: FFmpeg cannot encrypt fmp4 ones",
                                   code="InvalidParameter.SegmentType")
        if not isinstance(self.audio_bitrate, int) or not 16_000 <= self.audio_bitrate <= 512_000:
            raise InvalidParameter(f"audio bitrate must be 16000-512000 bit/s, got {self.audio_bitrate!r}",
                                   code="InvalidParameter.AudioBitrate")
        if self.audio_sample_rate is not None and self.audio_sample_rate not in _AAC_RATES:
            raise InvalidParameter(f"audio sample rate must be one of {', '.join(map(str, _AAC_RATES))} Hz, "
                                   f"got {self.audio_sample_rate!r}", code="InvalidParameter.AudioSampleRate")
        if self.preset not in X264_PRESETS:
            raise InvalidParameter(f"preset must be one of {', '.join(X264_PRESETS)}, got {self.preset!r}",
                                   code="InvalidParameter.Preset")


@dataclass(frozen=True)
class PlannedRung:
    """A rung as it will be encoded: ``name`` is its playlist's stem."""

    name: str
    width: int
    height: int
    video_bitrate: int
    fps: float | None
    playlist: Path
    codec: VideoCodec = "h264"


@dataclass(frozen=True)
class LadderLayout:
    """What :func:`build_ladder` will write (segment names are known only afterwards: see
    :func:`ladder_outputs`)."""

    master: Path
    rungs: tuple[PlannedRung, ...]
    audio_playlist: Path | None
    segment_type: str
    encrypted: bool


def _even(x: float) -> int:
    return max(2, int(round(x / 2)) * 2)


def plan_rungs(spec: AdaptiveStreamingSpec, source: SourceInfo) -> list[tuple[int, int, Rung]]:
    """``(width, height, rung)`` to encode, largest first.

    Rungs whose short side is above the source's (upright) short side are skipped (unless
    ``spec.skip_higher`` is off): upscaling adds bytes, not detail. When that skips them all, the
    smallest rung is kept at the source's own size (rounded to even sides). An audio-only source
    has no video rungs.
    """
    if not source.has_video:
        return []
    if not source.width or not source.height:
        raise MediaError("AdaptiveDynamicStreaming: the frame size of the source is unknown; probe it again",
                         code="FailedOperation.NoVideo")
    sw, sh = source.width, source.height
    short = min(sw, sh)
    ordered = sorted(spec.rungs, key=lambda r: (r.height, r.video_bitrate), reverse=True)
    kept = [r for r in ordered if r.height <= short or not spec.skip_higher]
    if not kept:
        return [(max(2, sw - sw % 2), max(2, sh - sh % 2), ordered[-1])]
    return [(_even(sw * r.height / short), _even(sh * r.height / short), r) for r in kept]


def _rung_fps(rung: Rung, source: SourceInfo) -> float | None:
    """The rung's frame-rate cap, or ``None`` when the source's rate is kept."""
    if rung.fps is None or (source.fps and source.fps <= rung.fps):
        return None
    return rung.fps


def _key_info(enc: HlsEncryption, key_dir: Path) -> Path:
    key_dir.mkdir(parents=True, exist_ok=True)
    key_path = key_dir / "hls.key"
    info_path = key_dir / "hls.keyinfo"
    if any(c in str(key_path.absolute()) for c in "\r\n"):
        raise InvalidParameter(f"the key directory must not contain line breaks: {key_dir!r}",
                               code="InvalidParameter.HlsKey")
    fd = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(enc.key)
    # key_info_file: URI players fetch, path FFmpeg reads the key from, IV in hex.
    iv = enc.iv if enc.iv is not None else secrets.token_bytes(16)
    info_path.write_text(f"{enc.key_uri}\n{key_path.absolute()}\n{iv.hex()}\n", encoding="utf-8")
    return info_path


def build_ladder(spec: AdaptiveStreamingSpec, input_path: MediaInput, source: SourceInfo, out_dir: Path, *,
                 key_dir: Path | None = None) -> Plan[LadderLayout]:
    """The FFmpeg run writing the ladder into ``out_dir`` (which must exist).

    With ``spec.encryption``, ``key_dir`` (a private directory, not uploaded) receives the key
    and FFmpeg's key info file before this returns. Raises :class:`~openvod.errors.MediaError`
    when the source has neither video nor audio, or its duration is unknown.
    """
    if "%" in str(out_dir.absolute()):
        # The HLS muxer expands %v and %d anywhere in its paths and has no escape for a literal %.
        raise InvalidParameter(f"the ladder's output directory must not contain '%': {out_dir}",
                               code="InvalidParameter.OutputDir")
    duration = known_duration(source, "AdaptiveDynamicStreaming", input_path)
    if not source.has_video and not source.has_audio:
        raise MediaError(f"AdaptiveDynamicStreaming: {input_name(input_path)} has no video or audio stream",
                         code="FailedOperation.NoStreams")
    seg = spec.segment_seconds
    planned = plan_rungs(spec, source)
    rungs = tuple(PlannedRung(name=f"v{i}", width=w, height=h, video_bitrate=r.video_bitrate,
                              fps=_rung_fps(r, source) or source.fps, playlist=out_dir / f"v{i}.m3u8", codec=r.codec)
                  for i, (w, h, r) in enumerate(planned))
    audio = source.has_audio
    args = [*input_args(input_path), *(watermark_inputs(spec.watermarks) if rungs else [])]
    maps: list[str] = []
    if rungs:
        pads = "".join(f"[s{i}]" for i in range(len(rungs)))
        graph, picture = watermark_chains(spec.watermarks, "[0:V:0]", first_input=1)
        graph.append(f"{picture}split={len(rungs)}{pads}")
        for i, ((_, _, rung), planned_rung) in enumerate(zip(planned, rungs, strict=True)):
            cap = _rung_fps(rung, source)
            chain = [f"fps={num(cap)}"] if cap else []
            chain += [f"scale={planned_rung.width}:{planned_rung.height}:flags=bicubic", "setsar=1", "format=yuv420p"]
            graph.append(f"[s{i}]{','.join(chain)}[v{i}]")
            maps += ["-map", f"[v{i}]"]
        args += ["-filter_complex", ";".join(graph)]
    if audio:
        maps += ["-map", "0:a:0"]
    args += maps
    if rungs:
        args += ["-pix_fmt", "yuv420p", "-force_key_frames", f"expr:gte(t,n_forced*{num(seg)})"]
        for i, r in enumerate(rungs):
            gop = max(1, round(seg * (r.fps or _DEFAULT_FPS)))
            args += encoder_args(i, r.codec, preset=spec.preset, bitrate=r.video_bitrate, gop=gop)
    if audio:
        args += [*(["-af", spec.loudness] if spec.loudness else []),
                 "-c:a", "aac", "-b:a", str(spec.audio_bitrate), "-ac", "2"]
        if spec.audio_sample_rate:
            args += ["-ar", str(spec.audio_sample_rate)]
    group = ",agroup:aud" if audio and rungs else ""
    streams = [f"v:{i},name:{r.name}{group}" for i, r in enumerate(rungs)]
    if audio:
        streams.append(f"a:0,name:{AUDIO_NAME}{group}{',default:yes' if rungs else ''}")
    fmp4 = spec.segment_type == "fmp4"
    ext = "m4s" if fmp4 else "ts"
    args += ["-f", "hls", "-hls_time", num(seg), "-hls_playlist_type", "vod", "-hls_flags", "independent_segments",
             "-hls_segment_type", "fmp4" if fmp4 else "mpegts"]
    if fmp4:
        # The muxer expands %v in the init name only when there are several variant streams.
        init = "%v_init.mp4" if len(streams) > 1 else f"{rungs[0].name if rungs else AUDIO_NAME}_init.mp4"
        args += ["-hls_fmp4_init_filename", init]
    if spec.encryption is not None:
        if key_dir is None:
            raise InvalidParameter("an encrypted ladder needs key_dir, a private directory for the key file",
                                   code="InvalidParameter.HlsKey")
        args += ["-hls_key_info_file", path_arg(_key_info(spec.encryption, key_dir))]
    base = out_dir.absolute()
    args += ["-master_pl_name", MASTER_PLAYLIST, "-var_stream_map", " ".join(streams),
             "-hls_segment_filename", str(base / f"%v_%05d.{ext}"), str(base / "%v.m3u8")]
    layout = LadderLayout(
        master=out_dir / MASTER_PLAYLIST,
        rungs=rungs,
        audio_playlist=out_dir / f"{AUDIO_NAME}.m3u8" if audio else None,
        segment_type=spec.segment_type,
        encrypted=spec.encryption is not None,
    )
    return Plan(args=args, outputs=layout, duration=duration)
