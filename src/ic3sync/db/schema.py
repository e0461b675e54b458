"""The tables of ic3sync as SQLAlchemy Core objects. Alembic migrations create them;
this module is what the code queries and what `compare_type` checks the migrations against.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Final

import sqlalchemy as sa

from ic3sync.model import (
    ASSET_INT_COLUMNS,
    ASSET_TEXT_COLUMNS,
    CHANGE_SOURCES,
    DURATION_COLUMNS,
    LOG_STATUSES,
    PERFORMANCE_TEXT_COLUMNS,
    RUN_SCOPES,
    RUN_STATUSES,
    TRIGGERS,
    WORKORDER_COST_COLUMNS,
    WORKORDER_COUNT_COLUMNS,
    WORKORDER_PERIODS,
)

metadata = sa.MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

TZ = sa.DateTime(timezone=True)
MONEY = sa.Numeric(14, 2)
# SQLite only auto-increments an INTEGER PRIMARY KEY, so BigInteger becomes INTEGER there.
BIGID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def one_of(column: str, values: Iterable[str]) -> str:
    """The SQL of a CHECK that `column` holds one of `values`."""
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


def _stamps() -> list[sa.Column]:
    return [
        sa.Column("created_at", TZ, nullable=False),
        sa.Column("updated_at", TZ, nullable=False),
    ]


asset_master = sa.Table(
    "ic3_asset_master",
    metadata,
    sa.Column("asset_id", BIGID, primary_key=True, autoincrement=True),
    sa.Column("cmms_asset_id", sa.Text, nullable=False, unique=True),
    sa.Column("report_seq_no", sa.Integer),
    sa.Column("asset_name", sa.Text),
    sa.Column("customer_id", sa.BigInteger),
    sa.Column("customer_name", sa.Text),
    sa.Column("location_id", sa.BigInteger),
    sa.Column("location_name", sa.Text),
    *[sa.Column(name, sa.Text) for name in ASSET_TEXT_COLUMNS],
    *[sa.Column(name, sa.BigInteger) for name in ASSET_INT_COLUMNS],
    sa.Column("installation_date", sa.Date),
    sa.Column("traceability_updated_on", TZ),
    sa.Column("last_synced_at", TZ),
    sa.Column("sync_version", sa.Integer, nullable=False, server_default="0"),
    *_stamps(),
    sa.Index("ix_ic3_asset_master_order", "report_seq_no", "asset_id"),
    sa.Index("ix_ic3_asset_master_customer_id", "customer_id"),
)

building = sa.Table(
    "ic3_building",
    metadata,
    sa.Column("building_id", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("customer_id", sa.BigInteger),
    sa.Column("building_name", sa.Text),
    *_stamps(),
)

floor = sa.Table(
    "ic3_floor_master",
    metadata,
    sa.Column("floor_id", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("floor_name", sa.Text),
    sa.Column("location_id", sa.BigInteger),
    sa.Column("asset_floor_id", sa.BigInteger),
    *_stamps(),
)

department = sa.Table(
    "ic3_department_master",
    metadata,
    sa.Column("department_id", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("department_name", sa.Text),
    sa.Column("floor_id", sa.BigInteger),
    sa.Column("location_id", sa.BigInteger),
    sa.Column("asset_department_id", sa.BigInteger),
    *_stamps(),
)

# The reference rows an answer names: the AssetRows attribute that holds each, its table, the
# asset's column that points at it, and the name it is shown and tracked by.
REFERENCE_TABLES: Final = (
    ("building", building, "building_id", "building_name"),
    ("floor", floor, "floor_id", "floor_name"),
    ("department", department, "department_id", "department_name"),
)

asset_performance = sa.Table(
    "ic3_asset_performance",
    metadata,
    sa.Column("performance_id", BIGID, primary_key=True, autoincrement=True),
    sa.Column(
        "asset_id",
        sa.BigInteger,
        sa.ForeignKey("ic3_asset_master.asset_id", ondelete="CASCADE"),
        nullable=False,
        unique=True,
    ),
    *[sa.Column(name, sa.Text) for name in PERFORMANCE_TEXT_COLUMNS],
    sa.Column("total_ticket", sa.Integer),
    *[sa.Column(name, sa.BigInteger) for name in DURATION_COLUMNS.values()],
    sa.Column("availability_pct", sa.Numeric(9, 4)),
    sa.Column("asset_created_at", sa.DateTime(timezone=False)),
    sa.Column("recorded_at", TZ, nullable=False),
)

workorder_summary = sa.Table(
    "ic3_workorder_summary",
    metadata,
    sa.Column("summary_id", BIGID, primary_key=True, autoincrement=True),
    sa.Column(
        "asset_id",
        sa.BigInteger,
        sa.ForeignKey("ic3_asset_master.asset_id", ondelete="CASCADE"),
        nullable=False,
    ),
    sa.Column("period_type", sa.String(16), nullable=False),
    *[sa.Column(name, sa.Integer) for name in WORKORDER_COUNT_COLUMNS],
    *[sa.Column(name, MONEY) for name in WORKORDER_COST_COLUMNS],
    sa.Column("updated_at", TZ, nullable=False),
    sa.UniqueConstraint("asset_id", "period_type"),
    sa.CheckConstraint(one_of("period_type", WORKORDER_PERIODS), name="period_type"),
)

sync_run = sa.Table(
    "cmms_sync_run",
    metadata,
    sa.Column("run_id", BIGID, primary_key=True, autoincrement=True),
    sa.Column("trigger", sa.String(16), nullable=False),
    sa.Column("scope", sa.String(16), nullable=False),
    # The filters the run was started with.
    sa.Column("batch_size", sa.Integer),
    sa.Column("offset_start", sa.Integer, nullable=False, server_default="0"),
    sa.Column("customer_id", sa.BigInteger),
    sa.Column("only_failed", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("cmms_asset_id", sa.Text),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("total", sa.Integer, nullable=False, server_default="0"),
    sa.Column("success", sa.Integer, nullable=False, server_default="0"),
    sa.Column("failed", sa.Integer, nullable=False, server_default="0"),
    sa.Column("skipped", sa.Integer, nullable=False, server_default="0"),
    sa.Column("current_asset", sa.Text),
    sa.Column("started_at", TZ, nullable=False),
    sa.Column("heartbeat_at", TZ),
    sa.Column("finished_at", TZ),
    sa.Column("duration_ms", sa.BigInteger),
    sa.Column("error", sa.Text),
    sa.Column("host", sa.Text),
    sa.Column("pid", sa.Integer),
    # Set by a cancel request from any process; the one running the run reads it between assets.
    sa.Column("cancel_requested_at", TZ),
    sa.CheckConstraint(one_of("status", RUN_STATUSES), name="status"),
    sa.CheckConstraint(one_of("trigger", TRIGGERS), name="trigger"),
    sa.CheckConstraint(one_of("scope", RUN_SCOPES), name="scope"),
    sa.Index("ix_cmms_sync_run_status", "status"),
)

sync_log = sa.Table(
    "cmms_sync_log",
    metadata,
    sa.Column("log_id", BIGID, primary_key=True, autoincrement=True),
    sa.Column(
        "run_id",
        sa.BigInteger,
        sa.ForeignKey("cmms_sync_run.run_id", ondelete="CASCADE"),
        nullable=False,
    ),
    sa.Column("customer_id", sa.BigInteger),
    sa.Column("cmms_asset_id", sa.Text, nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("error_message", sa.Text),
    # One of errors.ERROR_KINDS (why the asset failed or was skipped); NULL for a success.
    sa.Column("error_kind", sa.String(32)),
    sa.Column("http_status", sa.Integer),
    sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
    sa.Column("synced_at", TZ, nullable=False),
    sa.Column("duration_ms", sa.Integer),
    sa.CheckConstraint(one_of("status", LOG_STATUSES), name="status"),
    sa.Index("ix_cmms_sync_log_run_id_status", "run_id", "status"),
    sa.Index("ix_cmms_sync_log_cmms_asset_id_log_id", "cmms_asset_id", "log_id"),
)

# The field-level history of what a sync or an import changed. run_id has no foreign key on
# purpose: the log's retention prunes old runs, and the history of an asset outlives them.
asset_change = sa.Table(
    "ic3_asset_change",
    metadata,
    sa.Column("change_id", BIGID, primary_key=True, autoincrement=True),
    sa.Column(
        "asset_id",
        sa.BigInteger,
        sa.ForeignKey("ic3_asset_master.asset_id", ondelete="CASCADE"),
        nullable=False,
    ),
    sa.Column("cmms_asset_id", sa.Text, nullable=False),
    # NULL for a change an import made: an import is no run.
    sa.Column("run_id", sa.BigInteger),
    sa.Column("table_name", sa.Text, nullable=False),
    sa.Column("column_name", sa.Text, nullable=False),
    sa.Column("old_value", sa.Text),
    sa.Column("new_value", sa.Text),
    sa.Column("changed_at", TZ, nullable=False),
    sa.Column("source", sa.String(16), nullable=False),
    sa.CheckConstraint(one_of("source", CHANGE_SOURCES), name="source"),
    # An asset's timeline, newest first.
    sa.Index("ix_ic3_asset_change_cmms_asset_id_change_id", "cmms_asset_id", "change_id"),
    # A run's changes, counted by column.
    sa.Index("ix_ic3_asset_change_run_id_column_name", "run_id", "column_name"),
    # Changes since a date, for the overview, the command and the export.
    sa.Index("ix_ic3_asset_change_changed_at", "changed_at"),
)


def _asset_details() -> tuple[sa.FromClause, dict[str, sa.TableClause]]:
    m = asset_master
    by_period = {p: workorder_summary.alias("wo_" + p) for p in WORKORDER_PERIODS}
    joined: sa.FromClause = m.outerjoin(
        asset_performance, asset_performance.c.asset_id == m.c.asset_id
    )
    for period, wo in by_period.items():
        joined = joined.outerjoin(
            wo,
            sa.and_(
                wo.c.asset_id == m.c.asset_id,
                # Inlined, not bound: statements over this join take the asset id alone.
                wo.c.period_type == sa.literal_column(f"'{period}'"),
            ),
        )
    for table, key in (
        (building, "building_id"),
        (floor, "floor_id"),
        (department, "department_id"),
    ):
        joined = joined.outerjoin(table, table.c[key] == m.c[key])
    return joined, by_period  # type: ignore[return-value]


# An asset with everything stored about it, one row per asset: its performance, its work-order
# summary of each period (WORKORDER_BY_PERIOD), and the building, floor and department it is
# assigned to. The change history reads it before a sync writes; the export reads it whole.
ASSET_DETAILS, WORKORDER_BY_PERIOD = _asset_details()

# Dashboard logins. The cookie carries a random id; only its SHA-256 is stored, so a read of
# this table opens no session. `token_mark` ties a session to the admin token it logged in
# with: a changed IC3_ADMIN_TOKEN ends every session made with the old one.
dashboard_session = sa.Table(
    "ic3_dashboard_session",
    metadata,
    sa.Column("session_hash", sa.String(64), primary_key=True),
    sa.Column("token_mark", sa.String(64), nullable=False),
    sa.Column("created_at", TZ, nullable=False),
    sa.Column("expires_at", TZ, nullable=False),
    sa.Index("ix_ic3_dashboard_session_expires_at", "expires_at"),
)
