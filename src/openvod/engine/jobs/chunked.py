"""A transcode in chunks (``domain/chunks.py`` decides where, ``services.chunking`` plans the steps):

* ``transcode_chunk`` — frames ``[first, first + count)`` of the source, encoded as the single
  pass would encode them, no audio; stored under the task's intermediate prefix;
* ``transcode_audio`` — the source's audio, encoded once, no video; stored there too;
* ``transcode_join`` — created ``wait``: the queue releases it once every other step of the task
  has succeeded. It fetches the pieces, joins the chunks with FFmpeg's concat demuxer and muxes
  the audio in, all without re-encoding (``-c copy``), publishes the file exactly as the
  ``transcode`` job does (same keys, role and output), then removes the intermediates.

The chunks and the audio run as separate steps on any workers (local or Celery alike); each
reports its own progress. Intermediates are never registered as objects: only the join's
output is. A task that fails or is cancelled keeps them (a failed chunk may be re-run) until it
is deleted (``services.tasks.delete_task`` removes them).
"""

from __future__ import annotations

import logging
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from openvod.domain.chunks import AUDIO_KIND, CHUNK_KIND, JOIN_KIND
from openvod.domain.presets import parse_params
from openvod.engine.jobs import JobContext, register
from openvod.engine.jobs.transcode import publish_transcode
from openvod.errors import MediaError, StorageError
from openvod.media.transcode import build_audio_args, build_chunk_args, build_join_args, concat_list

__all__ = ["audio", "chunk", "join"]

log = logging.getLogger("openvod.worker")


def _store(job: JobContext, path: Path, tmp: dict[str, Any]) -> dict[str, Any]:
    if not path.is_file():
        raise MediaError(f"FFmpeg finished but wrote no {path.name}", code="FailedOperation.NoOutput")
    with open(path, "rb") as f:
        stat = job.ctx.storage.put(tmp["bucket"], tmp["key"], f)
    return {"key": tmp["key"], "size": stat.size}


@register(CHUNK_KIND)
def chunk(job: JobContext) -> dict[str, Any]:
    data, ctx = job.input, job.ctx
    spec, src, part = parse_params(data["params"]), data["source"], data["chunk"]
    out = job.workdir / data["tmp"]["key"].rsplit("/", 1)[-1]
    # A chunk reads only its own stretch of the source: by range requests where it lies (S3).
    with job.source(src["bucket"], src["key"]) as path:
        args = build_chunk_args(spec, path, out, seek=part["seek"], frames=part["count"],
                                threads=ctx.settings.ffmpeg_threads)
        job.run_ffmpeg(args, duration=part["duration"])
    return {**_store(job, out, data["tmp"]), "index": part["index"], "first": part["first"], "frames": part["count"]}


@register(AUDIO_KIND)
def audio(job: JobContext) -> dict[str, Any]:
    data, ctx = job.input, job.ctx
    spec, src = parse_params(data["params"]), data["source"]
    out = job.workdir / data["tmp"]["key"].rsplit("/", 1)[-1]
    with job.source(src["bucket"], src["key"]) as path:
        job.run_ffmpeg(build_audio_args(spec, path, out, threads=ctx.settings.ffmpeg_threads),
                       duration=data.get("duration"))
    return _store(job, out, data["tmp"])


@register(JOIN_KIND)
def join(job: JobContext) -> dict[str, Any]:
    data, ctx = job.input, job.ctx
    spec, dst, tmp_bucket = parse_params(data["params"]), data["dst"], data["tmp_bucket"]
    out_dir = job.workdir / "out"
    out_dir.mkdir(parents=True, exist_ok=True)
    output = out_dir / dst["key"].rsplit("/", 1)[-1]
    with ExitStack() as stack:
        chunks = [(stack.enter_context(ctx.storage.local_path(tmp_bucket, c["key"])), c["duration"])
                  for c in data["chunks"]]
        sound = data.get("audio")
        audio_path = stack.enter_context(ctx.storage.local_path(tmp_bucket, sound["key"])) if sound else None
        listing = job.workdir / "chunks.ffconcat"  # ours, naming files we wrote: see build_join_args
        listing.write_text(concat_list(chunks), encoding="utf-8")
        job.run_ffmpeg(build_join_args(spec, listing, audio_path, output), duration=data.get("expected_duration"))
    if not output.is_file():
        raise MediaError(f"FFmpeg finished but wrote no {output.name}", code="FailedOperation.NoOutput")
    files = publish_transcode(job, out_dir, output, dst)
    for key in data["tmp_keys"]:
        try:
            ctx.storage.delete(tmp_bucket, key)
        except StorageError as exc:  # the output is in place; deleting the task tries again
            log.warning("task %s: intermediate %s was not removed: %s", job.task_id, key, exc)
    return {"size": output.stat().st_size, "files": files, "expected_duration": data.get("expected_duration"),
            "chunks": len(chunks)}
