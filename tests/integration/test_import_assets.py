"""The register import against real SQLite and PostgreSQL: counts, upsert rules, and that a bad
file or row leaves ic3_asset_master exactly as it was."""

from __future__ import annotations

import csv
import json
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

import openpyxl
import pytest
import sqlalchemy as sa

from ic3sync.db.schema import asset_change, asset_master
from ic3sync.errors import ImportFileError
from ic3sync.importer import ImportResult, import_assets, import_summary, read_register

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
HEADER = (
    "S.No",
    "Asset ID",
    "Asset Name",
    "Customer ID",
    "Customer Name",
    "Location Name",
    "Criticality",
)
FIRST_ID = "Delhi Cantt Naraina_BP_01"
BASE_ROWS = [
    (1, FIRST_ID, "Booster Pump 1", 24463, "DJB Khyala", "Naraina D.Cantt UGR_Zone", "High"),
    (2, "Delhi Cantt Naraina_BP_02", "Booster Pump 2", 24463, "DJB Khyala", None, None),
    (3, "Okhla STP Ph4_LTP_01", "LT Panel 1", 24518, "DJB Okhla", "Okhla STP", "Medium"),
]

Row = Sequence[object]


def write_xlsx(path: Path, rows: Sequence[Row], header: Row = HEADER) -> Path:
    workbook = openpyxl.Workbook(write_only=True)
    sheet = workbook.create_sheet("Register")
    sheet.append(list(header))
    for row in rows:
        sheet.append(list(row))
    workbook.save(path)
    return path


def write_csv(
    path: Path,
    rows: Sequence[Row],
    header: Row = HEADER,
    *,
    delimiter: str = ",",
    bom: bool = False,
) -> Path:
    with path.open("w", newline="", encoding="utf-8-sig" if bom else "utf-8") as handle:
        writer = csv.writer(handle, delimiter=delimiter)
        writer.writerow(header)
        writer.writerows(["" if value is None else value for value in row] for row in rows)
    return path


def dump(engine: sa.Engine) -> list[tuple[object, ...]]:
    with engine.connect() as conn:
        return [
            tuple(row)
            for row in conn.execute(sa.select(asset_master).order_by(asset_master.c.cmms_asset_id))
        ]


def stored(engine: sa.Engine, cmms_asset_id: str) -> sa.Row:
    with engine.connect() as conn:
        return conn.execute(
            sa.select(asset_master).where(asset_master.c.cmms_asset_id == cmms_asset_id)
        ).one()


def test_a_first_xlsx_import_inserts_every_row_with_ids_kept_as_written(
    engine: sa.Engine, tmp_path: Path
) -> None:
    result = import_assets(engine, write_xlsx(tmp_path / "register.xlsx", BASE_ROWS))

    assert result == ImportResult(rows=3, inserted=3, updated=0, unchanged=0)
    first = stored(engine, FIRST_ID)
    assert (first.report_seq_no, first.asset_name, first.customer_id) == (
        1,
        "Booster Pump 1",
        24463,
    )
    assert (first.customer_name, first.location_name, first.criticality) == (
        "DJB Khyala",
        "Naraina D.Cantt UGR_Zone",
        "High",
    )
    assert first.created_at == first.updated_at
    if engine.dialect.name == "postgresql":
        assert first.created_at.utcoffset() is not None
    assert stored(engine, "Delhi Cantt Naraina_BP_02").criticality is None


def test_a_second_import_counts_changed_rows_as_updated_and_the_others_as_unchanged(
    engine: sa.Engine, tmp_path: Path
) -> None:
    import_assets(engine, write_xlsx(tmp_path / "first.xlsx", BASE_ROWS))
    before = stored(engine, FIRST_ID)
    second = [
        BASE_ROWS[0],
        (*BASE_ROWS[1][:6], "Low"),
        (3, "Okhla STP Ph4_LTP_01", "LT Panel 1 (Main)", 24518, "DJB Okhla", "Okhla STP", "High"),
        (4, "Okhla STP Ph4_LTP_02", "LT Panel 2", 24518, "DJB Okhla", "Okhla STP", "High"),
    ]

    result = import_assets(engine, write_xlsx(tmp_path / "second.xlsx", second))

    assert result == ImportResult(rows=4, inserted=1, updated=2, unchanged=1)
    assert stored(engine, FIRST_ID).updated_at == before.updated_at
    assert stored(engine, "Delhi Cantt Naraina_BP_02").criticality == "Low"
    changed = stored(engine, "Okhla STP Ph4_LTP_01")
    assert (changed.asset_name, changed.criticality) == ("LT Panel 1 (Main)", "High")
    assert changed.updated_at > changed.created_at


