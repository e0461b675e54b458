"""Reads the asset register (an .xlsx or .csv sheet), checks every row, and has db/register.py
upsert it in one transaction: a bad file or row raises ImportFileError and writes nothing."""

from __future__ import annotations

import csv
import io
import math
import re
import zipfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, fields
from datetime import UTC, date, datetime, time, timedelta
from functools import partial
from pathlib import Path
from typing import Any

import openpyxl
import sqlalchemy as sa
from openpyxl.utils import get_column_letter
from openpyxl.worksheet._read_only import ReadOnlyWorksheet

from ic3sync.db.errors import map_db_errors
from ic3sync.db.register import upsert_register
from ic3sync.errors import ImportFileError
from ic3sync.model import has_control_character


@dataclass(frozen=True, slots=True)
class RegisterRow:
    row: int  # as a person sees it in the sheet: the header is row 1
    cmms_asset_id: str
    report_seq_no: int | None
    asset_name: str | None
    customer_id: int | None
    customer_name: str | None
    location_name: str | None
    criticality: str | None


@dataclass(frozen=True, slots=True)
class ImportResult:
    rows: int  # asset rows read
    inserted: int
    updated: int
    unchanged: int  # rows whose values all matched the stored ones
    blank: int = 0  # blank rows between asset rows, read and ignored
    # The worksheet read (None for a CSV file), so a person can tell they imported the right one.
    sheet: str | None = field(default=None, compare=False)
    header_row: int = field(default=1, compare=False)


@dataclass(frozen=True, slots=True)
class Register:
    """A parsed sheet: its asset rows and how many blank rows lay between them."""

    rows: list[RegisterRow]
    blank_rows: int
    sheet: str | None = None
    header_row: int = 1


ID_FIELD = "cmms_asset_id"
# Far above any serial number, far below what a database index entry can hold (PostgreSQL's
# refuses about 2,700 bytes).
MAX_ASSET_ID_LENGTH = 255
# The columns an import may set, besides the id. Everything else in the table is the sync's.
VALUE_FIELDS = tuple(f.name for f in fields(RegisterRow) if f.name not in ("row", ID_FIELD))
INTEGER_FIELDS = {"report_seq_no": 32, "customer_id": 64}  # field -> bits of its column

ALIASES: dict[str, tuple[str, ...]] = {
    ID_FIELD: (ID_FIELD, "Asset ID", "CMMS Asset ID", "Innomaint Asset ID"),
    "report_seq_no": ("report_seq_no", "S.No", "Sr No", "Serial No"),
    **{name: (name,) for name in VALUE_FIELDS if name != "report_seq_no"},
}

_SEPARATORS = re.compile(r"[\s_.\-]+")
# What data_only=True gives for a formula that failed; never a real value.
_EXCEL_ERRORS = frozenset(
    {"#NULL!", "#DIV/0!", "#VALUE!", "#REF!", "#NAME?", "#NUM!", "#N/A", "#GETTING_DATA"}
)
_WHOLE_NUMBER = re.compile(r"([+-]?[0-9]+)(?:\.0*)?", re.ASCII)
# A float at or beyond 2**53 has lost digits: Excel keeps only about 15.
_EXACT_FLOAT_LIMIT = 2.0**53
_SUPPORTED = (".xlsx", ".csv")
# Registers people make often open with a title row or two ("IC3 Asset Register - November
# 2026", a blank row); the header is looked for this far down.
HEADER_SEARCH_ROWS = 10


def normalise_header(header: object) -> str:
    """`Customer ID`, `customer_id`, ` CUSTOMER-ID ` and `Customer.Id` all become `customer id`."""
    return _SEPARATORS.sub(" ", str(header)).strip().lower()


_FIELD_BY_HEADER = {
    normalise_header(alias): field for field, aliases in ALIASES.items() for alias in aliases
}


def field_for_header(header: object) -> str | None:
    """The register field a column header means, or None for a column the import ignores."""
    if header is None:
        return None
    return _FIELD_BY_HEADER.get(normalise_header(header))


class CellError(ValueError):
    """A cell value that cannot become its field; the caller adds the file, row and column."""


def _clip(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _number_text(value: int | float) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return repr(value) if isinstance(value, float) else str(value)


def _clean_str(value: str) -> str | None:
    text = value.strip()
    if not text:
        return None
    if text in _EXCEL_ERRORS:
        raise CellError(f"holds the Excel error {text}; fix the formula or type the value")
    if "\x00" in text:
        raise CellError(f"holds a NUL character: {_clip(text)}")
    return text


def cell_text(value: object) -> str | None:
    """A text field's value: trimmed, empty becomes None; numbers and dates as Excel shows them."""
    if value is None:
        return None
    if isinstance(value, str):
        return _clean_str(value)
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int | float):
        return _number_text(value)
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, timedelta):
        return str(value)
    return _clean_str(str(value))


