"""Engine and session factory, for SQLite (the embedded default) and PostgreSQL (scale-out).

SQLite runs in WAL mode with a busy timeout; its writers are serialized, so the row locks the
engine asks for (``FOR UPDATE``) are left out of its SQL. PostgreSQL is reached through psycopg 3:
``postgresql://`` and ``postgres://`` URLs mean ``postgresql+psycopg://`` (:func:`engine_url`), and
the pool suits both the API server (a request thread pool) and a worker process (one step and its
heartbeat): a few connections kept, more opened under load, each checked before use so a
restarted server costs one failed ping, not a failed request.

A full disk is translated here, once for the whole database layer: a write that SQLite refuses
with ``SQLITE_FULL`` ("database or disk is full"), or that fails with ``ENOSPC``, rolls its
transaction back and raises :class:`~openvod.errors.InsufficientStorage` (507). So is a number
too big for the database (a 30-digit id or offset SQLite cannot bind, PostgreSQL's "value out of
range"): a client's mistake whatever route it came through, so 400 ``InvalidParameter.OutOfRange``,
and a string longer than its column (PostgreSQL checks ``VARCHAR(n)``, SQLite does not), 400
``InvalidParameter.TooLong``.
"""

from __future__ import annotations

import errno
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DataError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from openvod.crypto import SecretBox
from openvod.errors import InsufficientStorage, InvalidParameter

__all__ = ["POOL_MAX_OVERFLOW", "POOL_SIZE", "Database", "engine_url", "is_postgresql"]

POOL_SIZE = 5  # PostgreSQL connections a process keeps open once it has needed them
POOL_MAX_OVERFLOW = 15  # more, opened under load and closed when returned
POOL_RECYCLE_SECONDS = 1800  # older connections are replaced (idle-killing proxies, failovers)
_PG_DRIVERS = {"postgresql", "postgres", "postgresql+psycopg", "postgresql+psycopg2"}


def engine_url(url: str) -> str:
    """``url`` as SQLAlchemy is given it: PostgreSQL URLs (``postgresql://``, ``postgres://``,
    ``postgresql+psycopg2://``) use psycopg 3; other URLs are returned unchanged."""
    parsed = make_url(url)
    if parsed.drivername in _PG_DRIVERS and parsed.drivername != "postgresql+psycopg":
        return parsed.set(drivername="postgresql+psycopg").render_as_string(hide_password=False)
    return url


def is_postgresql(url: str) -> bool:
    """Whether ``url`` names a PostgreSQL database (under any of the spellings :func:`engine_url` takes)."""
    return make_url(url).drivername in _PG_DRIVERS


class Database:
    """Owns the engine; ``with db.session() as s:`` is one transaction, committed on success.

    ``box`` seals the secrets stored in it (key pairs, callback secrets); services that read or
    write those need one (``build_context`` gives it the master key)."""

    def __init__(self, url: str, *, box: SecretBox | None = None) -> None:
        self.url = engine_url(url)
        self.box = box
        self.is_postgresql = is_postgresql(self.url)
        kwargs: dict[str, Any] = {}
        if self.url.startswith("sqlite"):
            kwargs["connect_args"] = {"check_same_thread": False, "timeout": 30}
        elif self.is_postgresql:
            kwargs.update(pool_size=POOL_SIZE, max_overflow=POOL_MAX_OVERFLOW, pool_pre_ping=True,
                          pool_recycle=POOL_RECYCLE_SECONDS,
                          # Named in pg_stat_activity; keepalives notice a peer gone without a word.
                          connect_args={"application_name": "openvod", "connect_timeout": 10,
                                        "keepalives": 1, "keepalives_idle": 60, "keepalives_interval": 10,
                                        "keepalives_count": 3})
        self.engine: Engine = create_engine(self.url, **kwargs)
        if self.url.startswith("sqlite"):
            event.listen(self.engine, "connect", _sqlite_pragmas)
        # Copied into every session's ``info``: the context puts its signals here, so a commit
        # listener can wake the waiters of the process that committed (see ``openvod.runtime``).
        self.info: dict[str, Any] = {}
        self._on_dispose: list[Callable[[], None]] = []
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
            raise _refused_value(exc) from exc

    def on_dispose(self, release: Callable[[], None]) -> None:
        """Call ``release`` when the database is disposed (what else holds connections to it)."""
        self._on_dispose.append(release)

    def dispose(self) -> None:
        """Close the pool's connections, and whatever was registered with :meth:`on_dispose`."""
        while self._on_dispose:
            self._on_dispose.pop()()
        self.engine.dispose()


_SQLITE_FULL = 13
_STRING_TOO_LONG = "22001"  # PostgreSQL's string_data_right_truncation


def _refused_value(exc: OverflowError | DataError) -> InvalidParameter:
    """What a value the database would not store tells the client."""
    orig = exc.orig if isinstance(exc, DataError) else exc
    if getattr(orig, "sqlstate", None) == _STRING_TOO_LONG:
        return InvalidParameter("a text value in the request is longer than the database stores for it",
                                code="InvalidParameter.TooLong")
    if "NUL (0x00)" in str(orig):  # psycopg refuses them before sending: PostgreSQL text cannot hold one
        return InvalidParameter("a text value in the request contains a NUL character, which cannot be stored",
                                code="InvalidParameter.NulCharacter")
    return InvalidParameter(
        "a value in the request is out of the range the database stores (numbers must fit in 64 bits)",
        code="InvalidParameter.OutOfRange")


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
