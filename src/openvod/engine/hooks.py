"""What the engine needs from the layers above it, handed down as plain functions.

The queue records a task's state changes as events in the transaction that settles its step, and
jobs register the objects they publish and create HLS keys. Those are services' effects, and the
engine does not import services: the process's wiring (``services.context.build_context``, the
one place) builds an :class:`EngineHooks` from services' functions and installs it
(:func:`install`) before any step is claimed or run, in the server and every worker process alike.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from sqlalchemy.orm import Session

from openvod.db.models import Task
from openvod.runtime import Context
from openvod.storage.base import ObjectStat

__all__ = ["EngineHooks", "RecordEvent", "RegisterObject", "SetCover", "StoredProbe", "TaskEventHook", "current",
           "install"]


class RecordEvent(Protocol):
    """Add an event (and its pushes) in the caller's transaction; waiters wake on commit.
    Returns the event id (``services.events.record``)."""

    def __call__(self, s: Session, app_id: str, type_: str, payload: dict[str, Any], *,
                 cb_url: str | None = None, cb_method: str = "POST") -> str: ...


class RegisterObject(Protocol):
    """Insert or update the ``object`` row of a stored file, idempotently
    (``services.objects.register_object``)."""

    def __call__(self, ctx: Context, app_id: str, stat: ObjectStat, *, role: str, acl: str = "private",
                 media_id: str | None = None, definition: int | None = None,
                 info: dict[str, Any] | None = None) -> None: ...


TaskEventHook = Callable[[Session, Task, bool], None]
"""``hook(session, task, task_state_changed)``: the events of a task kind with events of its own
(processing tasks: ``ProcedureStateChanged``), recorded instead of the generic TaskStateChanged."""

CreateHlsKey = Callable[[Context, str, str | None], tuple[bytes, str]]
"""``(ctx, app_id, media_id) -> (16 key bytes, the key URI to write into the stored playlist)``."""

SetCover = Callable[[Context, str, str], None]
"""``(ctx, file_id, key)``: make physical ``key`` the cover of media ``file_id`` (``services.outputs.set_cover``)."""

StoredProbe = Callable[[Context, str, str], dict[str, Any] | None]
"""``(ctx, file_id, source_key) -> the probe stored at upload, or None`` (``services.outputs.stored_probe``)."""


@dataclass(frozen=True)
class EngineHooks:
    record_event: RecordEvent
    register_object: RegisterObject
    create_hls_key: CreateHlsKey
    set_cover: SetCover
    stored_probe: StoredProbe
    task_events: Mapping[str, TaskEventHook] = field(default_factory=dict)


_installed: EngineHooks | None = None


def install(hooks: EngineHooks) -> None:
    """Make ``hooks`` this process's engine hooks (the wiring calls this once; again is harmless)."""
    global _installed
    _installed = hooks


def current() -> EngineHooks:
    """This process's engine hooks; an error names the fix if the wiring never installed them."""
    if _installed is None:
        raise RuntimeError("the engine's hooks are not installed: build the process's context with "
                           "openvod.services.context.build_context, which installs them")
    return _installed
