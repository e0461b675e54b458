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
import pytest
import sqlalchemy as sa

from ic3sync.attention import attention_rows
from ic3sync.db import read
from ic3sync.db.schema import asset_change, asset_master, asset_performance
from ic3sync.errors import AsOfDateError
from ic3sync.export import (
    CHANGES_SHEET,
    FAILURES_SHEET,
    REGISTER_SHEET,
    write_changes,
    write_failures_workbook,
    write_register_as_of,
    write_register_csv,
    write_workbook,
)
from ic3sync.innomaint.simulator import Simulator, SimulatorConfig
from ic3sync.sync import run_sync
from ic3sync.workbook import COLUMNS_SHEET
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
    """Each asset's stored values by database column (table.column, a work-order period named),
    read table by table (not by the export's own joined query); durations in hours."""
    perf = {r["asset_id"]: r for r in table_rows(engine, "ic3_asset_performance")}
    wo = {(r["asset_id"], r["period_type"]): r for r in table_rows(engine, "ic3_workorder_summary")}
    names = {
        key: (table, {r[key]: r[name] for r in table_rows(engine, table)})
        for table, key, name in (
            ("ic3_building", "building_id", "building_name"),
            ("ic3_floor_master", "floor_id", "floor_name"),
            ("ic3_department_master", "department_id", "department_name"),
        )
    }
    out = {}
    for m in table_rows(engine, "ic3_asset_master"):
        row: dict[str, Any] = {f"ic3_asset_master.{k}": v for k, v in m.items()}
        for key, (table, by_id) in names.items():
            row[f"{table}.{key.replace('_id', '_name')}"] = by_id.get(m[key])
        for k, v in perf.get(m["asset_id"], {}).items():
            if k in ("performance_id", "asset_id", "serialnumber"):
                continue
            hours = k.endswith("_seconds") and v is not None
            row[f"ic3_asset_performance.{k}"] = v / 3600 if hours else v
        for period in ("upto", "last_year"):
            for k, v in wo.get((m["asset_id"], period), {}).items():
                if k.endswith(("_count", "_cost")):
                    row[f"ic3_workorder_summary.{k} (period_type '{period}')"] = v
        out[m["cmms_asset_id"]] = row
    return out


def _cell_value(expected: Any, zone: ZoneInfo, naive_is_utc: bool = True) -> Any:
    """What a stored value reads back as from a cell: instants as wall time in `zone` to the
    second, dates as midnight datetimes, numbers as numbers."""
    if isinstance(expected, datetime):
        if expected.tzinfo is None and not naive_is_utc:
            return expected.replace(microsecond=0)
        aware = expected if expected.tzinfo else expected.replace(tzinfo=UTC)
        return aware.astimezone(zone).replace(tzinfo=None, microsecond=0)
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
        assert type(value) is datetime and value == expected, (where, value, expected)
    elif isinstance(expected, bool):
        raise AssertionError(f"{where}: no boolean columns expected")
    elif isinstance(expected, int):
        assert type(value) is int and value == expected, (where, value, expected)
    else:
        assert type(value) in (int, float) and abs(value - expected) < 1e-9, (where, value)


def _sheet_rows(ws: Any) -> list[tuple]:
    return list(ws.iter_rows(values_only=True))


def _described(wb: Any) -> dict[tuple[str, str], str]:
    """(sheet, header) -> the database column, as the Columns sheet says."""
    rows = _sheet_rows(wb[COLUMNS_SHEET])
    assert rows[0] == ("Sheet", "Column", "Database column", "Meaning")
    return {(sheet, header): source for sheet, header, source, _ in rows[1:]}


