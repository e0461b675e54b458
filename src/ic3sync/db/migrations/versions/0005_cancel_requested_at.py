"""a run's cancel request, recorded in its row

Revision ID: 0005
Revises: 0004

A run started anywhere (the CLI, this service, another one) can be cancelled from anywhere: the
request is written to the run's row and the process running it reads it between assets.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("cmms_sync_run") as batch:
        batch.add_column(sa.Column("cancel_requested_at", sa.DateTime(timezone=True)))


def downgrade() -> None:
    with op.batch_alter_table("cmms_sync_run") as batch:
        batch.drop_column("cancel_requested_at")
