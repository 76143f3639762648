"""The wiring every service needs: settings, database, storage. Built once per process."""

from __future__ import annotations

import hashlib
import os
import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

from sqlalchemy.engine import make_url

from openvod.config import Settings
from openvod.crypto import SecretBox, load_master_key
from openvod.db.migrate import upgrade
from openvod.db.session import Database
from openvod.domain.urlsign import sign_object
from openvod.services import stored_secrets
from openvod.storage.base import Storage
from openvod.storage.local import LocalStorage

__all__ = ["Context", "build_context"]


@dataclass
class Context:
    settings: Settings
    db: Database
    storage: Storage
    url_secret: bytes
    # Poked after a transaction that creates or reorders work commits (the executor sets it).
    notify_work: Callable[[], None] = field(default=lambda: None)
    # Notified (notify_all) whenever a step finishes in this process's executor; waiters also
    # re-check the database on a bounded timer, since other processes may finish work too.
    task_changed: threading.Condition = field(default_factory=threading.Condition)
    # Called (from the scheduler thread) after a step finishes; the API uses it to wake
    # long-polls on the event loop.
    task_listeners: list[Callable[[], None]] = field(default_factory=list)

    def tasks_changed(self) -> None:
        with self.task_changed:
            self.task_changed.notify_all()
        for listener in list(self.task_listeners):
            listener()

    def object_url(self, bucket: str, key: str, *, expires_in: int = 3600) -> str:
        """A signed URL for a physical object, fetchable as returned."""
        return self.storage.signed_url(bucket, key, expires_in=expires_in)


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


def build_context(settings: Settings, *, migrate: bool = True) -> Context:
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
    return Context(settings=settings, db=db, storage=storage, url_secret=secret)
