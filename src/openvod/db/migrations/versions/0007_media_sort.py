"""the library's sort keys: media size and duration, one index per sort

Revision ID: 0007_media_sort
Revises: 0006_media_sharing
Create Date: 2026-12-03 18:00:00.000000

``media.size``: the bytes of the media's source object (NULL when it has none).
``media.duration``: the probe's ``format.duration`` in seconds when it is a positive number, NULL
otherwise (a file that is not media, a still image, a stream of unknown length). Both are filled
for existing rows here: size from the ``object`` row of the source, duration from ``media.probe``
in Python, in batches, because SQLite and PostgreSQL spell JSON extraction and a failed cast
differently (the rule is ``openvod.domain.media_sort.duration_of``, copied: a migration must not
change when the code does).

``ix_media_app_name`` / ``_size`` / ``_duration`` on ``(app_id, <key>, id)``: ``GET /v1/media``
pages each sort as a range of its index (services/media_list.py).
"""

from __future__ import annotations

import math
from typing import Any

import sqlalchemy as sa
from alembic import op

revision = '0007_media_sort'
down_revision = '0006_media_sharing'
branch_labels = None
depends_on = None

_BATCH = 1000
_INDEXES = {"ix_media_app_name": "name", "ix_media_app_size": "size", "ix_media_app_duration": "duration"}


def _duration(probe: Any) -> float | None:
    fmt = probe.get("format") if isinstance(probe, dict) else None
    raw = fmt.get("duration") if isinstance(fmt, dict) else None
    if raw is None or isinstance(raw, bool):
        return None
    try:
        value = float(raw)
    except (TypeError, ValueError):
        return None
    return value if math.isfinite(value) and value > 0 else None


def _backfill() -> None:
    conn = op.get_bind()
    media = sa.table("media", sa.column("id", sa.String), sa.column("app_id", sa.String),
                     sa.column("source_bucket", sa.String),
                     sa.column("source_key", sa.String), sa.column("probe", sa.JSON),
                     sa.column("size", sa.BigInteger), sa.column("duration", sa.Float))
    obj = sa.table("object", sa.column("app_id", sa.String), sa.column("bucket", sa.String), sa.column("key", sa.String),
                   sa.column("size", sa.BigInteger), sa.column("role", sa.String))
    source_size = (sa.select(sa.func.max(obj.c.size))
                   .where(obj.c.app_id == media.c.app_id, obj.c.bucket == media.c.source_bucket, obj.c.key == media.c.source_key,
                          obj.c.role == "source")
                   .scalar_subquery())
    conn.execute(media.update().values(size=source_size))
    last = ""
    while True:  # keyset batches: a million rows never sit in memory at once
        rows = conn.execute(sa.select(media.c.id, media.c.probe).where(media.c.id > last)
                            .order_by(media.c.id).limit(_BATCH)).all()
        if not rows:
            break
        last = rows[-1].id
        found = [{"i": r.id, "d": d} for r in rows if (d := _duration(r.probe)) is not None]
        if found:
            conn.execute(media.update().where(media.c.id == sa.bindparam("i")).values(duration=sa.bindparam("d")),
                         found)


def upgrade() -> None:
    with op.batch_alter_table('media', schema=None) as batch_op:
        batch_op.add_column(sa.Column('size', sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column('duration', sa.Float(), nullable=True))
    _backfill()
    for name, column in _INDEXES.items():
        op.create_index(name, 'media', ['app_id', column, 'id'], unique=False)


def downgrade() -> None:
    for name in reversed(_INDEXES):
        op.drop_index(name, table_name='media')
    with op.batch_alter_table('media', schema=None) as batch_op:
        batch_op.drop_column('duration')
        batch_op.drop_column('size')
