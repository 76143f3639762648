"""The executor seam: what runs the steps the durable queue (:mod:`openvod.engine.queue`) holds.

Work is *submitted* by committing task steps to the database and sending
``ctx.signals.work_available()``; a *cancel* is ``cancel_requested`` on the step's row. The
executor subscribes to the work signal at :meth:`Executor.start`, leases steps from the queue,
runs them, and delivers cancels to the running job; nothing above the engine holds a reference to
it beyond its lifecycle. So the protocol is small: ``start``, ``stop``, ``wake`` (the signal's
listener, also callable directly) and ``health``.

``local`` (:class:`openvod.engine.local.LocalExecutor`, a process pool inside the server) is the
default; ``celery`` (:class:`openvod.engine.celery_executor.CeleryExecutor`) runs no step in the
server: it feeds ``openvod worker`` processes on any machine through a Redis broker, while leases,
attempts and cancels stay in the database. The ``executor`` setting chooses.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol, assert_never

from openvod.config import Settings
from openvod.runtime import Context

__all__ = ["ContextFactory", "Executor", "ExecutorHealth", "create_executor"]

ContextFactory = Callable[[Settings], Context]
"""Builds a worker's context from settings (``services.context.worker_context``): a module-level
function, since it is handed to worker processes across a spawn."""


@dataclass(frozen=True)
class ExecutorHealth:
    """A snapshot of an executor: ``ok`` when it runs and has every worker it should."""

    kind: str
    running: bool
    workers: int  # how many it should have
    alive: int  # how many are alive now
    busy: int  # how many hold a step

    @property
    def ok(self) -> bool:
        return self.running and self.alive == self.workers


class Executor(Protocol):
    """Runs leased steps until stopped. ``start`` once, ``stop`` at shutdown."""

    def start(self) -> None:
        """Recover leases left by dead processes, start the workers, listen for work."""
        ...

    def stop(self, timeout: float = 10.0) -> None:
        """Stop taking work; put running steps back in the queue (no attempt counted)."""
        ...

    def wake(self) -> None:
        """Look at the queue (and for cancels) now rather than at the next timer."""
        ...

    def health(self) -> ExecutorHealth:
        ...


def create_executor(ctx: Context, build_context: ContextFactory) -> Executor | None:
    """The executor ``ctx.settings.executor`` names, or None when this process runs no steps
    (``workers`` 0). ``build_context`` makes each worker's context (see :data:`ContextFactory`)."""
    settings = ctx.settings
    if settings.executor == "celery":  # steps run in `openvod worker` processes, never here
        from openvod.engine.celery_executor import CeleryExecutor

        return CeleryExecutor(ctx)
    if settings.workers <= 0:
        return None
    if settings.executor == "local":
        from openvod.engine.local import LocalExecutor

        return LocalExecutor(ctx, settings.workers, build_context)
    assert_never(settings.executor)  # a new kind in the setting's Literal must be built here
