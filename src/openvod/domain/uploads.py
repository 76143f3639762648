"""Upload session states: the words stored in ``upload.state``."""

from __future__ import annotations

from enum import StrEnum

__all__ = ["UploadState"]


class UploadState(StrEnum):
    """A tus upload: ``open`` while bytes arrive, ``done`` once its media exists, ``terminated``
    when the client deleted it or it expired."""

    OPEN = "open"
    DONE = "done"
    TERMINATED = "terminated"
