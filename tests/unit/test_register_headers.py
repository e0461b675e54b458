"""How the register reader understands headers and cell values, without a database."""

from __future__ import annotations

import re
from datetime import date, datetime, time
from pathlib import Path

import openpyxl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ic3sync.errors import ImportFileError
from ic3sync.importer import read_register
from ic3sync.importer.cells import CellError, asset_id_text, cell_integer, cell_text
from ic3sync.importer.sheet import ALIASES, field_for_header, normalise_header, parse_register

HEADER = ("S.No", "Asset ID", "Asset Name", "Customer ID", "Customer Name", "Location Name")
ALL_ALIASES = [(alias, field) for field, aliases in ALIASES.items() for alias in aliases]


@pytest.mark.parametrize("header", ["Customer ID", "customer_id", "CUSTOMER-ID", " Customer.Id "])
def test_customer_id_headers_spelled_differently_are_one_header(header: str) -> None:
    assert field_for_header(header) == "customer_id"


@pytest.mark.parametrize(("alias", "field"), ALL_ALIASES)
def test_every_documented_alias_names_its_field(alias: str, field: str) -> None:
    assert field_for_header(alias) == field


@pytest.mark.parametrize("header", ["S. No.", "s_no", "SR-NO", "serial   no"])
def test_serial_number_headers_with_runs_of_separators_mean_report_seq_no(header: str) -> None:
    assert field_for_header(header) == "report_seq_no"


@pytest.mark.parametrize("header", ["Remarks", "Asset", "ID", "Asset IDs", "Customer", None, 2024])
def test_other_headers_are_ignored(header: object) -> None:
    assert field_for_header(header) is None


def test_normalising_trims_and_folds_case_and_separators() -> None:
    assert normalise_header("  Innomaint__Asset-ID. ") == "innomaint asset id"


@st.composite
def respelled(draw: st.DrawFn, text: str) -> str:
    """`text` with random case, separators swapped for runs of space/_/-/., and padding."""
    separator = st.text(alphabet=" _-.", min_size=1, max_size=3)
    words = normalise_header(text).split(" ")
    cased = [
        "".join(c.upper() if draw(st.booleans()) else c.lower() for c in word) for word in words
    ]
    joined = cased[0]
    for word in cased[1:]:
        joined += draw(separator) + word
    return draw(st.sampled_from(["", " ", "  "])) + joined + draw(st.sampled_from(["", " ", "\t"]))


@given(data=st.data(), pair=st.sampled_from(ALL_ALIASES))
def test_any_spelling_of_a_known_header_maps_to_the_same_field(
    data: st.DataObject, pair: tuple[str, str]
) -> None:
    alias, field = pair
    assert field_for_header(data.draw(respelled(alias))) == field


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (12345, "12345"),
        (12345.0, "12345"),
        (12.5, "12.5"),
        ("  Delhi Cantt Naraina_BP_01  ", "Delhi Cantt Naraina_BP_01"),
        ("Delhi  Cantt\u00a0Naraina", "Delhi  Cantt\u00a0Naraina"),
        ("\u00a0 ", None),
        (None, None),
    ],
)
def test_an_asset_id_is_kept_as_written_and_a_number_becomes_its_text(
    value: object, text: str | None
) -> None:
    assert asset_id_text(value) == text


@pytest.mark.parametrize(
    "value",
    [True, datetime(2024, 1, 2), date(2024, 1, 2), time(1, 2), 1.2e20, float("nan"), "#N/A"],
)
def test_an_asset_id_that_the_sheet_has_mangled_is_refused(value: object) -> None:
    with pytest.raises(CellError):
        asset_id_text(value)


@pytest.mark.parametrize("value", [12, "12", 12.0, " 12 ", "12.0", "+12"])
def test_whole_numbers_are_accepted_as_int_text_or_float(value: object) -> None:
    assert cell_integer(value) == 12


@pytest.mark.parametrize("value", ["abc", 12.5, "12.5", True, "1_000", "١٢", "12 000"])
def test_anything_but_a_whole_number_is_refused(value: object) -> None:
    with pytest.raises(CellError):
        cell_integer(value)


def test_a_number_too_large_for_its_column_is_refused() -> None:
    assert cell_integer(2**31 - 1, bits=32) == 2**31 - 1
    with pytest.raises(CellError):
        cell_integer(2**31, bits=32)


def test_text_cells_are_trimmed_and_empty_becomes_none() -> None:
    assert cell_text("  High ") == "High"
    assert cell_text("   ") is None
    assert cell_text(90.0) == "90"


def test_rows_are_numbered_as_the_sheet_shows_them_even_below_blank_rows() -> None:
    sheet = [(), (None, "  "), HEADER, (1, "A_01"), (), (2, "A_02")]
    register = parse_register("r.xlsx", sheet)
    assert [(r.row, r.cmms_asset_id) for r in register.rows] == [(4, "A_01"), (6, "A_02")]
    assert register.blank_rows == 1


