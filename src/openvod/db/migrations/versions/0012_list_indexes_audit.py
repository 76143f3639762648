"""list pages of events, deliveries and templates as index ranges

Revision ID: 0012_list_indexes_audit
Revises: 0011_task_tally
Create Date: 2026-12-04 21:30:00.000000

Each page query is then a range of one index in its sort order (issue 17; the plans are asserted
by tests/unit/services/test_list_plans_audit.py):

* ``ix_event_app_type_id`` (app_id, type, id): ``GET /v1/events/recent?type=``, newest first.
  It walked every event of the app through ``ix_event_app_id_id`` to find one type.
* ``ix_event_app_unconfirmed`` (app_id, id) where ``confirmed_at IS NULL``, a partial index: the
  pull hands out the oldest unconfirmed events. It walked, through ``ix_event_app_id_id``, every
  event the app had ever confirmed before reaching the first one that was not.
* ``ix_delivery_app_id_id`` and ``ix_delivery_app_state_id``: an app's deliveries, newest first, all
  or of one state (a scan of the whole table, or every delivery of that state of every app and a
  sort).
* ``ix_delivery_state_due`` (state, next_attempt_at): the dispatcher's claim of due pending
  deliveries, which walked ``ix_delivery_next_attempt_at`` through every delivery already done.
* ``ix_template_app_kind_definition``: an app's templates of one kind by Definition
  (Describe*Templates), which walked the kind's templates of every app.

``ix_delivery_state`` and ``ix_template_app_id`` are left although the new ones cover them: as in
0010, dropping an index a running older server may still plan with is not worth the few bytes.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0012_list_indexes_audit'
down_revision = '0011_task_tally'
branch_labels = None
depends_on = None

_UNCONFIRMED = sa.text("confirmed_at IS NULL")


def upgrade() -> None:
    op.create_index("ix_event_app_type_id", "event", ["app_id", "type", "id"])
    op.create_index("ix_event_app_unconfirmed", "event", ["app_id", "id"], sqlite_where=_UNCONFIRMED,
                    postgresql_where=_UNCONFIRMED)
    op.create_index("ix_delivery_app_id_id", "delivery", ["app_id", "id"])
    op.create_index("ix_delivery_app_state_id", "delivery", ["app_id", "state", "id"])
    op.create_index("ix_delivery_state_due", "delivery", ["state", "next_attempt_at"])
    op.create_index("ix_template_app_kind_definition", "template", ["app_id", "kind", "definition"])


def downgrade() -> None:
    op.drop_index("ix_template_app_kind_definition", table_name="template")
    op.drop_index("ix_delivery_state_due", table_name="delivery")
    op.drop_index("ix_delivery_app_state_id", table_name="delivery")
    op.drop_index("ix_delivery_app_id_id", table_name="delivery")
    op.drop_index("ix_event_app_unconfirmed", table_name="event")
    op.drop_index("ix_event_app_type_id", table_name="event")