def asset_id_text(value: object) -> str | None:
    """An asset id as text: kept as written, trimmed; the number 12345 (or 12345.0) is "12345"."""
    if value is None:
        return None
    if isinstance(value, str):
        text = _clean_str(value)
        if text is None:
            return None
        if has_control_character(text):
            # A line break typed into the cell (Alt+Enter), a tab pasted in: the vendor knows no
            # such id, and no command or page could name the asset.
            raise CellError(
                f"holds a line break or another control character: {_clip(text)}; "
                "an asset id is one line of text"
            )
        if len(text) > MAX_ASSET_ID_LENGTH:
            # Text pasted into the wrong column; PostgreSQL's index would refuse it at the end
            # of the import, without a row to name (SQLite would take it).
            raise CellError(
                f"is {len(text):,} characters long: {_clip(text)}; an asset id has at most "
                f"{MAX_ASSET_ID_LENGTH}"
            )
        return text
    if isinstance(value, bool):
        raise CellError(f"is a TRUE/FALSE value, not an asset id: {value}")
    if isinstance(value, float) and not math.isfinite(value):
        raise CellError(f"is not an asset id: {value}")
    if isinstance(value, float) and abs(value) >= _EXACT_FLOAT_LIMIT:
        raise CellError(
            f"is a number too long for Excel to keep exactly ({value!r}); "
            "format the column as Text and type the id again"
        )
    if isinstance(value, int | float):
        return _number_text(value)
    if isinstance(value, datetime | date | time | timedelta):
        raise CellError(
            f"is a date or time ({value}), not an asset id; the sheet may have converted it: "
            "format the column as Text and type the id again"
        )
    return _clean_str(str(value))


def cell_integer(value: object, bits: int = 64) -> int | None:
    """A whole number: 12, "12", 12.0 and "12.0" are 12; empty is None; anything else fails."""
    if value is None:
        return None
    number: int
    if isinstance(value, bool):
        raise CellError(f"must be a whole number, not {value}")
    if isinstance(value, int):
        number = value
    elif isinstance(value, float):
        if not value.is_integer():
            raise CellError(f"must be a whole number, not {_clip(value)}")
        number = int(value)
    elif isinstance(value, str):
        text = value.strip()
        if not text:
            return None
        match = _WHOLE_NUMBER.fullmatch(text)
        if match is None:
            raise CellError(f"must be a whole number, not {_clip(text)}")
        number = int(match.group(1))
    else:
        raise CellError(f"must be a whole number, not {_clip(value)}")
    limit = 2 ** (bits - 1)
    if not -limit <= number < limit:
        raise CellError(f"is too large for the database: {number}")
    return number


_CONVERTERS: dict[str, Callable[[object], Any]] = (
    {ID_FIELD: asset_id_text}
    | {name: cell_text for name in VALUE_FIELDS}
    | {name: partial(cell_integer, bits=bits) for name, bits in INTEGER_FIELDS.items()}
)


def _is_blank(value: object) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


@dataclass(frozen=True, slots=True)
class _Column:
    index: int
    header: str

    def __str__(self) -> str:
        return f'column {get_column_letter(self.index + 1)} "{self.header}"'


def _map_header(source: str, row: int, cells: Sequence[object]) -> dict[str, _Column]:
    columns: dict[str, _Column] = {}
    for index, cell in enumerate(cells):
        field = None if _is_blank(cell) else field_for_header(cell)
        if field is None:
            continue
        column = _Column(index, str(cell).strip())
        if field in columns:
            raise ImportFileError(
                source, f"{columns[field]} and {column} both mean {field}; keep one of them", row
            )
        columns[field] = column
    if ID_FIELD not in columns:
        found = ", ".join(f'"{str(c).strip()}"' for c in cells if not _is_blank(c))
        expected = ", ".join(f'"{alias}"' for alias in ALIASES[ID_FIELD])
        raise ImportFileError(
            source,
            f"no asset id column (one of {expected}); the header row has {found}",
            row,
        )
    return columns


def _values(cells: Sequence[object]) -> str:
    """A row's values as a message shows them: quoted, each cut at 40 characters."""
    texts = (str(c).strip() for c in cells if not _is_blank(c))
    return ", ".join(f'"{t if len(t) <= 40 else t[:37] + "..."}"' for t in texts)


