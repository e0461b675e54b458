"""ic3_asset_change.source (cmms, register), and run_id NULL for an import's changes

Revision ID: 0009
Revises: 0008

The history says where each change came from: a sync (`cmms`) or an import of the register
(`register`). Every change recorded before this revision was a sync's.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

# Frozen here: the set as it was at this revision, not the code's current one.
_SOURCES = "source IN ('cmms', 'register')"


def upgrade() -> None:
    with op.batch_alter_table("ic3_asset_change") as batch:
        batch.add_column(sa.Column("source", sa.String(16), nullable=False, server_default="cmms"))
    # The default only marked the rows already there: every writer names its source.
    with op.batch_alter_table("ic3_asset_change") as batch:
        batch.alter_column("source", existing_type=sa.String(16), server_default=None)
        batch.alter_column("run_id", existing_type=sa.BigInteger(), nullable=True)
        batch.create_check_constraint(op.f("ck_ic3_asset_change_source"), sa.text(_SOURCES))


def downgrade() -> None:
    # An import's changes belong to no run, and the older schema has no place for them.
    op.execute(sa.text("DELETE FROM ic3_asset_change WHERE source = 'register'"))
    with op.batch_alter_table("ic3_asset_change") as batch:
        batch.drop_constraint(op.f("ck_ic3_asset_change_source"), type_="check")
        batch.alter_column("run_id", existing_type=sa.BigInteger(), nullable=False)
        batch.drop_column("source")
