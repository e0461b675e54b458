"""An export file takes its place only once whole: a failed or interrupted export leaves the
last one as it was, and nothing beside it; errors of the file system name the file asked for."""

from __future__ import annotations

import csv
import os
import re
import stat
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import openpyxl
import pytest

from ic3sync.db.views import ChangeRow
from ic3sync.errors import ExportFileError
from ic3sync.export import write_changes, written_whole

UTC = ZoneInfo("UTC")


def _export(path: Path) -> None:
    with written_whole(path) as part:
        write_changes([], part, "xlsx", zone=UTC)


def test_an_export_interrupted_after_writing_leaves_the_last_one_whole(tmp_path):
    path = tmp_path / "changes.xlsx"
    _export(path)
    last = path.read_bytes()
    with pytest.raises(KeyboardInterrupt), written_whole(path) as part:
        write_changes([], part, "csv", zone=UTC)  # written whole, but not yet in its place
        assert part != path and part.stat().st_size > 0
        raise KeyboardInterrupt  # Ctrl-C before the export ended
    assert path.read_bytes() == last
    assert openpyxl.load_workbook(path).sheetnames == ["Changes", "Columns"]
    assert list(tmp_path.iterdir()) == [path]


def test_a_finished_export_takes_the_place_of_the_last_with_the_usual_permissions(tmp_path):
    path = tmp_path / "changes.csv"
    path.write_text("last night's export")
    old = os.umask(0o027)
    try:
        with written_whole(path) as part:
            write_changes([], part, "csv", zone=UTC)
    finally:
        os.umask(old)
    assert path.read_text(encoding="utf-8-sig").startswith("changed_at,cmms_asset_id,")
    assert stat.S_IMODE(path.stat().st_mode) == 0o640  # 0o666 less the umask, as open() makes
    assert list(tmp_path.iterdir()) == [path]


def test_a_link_is_written_through_and_stays_a_link(tmp_path):
    target = tmp_path / "exports" / "2026-12-02.csv"
    target.parent.mkdir()
    target.write_text("old")
    link = tmp_path / "latest.csv"
    link.symlink_to(target)
    with written_whole(link) as part:
        assert part == link
        write_changes([], part, "csv", zone=UTC)
    assert link.is_symlink() and link.resolve() == target
    assert target.read_text(encoding="utf-8-sig").startswith("changed_at,cmms_asset_id,")


@pytest.mark.parametrize(
    ("name", "says"),
    [
        ("missing/changes.csv", "No such file or directory (the folder {dir}/missing does not"),
        (".", "is a folder: give the path of a file in it"),
    ],
)
def test_a_path_that_cannot_be_written_is_named_before_anything_is_read(tmp_path, name, says):
    path = tmp_path / name
    with pytest.raises(ExportFileError) as refused, written_whole(path):
        pytest.fail("the block must not run")
    assert str(path) in str(refused.value)
    assert says.format(dir=tmp_path) in str(refused.value)
    assert sorted(p.name for p in tmp_path.iterdir()) == []


def test_a_full_disk_is_named_with_the_file(tmp_path):
    full = "^cannot write /dev/full: No space left on device$"
    with pytest.raises(ExportFileError, match=full), written_whole(Path("/dev/full")) as part:
        write_changes([], part, "csv", zone=UTC)


@pytest.mark.parametrize("start", ["=", "＝", "＋", "－", "＠", "﹦"])
def test_a_csv_cell_starting_a_formula_in_any_width_is_kept_as_text(tmp_path, start):
    value = f'{start}HYPERLINK("http://evil.example","pump")'
    change = ChangeRow(
        change_id=1,
        asset_id=1,
        cmms_asset_id="Plant 01_PUMP_01",
        run_id=1,
        table_name="ic3_asset_master",
        column_name="asset_name",
        old_value="Pump",
        new_value=value,
        changed_at=datetime(2026, 12, 1, tzinfo=UTC),
        source="register",
    )
    path = tmp_path / "changes.csv"
    assert write_changes([change], path, "csv", zone=UTC) == 1
    row = next(csv.DictReader(path.open(encoding="utf-8-sig")))
    assert row["new_value"] == "'" + value and row["old_value"] == "Pump"
    assert row["source"] == "register"


