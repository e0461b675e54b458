"""take back ic3_expect_unchanged (PostgreSQL)

Revision ID: 0007
Revises: 0006

Each asset's stored values are now read inside its own transaction, so nothing checks a value
read ahead of it any more: the guard function of 0006 goes.
"""

from __future__ import annotations

from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("DROP FUNCTION IF EXISTS ic3_expect_unchanged(text, text)")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(
        """
        CREATE FUNCTION ic3_expect_unchanged(actual text, expected text) RETURNS void
        LANGUAGE plpgsql AS $$
        BEGIN
            IF actual IS DISTINCT FROM expected THEN
                RAISE EXCEPTION 'stored values changed since they were read'
                    USING ERRCODE = 'IC3S1';
            END IF;
        END
        $$
        """
    )
