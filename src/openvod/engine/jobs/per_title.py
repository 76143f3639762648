"""The AdaptiveDynamicStreaming step's per-title analysis: the template's rungs with bitrates
picked by VMAF for this source (:mod:`openvod.media.per_title`), before the ladder is encoded.

    tuned = tune_rungs(job, bucket, key, info, tpl, rungs)   # runs only when PerTitle.Switch is ON
    spec = AdaptiveStreamingSpec(rungs=tuned.rungs, ...)
    ... encode and publish the ladder ...
    output.update(tuned.output(file_id, prefix, definition))  # {"PerTitle": {...}} or {}

The analysis is the first :data:`ANALYSIS_SHARE` percent of the step's progress: afterwards
``job.progress`` is replaced by one mapping the encode's 0-100 onto the rest, so whatever reports
the encode's progress (the job's callback, read when it starts) continues from there. Every FFmpeg
run gets the job's timeout and cancel event. The report (bitrates in kbps, VMAFs, rungs dropped,
the analysis time) is the step output's ``PerTitle`` and is stored beside the ladder as
``per_title.json`` (role ``AdaptiveDynamicStreaming.part``, the report as the object's info).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from openvod.domain.templates.per_title import per_title_on
from openvod.engine.jobs import JobContext
from openvod.engine.jobs.publish import publish
from openvod.media.common import Plan
from openvod.media.ladder import AdaptiveStreamingSpec, Rung
from openvod.media.per_title import PerTitleSpec, analyse
from openvod.media.transcode import SourceInfo

__all__ = ["ANALYSIS_SHARE", "REPORT_NAME", "TunedRungs", "per_title_spec", "tune_rungs"]

ANALYSIS_SHARE = 20.0
"""Percent of the step's progress the analysis stands for (about a third of a 20 s source's encode, less for
longer ones: its sampling is capped; BENCHMARKS.md)."""
REPORT_NAME = "per_title.json"


def per_title_spec(params: dict[str, Any], preset: str) -> PerTitleSpec:
    """The analysis a template's validated ``PerTitle`` params ask for (kbps to bit/s)."""
    return PerTitleSpec(top_vmaf=float(params.get("TopVmaf", 95)), vmaf_step=float(params.get("VmafStep", 0)),
                        min_bitrate=int(params.get("MinBitrate", 64)) * 1000,
                        max_bitrate=int(params["MaxBitrate"]) * 1000 if params.get("MaxBitrate") else None,
                        preset=preset)


@dataclass
class TunedRungs:
    """The rungs to encode and, when the analysis ran, its ``report``."""

    job: JobContext
    bucket: str
    rungs: tuple[Rung, ...]
    report: dict[str, Any] | None = None

    def output(self, file_id: str, prefix: str, definition: int) -> dict[str, Any]:
        """Store the report beside the ladder (``{prefix}AdaptiveDynamicStreaming/{definition}/``)
        and return the step output's ``PerTitle`` entry; ``{}`` when per-title was off."""
        if self.report is None:
            return {}
        path = self.job.workdir / REPORT_NAME
        path.write_text(json.dumps(self.report, indent=1), encoding="utf-8")
        publish(self.job, self.bucket, [(path, f"{prefix}AdaptiveDynamicStreaming/{definition}/{REPORT_NAME}")],
                role="AdaptiveDynamicStreaming.part", media_id=file_id, definition=definition,
                info=[{"per_title": self.report}])
        return {"PerTitle": self.report}


def _share(report: Callable[[float], None], lo: float, hi: float) -> Callable[[float], None]:
    return lambda pct: report(lo + (hi - lo) * pct / 100)


def tune_rungs(job: JobContext, bucket: str, key: str, info: SourceInfo, template: dict[str, Any],
               rungs: Sequence[Rung]) -> TunedRungs:
    """``rungs`` with per-title bitrates when the template's ``PerTitle.Switch`` is ON (and the
    source has video); otherwise ``rungs`` unchanged. See the module docstring for progress."""
    if not rungs or not per_title_on(template) or not info.has_video:
        return TunedRungs(job, bucket, tuple(rungs))
    spec = per_title_spec(template["PerTitle"], AdaptiveStreamingSpec().preset)
    work = job.workdir / "per_title"
    work.mkdir(parents=True, exist_ok=True)
    report = job.progress
    runs = 0

    def run(plan: Plan[Any]) -> None:
        nonlocal runs
        half = ANALYSIS_SHARE / 2
        job.run_ffmpeg(plan.args, duration=plan.duration, on_progress=_share(report, runs * half, (runs + 1) * half))
        runs += 1

    started = time.monotonic()
    with job.source(bucket, key) as source:
        result = analyse(spec, rungs, source, info, work, run,
                         skip_higher=bool(template.get("DisableHigherVideoResolution", 1)))
    seconds = time.monotonic() - started
    job.progress = _share(report, ANALYSIS_SHARE, 100.0)
    return TunedRungs(job, bucket, result.rungs or tuple(rungs), result.report(seconds))
