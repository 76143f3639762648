"""``transcode``: sources (concatenated in index order) through a preset into one output.

FFmpeg writes into the job's private work dir; the files are then stored under a temporary key
and moved into place, main file last, so a reader never sees a partial output at the
destination and a retried attempt simply overwrites.
"""

from __future__ import annotations

from contextlib import ExitStack
from pathlib import Path
from typing import Any

from openvod.domain.presets import parse_params
from openvod.engine.jobs import JobContext, register
from openvod.engine.jobs.publish import publish
from openvod.errors import MediaError
from openvod.media.inputs import MediaLimits
from openvod.media.probe import probe
from openvod.media.transcode import SourceInfo, build_transcode_args, expected_duration


@register("transcode")
def transcode(job: JobContext) -> dict[str, Any]:
    data, ctx = job.input, job.ctx
    spec = parse_params(data["params"])
    dst = data["dst"]
    out_dir = job.workdir / "out"
    out_dir.mkdir(parents=True, exist_ok=True)
    output = out_dir / dst["key"].rsplit("/", 1)[-1]
    with ExitStack() as stack:
        # FFmpeg reads each source where it lies (S3: a presigned URL, nothing copied to this disk).
        inputs = [stack.enter_context(job.source(s["bucket"], s["key"])) for s in data["sources"]]
        infos = [_source_probe(job, s) for s in data["sources"]]
        sources = [SourceInfo.from_probe(i) for i in infos]
        duration = expected_duration(sources)
        args = build_transcode_args(spec, list(inputs), output, sources=sources, threads=ctx.settings.ffmpeg_threads)
        job.run_ffmpeg(args, duration=duration)
    if not output.is_file():
        raise MediaError(f"FFmpeg finished but wrote no {output.name}", code="FailedOperation.NoOutput")
    # The output is probed on demand (task meta), not here: a probe is a process start, and
    # submit -> succ latency is what users wait on.
    files = publish_transcode(job, out_dir, output, dst)
    return {"size": output.stat().st_size, "files": files, "expected_duration": duration}


def _source_probe(job: JobContext, src: dict[str, Any]) -> dict[str, Any]:
    """A media file's stored probe (made at upload) when there is one, else a fresh probe (the
    prober reads a local copy: it runs sandboxed, without network protocols)."""
    if src.get("file_id"):
        stored = job.hooks.stored_probe(job.ctx, src["file_id"], src["key"])
        if stored is not None:
            return stored
    with job.ctx.storage.local_path(src["bucket"], src["key"]) as path:
        return probe(path, timeout=job.ctx.settings.probe_timeout, limits=MediaLimits.from_settings(job.ctx.settings))


def publish_transcode(job: JobContext, out_dir: Path, main: Path, dst: dict[str, Any]) -> list[str]:
    """Publish ``main`` and the files beside it in ``out_dir`` (HLS segments) at the task's
    destination ``dst``, as ``transcode`` objects; their keys without the app prefix."""
    base = dst["key"].rsplit("/", 1)[0] + "/" if "/" in dst["key"] else ""
    others = sorted(p for p in out_dir.rglob("*") if p.is_file() and p != main)
    files = [(p, base + p.relative_to(out_dir).as_posix()) for p in [*others, main]]
    publish(job, dst["bucket"], files, role="transcode", acl=dst.get("acl", "private"))
    return [key.removeprefix(f"{job.app_id}/") for _, key in files]