def test_an_empty_cell_never_erases_a_value_the_sync_stored(
    engine: sa.Engine, tmp_path: Path
) -> None:
    import_assets(engine, write_xlsx(tmp_path / "first.xlsx", BASE_ROWS))
    with engine.begin() as conn:
        conn.execute(
            sa.update(asset_master)
            .where(asset_master.c.cmms_asset_id == "Delhi Cantt Naraina_BP_02")
            .values(criticality="High", location_name="Naraina D.Cantt UGR_Zone", barcode="B-7")
        )
    sparse = [(None, "Delhi Cantt Naraina_BP_02", None, None, None, None, "   ")]

    result = import_assets(engine, write_csv(tmp_path / "sparse.csv", sparse))

    assert result == ImportResult(rows=1, inserted=0, updated=0, unchanged=1)
    row = stored(engine, "Delhi Cantt Naraina_BP_02")
    assert (row.report_seq_no, row.asset_name, row.customer_id) == (2, "Booster Pump 2", 24463)
    assert (row.criticality, row.location_name, row.barcode) == (
        "High",
        "Naraina D.Cantt UGR_Zone",
        "B-7",
    )


def test_a_value_in_the_sheet_overrides_the_stored_one_and_leaves_other_columns_alone(
    engine: sa.Engine, tmp_path: Path
) -> None:
    import_assets(engine, write_xlsx(tmp_path / "first.xlsx", BASE_ROWS))
    only_criticality = [(FIRST_ID, "Low")]

    result = import_assets(
        engine, write_csv(tmp_path / "crit.csv", only_criticality, ("Asset ID", "Criticality"))
    )

    assert result == ImportResult(rows=1, inserted=0, updated=1, unchanged=0)
    row = stored(engine, FIRST_ID)
    assert (row.criticality, row.asset_name, row.report_seq_no) == ("Low", "Booster Pump 1", 1)


def test_a_semicolon_csv_with_a_bom_imports_like_the_xlsx(
    engine: sa.Engine, tmp_path: Path
) -> None:
    header = ("Sr No", "innomaint_asset_id", "ASSET-NAME", "customer.id", "Customer Name")
    rows = [(" 7 ", "  Kalkaji_BP_01 ", "Booster Pump 1", "24518.0", "DJB Okhla")]

    path = write_csv(tmp_path / "register.csv", rows, header, delimiter=";", bom=True)
    result = import_assets(engine, path)

    assert result == ImportResult(rows=1, inserted=1, updated=0, unchanged=0)
    row = stored(engine, "Kalkaji_BP_01")
    assert (row.report_seq_no, row.asset_name, row.customer_id) == (7, "Booster Pump 1", 24518)


def test_a_number_in_an_id_cell_is_stored_as_its_text(engine: sa.Engine, tmp_path: Path) -> None:
    import_assets(engine, write_xlsx(tmp_path / "numbers.xlsx", [(1, 12345), (2, 678.0)]))
    assert [row.cmms_asset_id for row in dump_rows(engine)] == ["12345", "678"]


def dump_rows(engine: sa.Engine) -> list[sa.Row]:
    with engine.connect() as conn:
        return list(conn.execute(sa.select(asset_master).order_by(asset_master.c.cmms_asset_id)))


def test_blank_rows_between_assets_are_counted_apart_and_blank_rows_after_the_last_are_not(
    engine: sa.Engine, tmp_path: Path
) -> None:
    rows = [BASE_ROWS[0], (), (None, "  "), BASE_ROWS[1], (), ()]

    result = import_assets(engine, write_xlsx(tmp_path / "gaps.xlsx", rows))

    assert result == ImportResult(rows=2, inserted=2, updated=0, unchanged=0, blank=2)
    assert [r.row for r in read_register(tmp_path / "gaps.xlsx").rows] == [2, 5]