def _find_header(
    source: str, numbered: Iterator[tuple[int, Sequence[object]]]
) -> tuple[int, Sequence[object]]:
    """The header row: the first of the first HEADER_SEARCH_ROWS rows with an asset id column,
    or an ImportFileError listing the rows looked at."""
    looked: list[tuple[int, Sequence[object]]] = []
    for n, cells in numbered:
        filled = [c for c in cells if not _is_blank(c)]
        if filled:
            if any(field_for_header(c) == ID_FIELD for c in filled):
                return n, cells
            looked.append((n, cells))
        if n >= HEADER_SEARCH_ROWS:
            break
    if not looked:
        raise ImportFileError(source, "has no header row: the sheet holds no values")
    if len(looked) == 1:
        # One row of headers without an id column: the usual mistake, said plainly.
        row, cells = looked[0]
        expected = ", ".join(f'"{alias}"' for alias in ALIASES[ID_FIELD])
        raise ImportFileError(
            source,
            f"no asset id column (one of {expected}); the header row has {_values(cells)}",
            row,
        )
    expected = ", ".join(f'"{alias}"' for alias in ALIASES[ID_FIELD])
    seen = "; ".join(f"row {n}: {_values(cells)}" for n, cells in looked)
    raise ImportFileError(
        source,
        f"no asset id column (one of {expected}) in the first {HEADER_SEARCH_ROWS} rows; "
        f"the rows looked at: {seen}",
    )


def parse_register(
    source: str, rows: Iterable[Sequence[object]], sheet: str | None = None
) -> Register:
    """Turn a sheet's rows of cell values (row 1 first) into register rows; `source` names the
    file in messages. The header is the first row, within HEADER_SEARCH_ROWS, that has an
    asset id column: title rows above it are passed over."""
    numbered = enumerate(rows, start=1)
    header_row, header_cells = _find_header(source, numbered)
    columns = _map_header(source, header_row, header_cells)

    plan = [(columns.get(field), _CONVERTERS[field]) for field in (ID_FIELD, *VALUE_FIELDS)]
    parsed: list[RegisterRow] = []
    first_seen: dict[str, int] = {}
    blank_rows = pending_blank = 0
    for row, cells in numbered:
        width = len(cells)
        values: list[Any] = []
        for column, convert in plan:
            value = cells[column.index] if column is not None and column.index < width else None
            try:
                values.append(None if value is None else convert(value))
            except CellError as exc:
                raise ImportFileError(source, f"{column} {exc}", row) from None
        # Only the columns the import reads count: a note in an ignored column is not a row.
        if values.count(None) == len(values):
            pending_blank += 1
            continue
        # Blank rows after the last asset are the sheet's end, not skipped rows.
        blank_rows += pending_blank
        pending_blank = 0
        asset_id = values[0]
        if asset_id is None:
            raise ImportFileError(
                source, f"{columns[ID_FIELD]} is empty but the row has other values", row
            )
        if asset_id in first_seen:
            raise ImportFileError(
                source,
                f"asset id {asset_id!r} is on rows {first_seen[asset_id]} and {row}; "
                "each asset may appear once",
                row,
            )
        first_seen[asset_id] = row
        parsed.append(RegisterRow(row, *values))
    return Register(parsed, blank_rows, sheet, header_row)


def _guarded(
    source: str, rows: Iterator[Sequence[object]], what: str
) -> Iterator[Sequence[object]]:
    """Turn a reader's failure half-way through the file into an ImportFileError."""
    while True:
        try:
            cells = next(rows)
        except StopIteration:
            return
        except Exception as exc:
            raise ImportFileError(source, f"cannot be read as {what}: {exc}") from None
        yield cells


Rows = Iterator[Sequence[object]]


@contextmanager
def _xlsx_rows(path: Path) -> Iterator[tuple[Rows, str | None]]:
    source = str(path)
    if not zipfile.is_zipfile(path):
        raise ImportFileError(
            source,
            "is not an .xlsx workbook (not a zip archive; an old .xls or a password-protected "
            "workbook cannot be read: save it again as a plain .xlsx)",
        )
    try:
        workbook = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:
        raise ImportFileError(source, f"cannot be read as an .xlsx workbook: {exc}") from None
    try:
        sheet = next((s for s in workbook.worksheets if isinstance(s, ReadOnlyWorksheet)), None)
        if sheet is None:
            raise ImportFileError(source, "has no worksheet")
        # The dimension a writer records can be wrong; trusting it could drop rows silently.
        sheet.reset_dimensions()
        rows = _guarded(source, sheet.iter_rows(values_only=True), "an .xlsx workbook")
        yield rows, sheet.title
    finally:
        workbook.close()


