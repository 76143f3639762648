"""FFmpeg argument lists for a :class:`~openvod.domain.presets.TranscodeSpec`.

This module knows FFmpeg and nothing of tasks or storage. It builds the arguments that follow the
global options :func:`~openvod.media.ffmpeg.run_ffmpeg` adds (never a shell string)::

    sources = [SourceInfo.from_probe(probe(p)) for p in inputs]
    args = build_transcode_args(spec, inputs, out, sources=sources)
    run_ffmpeg(args, timeout=3600, duration=expected_duration(sources), on_progress=report)

One input is filtered with ``-vf``/``-af``-style options and its first video (not cover art) and
audio streams, each optional. Several inputs are joined in the order given with the ``concat``
filter, after each is rotated, fitted into one frame size (letter-boxed when its aspect differs),
given square pixels, one frame rate and ``yuv420p``, and its audio resampled to one rate and
channel layout. An input without audio gets silence of its own length from ``anullsrc``, so its
duration must be known (``sources``); the common frame size comes from the preset when it gives
both sides, else from the first source's size. ``copy`` cannot join inputs (joining re-encodes).

Encoders: libx264 / libx265 (``-pix_fmt yuv420p``, x264 ``-preset``, default ``veryfast``),
libvpx-vp9 (row-mt; the x264 speed name picks ``-deadline``/``-cpu-used``), libsvtav1 (the speed
name picks its ``-preset``), the GIF encoder behind ``palettegen``/``paletteuse``. MP4 and M4A get
``-movflags +faststart``. HLS writes one rung: ``output`` is the ``.m3u8`` playlist and its MPEG-TS
segments go beside it as ``<stem>_00000.ts``, … with keyframes forced at segment boundaries.

Chunk-parallel encoding (``domain/chunks.py`` plans it) splits one input's single pass in three
kinds of runs whose joined result is the single pass's, frame for frame::

    build_chunk_args(spec, src, out / "v1.mp4", seek=3.98, frames=100)  # video frames [100, 200)
    build_audio_args(spec, src, out / "a.mp4")                          # the audio, once
    build_join_args(spec, list_file, out / "a.mp4", final)              # concat, -c copy, mux

``threads`` (0: FFmpeg's choice) caps the decoder, filter and encoder threads of a run.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from openvod.domain.presets import (
    X264_PRESETS,
    AudioCodec,
    AudioSpec,
    Container,
    TranscodeSpec,
    VideoCodec,
    VideoSpec,
)
from openvod.errors import InvalidParameter
from openvod.media.inputs import PROTOCOL_WHITELIST, MediaInput, input_args
from openvod.media.probe import metadata_summary
from openvod.media.watermark import Watermark, watermark_chains, watermark_inputs

__all__ = [
    "DEFAULT_X264_PRESET",
    "HLS_SEGMENT_SECONDS",
    "SourceInfo",
    "build_audio_args",
    "build_chunk_args",
    "build_join_args",
    "build_transcode_args",
    "concat_list",
    "expected_duration",
    "hls_segment_pattern",
]

DEFAULT_X264_PRESET = "veryfast"
HLS_SEGMENT_SECONDS = 6
CONCAT_CODE = "InvalidParameter.Concat"
_DEFAULT_FPS = 25.0
_DEFAULT_RATE = 44100

_MUXERS = {
    Container.MP4: "mp4", Container.FLV: "flv", Container.TS: "mpegts", Container.HLS: "hls",
    Container.WEBM: "webm", Container.MKV: "matroska", Container.MP3: "mp3", Container.M4A: "ipod",
    Container.AAC: "adts", Container.GIF: "gif",
}  # fmt: skip
_AUDIO_ENCODERS = {
    AudioCodec.AAC: "aac", AudioCodec.MP3: "libmp3lame", AudioCodec.OPUS: "libopus",
    AudioCodec.VORBIS: "libvorbis", AudioCodec.COPY: "copy",
}  # fmt: skip
_LAYOUTS = {1: "mono", 2: "stereo", 3: "2.1", 4: "quad", 5: "5.0", 6: "5.1", 7: "6.1", 8: "7.1"}
_ROTATIONS = {0: [], 90: ["transpose=clock"], 180: ["hflip", "vflip"], 270: ["transpose=cclock"]}
_SVT_PRESETS = dict(zip(X264_PRESETS, (12, 11, 10, 9, 8, 7, 6, 5, 4), strict=True))
# VP9: the fast half runs libvpx's realtime mode, the slow half its "good" mode.
_VP9_SPEEDS = {
    "ultrafast": ("realtime", 8), "superfast": ("realtime", 7), "veryfast": ("realtime", 6), "faster": ("realtime", 5),
    "fast": ("good", 4), "medium": ("good", 3), "slow": ("good", 2), "slower": ("good", 1), "veryslow": ("good", 0),
}  # fmt: skip
_GIF_PALETTE = "split[gif_a][gif_b];[gif_a]palettegen[gif_p];[gif_b][gif_p]paletteuse"


@dataclass(frozen=True)
class SourceInfo:
    """What the builder needs to know about an input; see :meth:`from_probe`.

    ``width``/``height`` are the *displayed* size (after the source's own rotation).
    """

    has_video: bool = True
    has_audio: bool = True
    duration: float | None = None
    width: int | None = None
    height: int | None = None
    fps: float | None = None

    @classmethod
    def from_probe(cls, info: Mapping[str, Any]) -> SourceInfo:
        """From :func:`~openvod.media.probe.probe` JSON."""
        meta = metadata_summary(dict(info), size=0, md5=None)
        videos, audios = meta["VideoStreamSet"], meta["AudioStreamSet"]
        width, height = (meta["Width"], meta["Height"]) if videos else (None, None)
        if videos and meta["Rotate"] in (90, 270):
            width, height = height, width
        return cls(
            has_video=bool(videos),
            has_audio=bool(audios),
            duration=float(meta["Duration"]) or None,
            width=width or None,
            height=height or None,
            fps=float(videos[0]["Fps"]) if videos and videos[0]["Fps"] else None,
        )


def expected_duration(sources: Sequence[SourceInfo]) -> float | None:
    """Seconds of output for these inputs (their sum), or ``None`` when one is unknown."""
    if not sources or any(s.duration is None for s in sources):
        return None
    return sum(s.duration or 0.0 for s in sources)


def hls_segment_pattern(output: Path) -> Path:
    """Where the segments of an HLS ``output`` playlist go (an FFmpeg ``%05d`` pattern)."""
    stem = output.stem.replace("%", "%%")
    return output.parent / f"{stem}_%05d.ts"


def _path(p: Path) -> str:
    # Absolute paths start with "/", so FFmpeg reads no option ("-x") or protocol ("concat:") in them.
    return str(Path(p).absolute())


def _even(n: float) -> int:
    return max(2, int(n) - int(n) % 2)


def _input(path: MediaInput, threads: int) -> list[str]:
    # -threads before an -i sets that input's decoder threads.
    return [*(["-threads", str(threads)] if threads else []), *input_args(path)]


def _thread_args(threads: int) -> list[str]:
    """Output options capping the encoders' threads, and the (global) filter threads."""
    return ["-threads", str(threads), "-filter_threads", str(threads)] if threads else []


def _needs_even(v: VideoSpec) -> bool:
    return v.codec is not VideoCodec.GIF


def _scale_filters(v: VideoSpec) -> list[str]:
    keep = -2 if _needs_even(v) else -1
    if v.width and v.height:
        if v.keep_aspect:
            fit = ":force_divisible_by=2" if _needs_even(v) else ""
            return [f"scale={v.width}:{v.height}:force_original_aspect_ratio=decrease{fit}", "setsar=1"]
        return [f"scale={v.width}:{v.height}", "setsar=1"]
    if v.width:
        return [f"scale={v.width}:{keep}", "setsar=1"]
    if v.height:
        return [f"scale={keep}:{v.height}", "setsar=1"]
    # An odd-sized source cannot be encoded in 4:2:0; drop its last row/column.
    return ["scale=trunc(iw/2)*2:trunc(ih/2)*2"] if _needs_even(v) else []


def _speed(v: VideoSpec) -> str:
    return v.preset or DEFAULT_X264_PRESET


def _video_codec_args(v: VideoSpec, container: Container) -> list[str]:
    rate = ["-b:v", str(v.bitrate)] if v.bitrate else ["-crf", str(v.crf)] if v.crf is not None else []
    if v.codec is VideoCodec.COPY:
        return ["-c:v", "copy"]
    if v.codec is VideoCodec.GIF:
        return ["-c:v", "gif", "-loop", "0"]
    if v.codec is VideoCodec.H264:
        return ["-c:v", "libx264", "-preset", _speed(v), "-pix_fmt", "yuv420p", *rate]
    if v.codec is VideoCodec.H265:
        # hvc1 is the tag Apple players need in MP4; x265's banner would crowd out real errors.
        tag = ["-tag:v", "hvc1"] if container is Container.MP4 else []
        return ["-c:v", "libx265", "-preset", _speed(v), "-pix_fmt", "yuv420p", "-x265-params", "log-level=error",
                *tag, *rate]
    if v.codec is VideoCodec.VP9:
        deadline, cpu_used = _VP9_SPEEDS[_speed(v)]
        quality = ["-b:v", str(v.bitrate)] if v.bitrate else ["-crf", str(32 if v.crf is None else v.crf), "-b:v", "0"]
        return ["-c:v", "libvpx-vp9", "-row-mt", "1", "-deadline", deadline, "-cpu-used", str(cpu_used),
                "-pix_fmt", "yuv420p", *quality]
    return ["-c:v", "libsvtav1", "-preset", str(_SVT_PRESETS[_speed(v)]), "-pix_fmt", "yuv420p", *rate]


def _audio_codec_args(a: AudioSpec) -> list[str]:
    args = ["-c:a", _AUDIO_ENCODERS[a.codec]]
    if a.bitrate:
        args += ["-b:a", str(a.bitrate)]
    if a.sample_rate:
        args += ["-ar", str(a.sample_rate)]
    if a.channels:
        args += ["-ac", str(a.channels)]
    return args


def _container_args(spec: TranscodeSpec, output: Path) -> list[str]:
    args: list[str] = []
    if spec.container in (Container.MP4, Container.M4A):
        args += ["-movflags", "+faststart"]
    if spec.container is Container.HLS:
        if spec.video is not None and spec.video.codec is not VideoCodec.COPY:
            args += ["-force_key_frames", f"expr:gte(t,n_forced*{HLS_SEGMENT_SECONDS})"]
        args += ["-hls_time", str(HLS_SEGMENT_SECONDS), "-hls_playlist_type", "vod",
                 "-hls_flags", "independent_segments", "-hls_segment_filename", _path(hls_segment_pattern(output))]
    return [*args, "-f", _MUXERS[spec.container], _path(output)]


def _stream_args(spec: TranscodeSpec) -> list[str]:
    args: list[str] = []
    args += _video_codec_args(spec.video, spec.container) if spec.video else ["-vn"]
    args += _audio_codec_args(spec.audio) if spec.audio else ["-an"]
    return args


def _video_chain(v: VideoSpec) -> list[str]:
    chain = [*_ROTATIONS[v.rotate], *_scale_filters(v)]
    if v.fps:
        chain.append(f"fps={v.fps:g}")
    if v.codec is VideoCodec.GIF:
        chain.append(_GIF_PALETTE)
    return chain


def _single(spec: TranscodeSpec, source: MediaInput, output: Path, threads: int,
            audio_filter: str | None = None, watermarks: Sequence[Watermark] = ()) -> list[str]:
    args = _input(source, threads)
    v = spec.video
    if v is not None and watermarks:
        args += [*watermark_inputs(watermarks), *_watermarked(v, watermarks)]
    elif v is not None:
        # "V" skips cover art; "?" lets an audio-only source make audio-only output.
        args += ["-map", "0:V:0?"]
        if v.codec is not VideoCodec.COPY and (chain := _video_chain(v)):
            args += ["-vf", ",".join(chain)]
    if spec.audio is not None:
        args += ["-map", "0:a:0?", *_audio_filter_args(spec, audio_filter)]
    return [*args, *_stream_args(spec), *_thread_args(threads), *_container_args(spec, output)]


def _watermarked(v: VideoSpec, marks: Sequence[Watermark]) -> list[str]:
    """The video's filter graph with ``marks`` drawn on the scaled picture (so their positions and
    sizes are of the output frame, as Tencent defines them), before a GIF's palette."""
    chain = _video_chain(v)
    palette = chain.pop() if v.codec is VideoCodec.GIF else None
    graph = [f"[0:V:0]{','.join(chain)}[vbase]"] if chain else []
    chains, label = watermark_chains(marks, "[vbase]" if chain else "[0:V:0]", first_input=1)
    graph += chains
    if palette is not None:
        graph.append(f"{label}{palette}[vgif]")
        label = "[vgif]"
    return ["-filter_complex", ";".join(graph), "-map", label]


def _audio_filter_args(spec: TranscodeSpec, audio_filter: str | None) -> list[str]:
    if not audio_filter:
        return []
    if spec.audio is None or spec.audio.codec is AudioCodec.COPY:
        raise InvalidParameter("an audio filter (loudness normalisation) needs the audio re-encoded, not copied",
                               code="InvalidParameter.AudioFilter")
    return ["-af", audio_filter]


def _concat_size(v: VideoSpec, first: SourceInfo | None) -> tuple[int, int]:
    if v.width and v.height:
        return v.width, v.height
    if first is None or not first.width or not first.height:
        raise InvalidParameter(
            "joining several inputs needs one frame size: set VIDEO.width and VIDEO.height in the preset, "
            "or pass sources with the first input's size",
            code=CONCAT_CODE,
        )
    w, h = (first.height, first.width) if v.rotate in (90, 270) else (first.width, first.height)
    if v.width:
        return _even(v.width), _even(h * v.width / w)
    if v.height:
        return _even(w * v.height / h), _even(v.height)
    return _even(w), _even(h)


def _concat(spec: TranscodeSpec, inputs: Sequence[MediaInput], output: Path, sources: Sequence[SourceInfo],
            threads: int) -> list[str]:
    v, a = spec.video, spec.audio
    if (v and v.codec is VideoCodec.COPY) or (a and a.codec is AudioCodec.COPY):
        raise InvalidParameter("copy cannot join several inputs: joining re-encodes every stream", code=CONCAT_CODE)
    args: list[str] = []
    for path in inputs:
        args += _input(path, threads)
    graph: list[str] = []
    rate = (a.sample_rate if a else None) or (48000 if a and a.codec is AudioCodec.OPUS else _DEFAULT_RATE)
    layout = _LAYOUTS[(a.channels if a else None) or 2]
    pads = ""
    for i, src in enumerate(sources):
        if v is not None:
            if not src.has_video:
                raise InvalidParameter(f"input {i} has no video stream to join; the preset makes video",
                                       code=CONCAT_CODE)
            w, h = _concat_size(v, sources[0])
            if v.width and v.height and not v.keep_aspect:
                size = [f"scale={w}:{h}"]
            else:
                size = [f"scale={w}:{h}:force_original_aspect_ratio=decrease:force_divisible_by=2",
                        f"pad={w}:{h}:(ow-iw)/2:(oh-ih)/2"]
            fps = v.fps or sources[0].fps or _DEFAULT_FPS
            fmt = [] if v.codec is VideoCodec.GIF else ["format=yuv420p"]
            chain = [*_ROTATIONS[v.rotate], *size, "setsar=1", f"fps={fps:g}", *fmt, "setpts=PTS-STARTPTS"]
            graph.append(f"[{i}:V:0]{','.join(chain)}[v{i}]")
            pads += f"[v{i}]"
        if a is not None:
            norm = f"aformat=sample_fmts=fltp:sample_rates={rate}:channel_layouts={layout}"
            if src.has_audio:
                graph.append(f"[{i}:a:0]{norm},asetpts=PTS-STARTPTS[a{i}]")
            elif src.duration:
                graph.append(f"anullsrc=r={rate}:cl={layout}:d={src.duration:.6f},{norm}[a{i}]")
            else:
                raise InvalidParameter(
                    f"input {i} has no audio: silence can stand in for it only when its duration is known "
                    "(pass sources)",
                    code=CONCAT_CODE,
                )
            pads += f"[a{i}]"
    outs = ("[vcat]" if v else "") + ("[acat]" if a else "")
    graph.append(f"{pads}concat=n={len(inputs)}:v={int(v is not None)}:a={int(a is not None)}{outs}")
    maps: list[str] = []
    if v is not None:
        if v.codec is VideoCodec.GIF:
            graph.append(f"[vcat]{_GIF_PALETTE}[vgif]")
        maps += ["-map", "[vgif]" if v.codec is VideoCodec.GIF else "[vcat]"]
    if a is not None:
        maps += ["-map", "[acat]"]
    return [*args, "-filter_complex", ";".join(graph), *maps, *_stream_args(spec), *_thread_args(threads),
            *_container_args(spec, output)]


def build_transcode_args(
    spec: TranscodeSpec,
    inputs: Sequence[MediaInput],
    output: Path,
    *,
    source_has_audio: list[bool] | None = None,
    sources: Sequence[SourceInfo] | None = None,
    threads: int = 0,
    audio_filter: str | None = None,
    watermarks: Sequence[Watermark] = (),
) -> list[str]:
    """The argument list (after FFmpeg's global options) that makes ``output`` from ``inputs``.

    Several ``inputs`` are joined in the order given (the caller sorts them). ``sources`` describes
    each input (see :meth:`SourceInfo.from_probe`); joining needs it when an input has no audio
    or the preset does not fix both frame sides. ``source_has_audio`` is the short form when only
    that is known. A single input needs neither. ``output``'s directory must exist; for HLS it is
    the playlist path. ``threads`` > 0 caps each input's decoder, the filters and the encoders
    at that many threads. Raises ``InvalidParameter.Concat`` when the inputs cannot be joined.
    ``audio_filter`` (one input only) is an ``-af`` chain for the audio, e.g. the loudness pass of
    :func:`openvod.media.loudness.apply_filter`. ``watermarks`` (one input, video re-encoded) are
    drawn on the output picture in the same run (:mod:`openvod.media.watermark`).
    """
    if not inputs:
        raise InvalidParameter("a transcode needs at least one input", code=CONCAT_CODE)
    if sources is None:
        flags = source_has_audio if source_has_audio is not None else [True] * len(inputs)
        sources = [SourceInfo(has_audio=flag) for flag in flags]
    if len(sources) != len(inputs):
        raise InvalidParameter(f"{len(inputs)} inputs but {len(sources)} source descriptions", code=CONCAT_CODE)
    if watermarks and (len(inputs) > 1 or spec.video is None or spec.video.codec is VideoCodec.COPY):
        raise InvalidParameter("watermarks need one input whose video is re-encoded (not copied, not removed)",
                               code="InvalidParameter.Watermark")
    if len(inputs) == 1:
        return _single(spec, inputs[0], output, threads, audio_filter, watermarks)
    if audio_filter:
        raise InvalidParameter("an audio filter applies to one input, not to inputs being joined", code=CONCAT_CODE)
    return _concat(spec, inputs, output, sources, threads)


# -- chunk-parallel encoding --------------------------------------------------------------------

_JOINABLE = (Container.MP4, Container.MKV)
_CHUNK_CODE = "InvalidParameter.Chunk"


def _joinable(spec: TranscodeSpec) -> VideoSpec:
    v = spec.video
    if spec.container not in _JOINABLE or v is None or v.codec not in (VideoCodec.H264, VideoCodec.H265):
        raise InvalidParameter(f"a {spec.container} output with {v.codec if v else 'no'} video cannot be encoded "
                               "in chunks (MP4 or MKV with H.264 or H.265 only)", code=_CHUNK_CODE)
    return v


def _intermediate(spec: TranscodeSpec, output: Path) -> list[str]:
    # The final container itself: the join copies what it holds, timestamps and all (MP4 keeps
    # the encoder's time base and the AAC priming a Matroska or MPEG-TS copy would round off).
    return ["-f", _MUXERS[spec.container], _path(output)]


def build_chunk_args(spec: TranscodeSpec, source: MediaInput, output: Path, *, seek: float | None, frames: int | None,
                     threads: int = 0) -> list[str]:
    """Video frames of ``source`` encoded as the single pass would encode them, no audio.

    ``seek``: seconds from the start of the file, half a frame before the chunk's first frame
    (an accurate seek: FFmpeg decodes from the keyframe before and drops what precedes it);
    ``None`` from the start. ``frames``: how many (``None``: to the end). The chunk starts at
    time 0 and is written in the preset's container, ready for :func:`build_join_args`.
    """
    v = _joinable(spec)
    args = [*(["-ss", f"{seek:.6f}"] if seek else []), *_input(source, threads), "-map", "0:V:0"]
    # Each chunk starts at 0, whatever the seek left: the join places it by the durations it is given.
    args += ["-vf", ",".join(["setpts=PTS-STARTPTS", *_video_chain(v)])]
    args += _video_codec_args(v, spec.container)
    if frames is not None:
        args += ["-frames:v", str(frames)]
    return [*args, "-an", *_thread_args(threads), *_intermediate(spec, output)]


def build_audio_args(spec: TranscodeSpec, source: MediaInput, output: Path, *, threads: int = 0,
                     audio_filter: str | None = None) -> list[str]:
    """The audio of ``source`` (its first stream) encoded as the single pass would, no video
    (``audio_filter`` as in :func:`build_transcode_args`: the whole file's audio is here)."""
    _joinable(spec)
    if spec.audio is None:
        raise InvalidParameter("the preset makes no audio", code=_CHUNK_CODE)
    return [*_input(source, threads), "-map", "0:a:0", "-vn", *_audio_filter_args(spec, audio_filter),
            *_audio_codec_args(spec.audio),
            *_thread_args(threads), *_intermediate(spec, output)]


def _quote(path: Path) -> str:
    text = _path(path)
    if "\n" in text or "\r" in text:
        raise InvalidParameter(f"a chunk path with a line break cannot be listed: {text!r}", code=_CHUNK_CODE)
    return "'" + text.replace("'", "'\\''") + "'"


def concat_list(chunks: Sequence[tuple[Path, float | None]]) -> str:
    """An ffconcat list of ``(chunk file, duration or None)``: a duration places the next chunk
    exactly (every chunk but the last has one), not where rounded container timestamps would."""
    lines = ["ffconcat version 1.0"]
    for path, duration in chunks:
        lines.append(f"file {_quote(path)}")
        if duration is not None:
            lines.append(f"duration {duration:.6f}")
    return "\n".join(lines) + "\n"


def build_join_args(spec: TranscodeSpec, chunk_list: Path, audio: Path | None, output: Path) -> list[str]:
    """The chunks named by ``chunk_list`` (:func:`concat_list`; files OpenVOD wrote) joined
    without re-encoding, with the ``audio`` file muxed in, into the single pass's container.

    The concat demuxer may open only the local files the list names, in the intermediate
    container (format and protocol allowlists, which it hands down to each file it opens).
    """
    v = _joinable(spec)
    formats = ",".join(("concat", _MUXERS[spec.container]))
    args = ["-f", "concat", "-safe", "0", "-format_whitelist", formats, "-protocol_whitelist", PROTOCOL_WHITELIST,
            "-i", _path(chunk_list)]
    maps = ["-map", "0:v:0"]
    if audio is not None:
        args += ["-format_whitelist", _MUXERS[spec.container], "-protocol_whitelist", PROTOCOL_WHITELIST,
                 "-i", _path(audio)]
        maps += ["-map", "1:a:0"]
    tag = ["-tag:v", "hvc1"] if v.codec is VideoCodec.H265 and spec.container is Container.MP4 else []
    return [*args, *maps, "-c", "copy", *tag, *_container_args(spec, output)]
