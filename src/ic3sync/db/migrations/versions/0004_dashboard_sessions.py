"""dashboard sessions held by the server

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "ic3_dashboard_session",
        sa.Column("session_hash", sa.String(64), nullable=False),
        sa.Column("token_mark", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("session_hash", name="pk_ic3_dashboard_session"),
    )
    op.create_index("ix_ic3_dashboard_session_expires_at", "ic3_dashboard_session", ["expires_at"])


def downgrade() -> None:
    op.drop_index("ix_ic3_dashboard_session_expires_at", table_name="ic3_dashboard_session")
    op.drop_table("ic3_dashboard_session")
