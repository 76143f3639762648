"""The wiring every service needs: settings, database, storage. Built once per process."""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import quote

from openvod.config import Settings
from openvod.db.migrate import upgrade
from openvod.db.session import Database
from openvod.domain.urlsign import sign_object
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
    if not path.exists():
        import secrets

        path.write_text(secrets.token_hex(32))
        path.chmod(0o600)
    return hashlib.sha256(path.read_text().strip().encode()).digest()


def build_context(settings: Settings, *, migrate: bool = True) -> Context:
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    db = Database(settings.db_url)
    if migrate:
        upgrade(db)
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
        base = settings.base_url

        def signer(bucket: str, key: str, expires: int, method: str) -> str:
            sig = sign_object(secret, method, bucket, key, expires)
            return f"{base}/objects/{bucket}/{quote(key)}?expires={expires}&signature={sig}"

        storage = LocalStorage(settings.data_dir / "objects", signer=signer)
    return Context(settings=settings, db=db, storage=storage, url_secret=secret)
