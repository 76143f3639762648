"""``noop``: does nothing (optionally waits ``sleep`` seconds, cancellably, reporting progress
about once a second). For measuring the engine's own overhead, and for tests of scheduling order
and of progress reporting."""

from __future__ import annotations

import time
from typing import Any

from openvod.engine.jobs import JobContext, register
from openvod.media.ffmpeg import Cancelled


@register("noop")
def noop(job: JobContext) -> dict[str, Any]:
    sleep = float(job.input.get("sleep", 0))
    deadline = time.monotonic() + sleep
    while (left := deadline - time.monotonic()) > 0:
        if job.cancel.wait(min(1.0, left)):
            raise Cancelled(f"noop step {job.step_id} was cancelled")
        if sleep >= 2:
            job.progress(100.0 * (1 - max(0.0, deadline - time.monotonic()) / sleep))
    return {"slept": sleep}
