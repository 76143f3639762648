"""Job types. A job is a function of a :class:`JobContext` returning its output as JSON; it knows
nothing of leases, processes or the executor that runs it (local pool or Celery alike)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from openvod.engine.hooks import EngineHooks
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
