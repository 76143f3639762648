"""SearchMedia's ClassIds and Categories as index ranges: (app_id, class_id, id), (app_id, media_type, id)

Revision ID: 0013_media_filter_indexes
Revises: 0012_list_indexes_audit
Create Date: 2026-12-04 21:00:00.000000

A class (or an audio / image category) that few media have was found by walking the app's every
media in FileId order and testing each; with these, one class or type is a range in FileId order
(several: one range each, merged by a sort of what they hold).
"""

from __future__ import annotations

from alembic import op

revision = '0013_media_filter_indexes'
down_revision = '0012_list_indexes_audit'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_media_app_class_id", "media", ["app_id", "class_id", "id"])
    op.create_index("ix_media_app_type_id", "media", ["app_id", "media_type", "id"])


def downgrade() -> None:
    op.drop_index("ix_media_app_type_id", table_name="media")
    op.drop_index("ix_media_app_class_id", table_name="media")
