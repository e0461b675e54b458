"""`ic3sync export` and the change files, read back with openpyxl and compared cell by cell with
what the database holds, types included, on SQLite and PostgreSQL."""

from __future__ import annotations

import csv
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import openpyxl
import sqlalchemy as sa

from ic3sync.db import read
from ic3sync.db.schema import asset_master, asset_performance
from ic3sync.export import (
    CHANGES_SHEET,
    FAILURES_SHEET,
    REGISTER_SHEET,
    write_changes,
    write_failures_workbook,
    write_register_csv,
    write_workbook,
)
from ic3sync.innomaint.simulator import Simulator, SimulatorConfig
from ic3sync.sync import run_sync
from tests.helpers import TOKEN, client_for, seed_assets, table_rows

IDS = ["Delhi Cantt Naraina_BP_01", "Plant 02_PUMP_02", "Plant 03_PUMP_03"]
BROKEN = IDS[2]
KOLKATA = ZoneInfo("Asia/Kolkata")


def _sync(engine: sa.Engine, faults: dict[str, str] | None = None):  # type: ignore[no-untyped-def]
    with (
        Simulator(SimulatorConfig(token=TOKEN, faults=faults or {})) as sim,
        client_for(sim.url) as client,
    ):
        return run_sync(engine, client, trigger="cli")


def _synced_register(engine: sa.Engine) -> int:
    """Two runs: a baseline, then one with a change and a failure. The second run's id."""
    seed_assets(engine, IDS)
    _sync(engine)
    with engine.begin() as conn:
        conn.execute(
            sa.update(asset_master)
            .where(asset_master.c.cmms_asset_id == IDS[0])
            .values(criticality='=HYPERLINK("x")', asset_name="=1+1")
        )
        conn.execute(sa.update(asset_performance).values(mttr="10:00:00"))
    return _sync(engine, faults={BROKEN: "not_found"}).run_id


def _expected_register(engine: sa.Engine) -> dict[str, dict[str, Any]]:
    """Each asset's stored values by export header, read table by table (not by the export's
    own joined query)."""
    perf = {r["asset_id"]: r for r in table_rows(engine, "ic3_asset_performance")}
    wo = {(r["asset_id"], r["period_type"]): r for r in table_rows(engine, "ic3_workorder_summary")}
    names = {
        key: {r[key]: r[name] for r in table_rows(engine, table)}
        for table, key, name in (
            ("ic3_building", "building_id", "building_name"),
            ("ic3_floor_master", "floor_id", "floor_name"),
            ("ic3_department_master", "department_id", "department_name"),
        )
    }
    out = {}
    for m in table_rows(engine, "ic3_asset_master"):
        row: dict[str, Any] = dict(m)
        for key, by_id in names.items():
            row[key.replace("_id", "_name")] = by_id.get(m[key])
        p = perf.get(m["asset_id"], {})
        for k, v in p.items():
            if k in ("performance_id", "asset_id", "serialnumber"):
                continue
            if k.endswith("_seconds"):
                row[k.removesuffix("_seconds") + "_hours"] = None if v is None else v / 3600
            else:
                row[k] = v
        for period in ("upto", "last_year"):
            for k, v in wo.get((m["asset_id"], period), {}).items():
                if k.endswith(("_count", "_cost")):
                    row[f"{period}.{k}"] = v
        out[m["cmms_asset_id"]] = row
    return out


def _cell_value(expected: Any, zone: ZoneInfo, naive_is_utc: bool = True) -> Any:
    """What a stored value reads back as from a cell: instants as wall time in `zone`, dates as
    midnight datetimes, numbers as numbers."""
    if isinstance(expected, datetime):
        if expected.tzinfo is None and not naive_is_utc:
            return expected
        aware = expected if expected.tzinfo else expected.replace(tzinfo=UTC)
        return aware.astimezone(zone).replace(tzinfo=None)
    if isinstance(expected, date):
        return datetime(expected.year, expected.month, expected.day)
    if isinstance(expected, Decimal):
        return float(expected)
    return expected


def _assert_cell(value: Any, expected: Any, where: str) -> None:
    if expected is None:
        assert value is None, where
    elif isinstance(expected, str):
        assert type(value) is str and value == expected, where
    elif isinstance(expected, datetime):
        assert type(value) is datetime, where
        # Excel keeps milliseconds.
        assert abs((value - expected).total_seconds()) < 0.001, (where, value, expected)
    elif isinstance(expected, bool):
        raise AssertionError(f"{where}: no boolean columns expected")
    elif isinstance(expected, int):
        assert type(value) is int and value == expected, (where, value, expected)
    else:
        assert type(value) in (int, float) and abs(value - expected) < 1e-9, (where, value)


def _sheet_rows(ws: Any) -> list[tuple]:
    return list(ws.iter_rows(values_only=True))