BAD_ROWS = {
    "duplicate id": (
        [*BASE_ROWS, (4, "New_01", "New"), (5, FIRST_ID, "Again")],
        6,
        ["rows 2 and 6", repr(FIRST_ID)],
    ),
    "blank id": (
        [*BASE_ROWS, (4, "New_01", "New"), (5, "  ", "No id")],
        6,
        ['column B "Asset ID" is empty'],
    ),
    "customer id not a number": (
        [(1, FIRST_ID, "Changed"), (2, "New_01", "New", "DJB-24463")],
        3,
        ['column D "Customer ID"', "'DJB-24463'"],
    ),
    "serial number not whole": (
        [(1, FIRST_ID, "Changed"), (2.5, "New_01", "New")],
        3,
        ['column A "S.No"', "2.5"],
    ),
    "formula error": (
        [(1, FIRST_ID, "Changed"), (2, "New_01", "#N/A")],
        3,
        ['column C "Asset Name"', "#N/A"],
    ),
    # Alt+Enter in the cell: no command, page or vendor could name the asset afterwards. A line
    # break in a name is the name's own affair.
    "line break in an id": (
        [(1, FIRST_ID, "Changed\nover two lines"), (2, "New_01\nPUMP", "New")],
        3,
        ['column B "Asset ID" holds a line break', "'New_01\\nPUMP'"],
    ),
    # A paragraph pasted into the id column: PostgreSQL's index refused it without a row.
    "id too long": (
        [(1, FIRST_ID, "Changed"), (2, "x" * 255, "Longest"), (3, "y" * 9000, "New")],
        4,
        ['column B "Asset ID" is 9,000 characters long', "an asset id has at most 255"],
    ),
}


@pytest.mark.parametrize("case", BAD_ROWS, ids=list(BAD_ROWS))
@pytest.mark.parametrize("suffix", [".xlsx", ".csv"])
def test_a_bad_row_names_the_file_and_row_and_writes_nothing(
    engine: sa.Engine, tmp_path: Path, case: str, suffix: str
) -> None:
    import_assets(engine, write_xlsx(tmp_path / "base.xlsx", BASE_ROWS))
    before = dump(engine)
    rows, bad_row, fragments = BAD_ROWS[case]
    writer = write_xlsx if suffix == ".xlsx" else write_csv
    path = writer(tmp_path / f"bad{suffix}", rows)

    with pytest.raises(ImportFileError) as caught:
        import_assets(engine, path)

    message = str(caught.value)
    assert message.startswith(f"{path}, row {bad_row}: ")
    for fragment in fragments:
        assert fragment in message
    assert dump(engine) == before


def _not_a_zip(path: Path) -> Path:
    path.write_text("S.No,Asset ID\n1,A_01\n", encoding="utf-8")
    return path


def _binary_csv(path: Path) -> Path:
    path.write_bytes(bytes(range(256)) * 4)
    return path


def _latin1_csv(path: Path) -> Path:
    path.write_bytes("Asset ID,Asset Name\nA_01,Pompe à eau\n".encode("latin-1"))
    return path


def _empty(path: Path) -> Path:
    path.write_bytes(b"")
    return path


def _only_blank_lines(path: Path) -> Path:
    path.write_text("\n ; \n\n", encoding="utf-8")
    return path


def _xlsx_saved_as_csv(path: Path) -> Path:
    path.write_bytes(write_xlsx(path.with_suffix(".xlsx"), BASE_ROWS).read_bytes())
    return path


def _no_id_column(path: Path) -> Path:
    return write_xlsx(path, [(1, "Pump")], ("S.No", "Asset Name"))


def _two_id_columns(path: Path) -> Path:
    return write_csv(path, [("A_01", "A_01")], ("Asset ID", "CMMS-Asset-ID"))


BAD_FILES = {
    "not a zip": ("register.xlsx", _not_a_zip, None, "not a zip archive"),
    "binary csv": ("register.csv", _binary_csv, None, "binary data"),
    "latin-1 csv": ("register.csv", _latin1_csv, None, "not UTF-8"),
    "empty": ("register.csv", _empty, None, "is empty"),
    "no header": ("register.csv", _only_blank_lines, None, "no header row"),
    "xlsx named csv": ("register.csv", _xlsx_saved_as_csv, None, "is an .xlsx workbook"),
    "old excel": ("register.xls", _empty, None, "save the sheet as .xlsx or .csv"),
    "no id column": ("register.xlsx", _no_id_column, None, 'row 1: "S.No", "Asset Name"'),
    "two id columns": ("register.csv", _two_id_columns, 1, '"CMMS-Asset-ID"'),
}


