"""The one place where errors of the local disk become :class:`~openvod.errors.StorageError`.

Every write to a local file that holds user data (objects, tus staging files, S3 spools) runs
inside :func:`disk_errors`, so a full disk is always ``507 ResourceUnavailable.InsufficientStorage``
and any other I/O failure a ``503 InternalError.Storage`` naming what was being written, never a
bare ``OSError`` (a 500 with a traceback).
"""

from __future__ import annotations

import errno
from collections.abc import Iterator
from contextlib import contextmanager

from openvod.errors import InsufficientStorage, OpenVODError, StorageError

__all__ = ["FULL_ERRNOS", "disk_error", "disk_errors"]

FULL_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT})


def disk_error(exc: OSError, what: str) -> StorageError:
    """The exception for ``exc``, raised while doing ``what`` (e.g. ``"write upload data"``)."""
    if exc.errno in FULL_ERRNOS:
        return InsufficientStorage(
            f"no space left on the storage device to {what}; the operator must free disk space, "
            "then the request can be retried (a tus upload resumes from its last offset)"
        )
    return StorageError(f"could not {what}: {exc.strerror or type(exc).__name__}")


@contextmanager
def disk_errors(what: str) -> Iterator[None]:
    """Translate ``OSError`` raised in the block (``raise ... from exc``); ours pass through."""
    try:
        yield
    except OpenVODError:
        raise
    except OSError as exc:
        raise disk_error(exc, what) from exc