def test_the_workbook_holds_the_register_failures_and_changes_cell_by_cell(engine, tmp_path):
    run_id = _synced_register(engine)
    path = tmp_path / "register.xlsx"
    counts = write_workbook(
        engine, path, zone=KOLKATA, now=datetime.now(UTC), chunk=2
    )  # chunk=2: the keyset paging crosses pages
    assert (counts.register, counts.failures, counts.failures_run_id) == (3, 1, run_id)

    wb = openpyxl.load_workbook(path)
    assert wb.sheetnames == [REGISTER_SHEET, FAILURES_SHEET, CHANGES_SHEET]
    expected = _expected_register(engine)

    ws = wb[REGISTER_SHEET]
    assert ws.freeze_panes == "A2"
    rows = _sheet_rows(ws)
    header, body = rows[0], rows[1:]
    assert ws.auto_filter.ref == f"A1:{openpyxl.utils.get_column_letter(len(header))}4"
    assert set(header) == set(next(iter(expected.values())))
    assert [r[header.index("cmms_asset_id")] for r in body] == IDS
    for r in body:
        want = expected[r[header.index("cmms_asset_id")]]
        for name, value in zip(header, r, strict=True):
            # asset_created_at is the vendor's wall time, kept without a zone.
            instant = name != "asset_created_at"
            _assert_cell(value, _cell_value(want[name], KOLKATA, instant), f"{r[1]}.{name}")
    # Formula-looking text stays text; durations are hours; dates are date cells.
    first = dict(zip(header, body[0], strict=True))
    assert first["asset_name"] == "=1+1"
    assert ws.cell(2, header.index("asset_name") + 1).data_type == "s"
    assert isinstance(first["mtbf_hours"], float) and first["mtbf"] == "8526:06:43"
    assert abs(first["mtbf_hours"] - 30694003 / 3600) < 1e-9
    assert ws.cell(2, header.index("installation_date") + 1).is_date or (
        first["installation_date"] is None
    )
    assert ws.cell(2, header.index("last_synced_at") + 1).is_date
    assert ws.cell(2, header.index("upto.ticket_cost") + 1).number_format == "#,##0.00"

    failures = _sheet_rows(wb[FAILURES_SHEET])
    assert wb[FAILURES_SHEET].freeze_panes == "A2"
    log = [r for r in table_rows(engine, "cmms_sync_log") if r["status"] == "failed"]
    assert failures[0] == (
        "run_id",
        "cmms_asset_id",
        "customer_id",
        "http_status",
        "attempts",
        "error_message",
        "synced_at",
    )
    assert len(failures) == 2 and len(log) == 1
    got = dict(zip(failures[0], failures[1], strict=True))
    for name, value in got.items():
        _assert_cell(value, _cell_value(log[0][name], KOLKATA), f"failures.{name}")
    assert got["error_message"].startswith("HTTP 404")

    changes = _sheet_rows(wb[CHANGES_SHEET])
    stored = table_rows(engine, "ic3_asset_change", "change_id")
    assert len(changes) - 1 == len(stored) > 0
    for r, want in zip(changes[1:], stored, strict=True):
        for name, value in zip(changes[0], r, strict=True):
            _assert_cell(value, _cell_value(want[name], KOLKATA), f"changes.{name}")
    # Rows of the broken asset's would-be change never existed: it failed.
    assert BROKEN not in {r[changes[0].index("cmms_asset_id")] for r in changes[1:]}


def test_an_empty_register_exports_headers_only(engine, tmp_path):
    path = tmp_path / "empty.xlsx"
    counts = write_workbook(engine, path, zone=KOLKATA, now=datetime.now(UTC))
    assert (counts.register, counts.failures, counts.changes) == (0, 0, 0)
    wb = openpyxl.load_workbook(path)
    assert [len(_sheet_rows(wb[name])) for name in wb.sheetnames] == [1, 1, 1]


def test_a_runs_failures_and_the_changes_as_files(engine, tmp_path):
    run_id = _synced_register(engine)
    path = tmp_path / "failures.xlsx"
    assert write_failures_workbook(engine, path, run_id, zone=KOLKATA) == 1
    ws = openpyxl.load_workbook(path).active
    assert ws.title == f"Run {run_id} failures"
    assert _sheet_rows(ws)[1][1] == BROKEN

    with engine.connect() as conn:
        n = write_changes(
            read.iter_changes(conn, column="mttr"), tmp_path / "c.csv", "csv", zone=KOLKATA
        )
    lines = list(csv.reader((tmp_path / "c.csv").open(encoding="utf-8-sig")))
    assert n == 2 == len(lines) - 1
    assert {(r[4], r[5]) for r in lines[1:]} == {("mttr", "10:00:00")}


def test_the_register_csv_keeps_formula_text_inert(engine, tmp_path: Path):
    _synced_register(engine)
    path = tmp_path / "register.csv"
    assert write_register_csv(engine, path, zone=KOLKATA) == 3
    rows = list(csv.DictReader(path.open(encoding="utf-8-sig")))
    assert [r["cmms_asset_id"] for r in rows] == IDS
    assert rows[0]["asset_name"] == "'=1+1"
    assert float(rows[0]["mtbf_hours"]) == 30694003 / 3600