def test_the_workbook_holds_the_register_failures_and_changes_cell_by_cell(engine, tmp_path):
    run_id = _synced_register(engine)
    path = tmp_path / "register.xlsx"
    counts = write_workbook(
        engine, path, zone=KOLKATA, now=datetime.now(UTC), chunk=2
    )  # chunk=2: the keyset paging crosses pages
    assert (counts.register, counts.failures, counts.failures_run_id) == (3, 1, run_id)

    wb = openpyxl.load_workbook(path)
    assert wb.sheetnames == [
        "Register",
        "Failures of the last full run",
        "Changes (last 30 days)",
        "Needs attention",
        "Columns",
    ]
    # What needs a person, row for row as the attention page lists it.
    with engine.connect() as conn:
        needs = [(r["what"], r["cmms_asset_id"], r["field"]) for r in attention_rows(conn)]
    attention = _sheet_rows(wb["Needs attention"])
    assert attention[0][:4] == ("Needs attention", "Asset ID", "Name", "Field")
    assert [(r[0], r[1], r[3]) for r in attention[1:]] == needs
    assert counts.attention == len(needs)
    expected = _expected_register(engine)
    described = _described(wb)

    ws = wb[REGISTER_SHEET]
    assert ws.freeze_panes == "A2"
    rows = _sheet_rows(ws)
    header, body = rows[0], rows[1:]
    assert ws.auto_filter.ref == f"A1:{openpyxl.utils.get_column_letter(len(header))}4"
    # Who and where first, the technical ids last; every header a label people read.
    assert header[:8] == (
        "Asset ID",
        "Name",
        "Serial no.",
        "Customer",
        "Location",
        "Building",
        "Floor",
        "Department",
    )
    assert header[-1] == "Internal id" and all(h.endswith(" id") for h in header[-16:])
    assert {"MTTR (h)", "Tickets (last year)", "Last synced (Asia/Kolkata)"} <= set(header)
    assert not [h for h in header if "_" in h]
    # Each label names its database column in the Columns sheet, and the cell holds its value.
    sources = [described[(REGISTER_SHEET, h)] for h in header]
    assert set(sources) == set(next(iter(expected.values())))
    assert described[(REGISTER_SHEET, "Asset ID")] == "ic3_asset_master.cmms_asset_id"
    assert [r[0] for r in body] == IDS
    for r in body:
        want = expected[r[0]]
        for name, source, value in zip(header, sources, r, strict=True):
            # asset_created_at is the vendor's wall time, kept without a zone.
            instant = source != "ic3_asset_performance.asset_created_at"
            _assert_cell(value, _cell_value(want[source], KOLKATA, instant), f"{r[0]}.{name}")
    # Formula-looking text stays text; durations are hours; dates are date cells.
    first = dict(zip(header, body[0], strict=True))
    assert first["Name"] == "=1+1"
    assert ws.cell(2, header.index("Name") + 1).data_type == "s"
    assert isinstance(first["MTBF (h)"], float) and first["MTBF as sent"] == "8526:06:43"
    assert abs(first["MTBF (h)"] - 30694003 / 3600) < 1e-9
    synced = ws.cell(2, header.index("Last synced (Asia/Kolkata)") + 1)
    assert synced.is_date and synced.number_format == "yyyy-mm-dd hh:mm:ss"
    assert ws.cell(2, header.index("Ticket cost (to date)") + 1).number_format == "#,##0.00"
    # No fractions of a second anywhere: Excel would show none, and a filter would miss them.
    times = [v for row in body for v in row if isinstance(v, datetime)]
    assert times and all(v.microsecond == 0 for v in times)
    # Widths from the content, within bounds: the 19-character times never show as #####.
    width = {
        h: ws.column_dimensions[openpyxl.utils.get_column_letter(i)].width
        for i, h in enumerate(header, 1)
    }
    assert all(10 <= w <= 50 for w in width.values()), width
    assert width["Asset ID"] >= len(IDS[0]) + 2
    assert width["Last synced (Asia/Kolkata)"] >= len("2026-12-07 11:30:00") + 2
    assert width["Floor"] < width["Asset ID"]

    failures = _sheet_rows(wb[FAILURES_SHEET])
    assert wb[FAILURES_SHEET].freeze_panes == "A2"
    log = [r for r in table_rows(engine, "cmms_sync_log") if r["status"] == "failed"]
    assert failures[0] == (
        "Asset ID",
        "At (Asia/Kolkata)",
        "HTTP status",
        "Reason",
        "Attempts",
        "Run",
        "Customer id",
    )
    assert len(failures) == 2 and len(log) == 1
    for header_, value in zip(failures[0], failures[1], strict=True):
        source = described[(FAILURES_SHEET, header_)]
        name = source.removeprefix("cmms_sync_log.")
        _assert_cell(value, _cell_value(log[0][name], KOLKATA), f"failures.{header_}")
    assert failures[1][3].startswith("HTTP 404")

    changes = _sheet_rows(wb[CHANGES_SHEET])
    stored = table_rows(engine, "ic3_asset_change", "change_id")
    assert changes[0][:3] == ("Changed at (Asia/Kolkata)", "Asset ID", "Field")
    assert len(changes) - 1 == len(stored) > 0
    for r, want in zip(changes[1:], stored, strict=True):
        for header_, value in zip(changes[0], r, strict=True):
            if header_ == "Field":  # the label of the changed column
                assert value == {"mttr": "MTTR", "criticality": "Criticality"}[want["column_name"]]
                continue
            name = described[(CHANGES_SHEET, header_)].removeprefix("ic3_asset_change.")
            _assert_cell(value, _cell_value(want[name], KOLKATA), f"changes.{header_}")
    # Rows of the broken asset's would-be change never existed: it failed.
    assert BROKEN not in {r[1] for r in changes[1:]}
    # The Columns sheet names every column of every sheet but itself.
    assert len(_sheet_rows(wb[COLUMNS_SHEET])) - 1 == (
        len(header) + len(failures[0]) + len(changes[0]) + len(attention[0])
    )


