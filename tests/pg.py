"""Fresh PostgreSQL databases for tests, on the server ``OPENVOD_TEST_PG`` names (an admin URL,
default ``postgresql://postgres@127.0.0.1:5432/postgres``; ``scripts/start-services`` starts a
private one where none runs, so these tests never skip).

The schema is migrated once per test process into a template database; each fresh database is a
copy of it (``CREATE DATABASE … TEMPLATE``, ~0.1 s instead of ~0.5 s of migrations), dropped
when its test ends, and commits without waiting for the disk (``synchronous_commit = off``).
The fixtures (``pg_url``, ``database_url``) are in ``tests/conftest.py``."""

from __future__ import annotations

import atexit
import os
import secrets
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
from psycopg import sql

__all__ = ["PG_ADMIN", "PgServer", "shared_server"]

PG_ADMIN = os.environ.get("OPENVOD_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")


class PgServer:
    """The test PostgreSQL server: makes and drops databases named ``openvod_test_<hex>``."""

    def __init__(self, admin_url: str = PG_ADMIN) -> None:
        self.admin_url = admin_url
        self._template: str | None = None
        self._lock = threading.Lock()
        self._made: set[str] = set()
        try:
            with self._admin() as conn:
                conn.execute("SELECT 1")
        except psycopg.OperationalError as exc:
            raise RuntimeError(f"no PostgreSQL for the tests at {admin_url} ({exc}); run scripts/start-services, "
                               "or set OPENVOD_TEST_PG to an admin URL of a server that may create databases") from exc

    def _admin(self) -> psycopg.Connection[tuple[object, ...]]:
        return psycopg.connect(self.admin_url, autocommit=True, connect_timeout=10)

    def url(self, name: str) -> str:
        """The URL of database ``name`` on this server (``postgresql://``, as an operator writes it)."""
        base, _, _ = self.admin_url.partition("?")
        return f"{base.rsplit('/', 1)[0]}/{name}"

    def create(self, *, migrated: bool = True) -> str:
        """A new database, with OpenVOD's schema at head unless ``migrated`` is False; its URL."""
        name = f"openvod_test_{secrets.token_hex(6)}"
        template = self._migrated_template() if migrated else "template0"
        with self._admin() as conn:
            conn.execute(sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(sql.Identifier(name),
                                                                         sql.Identifier(template)))
            self._made.add(name)
            # A test's commits need not survive a crash of the server: no WAL flush per commit.
            conn.execute(sql.SQL("ALTER DATABASE {} SET synchronous_commit = off").format(sql.Identifier(name)))
        return self.url(name)

    def drop(self, url: str) -> None:
        """Drop the database at ``url``, disconnecting whoever still uses it."""
        name = url.rsplit("/", 1)[1]
        with self._admin() as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        self._made.discard(name)

    @contextmanager
    def database(self, *, migrated: bool = True) -> Iterator[str]:
        """A fresh database for the length of a ``with`` block."""
        url = self.create(migrated=migrated)
        try:
            yield url
        finally:
            self.drop(url)

    def _migrated_template(self) -> str:
        with self._lock:
            if self._template is None:
                from openvod.db.migrate import upgrade
                from openvod.db.session import Database

                url = self.create(migrated=False)
                db = Database(url)
                try:
                    upgrade(db)
                finally:
                    db.dispose()  # a template must have no connections to be copied
                self._template = url.rsplit("/", 1)[1]
            return self._template

    def close(self) -> None:
        """Drop the databases made here that are left, then the template."""
        for name in sorted(self._made - {self._template}):
            self.drop(self.url(name))
        if self._template is not None:
            self.drop(self.url(self._template))
            self._template = None


_shared: PgServer | None = None


def shared_server() -> PgServer:
    """One :class:`PgServer` per test process (for servers made outside a fixture: conftest's
    ``server_env`` on ``OPENVOD_TEST_DATABASE=postgresql``); what it made is dropped at exit."""
    global _shared
    if _shared is None:
        _shared = PgServer()
        atexit.register(_shared.close)
    return _shared
