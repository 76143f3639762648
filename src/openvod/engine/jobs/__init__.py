"""Job types. A job is a function of a :class:`JobContext` returning its output as JSON; it knows
nothing of leases, processes or the executor that runs it (local pool or Celery alike)."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from openvod.engine.hooks import EngineHooks
from openvod.media.ffmpeg import run_ffmpeg
from openvod.media.inputs import MediaInput, MediaLimits
from openvod.runtime import Context

__all__ = ["JOBS", "Job", "JobContext", "register"]


@dataclass
class JobContext:
    ctx: Context
    app_id: str
    task_id: str
    step_id: int
    input: dict[str, Any]
    cancel: threading.Event
    progress: Callable[[float], None]
    workdir: Path  # private scratch space, removed after the job
    timeout: float
    hooks: EngineHooks  # services' effects (register an output, create an HLS key), handed down

    def source(self, bucket: str, key: str) -> AbstractContextManager[MediaInput]:
        """Object ``bucket/key`` as an FFmpeg input where it lies: the file on local storage, a
        presigned URL on S3 valid for the job's whole time and a minute (range requests: a worker
        never holds the source on its disk)."""
        return self.ctx.storage.media_input(bucket, key, expires_in=int(self.timeout) + 60)

    def ffmpeg_options(self) -> dict[str, Any]:
        """``run_ffmpeg``'s keywords for this job: its timeout, cancel event, FFmpeg and limits."""
        settings = self.ctx.settings
        return {"timeout": self.timeout, "ffmpeg": settings.ffmpeg, "cancel": self.cancel,
                "limits": MediaLimits.from_settings(settings)}

    def run_ffmpeg(self, args: Sequence[str], *, duration: float | None = None,
                   on_progress: Callable[[float], None] | None = None) -> str:
        """Run FFmpeg for this job (:meth:`ffmpeg_options`), progress to ``on_progress`` or else
        the job's; returns its stderr tail."""
        return run_ffmpeg(list(args), duration=duration or None, on_progress=on_progress or self.progress,
                          **self.ffmpeg_options())


Job = Callable[[JobContext], dict[str, Any]]
JOBS: dict[str, Job] = {}


def register(kind: str) -> Callable[[Job], Job]:
    def deco(fn: Job) -> Job:
        JOBS[kind] = fn
        return fn

    return deco


def load_all() -> dict[str, Job]:
    """Import every job module (they register themselves) and return the table."""
    from openvod.engine.jobs import chunked, noop, processing, transcode  # noqa: F401

    return JOBS
