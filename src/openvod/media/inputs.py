"""What FFmpeg and the prober may open for a user's file: that one local file, nothing else.

libavformat picks a demuxer by sniffing the bytes, and some demuxers are *references*: an HLS or
DASH manifest, an ffconcat list, an image sequence pattern open the files or URLs they name. An
uploaded ``x.m3u8`` whose segment line is ``/data/other-app/media/secret.mp4`` (or a ``file://``
URL) would make the prober and FFmpeg read another tenant's object. So every open of user input
goes through this module:

* a **format allowlist** (libavformat's ``format_whitelist``) of single-file containers:
  :data:`SINGLE_FILE_FORMATS`. A demuxer not on it is refused before it reads a byte of what the
  file names; the prober reports it as ``InvalidParameter.UnsupportedContainer``.
* a **protocol allowlist** (``protocol_whitelist``): ``file`` for a local path; for an object in
  S3 storage, which a worker reads without copying it to its disk, the presigned URL of that one
  object (:data:`URL_PROTOCOLS`: ``http``, ``https`` and what they run on). Either way the format
  allowlist leaves FFmpeg no demuxer that would open a second file or URL.
* a **pixel cap** (libavcodec's ``max_pixels``): a decoder refuses to allocate a frame larger than
  ``max_pixels`` (a 1 MB PNG may declare 16000x16000, a 1 GB frame).

FFmpeg argument builders call :func:`input_args` for every input; the prober passes
:func:`demuxer_options` and :func:`decoder_options` to PyAV. :class:`MediaLimits` carries the
operator's settings (``max_pixels``, ``probe_memory_mb``, ``ffmpeg_memory_mb``) to both.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from openvod.errors import MediaError

if TYPE_CHECKING:
    from openvod.config import Settings

__all__ = [
    "DEFAULT_MAX_PIXELS",
    "FRAME_TOO_LARGE_CODE",
    "LIMIT_EXCEEDED_CODE",
    "MediaInput",
    "input_name",
    "OUTPUT_FORMATS",
    "PROTOCOL_WHITELIST",
    "URL_PROTOCOLS",
    "SINGLE_FILE_FORMATS",
    "UNSUPPORTED_CONTAINER_CODE",
    "MediaLimits",
    "apply_limits",
    "decoder_options",
    "demuxer_options",
    "input_args",
]

SINGLE_FILE_FORMATS: tuple[str, ...] = (
    # Each name matches one comma-separated part of a demuxer's name ("mp4" admits
    # "mov,mp4,m4a,3gp,3g2,mj2", "matroska" admits "matroska,webm").
    "mov", "mp4", "matroska", "webm", "mpegts", "mpeg", "avi", "flv", "ogg", "asf", "mxf",
    "wav", "w64", "aiff", "mp3", "aac", "ac3", "eac3", "flac", "amr", "caf",
    "h264", "hevc", "m4v", "mpegvideo", "ivf",
    # Single images, detected by content. Not "image2" (a numbered sequence of files), not
    # "svg_pipe" (SVG may load the images and fonts it names).
    "png_pipe", "jpeg_pipe", "webp_pipe", "gif", "gif_pipe", "bmp_pipe", "tiff_pipe", "qoi_pipe",
)  # fmt: skip
"""Demuxers that read only the file they are given. Everything else (``hls``, ``dash``, ``concat``,
``image2``, ``tty``, ``lavfi``, ...) is refused."""

OUTPUT_FORMATS: tuple[str, ...] = (*SINGLE_FILE_FORMATS, "hls")
"""For files OpenVOD wrote itself: an HLS playlist whose segments lie beside it (still ``file`` only)."""

PROTOCOL_WHITELIST = "file"
URL_PROTOCOLS = "http,https,tcp,tls"
"""The protocols of an input given as a URL (a presigned GET of the object being processed)."""

MediaInput = Path | str
"""What FFmpeg reads one user file from: a local path, or (``str``) the presigned http(s) URL of
the object in S3 storage (:meth:`openvod.storage.base.Storage.media_input`)."""
DEFAULT_MAX_PIXELS = 8192 * 8192
"""67 megapixels: 8K video (8192x4320) and 48-50 MP photos pass, a 16000x16000 frame does not."""

UNSUPPORTED_CONTAINER_CODE = "InvalidParameter.UnsupportedContainer"
FRAME_TOO_LARGE_CODE = "InvalidParameter.FrameTooLarge"
LIMIT_EXCEEDED_CODE = "LimitExceeded.MediaResources"

_MB = 1024 * 1024


@dataclass(frozen=True)
class MediaLimits:
    """Bounds on what one probe or FFmpeg run may cost; see :meth:`from_settings`.

    ``max_pixels`` caps one decoded frame (width x height). ``probe_memory_mb`` and
    ``ffmpeg_memory_mb`` are address-space limits (``RLIMIT_AS``) of the child; 0 means none.
    Address space is not resident memory: encoders reserve far more than they touch (x264 at 4K
    with 64 threads reserves ~7 GB, SVT-AV1 at 4K ~8.3 GB), hence FFmpeg's generous default.
    """

    max_pixels: int = DEFAULT_MAX_PIXELS
    probe_memory_mb: int = 1024
    ffmpeg_memory_mb: int = 16384

    @classmethod
    def from_settings(cls, settings: Settings) -> MediaLimits:
        return cls(
            max_pixels=settings.max_pixels,
            probe_memory_mb=settings.probe_memory_mb,
            ffmpeg_memory_mb=settings.ffmpeg_memory_mb,
        )

    @property
    def probe_memory_bytes(self) -> int | None:
        return self.probe_memory_mb * _MB or None

    @property
    def ffmpeg_memory_bytes(self) -> int | None:
        return self.ffmpeg_memory_mb * _MB or None


def _path_arg(p: Path) -> str:
    # Absolute paths start with "/", so FFmpeg reads no option ("-x") or protocol ("concat:") in them.
    return str(Path(p).absolute())


def input_name(path: MediaInput) -> str:
    """How messages name an input: a file's name, or the last segment of a URL's path (never its
    query, which holds a presigned URL's signature)."""
    if isinstance(path, str):
        return path.split("?", 1)[0].rstrip("/").rsplit("/", 1)[-1] or "the source"
    return path.name


def input_args(path: MediaInput, *, max_pixels: int = DEFAULT_MAX_PIXELS) -> list[str]:
    """``[<input options>, "-i", path]`` opening ``path`` (a local file, or the http(s) URL of one
    stored object) as one user file.

    Put options of this input (``-ss``, ``-t``, ``-threads``) before it or anywhere before the
    ``-i``. :func:`apply_limits` (called by ``run_ffmpeg``) sets the configured ``max_pixels``.
    """
    if isinstance(path, str):
        if not path.startswith(("http://", "https://")):
            raise MediaError(f"an input given as text must be an http(s) URL, not {path[:40]!r}")
        # Read with range requests; a dropped connection is resumed where it broke.
        source = ["-protocol_whitelist", URL_PROTOCOLS, "-reconnect", "1", "-reconnect_on_network_error", "1",
                  "-rw_timeout", "60000000", "-i", path]
    else:
        source = ["-protocol_whitelist", PROTOCOL_WHITELIST, "-i", _path_arg(path)]
    return [
        "-format_whitelist", ",".join(SINGLE_FILE_FORMATS),
        "-max_pixels", str(max_pixels),
        *source,
    ]  # fmt: skip


def apply_limits(args: list[str], limits: MediaLimits) -> list[str]:
    """``args`` with every input's ``-max_pixels`` (from :func:`input_args`) set to ``limits``."""
    out = list(args)
    for i, arg in enumerate(out[:-1]):
        if arg == "-max_pixels":
            out[i + 1] = str(limits.max_pixels)
    return out


def demuxer_options(*, own_output: bool = False) -> dict[str, str]:
    """PyAV ``container_options`` for opening a user file (or, ``own_output``, one OpenVOD wrote)."""
    formats = OUTPUT_FORMATS if own_output else SINGLE_FILE_FORMATS
    return {"format_whitelist": ",".join(formats), "protocol_whitelist": PROTOCOL_WHITELIST}


def decoder_options(max_pixels: int) -> dict[str, str]:
    """PyAV decoder options (``options=`` of ``av.open``, ``CodecContext.options``)."""
    if max_pixels <= 0:
        raise MediaError(f"max_pixels must be positive, got {max_pixels}")
    return {"max_pixels": str(max_pixels)}
