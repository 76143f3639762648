"""fair claim indexes: an app's queue, its last served step, its queued tasks

Revision ID: 0004_fair_claim_index
Revises: 0003
Create Date: 2026-11-26 09:30:00.000000

``ix_step_app_queue`` replaces ``ix_step_queue``: the fair claim (engine/fair.py) scans it for
the apps that wait and reads each app's head from it in queue order, column for column (topped
most recently first with never-topped last, then higher priority, then oldest), so no sort is
needed. SQLite refuses NULLS LAST in an index but puts NULLs last in a DESC column anyway;
PostgreSQL needs it said.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0004_fair_claim_index'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    nulls_last = " NULLS LAST" if op.get_bind().dialect.name == "postgresql" else ""
    with op.batch_alter_table('task_step', schema=None) as batch_op:
        batch_op.drop_index('ix_step_queue')
        batch_op.create_index('ix_step_app_queue', ['state', 'app_id', sa.text(f'topped_at DESC{nulls_last}'),
                                                    sa.text('priority DESC'), 'created_at', 'id'], unique=False)
        batch_op.create_index('ix_step_app_started', ['app_id', 'started_at'], unique=False)
    with op.batch_alter_table('task', schema=None) as batch_op:
        batch_op.create_index('ix_task_app_state', ['app_id', 'state'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('task', schema=None) as batch_op:
        batch_op.drop_index('ix_task_app_state')
    with op.batch_alter_table('task_step', schema=None) as batch_op:
        batch_op.drop_index('ix_step_app_started')
        batch_op.drop_index('ix_step_app_queue')
        batch_op.create_index('ix_step_queue', ['state', 'topped_at', 'priority', 'created_at'], unique=False)
