"""An export file takes its place only once whole: a failed or interrupted export leaves the
last one as it was, and nothing beside it; errors of the file system name the file asked for."""

from __future__ import annotations

import csv
import os
import stat
from datetime import datetime
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
    assert openpyxl.load_workbook(path).sheetnames == ["Changes"]
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
