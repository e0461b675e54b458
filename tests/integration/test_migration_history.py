"""The migrations as a history, on SQLite and PostgreSQL: pytest-alembic's standard checks (one
head, an upgrade from nothing, every step down and up again, the models matching what the
migrations build), and a database made at every earlier revision, filled with rows in every
column that revision has, upgraded to the head with every row and value intact."""

from __future__ import annotations

import zlib
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa
from pytest_alembic import create_alembic_fixture
from pytest_alembic.tests import (  # noqa: F401  (collected here, run on each database)
    test_model_definitions_match_ddl,
    test_single_head_revision,
    test_up_down_consistency,
    test_upgrade,
)

from ic3sync.db.engine import make_engine
from ic3sync.db.migrate import alembic_config as make_alembic_config
from ic3sync.db.migrate import head_revision, known_revisions, migrate_to, upgrade
from ic3sync.model import AssetSelection

EARLIER = sorted(known_revisions() - {head_revision()})
ROWS = 2
# The values the CHECK constraints allow, one a row.
ALLOWED = {
    ("cmms_sync_run", "status"): ["completed", "aborted"],
    ("cmms_sync_run", "trigger"): ["cli", "schedule"],
    ("cmms_sync_log", "status"): ["failed", "success"],
    ("ic3_workorder_summary", "period_type"): ["upto", "last_year"],
    # Every run filled names an asset (cmms_asset_id is filled), so each is a sync-one.
    ("cmms_sync_run", "scope"): ["asset", "asset"],
    ("ic3_asset_change", "source"): ["cmms", "register"],
}


alembic_runner = create_alembic_fixture(make_alembic_config())


@pytest.fixture
def alembic_engine(db_url: str) -> Iterator[sa.Engine]:
    engine = make_engine(db_url)
    try:
        yield engine
    finally:
        engine.dispose()


def _salt(table: str, column: str) -> int:
    return zlib.crc32(f"{table}.{column}".encode()) % 997


def _value(table: sa.Table, column: sa.Column[Any], row: int) -> Any:
    """A value of the column's type, different in each column and row; keys are the row's
    number, so that every foreign key finds its row."""
    if (allowed := ALLOWED.get((table.name, column.name))) is not None:
        return allowed[row]
    if (column.primary_key and column.name != "session_hash") or column.foreign_keys:
        return row + 1
    if column.name in ("asset_id", "run_id"):
        return row + 1
    salt = _salt(table.name, column.name)
    kind = column.type.python_type
    if kind is bool:
        return row % 2 == 0
    if kind is int:
        return 1000 * (row + 1) + salt
    if kind is Decimal:
        return Decimal(f"{row + 1}{salt % 10}.25")
    if kind is datetime:
        return datetime(2025, 3, 4, 5, 6, 7, 123456, tzinfo=UTC) + timedelta(hours=salt, days=row)
    if kind is date:
        return date(2020, 1, 1) + timedelta(days=salt + row)
    text = f"{column.name[:6]} é'{row}{salt}"
    length = getattr(column.type, "length", None)
    return text[-length:] if length else text


def _as_read(value: Any) -> Any:
    # SQLite hands timestamps back without their zone; they were written in UTC.
    if isinstance(value, datetime):
        return (value if value.tzinfo else value.replace(tzinfo=UTC)).astimezone(UTC)
    return value


def _tables(conn: sa.Connection) -> list[sa.Table]:
    meta = sa.MetaData()
    meta.reflect(conn)
    return [t for t in meta.sorted_tables if t.name != "alembic_version"]


def _fill(engine: sa.Engine) -> dict[str, list[dict[str, Any]]]:
    written: dict[str, list[dict[str, Any]]] = {}
    with engine.begin() as conn:
        for table in _tables(conn):
            rows = [{c.name: _value(table, c, i) for c in table.columns} for i in range(ROWS)]
            conn.execute(table.insert(), rows)
            written[table.name] = rows
    return written


def _read(engine: sa.Engine) -> dict[str, list[dict[str, Any]]]:
    with engine.connect() as conn:
        return {
            t.name: [
                {k: _as_read(v) for k, v in r.items()}
                for r in conn.execute(sa.select(t).order_by(*t.primary_key.columns)).mappings()
            ]
            for t in _tables(conn)
        }


@pytest.mark.parametrize("revision", EARLIER)
def test_a_database_of_every_earlier_revision_upgrades_with_every_value(db_url, revision):
    engine = make_engine(db_url)
    try:
        migrate_to(engine, revision)
        written = _fill(engine)
        assert {"ic3_asset_master", "cmms_sync_run", "cmms_sync_log"} <= set(written)
        assert upgrade(engine) == (revision, head_revision())
        found = _read(engine)
        for table, rows in written.items():
            assert len(found[table]) == len(rows), table
            for before, after in zip(rows, found[table], strict=True):
                kept = {k: after[k] for k in before}
                assert kept == {k: _as_read(v) for k, v in before.items()}, table
        for run in found["cmms_sync_run"]:
            filters = AssetSelection(
                batch=run["batch_size"],
                offset=run["offset_start"],
                customer_id=run["customer_id"],
                only_failed=run["only_failed"],
                cmms_asset_id=run["cmms_asset_id"],
            )
            assert run["scope"] == filters.scope
        if (history := written.get("ic3_asset_change")) and "source" not in history[0]:
            # Every change recorded before the history said its source was a sync's.
            assert [c["source"] for c in found["ic3_asset_change"]] == ["cmms"] * ROWS
        with engine.connect() as conn:
            assert conn.execute(sa.text("SELECT COUNT(*) FROM ic3_sync_log")).scalar() == ROWS
    finally:
        engine.dispose()