def test_every_register_column_has_one_label_and_the_ids_come_last():
    from ic3sync import labels
    from ic3sync.db import read

    names = [c.name for c in read.register_columns()]
    listed = [x.key for x in labels.REGISTER]
    assert sorted(names) == sorted(listed), set(names) ^ set(listed)
    shown = [x.label for x in labels.REGISTER]
    assert len(set(shown)) == len(shown)
    ordered = labels.register_order(names)
    assert ordered[0] == "cmms_asset_id" and ordered[-1] == "asset_id"
    ids = [n for n in ordered if n.endswith("_id") and n != "cmms_asset_id"]
    assert ordered[-len(ids) :] == ids
    # A column the table does not know yet goes last, under its database name.
    assert labels.register_order(["new_column", "asset_id", "cmms_asset_id"])[-1] == "new_column"
    assert labels.register_label("new_column").label == "new_column"
    # The change history's names read as the labels too.
    assert labels.label("last_year.work_estimate_count") == "Estimates (last year)"
    assert labels.label("building_name") == "Building" and labels.label("mttr") == "MTTR"


def test_widths_come_from_the_content_within_bounds():
    from ic3sync.workbook import Column, widths

    columns = [
        Column("Reason", "reason"),
        Column("At (Asia/Kolkata)", "at", number_format="yyyy-mm-dd hh:mm:ss"),
        Column("Floor", "floor"),
        Column("Ticket cost (last year)", "cost", number_format="#,##0.00"),
    ]
    rows = [
        {"reason": "x" * 300, "at": datetime(2026, 12, 1, 10), "floor": "UGR", "cost": 12345678.5},
        {"reason": "short", "at": None, "floor": None, "cost": None},
    ]
    # Capped at 50; a time's 19 characters; never under 10; "12,345,678.50" and its margin.
    assert widths(columns, rows) == [50.0, 21.0, 10.0, 15.0]
    # Without rows, a header needs its longer half (it wraps onto two lines) and its button.
    assert widths(columns, []) == [10.0, 17.0, 10.0, 14.0]


def test_the_dashboard_refuses_an_as_of_that_is_no_day_or_a_day_to_come():
    from ic3sync.api.dashboard.checks import Refused
    from ic3sync.api.dashboard.downloads import as_of_day

    zone = ZoneInfo("Asia/Kolkata")
    now = datetime(2026, 12, 6, 20, tzinfo=UTC)  # 01:30 on the 7th in Kolkata
    assert str(as_of_day("2026-12-07", zone, now)) == "2026-12-07"
    for text, said in (
        ("2026-13-01", "as_of='2026-13-01' is not a date: give it as YYYY-MM-DD"),
        ("20261201", "as_of='20261201' is not a date"),
        ("2026-12-01T00:00", "as_of='2026-12-01T00:00' is not a date"),
        ("2026-12-08", "as_of=2026-12-08: 2026-12-08 is in the future: today is 2026-12-07"),
    ):
        with pytest.raises(Refused, match=re.escape(said)) as refused:
            as_of_day(text, zone, now)
        assert refused.value.status == 400


def test_a_recorded_value_reads_back_as_its_column_holds_it():
    import sqlalchemy as sa

    from ic3sync.db.read.as_of import typed

    assert typed("12.50", sa.Numeric(14, 2)) == Decimal("12.50")
    assert typed("16420", sa.BigInteger()) == 16420
    assert typed("2026-03-19T04:21:46+00:00", sa.DateTime(timezone=True)) == datetime(
        2026, 3, 19, 4, 21, 46, tzinfo=UTC
    )
    assert typed("2020-05-01", sa.Date()) == date(2020, 5, 1)
    # A value no longer of its column's type is shown as the history kept it.
    assert typed("n/a", sa.Integer()) == "n/a" and typed(None, sa.Integer()) is None
