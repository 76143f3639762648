"""per-media sharing, the probe error's code, a flow skipped at upload

Revision ID: 0006_media_sharing
Revises: 0005_preset_raw_param
Create Date: 2026-12-03 17:30:00.000000

``media.public``: NULL follows the app's ``playback_private`` (every existing row), TRUE/FALSE
overrides it for this media's URLs, player and embed page. ``media.probe_error_code``: the stable
code of ``probe_error`` (NULL for rows probed before this revision: shown as
``FailedOperation.ProbeFailed``). ``media.procedure_skipped``: why the upload's task flow was not
started (a file that is not media), NULL when it started or none was named.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0006_media_sharing'
down_revision = '0005_preset_raw_param'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('media', schema=None) as batch_op:
        batch_op.add_column(sa.Column('public', sa.Boolean(), nullable=True))
        batch_op.add_column(sa.Column('probe_error_code', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('procedure_skipped', sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('media', schema=None) as batch_op:
        batch_op.drop_column('procedure_skipped')
        batch_op.drop_column('probe_error_code')
        batch_op.drop_column('public')
