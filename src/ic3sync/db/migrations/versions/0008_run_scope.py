"""cmms_sync_run.scope (full, partial, asset), and the dashboard and demo triggers

Revision ID: 0008
Revises: 0007

"The last run" means the last run over every asset, so each run says what it took. Runs made
before this revision are given their scope here, from the filters they were started with.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

# Frozen here: the sets as they were before and after this revision, not the code's current ones.
_OLD_TRIGGERS = "trigger IN ('cli', 'api', 'schedule')"
_NEW_TRIGGERS = "trigger IN ('cli', 'api', 'dashboard', 'schedule', 'demo')"
_SCOPES = "scope IN ('full', 'partial', 'asset')"

_run = sa.table(
    "cmms_sync_run",
    sa.column("scope", sa.String),
    sa.column("cmms_asset_id", sa.Text),
    sa.column("batch_size", sa.Integer),
    sa.column("offset_start", sa.Integer),
    sa.column("customer_id", sa.BigInteger),
    sa.column("only_failed", sa.Boolean),
)


def _scope_of_filters() -> sa.ColumnElement[str]:
    c = _run.c
    partial = sa.or_(
        c.batch_size.is_not(None),
        c.offset_start > 0,
        c.customer_id.is_not(None),
        c.only_failed == sa.true(),
    )
    return sa.case((c.cmms_asset_id.is_not(None), "asset"), (partial, "partial"), else_="full")


def upgrade() -> None:
    with op.batch_alter_table("cmms_sync_run") as batch:
        batch.add_column(sa.Column("scope", sa.String(16), nullable=True))
    op.execute(sa.update(_run).values(scope=_scope_of_filters()))
    # On SQLite a CHECK changes by copying the table (migrate.py keeps the log rows that
    # reference the runs from being cascaded away while the old table is dropped).
    with op.batch_alter_table("cmms_sync_run") as batch:
        batch.alter_column("scope", existing_type=sa.String(16), nullable=False)
        batch.drop_constraint(op.f("ck_cmms_sync_run_trigger"), type_="check")
        batch.create_check_constraint(op.f("ck_cmms_sync_run_trigger"), sa.text(_NEW_TRIGGERS))
        batch.create_check_constraint(op.f("ck_cmms_sync_run_scope"), sa.text(_SCOPES))


def downgrade() -> None:
    # Runs of the triggers this revision added become the nearest older one.
    op.execute(
        sa.text(
            "UPDATE cmms_sync_run SET trigger = CASE trigger WHEN 'dashboard' THEN 'api' "
            "ELSE 'cli' END WHERE trigger IN ('dashboard', 'demo')"
        )
    )
    with op.batch_alter_table("cmms_sync_run") as batch:
        batch.drop_constraint(op.f("ck_cmms_sync_run_scope"), type_="check")
        batch.drop_constraint(op.f("ck_cmms_sync_run_trigger"), type_="check")
        batch.create_check_constraint(op.f("ck_cmms_sync_run_trigger"), sa.text(_OLD_TRIGGERS))
        batch.drop_column("scope")
