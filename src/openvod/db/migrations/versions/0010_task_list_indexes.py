"""task listings as index ranges: (app_id, id), (app_id, state, id) and (file_id, id)

Revision ID: 0010_task_list_indexes
Revises: 0009_media_search
Create Date: 2026-12-04 17:50:00.000000

Task lists page by id (ids sort by creation time, and a range of days is a range of ids:
``openvod.domain.tasks.id_floor``), so each page is a range of ``ix_task_app_id`` or, filtered by
state, of ``ix_task_app_state_id``, and a media file's tasks of ``ix_task_file_id_id``: no sort of the whole
range, however long it is.
``ix_task_app_state`` ((app_id, state)) is left: the new one covers it, but dropping an index a
running older server may still plan with is not worth the few bytes.
"""

from __future__ import annotations

from alembic import op

revision = '0010_task_list_indexes'
down_revision = '0009_media_search'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_task_app_id", "task", ["app_id", "id"])
    op.create_index("ix_task_app_state_id", "task", ["app_id", "state", "id"])
    op.create_index("ix_task_file_id_id", "task", ["file_id", "id"])


def downgrade() -> None:
    op.drop_index("ix_task_file_id_id", table_name="task")
    op.drop_index("ix_task_app_state_id", table_name="task")
    op.drop_index("ix_task_app_id", table_name="task")
