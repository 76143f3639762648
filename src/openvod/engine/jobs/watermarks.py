"""The watermarks of a Transcode or AdaptiveDynamicStreaming step, ready for the media builders.

    marks = step_watermarks(job, duration=src.info.duration)   # () when the step has none
    build_transcode_args(spec, [path], output, watermarks=marks)

The task service copied each ``WatermarkSet`` item's template params into the step's input
(``input["watermarks"]``: the template's params plus the item's ``TextContent`` and offsets). An
image is copied from storage into the job's work directory, so FFmpeg opens a local file of the
format its bytes were checked to be when the template was made.
"""

from __future__ import annotations

import shutil
from typing import Any, Literal, cast

from openvod.domain.templates.watermarks import IMAGE_KEY, parse_length
from openvod.engine.jobs import JobContext
from openvod.media.watermark import ImageMark, TextMark, Watermark

__all__ = ["step_watermarks"]


def _offset(value: float | None, duration: float | None) -> float | None:
    """Tencent's offsets: seconds; negative counts back from the end; 0 or none is no bound."""
    if not value:
        return None
    if value < 0:
        return max(0.0, (duration or 0.0) + value) if duration else None
    return float(value)


def _image(job: JobContext, i: int, tpl: dict[str, Any]) -> ImageMark:
    bucket, key = tpl[IMAGE_KEY]
    fmt: Literal["png", "jpeg"] = "png" if str(key).endswith(".png") else "jpeg"
    local = job.workdir / "watermarks" / f"{i}.{'png' if fmt == 'png' else 'jpg'}"
    local.parent.mkdir(parents=True, exist_ok=True)
    with job.ctx.storage.local_path(bucket, key) as path:  # NotFound (ResourceNotFound.Object) if deleted
        shutil.copyfile(path, local)
    return ImageMark(local, fmt, width=parse_length(tpl["Width"]), height=parse_length(tpl["Height"]),
                     opacity=1 - int(tpl.get("Transparency", 0)) / 100)


def _text(item: dict[str, Any]) -> TextMark:
    tpl = item["TextTemplate"]
    return TextMark(item["TextContent"], font_size=int(str(tpl["FontSize"]).removesuffix("px")),
                    color=str(tpl["FontColor"])[2:], alpha=float(tpl["FontAlpha"]))


def step_watermarks(job: JobContext, *, duration: float | None) -> tuple[Watermark, ...]:
    """The step's watermarks in ``WatermarkSet`` order; offsets resolved against ``duration``."""
    out: list[Watermark] = []
    for i, item in enumerate(job.input.get("watermarks") or []):
        start, end = _offset(item.get("StartTimeOffset"), duration), _offset(item.get("EndTimeOffset"), duration)
        if start is not None and end is not None and end <= start:
            continue  # the window is empty for this source: nothing to draw
        mark = _image(job, i, item["ImageTemplate"]) if item["Type"] == "image" else _text(item)
        out.append(Watermark(mark, origin=cast(Any, item["CoordinateOrigin"]), x=parse_length(item["XPos"]),
                             y=parse_length(item["YPos"]), start=start, end=end))
    return tuple(out)
