"""Read models of tasks: a task as the task APIs show it, a processing task's detail, probe info.

    view = services.tasks.get_task(ctx, app_id, task_id)       # TaskView
    view.state in TERMINAL, view.queue_position, view.transcode_output.url
    detail = services.processing.process_task_detail(ctx, app_id, task_id)  # ProcessingTaskView

Times are aware UTC ``datetime``; renderers format them. ``output`` payloads of steps are stored
as the jobs wrote them, with URL markers (``{"_object": [bucket, key]}``) that a transport turns
into signed URLs when it answers (``services.processing.render``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from openvod.domain.tasks import TaskState

__all__ = ["MediaRef", "ProcessingTaskView", "StepView", "TaskDestination", "TaskError", "TaskMetaView",
           "TaskSource", "TaskView", "TranscodeOutput"]


@dataclass(frozen=True)
class TaskError:
    code: str
    message: str | None


@dataclass(frozen=True)
class TaskSource:
    """One source of a transcode task, as its creator named it."""

    name: str
    type: str
    index: int
    file_id: str | None
    path: str = ""  # ``/bucket/key`` as submitted ("" for a fileId source, or a task stored before it was kept)


@dataclass(frozen=True)
class TaskDestination:
    """Where a transcode task writes, in the app's own (logical) bucket names."""

    bucket: str
    key: str
    acl: str
    dir: str = ""  # the dstDir the task was created with, "" when none


@dataclass(frozen=True)
class TranscodeOutput:
    """The result of a finished transcode: the object, its size, a fresh URL, and the extra files
    (HLS segments) beside it."""

    bucket: str
    key: str
    size: int | None
    url: str
    files: list[Any]


@dataclass(frozen=True)
class TaskView:
    """A task of any kind. Transcode tasks fill ``preset``/``sources``/``dst``/``transcode_output``;
    processing tasks (they have a ``file_id``) fill ``file_id``/``procedure``/``session_*``; a
    finished task of another kind keeps its raw ``result``."""

    task_id: str
    kind: str
    state: TaskState
    progress: float
    queue_position: int | None  # only while queued (``init``)
    priority: int
    topped: bool
    attempts: int
    ext_param: str
    cb_url: str | None
    cb_method: str
    error: TaskError | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    preset: str | None = None
    sources: tuple[TaskSource, ...] | None = None
    dst: TaskDestination | None = None
    transcode_output: TranscodeOutput | None = None
    result: dict[str, Any] | None = None  # a finished non-transcode task's output
    file_id: str | None = None
    procedure: str | None = None
    session_id: str | None = None  # "" for a processing task without one; None for other tasks
    session_context: str | None = None


@dataclass(frozen=True)
class TaskMetaView:
    """ffprobe JSON of a task's sources and of its output (``{"error": ...}`` for one that can't be read)."""

    task_id: str
    sources: list[dict[str, Any]]
    output: dict[str, Any] | None


@dataclass(frozen=True)
class StepView:
    """One step of a processing task (one item of its ``MediaProcessTask``), in result order."""

    index: int
    kind: str  # Transcode, AnimatedGraphics, SnapshotByTimeOffset, ...
    state: TaskState
    progress: float
    definition: Any  # the template's Definition, as the task named it
    params: dict[str, Any]  # the step's own settings (offsets, time points, position)
    output: dict[str, Any] | None  # as the job wrote it, with URL markers
    error_code: str | None
    error_message: str | None
    started_at: datetime | None
    finished_at: datetime | None


@dataclass(frozen=True)
class MediaRef:
    """The media file a processing task works on."""

    file_id: str
    name: str
    bucket: str
    key: str
    meta: dict[str, Any] | None


@dataclass(frozen=True)
class ProcessingTaskView:
    """A processing task (``process_media`` or ``procedure``) with its steps: what a task detail
    and a ``ProcedureStateChanged`` event are rendered from."""

    task_id: str
    state: TaskState
    file_id: str | None
    media: MediaRef | None  # None once the media file is gone
    error_message: str | None
    priority: int
    notify_mode: str
    session_context: str
    session_id: str | None
    procedure: str
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    steps: tuple[StepView, ...]
