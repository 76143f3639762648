"""``noop``: does nothing (optionally waits ``sleep`` seconds, cancellably). For measuring the
engine's own overhead and for tests of scheduling order."""

from __future__ import annotations

from typing import Any

from openvod.engine.jobs import JobContext, register
from openvod.media.ffmpeg import Cancelled


@register("noop")
def noop(job: JobContext) -> dict[str, Any]:
    sleep = float(job.input.get("sleep", 0))
    if sleep > 0 and job.cancel.wait(sleep):
        raise Cancelled(f"noop step {job.step_id} was cancelled")
    return {"slept": sleep}
