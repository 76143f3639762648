"""Publishing a job's files: stored under a temporary prefix, then moved into place (the main file
last), so a reader never sees a partial output and a retried attempt simply overwrites."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from openvod.engine.jobs import JobContext
from openvod.storage.base import ObjectStat

__all__ = ["publish"]


def publish(job: JobContext, bucket: str, files: Sequence[tuple[Path, str]], *, role: str | Sequence[str],
            acl: str = "private", media_id: str | None = None, definition: int | None = None,
            info: Sequence[dict[str, Any] | None] | None = None) -> list[ObjectStat]:
    """Store ``files`` (local path, final key) in ``bucket``; the LAST pair is the main file and
    appears last. ``role``/``info`` may be given per file. Returns the stats in ``files`` order."""
    storage = job.ctx.storage
    tmp = f"{job.app_id}/.tmp/{job.step_id}-{uuid.uuid4().hex[:8]}/"
    staged: list[tuple[str, str]] = []
    try:
        for i, (path, key) in enumerate(files):
            with open(path, "rb") as f:
                storage.put(bucket, f"{tmp}{i}", f)
            staged.append((f"{tmp}{i}", key))
    except BaseException:
        storage.delete_prefix(bucket, tmp)
        raise
    stats = []
    for i, (tmp_key, final) in enumerate(staged):
        stat = storage.move(bucket, tmp_key, final)
        r = role if isinstance(role, str) else role[i]
        job.hooks.register_object(job.ctx, job.app_id, stat, role=r, acl=acl, media_id=media_id,
                                  definition=definition, info=info[i] if info else None)
        stats.append(stat)
    return stats