def test_an_empty_register_exports_headers_only(engine, tmp_path):
    path = tmp_path / "empty.xlsx"
    counts = write_workbook(engine, path, zone=KOLKATA, now=datetime.now(UTC))
    assert (counts.register, counts.failures, counts.changes) == (0, 0, 0)
    wb = openpyxl.load_workbook(path)
    assert [len(_sheet_rows(wb[name])) for name in wb.sheetnames[:4]] == [1, 1, 1, 1]


def test_the_needs_attention_sheet_lists_an_asset_never_synced(engine, tmp_path):
    seed_assets(engine, ["Never Synced_01"])
    path = tmp_path / "register.xlsx"
    counts = write_workbook(engine, path, zone=KOLKATA, now=datetime.now(UTC))
    rows = _sheet_rows(openpyxl.load_workbook(path)["Needs attention"])
    assert counts.attention == 1
    assert [(r[0], r[1]) for r in rows[1:]] == [("never synced", "Never Synced_01")]


def test_a_runs_failures_and_the_changes_as_files(engine, tmp_path):
    run_id = _synced_register(engine)
    path = tmp_path / "failures.xlsx"
    assert write_failures_workbook(engine, path, run_id, zone=KOLKATA) == 1
    ws = openpyxl.load_workbook(path).active
    assert ws.title == f"Run {run_id} failures"
    assert _sheet_rows(ws)[1][0] == BROKEN

    with engine.connect() as conn:
        n = write_changes(
            read.iter_changes(conn, column="mttr"), tmp_path / "c.csv", "csv", zone=KOLKATA
        )
    lines = list(csv.reader((tmp_path / "c.csv").open(encoding="utf-8-sig")))
    assert n == 2 == len(lines) - 1
    assert lines[0][:5] == ["changed_at", "cmms_asset_id", "field", "old_value", "new_value"]
    column, old = lines[0].index("column_name"), lines[0].index("old_value")
    assert {(r[column], r[old]) for r in lines[1:]} == {("mttr", "10:00:00")}
    assert {r[lines[0].index("source")] for r in lines[1:]} == {"cmms"}


def test_the_register_csv_keeps_formula_text_inert(engine, tmp_path: Path):
    _synced_register(engine)
    path = tmp_path / "register.csv"
    assert write_register_csv(engine, path, zone=KOLKATA) == 3
    rows = list(csv.DictReader(path.open(encoding="utf-8-sig")))
    assert [r["cmms_asset_id"] for r in rows] == IDS
    assert rows[0]["asset_name"] == "'=1+1"
    assert float(rows[0]["mtbf_hours"]) == 30694003 / 3600


def _at(day: int, hour: int) -> datetime:
    return datetime(2026, 11, day, hour, tzinfo=UTC)


