"""task totals without counting: ``task_tally`` per app, creation-time bucket and state, kept by triggers

Revision ID: 0011_task_tally
Revises: 0010_task_list_indexes
Create Date: 2026-12-04 20:40:00.000000

A list's total (``/v1/tasks``, the console, Kingsoft ``GetTaskList``'s ``total``) was a
``count(*)`` of the app's index entries: O(tasks). ``task_tally`` holds how many tasks each app
has per state in buckets of creation time — the tasks whose ids share their first six characters
(hex milliseconds: 16**6 ms, ~4.66 hours) — so a total is a sum over buckets (a range of days
adds the tasks of its two partial edge buckets, counted in the index), and an integer offset finds
its bucket before walking (services/task_counts.py).

Triggers keep it in the writing transaction, whatever writes: the engine's state changes, DelTask,
retention batches, app and media deletions, a cascade. On SQLite (one writer at a time) they update
``task_tally`` directly. On PostgreSQL they append +1/-1 rows to ``task_tally_delta`` — writers on
many machines would otherwise all lock the same few rows (today's bucket) and could deadlock;
readers add the pending deltas, and ``fold`` moves them into ``task_tally`` now and then.
Filled here from the existing tasks (one pass over ``task``).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0011_task_tally'
down_revision = '0010_task_list_indexes'
branch_labels = None
depends_on = None

# The bucket of a row: substr(id, 1, 6) (models.TALLY_PREFIX). Written out, not formatted: SQL only.
_ADD_NEW = ("INSERT INTO task_tally (app_id, bucket, state, n) VALUES (new.app_id, substr(new.id, 1, 6), new.state, 1) "
            "ON CONFLICT (app_id, bucket, state) DO UPDATE SET n = n + 1;")
_SUB_OLD = ("INSERT INTO task_tally (app_id, bucket, state, n) VALUES (old.app_id, substr(old.id, 1, 6), old.state, -1) "
            "ON CONFLICT (app_id, bucket, state) DO UPDATE SET n = n - 1;")

_SQLITE = (
    "CREATE TRIGGER task_tally_insert AFTER INSERT ON task BEGIN " + _ADD_NEW + " END",
    "CREATE TRIGGER task_tally_delete AFTER DELETE ON task BEGIN " + _SUB_OLD + " END",
    "CREATE TRIGGER task_tally_update AFTER UPDATE OF state, app_id, id ON task "
    "WHEN old.state IS NOT new.state OR old.app_id IS NOT new.app_id OR old.id IS NOT new.id BEGIN "
    + _SUB_OLD + " " + _ADD_NEW + " END",
)

_POSTGRESQL = (
    """CREATE FUNCTION task_tally_track() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND OLD.state IS NOT DISTINCT FROM NEW.state AND OLD.app_id = NEW.app_id
            AND OLD.id = NEW.id THEN
        RETURN NULL;
    END IF;
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        INSERT INTO task_tally_delta (app_id, bucket, state, d) VALUES (OLD.app_id, substr(OLD.id, 1, 6), OLD.state, -1);
    END IF;
    IF TG_OP IN ('UPDATE', 'INSERT') THEN
        INSERT INTO task_tally_delta (app_id, bucket, state, d) VALUES (NEW.app_id, substr(NEW.id, 1, 6), NEW.state, 1);
    END IF;
    RETURN NULL;
END $$""",
    "CREATE TRIGGER task_tally_track AFTER INSERT OR DELETE OR UPDATE OF state, app_id, id ON task "
    "FOR EACH ROW EXECUTE FUNCTION task_tally_track()",
)


def upgrade() -> None:
    op.create_table(
        "task_tally",
        sa.Column("app_id", sa.String(40), primary_key=True),
        sa.Column("bucket", sa.String(12), primary_key=True),
        sa.Column("state", sa.String(16), primary_key=True),
        sa.Column("n", sa.BigInteger(), nullable=False),
    )
    op.create_table(
        "task_tally_delta",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True, autoincrement=True),
        sa.Column("app_id", sa.String(40), nullable=False),
        sa.Column("bucket", sa.String(12), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("d", sa.Integer(), nullable=False),
    )
    op.create_index("ix_task_tally_delta_app", "task_tally_delta", ["app_id", "bucket"])
    statements = _SQLITE if op.get_bind().dialect.name == "sqlite" else _POSTGRESQL
    for statement in statements:
        op.execute(statement)
    op.execute("INSERT INTO task_tally (app_id, bucket, state, n) "
               "SELECT app_id, substr(id, 1, 6), state, count(*) FROM task GROUP BY 1, 2, 3")


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for name in ("task_tally_insert", "task_tally_delete", "task_tally_update"):
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
    else:
        op.execute("DROP TRIGGER IF EXISTS task_tally_track ON task")
        op.execute("DROP FUNCTION IF EXISTS task_tally_track()")
    op.drop_index("ix_task_tally_delta_app", table_name="task_tally_delta")
    op.drop_table("task_tally_delta")
    op.drop_table("task_tally")
