"""Python client for the OpenVOD native REST API (``/v1``).

    from openvod.client import Client

    with Client("http://127.0.0.1:8080", SECRET_ID, SECRET_KEY) as vod:
        media = vod.upload(Path("clip.mp4"), on_progress=lambda sent, total: print(sent, total))
        print(media.file_id, media.metadata["Duration"])
        for item in vod.iter_media(name="clip"):
            print(item.name)

Uploads use tus and survive dropped connections, server restarts and (through the resume store)
the end of the process. A client holding only an upload signature (from :func:`sign_upload` in
your backend) passes it as ``upload_signature`` and can upload but not call other endpoints.

Transcoding: pick a preset (``list_presets``; the ``system-…`` ones exist everywhere), create a
task, wait for it::

        task = vod.create_task(preset="system-720p-h264", sources=media.file_id, dst_key="out/a.mp4")
        done = vod.wait_task(task.task_id, timeout=600, on_progress=lambda t: print(t.progress))
        print(done.state, done.output.url if done.output else done.error_message)

Processing (Tencent's model): templates (``create_template``), task flows (``create_procedure``),
``process_media`` / ``run_procedure`` on a file, and ``task_detail`` with one result per step::

        vod.create_procedure("cover-gif", {"CoverBySnapshotTaskSet": [{"Definition": 10,
                             "PositionType": "Time", "PositionValue": 1}]})
        task = vod.run_procedure(media.file_id, "cover-gif")
        vod.wait_task(task.task_id, timeout=300)

Events (uploads, task state changes) are pulled with ``pull_events`` and must be confirmed with
``confirm_events``, or pushed to the URL set with ``set_callback``.

Every failure is an :class:`openvod.errors.OpenVODError`: :class:`ApiError` when the server
answered with an error, :class:`NetworkError` when it could not be reached, :class:`WaitTimeout`
(also a :class:`TimeoutError`) when a wait ran out of time.
"""

from __future__ import annotations

from openvod.client._base import DEFAULT_TIMEOUT, LONG_POLL_SECONDS, PROGRESS_INTERVAL, SourceArg
from openvod.client._engine import EngineAPI
from openvod.client._events import EventsAPI
from openvod.client._library import LibraryAPI
from openvod.client._processing import ProcessingAPI
from openvod.client.models import (
    ApiError,
    Callback,
    Delivery,
    Event,
    Media,
    MediaPage,
    NetworkError,
    ObjectInfo,
    Preset,
    SourceObject,
    Task,
    TaskMeta,
    TaskOutput,
    TaskPage,
    WaitTimeout,
)
from openvod.client.signing import sign_upload
from openvod.client.tus import RetryPolicy
from openvod.domain.tasks import TaskState

__all__ = [
    "DEFAULT_TIMEOUT",
    "LONG_POLL_SECONDS",
    "PROGRESS_INTERVAL",
    "ApiError",
    "Callback",
    "Client",
    "Delivery",
    "Event",
    "Media",
    "MediaPage",
    "NetworkError",
    "ObjectInfo",
    "Preset",
    "RetryPolicy",
    "SourceArg",
    "SourceObject",
    "Task",
    "TaskMeta",
    "TaskOutput",
    "TaskPage",
    "TaskState",
    "WaitTimeout",
    "sign_upload",
]


class Client(LibraryAPI, EngineAPI, ProcessingAPI, EventsAPI):
    """A connection to one OpenVOD server as one app (key pair) or one upload signature.

    ``transport`` is the httpx seam (e.g. a fault injector in tests); ``chunk_size`` is the tus
    chunk; ``resume_store`` is the JSON file remembering unfinished uploads (default
    ``~/.cache/openvod/uploads.json``). Use as a context manager or call :meth:`close`.
    """