@pytest.mark.parametrize("case", BAD_FILES, ids=list(BAD_FILES))
def test_a_bad_file_names_the_file_says_what_is_wrong_and_writes_nothing(
    engine: sa.Engine, tmp_path: Path, case: str
) -> None:
    import_assets(engine, write_xlsx(tmp_path / "base.xlsx", BASE_ROWS))
    before = dump(engine)
    name, make, row, fragment = BAD_FILES[case]
    path = make(tmp_path / name)

    with pytest.raises(ImportFileError) as caught:
        import_assets(engine, path)

    where = f"{path}, row {row}: " if row is not None else f"{path}: "
    assert str(caught.value).startswith(where)
    assert fragment in str(caught.value)
    assert dump(engine) == before


def test_a_missing_file_is_an_import_error(engine: sa.Engine, tmp_path: Path) -> None:
    with pytest.raises(ImportFileError, match="no such file"):
        import_assets(engine, tmp_path / "nowhere.xlsx")


def test_twenty_thousand_rows_import_and_reimport_with_exact_counts(
    engine: sa.Engine, tmp_path: Path
) -> None:
    rows = [
        (n, f"Site {n // 25} Pump House_BP_{n:05d}", f"Pump {n}", 24463 + n % 4, f"C{n % 4}", None)
        for n in range(1, 20_001)
    ]
    first = import_assets(engine, write_xlsx(tmp_path / "big.xlsx", rows))
    # Every tenth asset gets a criticality, and 500 new ones arrive.
    again = [(*row, "High" if row[0] % 10 == 0 else None) for row in rows]
    again += [(n, f"Extra_{n}", "Lift", 25102, "NDMC", None, None) for n in range(20_001, 20_501)]
    second = import_assets(engine, write_csv(tmp_path / "big.csv", again))

    assert first == ImportResult(rows=20_000, inserted=20_000, updated=0, unchanged=0)
    assert second == ImportResult(rows=20_500, inserted=500, updated=2_000, unchanged=18_000)
    with engine.connect() as conn:
        count = conn.scalar(sa.select(sa.func.count()).select_from(asset_master))
        high = conn.scalar(sa.select(sa.func.count()).where(asset_master.c.criticality == "High"))
    assert (count, high) == (20_500, 2_000)


def test_the_example_register_imports_and_its_demo_faults_name_its_assets(
    engine: sa.Engine,
) -> None:
    result = import_assets(engine, EXAMPLES / "asset_register.xlsx")
    faults = json.loads((EXAMPLES / "demo_faults.json").read_text(encoding="utf-8"))

    assert result.inserted == result.rows >= 250
    first = dump_rows(engine)
    ids = {row.cmms_asset_id for row in first}
    assert FIRST_ID in ids
    assert stored(engine, FIRST_ID).customer_id == 24463
    assert set(faults) <= ids - {FIRST_ID}
    kinds = {fault if isinstance(fault, str) else fault["kind"] for fault in faults.values()}
    assert kinds >= {"not_found", "status_false", "non_json", "other_serial", "bad_numbers"}
    assert kinds >= {"unavailable", "rate_limited"}


def test_every_bad_row_is_named_in_one_pass_and_nothing_is_written(
    engine: sa.Engine, tmp_path: Path
) -> None:
    import_assets(engine, write_xlsx(tmp_path / "base.xlsx", BASE_ROWS))
    before = dump(engine)
    rows = [
        (1, "New_01", "Pump", "DJB-24463"),
        (2, "New_02", "Pump"),
        (2.5, "  ", "#N/A"),
        (4, "New_02", "Again"),
    ]
    path = write_csv(tmp_path / "bad.csv", rows)

    with pytest.raises(ImportFileError) as caught:
        import_assets(engine, path)

    lines = str(caught.value).splitlines()
    assert lines[0] == f"{path}: 3 rows cannot be imported:"
    assert lines[1].startswith('  row 2: column D "Customer ID"')
    assert lines[2].startswith("  row 4: column A \"S.No\" must be a whole number, not '2.5'; ")
    assert 'column C "Asset Name" holds the Excel error #N/A' in lines[2]
    assert lines[3] == "  row 5: asset id 'New_02' is on rows 3 and 5; each asset may appear once"
    assert len(lines) == 4
    assert dump(engine) == before


