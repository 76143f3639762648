"""preset params as saved; the format of a task's own callback and of each push

Revision ID: 0005_preset_raw_param
Revises: 0004_fair_claim_index
Create Date: 2026-12-03 14:00:00.000000

``preset.raw_params``: a preset's ``param`` JSON exactly as the user sent it (``"vb": "300000"``
stays a string), which Kingsoft's GetPresetDetail shows back; ``params`` stays the canonical form
the engine runs. NULL for presets saved before this revision: they show the canonical form.

``task.cb_format`` and ``delivery.format``: how a task's own ``cb_url`` is pushed. ``event`` (every
existing row) is the signed event envelope on every state change; ``kingsoft`` is Kingsoft's
GetTaskByTaskID answer, once, when the task ends.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0005_preset_raw_param'
down_revision = '0004_fair_claim_index'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('preset', schema=None) as batch_op:
        batch_op.add_column(sa.Column('raw_params', sa.JSON(), nullable=True))
    with op.batch_alter_table('task', schema=None) as batch_op:
        batch_op.add_column(sa.Column('cb_format', sa.String(length=16), nullable=False, server_default='event'))
    with op.batch_alter_table('delivery', schema=None) as batch_op:
        batch_op.add_column(sa.Column('format', sa.String(length=16), nullable=False, server_default='event'))


def downgrade() -> None:
    with op.batch_alter_table('delivery', schema=None) as batch_op:
        batch_op.drop_column('format')
    with op.batch_alter_table('task', schema=None) as batch_op:
        batch_op.drop_column('cb_format')
    with op.batch_alter_table('preset', schema=None) as batch_op:
        batch_op.drop_column('raw_params')
