"""Storing processing results on :class:`~videos.models.Video`, whichever way they arrive.

A ``ProcedureTask`` (Tencent's shape: DescribeTaskDetail's ``ProcedureTask``, the payload of a
``ProcedureStateChanged`` event pulled or pushed) carries the results the seed read::

    ProcedureTask.MediaProcessResultSet[i].AnimatedGraphicTask.Output.Url      the GIF
    ProcedureTask.MediaProcessResultSet[i].CoverBySnapshotTask.Output.CoverUrl the cover
    ProcedureTask.MetaData.Duration                                          the duration

The seed picked results by position ([0] the GIF, [1] the cover: the order of ``MediaProcessTask``'s
sets); here they are picked by ``Type``, so a task flow with other steps works too.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db import transaction

from videos.models import Video

__all__ = ["Results", "read_results", "store_new_file", "store_results"]


@dataclass(frozen=True)
class Results:
    """The seed's three values from one finished ``ProcedureTask``."""

    task_id: str
    file_id: str
    name: str
    cover_url: str
    gif_url: str
    duration: float | None


def _output(procedure_task: dict[str, Any], kind: str, field: str, url_key: str) -> str:
    for result in procedure_task.get("MediaProcessResultSet") or ():
        step = result.get(field) or {}
        if result.get("Type") == kind and step.get("Status") == "SUCCESS":
            return str((step.get("Output") or {}).get(url_key) or "")
    return ""


def read_results(procedure_task: dict[str, Any]) -> Results | None:
    """The results of a finished ``ProcedureTask``; ``None`` while it is still running."""
    if procedure_task.get("Status") != "FINISH":
        return None
    duration = (procedure_task.get("MetaData") or {}).get("Duration")
    return Results(
        task_id=str(procedure_task["TaskId"]),
        file_id=str(procedure_task["FileId"]),
        name=str(procedure_task.get("FileName") or ""),
        cover_url=_output(procedure_task, "CoverBySnapshot", "CoverBySnapshotTask", "CoverUrl"),
        gif_url=_output(procedure_task, "AnimatedGraphics", "AnimatedGraphicTask", "Url"),
        duration=float(duration) if duration is not None else None,
    )


def store_results(procedure_task: dict[str, Any]) -> bool:
    """Store a finished task's results on its file's ``Video``; True if this call stored them.

    False for a task still running and for one already stored (a redelivered event, a callback
    after GetVideoResponse): nothing is written twice.
    """
    results = read_results(procedure_task)
    if results is None:
        return False
    with transaction.atomic():
        video, _ = Video.objects.select_for_update().get_or_create(
            file_id=results.file_id, defaults={"name": results.name})
        if video.result_task_id == results.task_id:
            return False
        video.name = video.name or results.name
        video.cover_url = results.cover_url or video.cover_url
        video.gif_url = results.gif_url or video.gif_url
        video.duration = results.duration if results.duration is not None else video.duration
        video.result_task_id = results.task_id
        video.save()
    return True


def store_new_file(file_id: str, name: str, duration: float | None) -> bool:
    """Record an uploaded file (a ``NewFileUpload`` event); True if it was not known yet."""
    _, created = Video.objects.get_or_create(file_id=file_id, defaults={"name": name, "duration": duration})
    return created