def _delimiter(text: str) -> str:
    first_line = next((line for line in text.splitlines() if line.strip()), "")
    counts = {sep: first_line.count(sep) for sep in (",", ";", "\t")}
    best = max(counts, key=lambda sep: counts[sep])
    return best if counts[best] > counts[","] else ","


@contextmanager
def _csv_rows(path: Path) -> Iterator[tuple[Rows, str | None]]:
    source = str(path)
    data = path.read_bytes()
    if data.startswith(b"PK\x03\x04"):
        raise ImportFileError(source, "is an .xlsx workbook (a zip archive), not a CSV file")
    if b"\x00" in data:
        raise ImportFileError(source, "holds binary data (NUL bytes), not UTF-8 CSV text")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ImportFileError(
            source,
            f"is not UTF-8 text (byte 0x{data[exc.start]:02x} at offset {exc.start}); "
            'save it as "CSV UTF-8"',
        ) from None
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=_delimiter(text))
    yield _guarded(source, reader, "CSV"), None


@contextmanager
def _sheet_rows(path: Path) -> Iterator[tuple[Rows, str | None]]:
    source = str(path)
    suffix = path.suffix.lower()
    if path.is_dir():
        raise ImportFileError(source, "is a folder: give the .xlsx or .csv file in it")
    if suffix not in _SUPPORTED:
        raise ImportFileError(
            source, f"is a {suffix or 'file without extension'}; save the sheet as .xlsx or .csv"
        )
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        raise ImportFileError(source, "no such file") from None
    except OSError as exc:
        raise ImportFileError(source, f"cannot be read: {exc.strerror or exc}") from None
    if not path.is_file():
        raise ImportFileError(source, "is not a file")
    if size == 0:
        raise ImportFileError(source, "is empty")
    opener = _xlsx_rows if suffix == ".xlsx" else _csv_rows
    try:
        with opener(path) as sheet:
            yield sheet
    except OSError as exc:
        raise ImportFileError(source, f"cannot be read: {exc.strerror or exc}") from None


def read_register(path: Path) -> Register:
    """The asset rows of an .xlsx (first worksheet) or .csv register, and how many blank rows
    lay between them. Raises ImportFileError."""
    path = Path(path)
    with _sheet_rows(path) as (rows, sheet):
        return parse_register(str(path), rows, sheet)


def import_summary(path: Path | str, result: ImportResult) -> str:
    """The line a person reads after an import: which sheet, and what became of its rows."""
    sheet = f' (sheet "{result.sheet}")' if result.sheet else ""
    if not result.rows:
        # Not an error (nothing is wrong with the file), but rarely what was meant.
        return (
            f"{path}{sheet}: a header on row {result.header_row} and no asset rows below it; "
            "nothing was imported (is it the right file or sheet?)"
        )
    # "skipped" is the contract's word; it is split into rows that were already as stored and
    # blank rows, which are different news to whoever keeps the sheet.
    skipped = result.unchanged + result.blank
    return (
        f"{path}{sheet}: {result.rows} rows read: {result.inserted} inserted, "
        f"{result.updated} updated, {skipped} skipped "
        f"({result.unchanged} unchanged, {result.blank} blank)"
    )


def import_assets(engine: sa.Engine, path: Path) -> ImportResult:
    """Upsert the register at `path` into ic3_asset_master on cmms_asset_id, in one transaction.

    New ids are inserted; for known ids a value in the sheet replaces the stored one and an empty
    cell leaves it alone. Raises ImportFileError (nothing written) for a bad file or row.
    """
    register = read_register(path)
    rows = [
        (r.cmms_asset_id, {name: getattr(r, name) for name in VALUE_FIELDS}) for r in register.rows
    ]
    with (
        map_db_errors(f"the import of {path} was not written: {{reason}}", catch=sa.exc.DBAPIError),
        engine.begin() as conn,
    ):
        counts = upsert_register(conn, rows, VALUE_FIELDS, datetime.now(UTC))
    return ImportResult(
        rows=len(register.rows),
        inserted=counts.inserted,
        updated=counts.updated,
        unchanged=counts.unchanged,
        blank=register.blank_rows,
        sheet=register.sheet,
        header_row=register.header_row,
    )