def test_the_register_as_it_stood_at_the_end_of_a_day(engine, tmp_path):
    _synced_register(engine)
    stored = {r["cmms_asset_id"]: r for r in table_rows(engine, "ic3_asset_master")}
    first_id = stored[IDS[0]]["asset_id"]
    c = asset_change.c
    with engine.begin() as conn:
        # The second run's changes moved to known moments: criticality at 17:30 on the 20th in
        # Kolkata, mttr at 00:30 on the 21st there (still the 20th in UTC).
        conn.execute(
            sa.update(asset_change)
            .where(c.column_name == "criticality")
            .values(changed_at=_at(20, 12))
        )
        conn.execute(
            sa.update(asset_change).where(c.column_name == "mttr").values(changed_at=_at(20, 19))
        )
        conn.execute(sa.update(asset_master).values(created_at=_at(1, 0)))
        conn.execute(
            sa.update(asset_master)
            .where(asset_master.c.cmms_asset_id == IDS[1])
            .values(created_at=_at(21, 0))
        )
        # Two later changes of one value: the first after the moment holds the value then.
        base = {"asset_id": first_id, "cmms_asset_id": IDS[0], "run_id": 1, "source": "cmms"}
        conn.execute(
            sa.insert(asset_change),
            [
                {
                    **base,
                    "table_name": "ic3_workorder_summary",
                    "column_name": "upto.ticket_cost",
                    "old_value": "12.50",
                    "new_value": "99.00",
                    "changed_at": _at(25, 0),
                },
                {
                    **base,
                    "table_name": "ic3_workorder_summary",
                    "column_name": "upto.ticket_cost",
                    "old_value": "99.00",
                    "new_value": "1.00",
                    "changed_at": _at(26, 0),
                },
                {
                    **base,
                    "table_name": "ic3_building",
                    "column_name": "building_name",
                    "old_value": "Old block",
                    "new_value": "New block",
                    "changed_at": _at(22, 0),
                },
            ],
        )
    now = datetime(2026, 12, 7, tzinfo=UTC)
    path = tmp_path / "as-of.xlsx"
    n = write_register_as_of(
        engine, path, "xlsx", date(2026, 11, 20), zone=KOLKATA, now=now, chunk=1
    )
    wb = openpyxl.load_workbook(path)
    assert wb.sheetnames == ["Register on 2026-11-20", "About this file", COLUMNS_SHEET]
    rows = _sheet_rows(wb["Register on 2026-11-20"])
    header = rows[0]
    by_id = {r[0]: dict(zip(header, r, strict=True)) for r in rows[1:]}
    # The asset added on the 21st was not in the register yet.
    assert n == 2 and list(by_id) == [IDS[0], IDS[2]]
    first = by_id[IDS[0]]
    assert first["Criticality"] == stored[IDS[0]]["criticality"] != '=HYPERLINK("x")'
    assert first["MTTR as sent"] == "10:00:00" and first["MTTR (h)"] == 10.0
    assert first["Ticket cost (to date)"] == 12.5
    assert first["Building"] == "Old block"
    ws = wb["Register on 2026-11-20"]
    cost = ws.cell(2, header.index("Ticket cost (to date)") + 1)
    assert cost.number_format == "#,##0.00" and type(cost.value) is float
    # What the history does not keep is not shown, and the file says what it cannot know.
    assert "Last synced (Asia/Kolkata)" not in header and "Stored version" not in header
    about = " ".join(str(r[0]) for r in _sheet_rows(wb["About this file"]))
    assert "end of 2026-11-20 (Asia/Kolkata)" in about and "first sync" in about

    # The same day ended later in UTC: mttr had changed by then.
    csv_path = tmp_path / "as-of.csv"
    assert (
        write_register_as_of(
            engine, csv_path, "csv", date(2026, 11, 20), zone=ZoneInfo("UTC"), now=now
        )
        == 2
    )
    got = next(csv.DictReader(csv_path.open(encoding="utf-8-sig")))
    perf = {r["asset_id"]: r for r in table_rows(engine, "ic3_asset_performance")}
    assert got["cmms_asset_id"] == IDS[0] and got["mttr"] == perf[first_id]["mttr"] != "10:00:00"
    assert "last_synced_at" not in got

    with pytest.raises(AsOfDateError, match="2026-12-08 is in the future: today is 2026-12-07"):
        write_register_as_of(engine, path, "xlsx", date(2026, 12, 8), zone=KOLKATA, now=now)


def test_export_as_of_says_what_it_cannot_know_and_refuses_a_day_to_come(
    migrated_db_url, tmp_path, monkeypatch
):
    from typer.testing import CliRunner

    from ic3sync.cli import app

    monkeypatch.chdir(tmp_path)  # no .env of the checkout
    env = {"IC3_DATABASE_URL": migrated_db_url, "IC3_TIMEZONE": "Asia/Kolkata"}
    book = tmp_path / "then.xlsx"
    runner = CliRunner()
    done = runner.invoke(app, ["export", "--xlsx", str(book), "--as-of", "2026-11-20"], env=env)
    assert done.exit_code == 0, done.output
    assert f"wrote {book}: 0 assets as the register stood at the end of 2026-11-20" in done.output
    assert "It cannot know:" in done.output and "first sync" in done.output
    assert openpyxl.load_workbook(book).sheetnames[0] == "Register on 2026-11-20"

    later = runner.invoke(app, ["export", "--xlsx", "later.xlsx", "--as-of", "2999-01-01"], env=env)
    assert later.exit_code == 2 and "2999-01-01 is in the future" in later.output
    bad = runner.invoke(app, ["export", "--xlsx", "bad.xlsx", "--as-of", "2026-13-01"], env=env)
    assert bad.exit_code == 2 and "'2026-13-01' does not match the format" in bad.output
    assert not (tmp_path / "later.xlsx").exists() and not (tmp_path / "bad.xlsx").exists()
