"""The wiring of a process: builds its :class:`~openvod.runtime.Context` (settings, database
migrated and its secrets sealed, storage, URL secret, signals) and installs the engine's hooks
(:mod:`openvod.engine.hooks`), the services' functions the engine calls without importing
services. Built once per process (the server, each worker, a CLI command), then handed down.

Signals: on PostgreSQL every process shares them (:class:`~openvod.runtime.SharedSignals` over
``LISTEN/NOTIFY``, :mod:`openvod.db.notify`), so a step settled by a worker on another machine
wakes this server's long-polls at once; on SQLite a signal reaches the listeners of its own
process, and other processes' commits are heard through ``PRAGMA data_version``
(:mod:`openvod.db.sqlite_watch`), so waiters need no timer of their own. An in-memory SQLite
database (one connection's own) keeps :class:`~openvod.runtime.LocalSignals`."""

from __future__ import annotations

import hashlib
import os
import secrets
from pathlib import Path
from urllib.parse import quote

from sqlalchemy.engine import make_url

from openvod.config import Settings
from openvod.crypto import SecretBox, load_master_key
from openvod.db.migrate import upgrade
from openvod.db.session import Database
from openvod.db.sqlite_watch import SqliteRelay
from openvod.domain.urlsign import sign_object
from openvod.engine import hooks as engine_hooks
from openvod.runtime import Context, LocalSignals, SharedSignals, Signals
from openvod.services import events, hls_keys, objects, outputs, processing, stored_secrets
from openvod.storage.base import Storage
from openvod.storage.local import LocalStorage

__all__ = ["build_context", "engine_hooks_of_services", "worker_context"]


def _url_secret(settings: Settings) -> bytes:
    if settings.signing_key:
        return settings.signing_key.encode()
    path = settings.data_dir / "url-signing.key"
    try:  # created 0600 from the start: no moment where another user could read it
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        pass
    else:
        with os.fdopen(fd, "w") as f:
            f.write(secrets.token_hex(32))
    path.chmod(0o600)
    return hashlib.sha256(path.read_text().strip().encode()).digest()


def _private_sqlite_file(url: str) -> None:
    """Create the SQLite file 0600 before SQLite does (it would use the umask, usually 0644),
    and tighten an existing one with its WAL and shared-memory files."""
    parsed = make_url(url)
    if not parsed.drivername.startswith("sqlite") or not parsed.database or parsed.database == ":memory:":
        return
    path = Path(parsed.database)
    os.close(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600))
    for p in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        if p.exists():
            p.chmod(0o600)


def _create_hls_key(ctx: Context, app_id: str, media_id: str | None) -> tuple[bytes, str]:
    key_id, key = hls_keys.create_key(ctx, app_id, media_id)
    return key, hls_keys.key_ref(key_id)


def engine_hooks_of_services() -> engine_hooks.EngineHooks:
    """The services' functions the engine calls (events, objects, HLS keys, processing events)."""
    return engine_hooks.EngineHooks(record_event=events.record, register_object=objects.register_object,
                                    create_hls_key=_create_hls_key, set_cover=outputs.set_cover,
                                    stored_probe=outputs.stored_probe, task_events=processing.EVENT_HOOKS)


def worker_context(settings: Settings) -> Context:
    """The context of a worker process (no migration): the ``build_context`` executors are given."""
    return build_context(settings, migrate=False)


def build_context(settings: Settings, *, migrate: bool = True) -> Context:
    """The process's context; also installs the engine's hooks (so do this before any step runs)."""
    engine_hooks.install(engine_hooks_of_services())
    settings.data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    _private_sqlite_file(settings.db_url)
    # A worker (migrate=False) on a machine without the key file reads no secrets: it gets no box
    # rather than a new key of its own.
    box = None
    if migrate or settings.master_key_path.exists():
        box = SecretBox(load_master_key(settings.master_key_path)[0])
    db = Database(settings.db_url, box=box)
    if migrate:
        upgrade(db)
        stored_secrets.seal_plaintext(db)
    secret = _url_secret(settings)
    storage: Storage
    if settings.storage == "s3":
        from openvod.storage.s3 import S3Storage

        assert settings.s3_endpoint_url is not None
        storage = S3Storage(
            settings.s3_endpoint_url,
            settings.s3_access_key,
            settings.s3_secret_key,
            settings.s3_region,
            bucket_prefix=settings.s3_bucket_prefix,
            part_size=settings.s3_part_size,
            spool_dir=settings.data_dir / "spool",
        )
    else:
        base = settings.media_base_url

        def signer(bucket: str, key: str, expires: int, method: str) -> str:
            sig = sign_object(secret, method, bucket, key, expires)
            return f"{base}/objects/{bucket}/{quote(key)}?expires={expires}&signature={sig}"

        storage = LocalStorage(settings.data_dir / "objects", signer=signer)
    return Context(settings=settings, db=db, storage=storage, url_secret=secret, signals=_signals(db))


def _signals(db: Database) -> Signals:
    if not db.is_postgresql:
        path = db.engine.url.database
        if not path or path == ":memory:":
            return LocalSignals()
        return SharedSignals(SqliteRelay(Path(path)))
    from openvod.db.notify import PgRelay  # psycopg: installed with PostgreSQL support only

    return SharedSignals(PgRelay(db.url))