def test_past_fifty_bad_rows_the_rest_are_counted(engine: sa.Engine, tmp_path: Path) -> None:
    rows = [(n, f"A_{n:03d}", None, f"C{n}") for n in range(1, 61)]

    with pytest.raises(ImportFileError) as caught:
        import_assets(engine, write_xlsx(tmp_path / "bad.xlsx", rows))

    lines = str(caught.value).splitlines()
    assert lines[0].endswith(": 60 rows cannot be imported:")
    assert lines[1].startswith("  row 2: ") and lines[50].startswith("  row 51: ")
    assert lines[51:] == ["  and 10 more"]
    assert dump(engine) == []


def write_workbook(path: Path, sheets: dict[str, Sequence[Row]]) -> Path:
    workbook = openpyxl.Workbook(write_only=True)
    for title, rows in sheets.items():
        sheet = workbook.create_sheet(title)
        for row in rows:
            sheet.append(list(row))
    workbook.save(path)
    return path


INSTRUCTIONS = [("How to fill in this register",), ("One row per asset; ids as in Innomaint",)]


def test_the_first_sheet_with_an_asset_id_header_is_read(engine: sa.Engine, tmp_path: Path) -> None:
    path = write_workbook(
        tmp_path / "register.xlsx",
        {"Instructions": INSTRUCTIONS, "Assets": [HEADER, *BASE_ROWS], "Old": [HEADER, (9, "X")]},
    )

    result = import_assets(engine, path)

    assert (result.rows, result.inserted, result.sheet) == (3, 3, "Assets")
    assert "X" not in {row.cmms_asset_id for row in dump_rows(engine)}


def test_sheet_names_the_sheet_read_and_an_unknown_one_lists_the_sheets(
    engine: sa.Engine, tmp_path: Path
) -> None:
    path = write_workbook(
        tmp_path / "register.xlsx",
        {"Instructions": INSTRUCTIONS, "Assets": [HEADER, *BASE_ROWS], "Old": [HEADER, (9, "X")]},
    )

    result = import_assets(engine, path, sheet="Old")
    with pytest.raises(ImportFileError) as unknown:
        import_assets(engine, path, sheet="Register")
    with pytest.raises(ImportFileError) as no_header:
        import_assets(engine, path, sheet="Instructions")

    assert (result.inserted, result.sheet) == (1, "Old")
    assert str(unknown.value) == (
        f'{path}: has no sheet "Register"; its sheets: "Instructions", "Assets", "Old"'
    )
    assert '(sheet "Instructions"; the workbook\'s sheets: "Instructions", "Assets", "Old")' in (
        str(no_header.value)
    )
    assert [row.cmms_asset_id for row in dump_rows(engine)] == ["X"]


def test_a_workbook_without_an_asset_id_header_lists_its_sheets(
    engine: sa.Engine, tmp_path: Path
) -> None:
    path = write_workbook(
        tmp_path / "register.xlsx", {"Instructions": INSTRUCTIONS, "Notes": [("Remarks",)]}
    )

    with pytest.raises(ImportFileError) as caught:
        import_assets(engine, path)

    message = str(caught.value)
    assert message.startswith(f"{path}: no sheet has an asset id column")
    assert 'its sheets: "Instructions", "Notes" (name the register\'s with --sheet)' in message
    assert dump(engine) == []


def test_a_header_only_sheet_is_refused_naming_the_sheet(engine: sa.Engine, tmp_path: Path) -> None:
    path = write_workbook(tmp_path / "register.xlsx", {"Assets": [HEADER, ()]})

    with pytest.raises(ImportFileError, match=r'no asset rows below it \(sheet "Assets"\)'):
        import_assets(engine, path)


EXCEL_CSV = "Asset ID;Asset Name;Location Name\nKalkaji_BP_01;Pompe à eau;Café – 2€\n"


def test_a_windows_1252_csv_is_refused_naming_the_encoding_and_read_with_encoding_cp1252(
    engine: sa.Engine, tmp_path: Path
) -> None:
    path = tmp_path / "register.csv"
    path.write_bytes(EXCEL_CSV.encode("cp1252"))

    with pytest.raises(ImportFileError) as caught:
        import_assets(engine, path)
    assert dump(engine) == []
    result = import_assets(engine, path, encoding="cp1252")

    assert "reads as Windows-1252" in str(caught.value)
    assert "--encoding cp1252" in str(caught.value)
    assert result.inserted == 1
    row = stored(engine, "Kalkaji_BP_01")
    assert (row.asset_name, row.location_name) == ("Pompe à eau", "Café – 2€")


