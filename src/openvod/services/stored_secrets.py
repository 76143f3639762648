"""The secrets OpenVOD keeps in its database, sealed at rest (see :mod:`openvod.crypto`).

Two columns hold secrets: ``api_key.secret_key`` and ``app.callback_secret``. Each value is
sealed with its row's id as associated data, so the database file, a dump of it or a backup never
holds them in clear, and a sealed value moved to another row does not open there.
:func:`seal_plaintext` runs at every start and seals values written by older versions.
"""

from __future__ import annotations

from sqlalchemy import select, update

from openvod.crypto import SecretBox, is_sealed
from openvod.db.models import ApiKey, App
from openvod.db.session import Database
from openvod.errors import OpenVODError

__all__ = [
    "box",
    "open_callback_secret",
    "open_secret_key",
    "seal_callback_secret",
    "seal_plaintext",
    "seal_secret_key",
]


def box(db: Database) -> SecretBox:
    if db.box is None:
        raise OpenVODError("this database handle has no master key; build it with build_context",
                           code="InternalError.MasterKey")
    return db.box


def _key_context(secret_id: str) -> str:
    return f"api_key.secret_key:{secret_id}"


def _callback_context(app_id: str) -> str:
    return f"app.callback_secret:{app_id}"


def seal_secret_key(db: Database, secret_id: str, secret_key: str) -> str:
    return box(db).seal(secret_key, _key_context(secret_id))


def open_secret_key(db: Database, secret_id: str, stored: str) -> str:
    return box(db).open(stored, _key_context(secret_id))


def seal_callback_secret(db: Database, app_id: str, secret: str) -> str:
    return box(db).seal(secret, _callback_context(app_id))


def open_callback_secret(db: Database, app_id: str, stored: str) -> str:
    return box(db).open(stored, _callback_context(app_id))


def seal_plaintext(db: Database) -> int:
    """Seal every secret still stored in clear; return how many were sealed.

    Idempotent, and safe with several processes starting at once (each update is conditional on
    the old value). On SQLite the file is then vacuumed and the WAL emptied, so the old values
    do not survive in free pages. First checks that one already-sealed value opens, so a server started with
    the wrong master key file stops with a clear error instead of failing every signature later.
    """
    with db.session() as s:
        sample_key = s.execute(select(ApiKey.secret_id, ApiKey.secret_key)
                               .where(ApiKey.secret_key.like("v1:%")).limit(1)).first()
        if sample_key is not None:
            open_secret_key(db, sample_key[0], sample_key[1])
        sample_cb = s.execute(select(App.id, App.callback_secret)
                              .where(App.callback_secret.like("v1:%")).limit(1)).first()
        if sample_cb is not None and sample_cb[1] is not None:
            open_callback_secret(db, sample_cb[0], sample_cb[1])
        sealed = 0
        for secret_id, value in s.execute(select(ApiKey.secret_id, ApiKey.secret_key)).all():
            if not is_sealed(value):
                s.execute(update(ApiKey).where(ApiKey.secret_id == secret_id, ApiKey.secret_key == value)
                          .values(secret_key=seal_secret_key(db, secret_id, value)))
                sealed += 1
        for app_id, secret in s.execute(select(App.id, App.callback_secret)
                                        .where(App.callback_secret.is_not(None))).all():
            if secret and not is_sealed(secret):
                s.execute(update(App).where(App.id == app_id, App.callback_secret == secret)
                          .values(callback_secret=seal_callback_secret(db, app_id, secret)))
                sealed += 1
    if sealed and db.engine.dialect.name == "sqlite":
        _scrub_sqlite(db)
    return sealed


def _scrub_sqlite(db: Database) -> None:
    # The old plaintext lingers in freed pages and in the WAL's frames: rebuild the file and
    # empty the WAL. Runs once, when legacy values were just sealed.
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql("VACUUM")
        # VACUUM may renumber the rowids of media (its key is text), which media_fts points at.
        conn.exec_driver_sql("INSERT INTO media_fts(media_fts) VALUES ('rebuild')")
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
