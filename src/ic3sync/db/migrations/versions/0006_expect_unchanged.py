"""a guard for change detection in one round trip (PostgreSQL)

Revision ID: 0006
Revises: 0005

A run reads the stored values of a page of assets ahead of their syncs, so that each asset's
changes can be written in the same round trip as its other rows. ic3_expect_unchanged(actual,
expected) fails the asset's transaction when its stored values were changed since that read
(by an import, say); the run then reads them again inside the transaction. SQLite reads them in
process, inside the transaction, and needs no guard.
"""

from __future__ import annotations

from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

# SQLSTATE of the guard's error; src/ic3sync/db/changes.py knows it as STALE_SQLSTATE.
STALE_SQLSTATE = "IC3S1"


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(
        f"""
        CREATE FUNCTION ic3_expect_unchanged(actual text, expected text) RETURNS void
        LANGUAGE plpgsql AS $$
        BEGIN
            IF actual IS DISTINCT FROM expected THEN
                RAISE EXCEPTION 'stored values changed since they were read'
                    USING ERRCODE = '{STALE_SQLSTATE}';
            END IF;
        END
        $$
        """
    )


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("DROP FUNCTION IF EXISTS ic3_expect_unchanged(text, text)")
