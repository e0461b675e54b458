"""initial schema

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


# The view the spec's checking queries read (`SELECT status, COUNT(*) FROM ic3_sync_log ...`).
SYNC_LOG_VIEW_SQL = """
CREATE VIEW ic3_sync_log AS
SELECT log_id AS id,
       run_id,
       cmms_asset_id AS serialnumber,
       'api_sync' AS sync_type,
       status,
       error_message,
       synced_at
FROM cmms_sync_log
"""


def upgrade() -> None:
    op.create_table(
        "cmms_sync_run",
        sa.Column(
            "run_id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("trigger", sa.String(length=16), nullable=False),
        sa.Column("batch_size", sa.Integer(), nullable=True),
        sa.Column("offset_start", sa.Integer(), server_default="0", nullable=False),
        sa.Column("customer_id", sa.BigInteger(), nullable=True),
        sa.Column("only_failed", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("cmms_asset_id", sa.Text(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("total", sa.Integer(), server_default="0", nullable=False),
        sa.Column("success", sa.Integer(), server_default="0", nullable=False),
        sa.Column("failed", sa.Integer(), server_default="0", nullable=False),
        sa.Column("skipped", sa.Integer(), server_default="0", nullable=False),
        sa.Column("current_asset", sa.Text(), nullable=True),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("heartbeat_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("duration_ms", sa.BigInteger(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("host", sa.Text(), nullable=True),
        sa.Column("pid", sa.Integer(), nullable=True),
        sa.CheckConstraint(
            "status IN ('running', 'completed', 'aborted', 'cancelled', 'interrupted')",
            name=op.f("ck_cmms_sync_run_status"),
        ),
        sa.CheckConstraint(
            "trigger IN ('cli', 'api', 'schedule')", name=op.f("ck_cmms_sync_run_trigger")
        ),
        sa.PrimaryKeyConstraint("run_id", name=op.f("pk_cmms_sync_run")),
    )
    with op.batch_alter_table("cmms_sync_run", schema=None) as batch_op:
        batch_op.create_index("ix_cmms_sync_run_status", ["status"], unique=False)

    op.create_table(
        "ic3_asset_master",
        sa.Column(
            "asset_id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("cmms_asset_id", sa.Text(), nullable=False),
        sa.Column("report_seq_no", sa.Integer(), nullable=True),
        sa.Column("asset_name", sa.Text(), nullable=True),
        sa.Column("customer_id", sa.BigInteger(), nullable=True),
        sa.Column("customer_name", sa.Text(), nullable=True),
        sa.Column("location_id", sa.BigInteger(), nullable=True),
        sa.Column("location_name", sa.Text(), nullable=True),
        sa.Column("barcode", sa.Text(), nullable=True),
        sa.Column("criticality", sa.Text(), nullable=True),
        sa.Column("capacity_rating", sa.Text(), nullable=True),
        sa.Column("in_charge_person", sa.Text(), nullable=True),
        sa.Column("traceability_id", sa.BigInteger(), nullable=True),
        sa.Column("building_id", sa.BigInteger(), nullable=True),
        sa.Column("floor_id", sa.BigInteger(), nullable=True),
        sa.Column("department_id", sa.BigInteger(), nullable=True),
        sa.Column("asset_building_id", sa.BigInteger(), nullable=True),
        sa.Column("asset_floor_id", sa.BigInteger(), nullable=True),
        sa.Column("asset_department_id", sa.BigInteger(), nullable=True),
        sa.Column("fk_customers_equipment_mapping_id", sa.BigInteger(), nullable=True),
        sa.Column("customers_locations_serialnumber_mapping_id", sa.BigInteger(), nullable=True),
        sa.Column("customer_traceability_id", sa.BigInteger(), nullable=True),
        sa.Column("customer_model_id", sa.BigInteger(), nullable=True),
        sa.Column("location_traceability_id", sa.BigInteger(), nullable=True),
        sa.Column("location_model_id", sa.BigInteger(), nullable=True),
        sa.Column("ticketcount", sa.BigInteger(), nullable=True),
        sa.Column("schedulecount", sa.BigInteger(), nullable=True),
        sa.Column("schedule_configured", sa.BigInteger(), nullable=True),
        sa.Column("schedule_initiate", sa.BigInteger(), nullable=True),
        sa.Column("iot_device_mapped", sa.BigInteger(), nullable=True),
        sa.Column("status", sa.BigInteger(), nullable=True),
        sa.Column("asset_live_status", sa.BigInteger(), nullable=True),
        sa.Column("mapping_status", sa.BigInteger(), nullable=True),
        sa.Column("traceability_status", sa.BigInteger(), nullable=True),
        sa.Column("is_loaner", sa.BigInteger(), nullable=True),
        sa.Column("is_ble_tracking", sa.BigInteger(), nullable=True),
        sa.Column("is_rfid_tracking", sa.BigInteger(), nullable=True),
        sa.Column("is_qr_tracking", sa.BigInteger(), nullable=True),
        sa.Column("is_tracking_enabled", sa.BigInteger(), nullable=True),
        sa.Column("year_of_manufacturing", sa.BigInteger(), nullable=True),
        sa.Column("installation_date", sa.Date(), nullable=True),
        sa.Column("traceability_updated_on", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_synced_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("sync_version", sa.Integer(), server_default="0", nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("asset_id", name=op.f("pk_ic3_asset_master")),
        sa.UniqueConstraint("cmms_asset_id", name=op.f("uq_ic3_asset_master_cmms_asset_id")),
    )
    with op.batch_alter_table("ic3_asset_master", schema=None) as batch_op:
        batch_op.create_index("ix_ic3_asset_master_customer_id", ["customer_id"], unique=False)
        batch_op.create_index(
            "ix_ic3_asset_master_order", ["report_seq_no", "asset_id"], unique=False
        )

    op.create_table(
        "ic3_building",
        sa.Column("building_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("customer_id", sa.BigInteger(), nullable=True),
        sa.Column("building_name", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("building_id", name=op.f("pk_ic3_building")),
    )
    op.create_table(
        "ic3_department_master",
        sa.Column("department_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("department_name", sa.Text(), nullable=True),
        sa.Column("floor_id", sa.BigInteger(), nullable=True),
        sa.Column("location_id", sa.BigInteger(), nullable=True),
        sa.Column("asset_department_id", sa.BigInteger(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("department_id", name=op.f("pk_ic3_department_master")),
    )
    op.create_table(
        "ic3_floor_master",
        sa.Column("floor_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("floor_name", sa.Text(), nullable=True),
        sa.Column("location_id", sa.BigInteger(), nullable=True),
        sa.Column("asset_floor_id", sa.BigInteger(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("floor_id", name=op.f("pk_ic3_floor_master")),
    )
    op.create_table(
        "cmms_sync_log",
        sa.Column(
            "log_id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("run_id", sa.BigInteger(), nullable=False),
        sa.Column("customer_id", sa.BigInteger(), nullable=True),
        sa.Column("cmms_asset_id", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("error_message", sa.Text(), nullable=True),
        sa.Column("http_status", sa.Integer(), nullable=True),
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
        sa.Column("synced_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("duration_ms", sa.Integer(), nullable=True),
        sa.CheckConstraint(
            "status IN ('success', 'failed', 'skipped')", name=op.f("ck_cmms_sync_log_status")
        ),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["cmms_sync_run.run_id"],
            name=op.f("fk_cmms_sync_log_run_id_cmms_sync_run"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("log_id", name=op.f("pk_cmms_sync_log")),
    )
    with op.batch_alter_table("cmms_sync_log", schema=None) as batch_op:
        batch_op.create_index(
            "ix_cmms_sync_log_cmms_asset_id_log_id", ["cmms_asset_id", "log_id"], unique=False
        )
        batch_op.create_index("ix_cmms_sync_log_run_id_status", ["run_id", "status"], unique=False)

    op.create_table(
        "ic3_asset_performance",
        sa.Column(
            "performance_id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("asset_id", sa.BigInteger(), nullable=False),
        sa.Column("serialnumber", sa.Text(), nullable=True),
        sa.Column("equipments_name", sa.Text(), nullable=True),
        sa.Column("equipment_model_name", sa.Text(), nullable=True),
        sa.Column("criticality_type_label", sa.Text(), nullable=True),
        sa.Column("mttr", sa.Text(), nullable=True),
        sa.Column("mtbf", sa.Text(), nullable=True),
        sa.Column("availability", sa.Text(), nullable=True),
        sa.Column("total_ticket_breakdown_hrs", sa.Text(), nullable=True),
        sa.Column("total_schedule_breakdown_hrs", sa.Text(), nullable=True),
        sa.Column("asset_created_date", sa.Text(), nullable=True),
        sa.Column("total_actual_hrs", sa.Text(), nullable=True),
        sa.Column("total_ticket", sa.Integer(), nullable=True),
        sa.Column("mttr_seconds", sa.BigInteger(), nullable=True),
        sa.Column("mtbf_seconds", sa.BigInteger(), nullable=True),
        sa.Column("total_actual_seconds", sa.BigInteger(), nullable=True),
        sa.Column("total_ticket_breakdown_seconds", sa.BigInteger(), nullable=True),
        sa.Column("total_schedule_breakdown_seconds", sa.BigInteger(), nullable=True),
        sa.Column("availability_pct", sa.Numeric(precision=9, scale=4), nullable=True),
        sa.Column("asset_created_at", sa.DateTime(), nullable=True),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["asset_id"],
            ["ic3_asset_master.asset_id"],
            name=op.f("fk_ic3_asset_performance_asset_id_ic3_asset_master"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("performance_id", name=op.f("pk_ic3_asset_performance")),
        sa.UniqueConstraint("asset_id", name=op.f("uq_ic3_asset_performance_asset_id")),
    )
    op.create_table(
        "ic3_workorder_summary",
        sa.Column(
            "summary_id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("asset_id", sa.BigInteger(), nullable=False),
        sa.Column("period_type", sa.String(length=16), nullable=False),
        sa.Column("work_estimate_count", sa.Integer(), nullable=True),
        sa.Column("schedule_count", sa.Integer(), nullable=True),
        sa.Column("ticket_count", sa.Integer(), nullable=True),
        sa.Column("work_estimate_cost", sa.Numeric(precision=14, scale=2), nullable=True),
        sa.Column("schedule_cost", sa.Numeric(precision=14, scale=2), nullable=True),
        sa.Column("ticket_cost", sa.Numeric(precision=14, scale=2), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "period_type IN ('upto', 'last_year')",
            name=op.f("ck_ic3_workorder_summary_period_type"),
        ),
        sa.ForeignKeyConstraint(
            ["asset_id"],
            ["ic3_asset_master.asset_id"],
            name=op.f("fk_ic3_workorder_summary_asset_id_ic3_asset_master"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("summary_id", name=op.f("pk_ic3_workorder_summary")),
        sa.UniqueConstraint(
            "asset_id", "period_type", name=op.f("uq_ic3_workorder_summary_asset_id_period_type")
        ),
    )
    op.execute(SYNC_LOG_VIEW_SQL)


def downgrade() -> None:
    op.execute("DROP VIEW IF EXISTS ic3_sync_log")
    op.drop_table("ic3_workorder_summary")
    op.drop_table("ic3_asset_performance")
    with op.batch_alter_table("cmms_sync_log", schema=None) as batch_op:
        batch_op.drop_index("ix_cmms_sync_log_run_id_status")
        batch_op.drop_index("ix_cmms_sync_log_cmms_asset_id_log_id")

    op.drop_table("cmms_sync_log")
    op.drop_table("ic3_floor_master")
    op.drop_table("ic3_department_master")
    op.drop_table("ic3_building")
    with op.batch_alter_table("ic3_asset_master", schema=None) as batch_op:
        batch_op.drop_index("ix_ic3_asset_master_order")
        batch_op.drop_index("ix_ic3_asset_master_customer_id")

    op.drop_table("ic3_asset_master")
    with op.batch_alter_table("cmms_sync_run", schema=None) as batch_op:
        batch_op.drop_index("ix_cmms_sync_run_status")

    op.drop_table("cmms_sync_run")
