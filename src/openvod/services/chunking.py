"""Chunk-parallel transcodes: the steps of a transcode encoded in chunks (docs/scaling.md).

:func:`plan` decides at task creation, from the probe stored when the source was uploaded (no
probe on the request path: a source named by path, not fileId, has none and runs in one pass),
and :mod:`openvod.domain.chunks` says when the join is exact. The steps it returns run in
``engine/jobs/chunked.py``; their intermediates live under ``domain.chunks.chunk_prefix`` in the
destination bucket, listed in the task's input (``"chunked"``) so deleting the task removes them.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from openvod.domain.chunks import AUDIO_KIND, CHUNK_KIND, JOIN_KIND, chunk_prefix, plan_chunks
from openvod.domain.presets import parse_params
from openvod.domain.tasks import StepState
from openvod.errors import StorageError
from openvod.media.transcode import SourceInfo
from openvod.runtime import Context
from openvod.services import outputs

__all__ = ["ChunkedTranscode", "PlannedStep", "plan", "remove_intermediates"]

log = logging.getLogger("openvod.tasks")


@dataclass(frozen=True)
class PlannedStep:
    kind: str
    input: dict[str, Any]
    state: StepState = StepState.INIT


@dataclass(frozen=True)
class ChunkedTranscode:
    steps: list[PlannedStep]  # the chunks, the audio (if any), the join (waiting) last
    info: dict[str, Any]  # the task input's "chunked": {"chunks", "bucket", "keys"}


def plan(ctx: Context, app_id: str, task_id: str, data: dict[str, Any]) -> ChunkedTranscode | None:
    """The steps of transcode task ``task_id`` (its input ``data``) if it is to be encoded in
    chunks (``chunk_seconds`` > 0 and the source suits), else None: one ``transcode`` step."""
    seconds, sources = ctx.settings.chunk_seconds, data["sources"]
    if seconds <= 0 or len(sources) != 1 or not sources[0].get("file_id"):
        return None
    src = sources[0]
    probe = outputs.stored_probe(ctx, src["file_id"], src["key"])
    if probe is None:
        return None
    spec = parse_params(data["params"])
    cut = plan_chunks(probe, spec, seconds)
    if cut is None:
        return None
    bucket, prefix, ext = data["dst"]["bucket"], chunk_prefix(app_id, task_id), spec.container.extension
    source = {"bucket": src["bucket"], "key": src["key"], "file_id": src["file_id"]}
    common = {"params": data["params"], "source": source}
    duration = SourceInfo.from_probe(probe).duration
    steps, pieces = [], []
    for c, length in zip(cut.chunks, cut.durations(), strict=True):
        key = f"{prefix}v{c.index}{ext}"
        part = {"index": c.index, "first": c.first, "count": c.count, "seek": c.seek,
                "duration": length if length is not None else cut.duration - float(c.first / cut.fps)}
        steps.append(PlannedStep(CHUNK_KIND, {**common, "fps": str(cut.fps), "chunk": part,
                                              "tmp": {"bucket": bucket, "key": key}}))
        pieces.append({"key": key, "duration": length})
    audio = {"key": f"{prefix}a{ext}"} if cut.audio else None
    if audio is not None:
        steps.append(PlannedStep(AUDIO_KIND, {**common, "duration": duration,
                                              "tmp": {"bucket": bucket, "key": audio["key"]}}))
    keys = [p["key"] for p in pieces] + ([audio["key"]] if audio else [])
    steps.append(PlannedStep(JOIN_KIND, {"params": data["params"], "dst": data["dst"], "chunks": pieces,
                                         "audio": audio, "tmp_bucket": bucket, "tmp_keys": keys,
                                         "expected_duration": duration}, StepState.WAIT))
    return ChunkedTranscode(steps, {"chunks": len(pieces), "bucket": bucket, "keys": keys})


def remove_intermediates(ctx: Context, task_input: dict[str, Any]) -> None:
    """Delete a chunked task's intermediate files, if it has any (a no-op for other tasks)."""
    info = task_input.get("chunked") if isinstance(task_input, dict) else None
    if not info:
        return
    for key in info["keys"]:
        try:
            ctx.storage.delete(info["bucket"], key)
        except StorageError as exc:  # nothing refers to them any more: an operator may sweep .tmp/
            log.warning("intermediate %s/%s of a chunked task was not removed: %s", info["bucket"], key, exc)
