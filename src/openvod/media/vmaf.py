"""VMAF with FFmpeg's ``libvmaf``: filter chains that score a distorted picture against a reference,
and the score read back from libvmaf's JSON log.

    graph = vmaf_filter("[d]", "[r]", log, threads=2, subsample=2)   # "[d][r]libvmaf=..."
    run_ffmpeg([...inputs..., "-filter_complex", graph, "-f", "null", "-"], timeout=600)
    score = read_vmaf(log)                                             # the pooled mean, 0-100

Both pictures must have the same size (scale the reference to the distorted one, or the other way
round) and be aligned frame by frame: :data:`FRAME_INDEX_PTS` renumbers a stream's timestamps by
frame index, so two decodes of the same frames line up whatever their containers said. The model
is libvmaf's default (``vmaf_v0.6.1``, for 1080p viewing at 3H); ``subsample`` scores every n-th
frame only, which is most of its cost on a two-core machine.

:func:`compare_args` is the whole FFmpeg run scoring one file against another at a given size,
as tests and benchmarks measure a finished rendition.
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

from openvod.errors import InvalidParameter, MediaError

__all__ = ["FRAME_INDEX_PTS", "compare_args", "filter_path", "read_vmaf", "vmaf_filter"]

FRAME_INDEX_PTS = "setpts=N/(25*TB)"
"""Timestamps by frame index (at a nominal 25 fps), so libvmaf pairs frame n with frame n."""

_SAFE_PATH = re.compile(r"[A-Za-z0-9_./-]+")


def filter_path(path: Path) -> str:
    """``path`` (absolute) for a filter option. Filter graphs have two levels of escaping; rather
    than get them right for every name, only plain paths are taken (OpenVOD's work directories
    are plain), anything else is :class:`~openvod.errors.InvalidParameter`."""
    text = str(path.absolute())
    if not _SAFE_PATH.fullmatch(text):
        raise InvalidParameter(f"a VMAF log path must be made of [A-Za-z0-9_./-], got {text!r}",
                               code="InvalidParameter.OutputDir")
    return text


def vmaf_filter(distorted: str, reference: str, log: Path, *, threads: int = 2, subsample: int = 1) -> str:
    """One filter chain (``"[d][r]libvmaf=..."``) scoring the ``distorted`` pad against the
    ``reference`` pad into ``log`` (JSON). Its output pad is left unlabelled: FFmpeg maps it to
    the first output file (a ``-f null -`` sink)."""
    if threads < 1 or subsample < 1:
        raise InvalidParameter(f"VMAF threads and subsample must be >= 1, got {threads}, {subsample}")
    return (f"{distorted}{reference}libvmaf=log_fmt=json:log_path={filter_path(log)}"
            f":n_threads={threads}:n_subsample={subsample}")


def read_vmaf(log: Path) -> float:
    """The pooled mean VMAF (0-100) from a libvmaf JSON log; :class:`~openvod.errors.MediaError`
    when the log is missing or holds no score (e.g. no frame was compared)."""
    try:
        data = json.loads(log.read_text(encoding="utf-8"))
        score = float(data["pooled_metrics"]["vmaf"]["mean"])
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise MediaError(f"no VMAF score in {log}: {exc}", code="FailedOperation.Vmaf") from exc
    if not math.isfinite(score):
        raise MediaError(f"VMAF log {log} has a non-finite score {score!r}", code="FailedOperation.Vmaf")
    return max(0.0, min(100.0, score))


def compare_args(distorted: Path, reference: Path, width: int, height: int, log: Path, *,
                 threads: int = 2, subsample: int = 1) -> list[str]:
    """``run_ffmpeg`` arguments scoring ``distorted`` against ``reference``, both scaled (bicubic)
    to ``width`` x ``height`` and aligned by frame index; read the score with :func:`read_vmaf`.
    Both are files OpenVOD made or trusts (tests, benchmarks), opened without the user-input
    guards of :func:`~openvod.media.inputs.input_args`."""
    size = f"scale={width}:{height}:flags=bicubic,setsar=1,format=yuv420p,{FRAME_INDEX_PTS}"
    graph = ";".join([f"[0:v:0]{size}[d]", f"[1:v:0]{size}[r]",
                      vmaf_filter("[d]", "[r]", log, threads=threads, subsample=subsample)])
    return ["-i", str(distorted.absolute()), "-i", str(reference.absolute()), "-filter_complex", graph,
            "-f", "null", "-"]
