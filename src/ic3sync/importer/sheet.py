"""A sheet's rows of cell values become register rows: the header row found among the first
rows and its columns understood, then every row below it checked. A bad header or row raises
ImportFileError naming the row."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, fields
from functools import partial
from typing import Any

from openpyxl.utils import get_column_letter

from ic3sync.errors import ImportFileError
from ic3sync.importer.cells import CellError, asset_id_text, cell_integer, cell_text


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
class Register:
    """A parsed sheet: its asset rows and how many blank rows lay between them."""

    rows: list[RegisterRow]
    blank_rows: int
    sheet: str | None = None
    header_row: int = 1


ID_FIELD = "cmms_asset_id"
# The columns an import may set, besides the id. Everything else in the table is the sync's.
VALUE_FIELDS = tuple(f.name for f in fields(RegisterRow) if f.name not in ("row", ID_FIELD))
INTEGER_FIELDS = {"report_seq_no": 32, "customer_id": 64}  # field -> bits of its column

ALIASES: dict[str, tuple[str, ...]] = {
    ID_FIELD: (ID_FIELD, "Asset ID", "CMMS Asset ID", "Innomaint Asset ID"),
    "report_seq_no": ("report_seq_no", "S.No", "Sr No", "Serial No"),
    **{name: (name,) for name in VALUE_FIELDS if name != "report_seq_no"},
}

_SEPARATORS = re.compile(r"[\s_.\-]+")
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


def quoted_names(names: Iterable[str]) -> str:
    return ", ".join(f'"{name}"' for name in names)


def sheet_note(sheet: str | None, sheets: Sequence[str] = ()) -> str:
    """What a message about a sheet adds: the sheet read, and the workbook's sheets to pick."""
    if sheet is None:
        return ""
    if len(sheets) > 1:
        return f' (sheet "{sheet}"; the workbook\'s sheets: {quoted_names(sheets)})'
    return f' (sheet "{sheet}")'


def has_id_header(cells: Sequence[object]) -> bool:
    return any(not _is_blank(c) and field_for_header(c) == ID_FIELD for c in cells)


def _find_header(
    source: str, numbered: Iterator[tuple[int, Sequence[object]]], note: str = ""
) -> tuple[int, Sequence[object]]:
    """The header row: the first of the first HEADER_SEARCH_ROWS rows with an asset id column,
    or an ImportFileError listing the rows looked at; `note` names the sheet."""
    looked: list[tuple[int, Sequence[object]]] = []
    for n, cells in numbered:
        filled = [c for c in cells if not _is_blank(c)]
        if filled:
            if has_id_header(filled):
                return n, cells
            looked.append((n, cells))
        if n >= HEADER_SEARCH_ROWS:
            break
    if not looked:
        raise ImportFileError(source, f"has no header row: the sheet holds no values{note}")
    if len(looked) == 1:
        # One row of headers without an id column: the usual mistake, said plainly.
        row, cells = looked[0]
        expected = ", ".join(f'"{alias}"' for alias in ALIASES[ID_FIELD])
        raise ImportFileError(
            source,
            f"no asset id column (one of {expected}); the header row has {_values(cells)}{note}",
            row,
        )
    expected = ", ".join(f'"{alias}"' for alias in ALIASES[ID_FIELD])
    seen = "; ".join(f"row {n}: {_values(cells)}" for n, cells in looked)
    raise ImportFileError(
        source,
        f"no asset id column (one of {expected}) in the first {HEADER_SEARCH_ROWS} rows; "
        f"the rows looked at: {seen}{note}",
    )


# Every bad row is named in one pass, so a sheet is fixed in one round; past this many the
# list would bury the first ones, and the rest are counted.
MAX_ROWS_NAMED = 50


def _bad_rows_error(source: str, problems: list[tuple[int, str]]) -> ImportFileError:
    if len(problems) == 1:
        row, message = problems[0]
        return ImportFileError(source, message, row)
    named = "".join(f"\n  row {row}: {message}" for row, message in problems[:MAX_ROWS_NAMED])
    more = len(problems) - MAX_ROWS_NAMED
    rest = f"\n  and {more} more" if more > 0 else ""
    return ImportFileError(source, f"{len(problems)} rows cannot be imported:{named}{rest}")


def parse_register(
    source: str,
    rows: Iterable[Sequence[object]],
    sheet: str | None = None,
    sheets: Sequence[str] = (),
) -> Register:
    """Turn a sheet's rows of cell values (row 1 first) into register rows; `source` names the
    file in messages. The header is the first row, within HEADER_SEARCH_ROWS, that has an
    asset id column: title rows above it are passed over. Every bad row is checked before the
    ImportFileError naming them is raised. `sheet` and the workbook's `sheets` are named in the
    errors about the header."""
    numbered = enumerate(rows, start=1)
    header_row, header_cells = _find_header(source, numbered, sheet_note(sheet, sheets))
    columns = _map_header(source, header_row, header_cells)

    wanted = (ID_FIELD, *VALUE_FIELDS)
    # (the value's place in the row, its column, the column's cell index, its converter) for
    # the fields the sheet has; a field it lacks stays None on every row.
    plan = [
        (place, column, column.index, _CONVERTERS[field])
        for place, field in enumerate(wanted)
        if (column := columns.get(field)) is not None
    ]
    parsed: list[RegisterRow] = []
    problems: list[tuple[int, str]] = []
    first_seen: dict[str, int] = {}
    blank_rows = pending_blank = 0
    for row, cells in numbered:
        width = len(cells)
        values: list[Any] = [None] * len(wanted)
        cell_errors: list[str] = []
        for place, column, index, convert in plan:
            if index >= width or (value := cells[index]) is None:
                continue
            try:
                values[place] = convert(value)
            except CellError as exc:
                cell_errors.append(f"{column} {exc}")
                values[place] = value
        # Only the columns the import reads count: a note in an ignored column is not a row.
        if values.count(None) == len(wanted):
            pending_blank += 1
            continue
        # Blank rows after the last asset are the sheet's end, not skipped rows.
        blank_rows += pending_blank
        pending_blank = 0
        if cell_errors:
            problems.append((row, "; ".join(cell_errors)))
            continue
        asset_id = values[0]
        if asset_id is None:
            problems.append((row, f"{columns[ID_FIELD]} is empty but the row has other values"))
            continue
        if asset_id in first_seen:
            problems.append(
                (
                    row,
                    f"asset id {asset_id!r} is on rows {first_seen[asset_id]} and {row}; "
                    "each asset may appear once",
                )
            )
            continue
        first_seen[asset_id] = row
        parsed.append(RegisterRow(row, *values))
    if problems:
        raise _bad_rows_error(source, problems)
    return Register(parsed, blank_rows, sheet, header_row)