def test_a_row_with_values_only_in_ignored_columns_is_blank() -> None:
    sheet = [(*HEADER, "Remarks"), (1, "A_01"), (None, None, None, None, None, None, "checked")]
    register = parse_register("r.xlsx", sheet)
    assert len(register.rows) == 1
    assert register.blank_rows == 0


def test_two_columns_meaning_the_same_field_are_named_in_the_error() -> None:
    with pytest.raises(ImportFileError) as caught:
        parse_register("r.csv", [("Asset ID", "Name", "CMMS_Asset_ID")])
    assert 'column A "Asset ID"' in str(caught.value)
    assert 'column C "CMMS_Asset_ID"' in str(caught.value)
    assert caught.value.row == 1


def test_a_missing_id_column_lists_the_headers_found() -> None:
    with pytest.raises(ImportFileError) as caught:
        parse_register("r.csv", [(None, "Name", "Site Code")])
    assert '"Name", "Site Code"' in str(caught.value)
    assert str(caught.value).startswith("r.csv, row 1: ")


TITLE = ("IC3 Asset Register - November 2026",)


def test_the_header_is_found_below_title_rows() -> None:
    sheet = [TITLE, (), ("Prepared by: Facilities",), HEADER, (1, "A_01"), (2, "A_02")]
    register = parse_register("r.xlsx", sheet)
    assert [(r.row, r.cmms_asset_id) for r in register.rows] == [(5, "A_01"), (6, "A_02")]


def test_no_id_column_in_the_first_ten_rows_lists_the_rows_looked_at() -> None:
    sheet = [TITLE, (), ("Name", "Site Code"), *[("x", "y")] * 12, HEADER, (1, "A_01")]
    with pytest.raises(ImportFileError) as caught:
        parse_register("r.xlsx", sheet)
    message = str(caught.value)
    assert "in the first 10 rows" in message
    assert 'row 1: "IC3 Asset Register - November 2026"' in message
    assert 'row 3: "Name", "Site Code"' in message and 'row 10: "x", "y"' in message
    assert "row 11" not in message


def test_a_header_without_rows_is_refused_naming_the_file_and_sheet(tmp_path: Path) -> None:
    register = parse_register("r.xlsx", [TITLE, (), HEADER, (), ()], sheet="Assets")
    assert (register.rows, register.header_row) == ([], 3)
    path = tmp_path / "r.xlsx"
    book = openpyxl.Workbook()
    book.active.title = "Assets"
    for row in [TITLE, (), HEADER, (), ()]:
        book.active.append(row)
    book.save(path)

    with pytest.raises(ImportFileError) as caught:
        read_register(path)

    assert str(caught.value) == (
        f'{path}: a header on row 3 and no asset rows below it (sheet "Assets"); is it the '
        "right file or sheet?"
    )


def test_a_sheet_without_values_has_no_header_row() -> None:
    with pytest.raises(ImportFileError, match="no header row"):
        parse_register("r.csv", [(), (None, " ")])


CELLS = st.one_of(
    st.none(),
    st.text(max_size=12),
    st.sampled_from(["12", " 7 ", "#REF!", "", "  ", "1.0", "x\x00y"]),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.booleans(),
    st.datetimes(),
    st.dates(),
    st.times(),
)


@given(rows=st.lists(st.lists(CELLS, max_size=8), max_size=8))
def test_random_cell_values_raise_nothing_but_import_file_error(rows: list[list[object]]) -> None:
    try:
        register = parse_register("r.xlsx", [HEADER, *rows])
    except ImportFileError as exc:
        assert re.match(
            r"r\.xlsx(, row \d+: |: \d+ rows cannot be imported:\n  row \d+: )", str(exc)
        )
        return
    for row in register.rows:
        assert row.cmms_asset_id and row.cmms_asset_id == row.cmms_asset_id.strip()
        assert row.report_seq_no is None or isinstance(row.report_seq_no, int)
        assert row.customer_id is None or isinstance(row.customer_id, int)
        assert row.asset_name is None or row.asset_name == row.asset_name.strip() != ""


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture], max_examples=60)
@given(data=st.binary(max_size=300), suffix=st.sampled_from([".csv", ".xlsx"]))
def test_random_bytes_in_a_register_file_raise_nothing_but_import_file_error(
    tmp_path: Path, data: bytes, suffix: str
) -> None:
    path = tmp_path / f"register{suffix}"
    path.write_bytes(data)
    try:
        read_register(path)
    except ImportFileError as exc:
        assert str(exc).startswith(str(path))


def test_one_row_read_is_said_in_the_singular() -> None:
    from ic3sync.importer import ImportResult, import_summary

    said = import_summary("r.csv", ImportResult(rows=1, inserted=1, updated=0, unchanged=0))
    assert said.startswith("r.csv: 1 row read: 1 inserted")
