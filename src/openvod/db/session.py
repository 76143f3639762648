"""Engine and session factory. SQLite runs in WAL mode with a busy timeout.

A full disk is translated here, once for the whole database layer: a write that SQLite refuses
with ``SQLITE_FULL`` ("database or disk is full"), or that fails with ``ENOSPC``, rolls its
transaction back and raises :class:`~openvod.errors.InsufficientStorage` (507). So is a number
too big for the database (a 30-digit id or offset SQLite cannot bind, PostgreSQL's "value out of
range"): a client's mistake whatever route it came through, so 400 ``InvalidParameter.OutOfRange``.
"""

from __future__ import annotations

import errno
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.exc import DataError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from openvod.crypto import SecretBox
from openvod.errors import InsufficientStorage, InvalidParameter

__all__ = ["Database"]


class Database:
    """Owns the engine; ``with db.session() as s:`` is one transaction, committed on success.

    ``box`` seals the secrets stored in it (key pairs, callback secrets); services that read or
    write those need one (``build_context`` gives it the master key)."""

    def __init__(self, url: str, *, box: SecretBox | None = None) -> None:
        self.url = url
        self.box = box
        kwargs: dict[str, Any] = {}
        if url.startswith("sqlite"):
            kwargs["connect_args"] = {"check_same_thread": False, "timeout": 30}
        self.engine: Engine = create_engine(url, **kwargs)
        if url.startswith("sqlite"):
            event.listen(self.engine, "connect", _sqlite_pragmas)
        # Copied into every session's ``info``: the context puts its signals here, so a commit
        # listener can wake the waiters of the process that committed (see ``openvod.runtime``).
        self.info: dict[str, Any] = {}
        self._factory = sessionmaker(self.engine, expire_on_commit=False, info=self.info)

    @contextmanager
    def session(self) -> Iterator[Session]:
        try:
            with self._factory() as s, s.begin():
                yield s
        except OperationalError as exc:
            if _disk_full(exc):
                raise InsufficientStorage(
                    "the database's disk is full, so the change was not saved (rolled back); "
                    "the operator must free space in the data directory, then retry"
                ) from exc
            raise
        except (OverflowError, DataError) as exc:
            raise InvalidParameter(
                "a value in the request is out of the range the database stores (numbers must fit in 64 bits)",
                code="InvalidParameter.OutOfRange") from exc

    def dispose(self) -> None:
        self.engine.dispose()


_SQLITE_FULL = 13


def _disk_full(exc: OperationalError) -> bool:
    orig = exc.orig
    if getattr(orig, "sqlite_errorcode", None) == _SQLITE_FULL or "database or disk is full" in str(orig):
        return True
    return isinstance(orig, OSError) and orig.errno in (errno.ENOSPC, errno.EDQUOT)


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.close()
