"""FFmpeg and media inspection: argument lists in, files, progress and probe JSON out.

This layer knows FFmpeg and libav and nothing of tasks, storage or the database.

* :func:`run_ffmpeg` runs FFmpeg with a timeout, cancellation (SIGTERM, then SIGKILL, of its
  process group), ``-progress`` parsing into a 0-100 callback, and errors that carry the argv,
  exit code and stderr tail. :func:`ffmpeg_path` picks a configured or the bundled executable.
* :func:`probe` returns ffprobe-compatible JSON, computed by PyAV in an isolated, killable child
  process; :func:`metadata_summary` turns it into Tencent VOD's ``MetaData``.
"""

from openvod.media.ffmpeg import Cancelled, ProgressCallback, ffmpeg_path, run_ffmpeg
from openvod.media.probe import metadata_summary, probe

__all__ = [
    "Cancelled",
    "ProgressCallback",
    "ffmpeg_path",
    "metadata_summary",
    "probe",
    "run_ffmpeg",
]
