"""ic3_asset_change: the field-level history of what the CMMS changed

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "ic3_asset_change",
        sa.Column(
            "change_id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("asset_id", sa.BigInteger(), nullable=False),
        sa.Column("cmms_asset_id", sa.Text(), nullable=False),
        sa.Column("run_id", sa.BigInteger(), nullable=False),
        sa.Column("table_name", sa.Text(), nullable=False),
        sa.Column("column_name", sa.Text(), nullable=False),
        sa.Column("old_value", sa.Text(), nullable=True),
        sa.Column("new_value", sa.Text(), nullable=True),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["asset_id"],
            ["ic3_asset_master.asset_id"],
            name=op.f("fk_ic3_asset_change_asset_id_ic3_asset_master"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("change_id", name=op.f("pk_ic3_asset_change")),
    )
    op.create_index(
        "ix_ic3_asset_change_cmms_asset_id_change_id",
        "ic3_asset_change",
        ["cmms_asset_id", "change_id"],
    )
    op.create_index(
        "ix_ic3_asset_change_run_id_column_name", "ic3_asset_change", ["run_id", "column_name"]
    )
    op.create_index("ix_ic3_asset_change_changed_at", "ic3_asset_change", ["changed_at"])


def downgrade() -> None:
    op.drop_table("ic3_asset_change")
