"""retention: indexes that let old finished tasks and old events be found without a scan

Revision ID: 0008_retention_indexes
Revises: 0007_media_sort
Create Date: 2026-12-04 16:45:00.000000

``ix_task_finished`` on ``task.finished_at`` and ``ix_event_created`` on ``event.created_at``:
``services.retention`` deletes rows past their retention in small batches, each batch the first
rows of one of these indexes (NULL ``finished_at``, a task still running, is never in range).
"""

from __future__ import annotations

from alembic import op

revision = '0008_retention_indexes'
down_revision = '0007_media_sort'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_task_finished", "task", ["finished_at"])
    op.create_index("ix_event_created", "event", ["created_at"])


def downgrade() -> None:
    op.drop_index("ix_event_created", table_name="event")
    op.drop_index("ix_task_finished", table_name="task")