def test_sheet_and_encoding_are_refused_where_they_mean_nothing(tmp_path: Path) -> None:
    csv_path = write_csv(tmp_path / "register.csv", BASE_ROWS)
    xlsx_path = write_xlsx(tmp_path / "register.xlsx", BASE_ROWS)

    with pytest.raises(ImportFileError, match="has no sheets"):
        read_register(csv_path, sheet="Assets")
    with pytest.raises(ImportFileError, match=r"--encoding is for \.csv files"):
        read_register(xlsx_path, encoding="cp1252")
    with pytest.raises(ImportFileError, match="unknown encoding 'klingon'"):
        read_register(csv_path, encoding="klingon")


def _mark_synced(engine: sa.Engine, cmms_asset_id: str, **values: object) -> None:
    """As a sync leaves an asset: what Innomaint sent stored, last_synced_at set."""
    with engine.begin() as conn:
        conn.execute(
            sa.update(asset_master)
            .where(asset_master.c.cmms_asset_id == cmms_asset_id)
            .values(last_synced_at=datetime.now(UTC), **values)
        )


def _history(engine: sa.Engine) -> list[tuple[object, ...]]:
    with engine.connect() as conn:
        return [
            tuple(r)
            for r in conn.execute(
                sa.select(
                    asset_change.c.cmms_asset_id,
                    asset_change.c.column_name,
                    asset_change.c.old_value,
                    asset_change.c.new_value,
                    asset_change.c.source,
                    asset_change.c.run_id,
                ).order_by(asset_change.c.change_id)
            )
        ]


def test_a_reimport_keeps_what_innomaint_sent_and_updates_the_sheets_own_columns(
    engine: sa.Engine, tmp_path: Path
) -> None:
    first = import_assets(engine, write_xlsx(tmp_path / "first.xlsx", BASE_ROWS))
    assert first.changed == 0 and _history(engine) == []  # a first import is no change
    _mark_synced(engine, FIRST_ID, criticality="Critical", location_name="Naraina UGR")
    # Synced, but Innomaint sent no criticality: the sheet's fills the empty value.
    _mark_synced(engine, BASE_ROWS[2][1], criticality=None)
    edited = [
        (7, FIRST_ID, "Booster Pump 1A", 24463, "DJB Khyala", "Naraina D.Cantt UGR_Zone", "Low"),
        # Never synced: the sheet fills everything, Innomaint's columns too.
        (*BASE_ROWS[1][:6], "High"),
        (*BASE_ROWS[2][:6], "High"),
    ]
    path = write_xlsx(tmp_path / "edited.xlsx", edited)

    result = import_assets(engine, path)

    assert (result.updated, result.kept, result.taken, result.changed) == (3, 2, 0, 4)
    row = stored(engine, FIRST_ID)
    assert (row.criticality, row.location_name) == ("Critical", "Naraina UGR")
    assert (row.report_seq_no, row.asset_name) == (7, "Booster Pump 1A")
    assert stored(engine, "Delhi Cantt Naraina_BP_02").criticality == "High"
    assert _history(engine) == [
        (FIRST_ID, "report_seq_no", "1", "7", "register", None),
        (FIRST_ID, "asset_name", "Booster Pump 1", "Booster Pump 1A", "register", None),
        ("Delhi Cantt Naraina_BP_02", "criticality", None, "High", "register", None),
        ("Okhla STP Ph4_LTP_01", "criticality", None, "High", "register", None),
    ]
    assert import_summary(path, result).splitlines()[1] == (
        "kept 2 values Innomaint sent where the sheet differs "
        "(import-assets --sheet-wins to take the sheet's)"
    )


def test_sheet_wins_takes_the_sheets_values_and_records_them_as_register_changes(
    engine: sa.Engine, tmp_path: Path
) -> None:
    import_assets(engine, write_xlsx(tmp_path / "first.xlsx", BASE_ROWS))
    _mark_synced(engine, FIRST_ID, criticality="Critical")
    path = write_xlsx(tmp_path / "again.xlsx", BASE_ROWS)
    assert import_assets(engine, path).kept == 1
    assert stored(engine, FIRST_ID).criticality == "Critical"

    result = import_assets(engine, path, sheet_wins=True)

    assert (result.updated, result.kept, result.taken) == (1, 0, 1)
    assert stored(engine, FIRST_ID).criticality == "High"
    assert _history(engine) == [(FIRST_ID, "criticality", "Critical", "High", "register", None)]
    assert "took the sheet's 1 value over what Innomaint sent" in import_summary(path, result)
