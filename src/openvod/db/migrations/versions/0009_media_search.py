"""media name/description search through an index: FTS5 trigrams on SQLite, pg_trgm on PostgreSQL

Revision ID: 0009_media_search
Revises: 0008_retention_indexes
Create Date: 2026-12-04 16:50:00.000000

SQLite: ``media_fts``, an FTS5 table with the ``trigram`` tokenizer over ``media.name`` and
``media.description`` (external content: the text is stored once, in ``media``; the FTS rowid is
the media row's rowid), kept in step by three triggers and filled here with ``rebuild``. A
substring of three characters or more is a phrase of trigrams (services/media_list.py).
A ``VACUUM`` may renumber the rowids of ``media`` (its key is not an INTEGER PRIMARY KEY): whatever
runs one must ``rebuild`` the index after (services/stored_secrets.py does).

PostgreSQL: GIN ``gin_trgm_ops`` indexes on ``name`` and ``description``, which ``ILIKE
'%…%'`` uses as is. They need the ``pg_trgm`` extension; a role that may not create it gets no
index (searches then scan, as before) and a warning, not a failed upgrade.
"""

from __future__ import annotations

import logging

import sqlalchemy as sa
from alembic import op

revision = '0009_media_search'
down_revision = '0008_retention_indexes'
branch_labels = None
depends_on = None

log = logging.getLogger("alembic.runtime.migration")

_SQLITE = (
    "CREATE VIRTUAL TABLE media_fts USING fts5(name, description, content='media', content_rowid='rowid', "
    "tokenize='trigram')",
    "CREATE TRIGGER media_fts_insert AFTER INSERT ON media BEGIN "
    "INSERT INTO media_fts(rowid, name, description) VALUES (new.rowid, new.name, new.description); END",
    "CREATE TRIGGER media_fts_delete AFTER DELETE ON media BEGIN "
    "INSERT INTO media_fts(media_fts, rowid, name, description) VALUES ('delete', old.rowid, old.name, "
    "old.description); END",
    "CREATE TRIGGER media_fts_update AFTER UPDATE OF name, description ON media BEGIN "
    "INSERT INTO media_fts(media_fts, rowid, name, description) VALUES ('delete', old.rowid, old.name, "
    "old.description); "
    "INSERT INTO media_fts(rowid, name, description) VALUES (new.rowid, new.name, new.description); END",
    "INSERT INTO media_fts(media_fts) VALUES ('rebuild')",
)


def upgrade() -> None:
    conn = op.get_bind()
    if conn.dialect.name == "sqlite":
        for statement in _SQLITE:
            op.execute(statement)
        return
    try:
        with conn.begin_nested():
            op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    except sa.exc.DBAPIError as exc:  # no privilege, or the contrib package is missing: search still works
        log.warning("pg_trgm is not available (%s): media name search will scan instead of using an index", exc)
        return
    op.execute("CREATE INDEX ix_media_name_trgm ON media USING gin (name gin_trgm_ops)")
    op.execute("CREATE INDEX ix_media_description_trgm ON media USING gin (description gin_trgm_ops)")


def downgrade() -> None:
    conn = op.get_bind()
    if conn.dialect.name == "sqlite":
        for name in ("media_fts_insert", "media_fts_delete", "media_fts_update"):
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
        op.execute("DROP TABLE IF EXISTS media_fts")
        return
    op.execute("DROP INDEX IF EXISTS ix_media_description_trgm")
    op.execute("DROP INDEX IF EXISTS ix_media_name_trgm")
