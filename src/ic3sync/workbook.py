"""Sheets made for Excel: typed cells (numbers as numbers, dates as dates, durations as hours),
headers people read with the time zone of every time in them, columns as wide as their content
(within bounds), a frozen header row with filters, and a "Columns" sheet that names the database
column and the meaning of every header of every sheet.

Sheets are written with openpyxl's write-only mode: rows stream to the file and the memory a
sheet takes does not grow with it. Widths must be set before the first row is written, so they
are measured on the first rows of each sheet (`SAMPLE`), which are held until then.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter

from ic3sync.labels import Label
from ic3sync.model import DURATION_COLUMNS

COLUMNS_SHEET = "Columns"
DATE_FORMAT = "yyyy-mm-dd"
TIME_FORMAT = "yyyy-mm-dd hh:mm:ss"
HOURS_FORMAT = "0.00"
MONEY_FORMAT = "#,##0.00"
# Column widths in characters: never so narrow that a date shows as "#####", never so wide
# that one long reason pushes every other column off the screen.
MIN_WIDTH = 10
MAX_WIDTH = 50
# Rows of each sheet measured for its column widths.
SAMPLE = 2000

_SECONDS = set(DURATION_COLUMNS.values())
_WIDTH_OF_FORMAT = {DATE_FORMAT: 10, TIME_FORMAT: 19}


@dataclass(frozen=True, slots=True)
class Column:
    """One column of a sheet: its header, the key of its value in a row, how to convert that
    value for the cell, the cell's number format, and for the Columns sheet the database column
    it comes from and what it means."""

    header: str
    key: str
    convert: Callable[[Any], Any] | None = None
    number_format: str | None = None
    source: str = ""
    meaning: str = ""
    # The header of a .csv, which scripts read: the database name of what the column holds.
    csv_header: str = ""

    def value(self, row: Mapping[str, Any]) -> Any:
        value = row[self.key]
        return value if self.convert is None or value is None else self.convert(value)


def _local(zone: ZoneInfo) -> Callable[[datetime], datetime]:
    # Excel has no time zones: instants are written as wall time in the dashboard's zone, to
    # the second (a cell shows no fraction, and a filter on it would miss one).
    def convert(value: datetime) -> datetime:
        # SQLite hands back the UTC instant it stored without its zone.
        aware = value if value.tzinfo is not None else value.replace(tzinfo=UTC)
        return aware.astimezone(zone).replace(tzinfo=None, microsecond=0)

    return convert


def _to_the_second(value: datetime) -> datetime:
    return value.replace(microsecond=0)


def _hours(seconds: int) -> float:
    return seconds / 3600


def column(label: Label, type_: Any, zone: ZoneInfo, source: str = "") -> Column:
    """The column of a value of `type_` (a SQLAlchemy type, or `datetime` for an instant),
    headed by its label; an instant's header names `zone`, in which it is written."""
    base = Column(
        label.label,
        label.key,
        source=source or label.source,
        meaning=label.meaning,
        csv_header=label.key,
    )
    if label.key in _SECONDS:
        hours = label.key.removesuffix("_seconds") + "_hours"
        return replace(base, convert=_hours, number_format=HOURS_FORMAT, csv_header=hours)
    if type_ is datetime or (isinstance(type_, sa.DateTime) and type_.timezone):
        header = f"{label.label} ({zone.key})"
        return replace(base, header=header, convert=_local(zone), number_format=TIME_FORMAT)
    if isinstance(type_, sa.DateTime):
        # A vendor time kept as written (asset_created_at): no instant to convert.
        return replace(base, convert=_to_the_second, number_format=TIME_FORMAT)
    if isinstance(type_, sa.Date):
        return replace(base, number_format=DATE_FORMAT)
    if isinstance(type_, sa.Numeric) and type_.scale == 2:
        return replace(base, number_format=MONEY_FORMAT)
    return base


def record_columns(labels: Sequence[Label], zone: ZoneInfo) -> list[Column]:
    """Columns of a read model's fields (a log row, a change, ...): a field named "..._at" is
    an instant, any other is written as it is."""
    return [column(x, datetime if x.key.endswith("_at") else None, zone) for x in labels]


def _text(ws: Any, value: str) -> str | WriteOnlyCell:
    if ILLEGAL_CHARACTERS_RE.search(value):
        value = ILLEGAL_CHARACTERS_RE.sub("", value)
    if not value.startswith("="):
        return value
    # A vendor string such as "=HYPERLINK(...)" stays text, never a formula. Only these get a
    # cell object of their own: making one per value would double the export's time.
    cell = WriteOnlyCell(ws, value)
    cell.data_type = "s"
    return cell


def shown_width(value: Any, number_format: str | None) -> int:
    """How many characters `value` takes as Excel shows it with `number_format`."""
    if value is None:
        return 0
    if isinstance(value, str):
        return max((len(line) for line in value.splitlines()), default=0)
    if isinstance(value, datetime | date):
        return _WIDTH_OF_FORMAT.get(number_format or "", 19)
    if isinstance(value, int | float | Decimal) and number_format == HOURS_FORMAT:
        return len(f"{value:.2f}")
    if isinstance(value, int | float | Decimal) and number_format == MONEY_FORMAT:
        return len(f"{value:,.2f}")
    return len(str(value))


def _header_width(header: str) -> int:
    """The width a header needs on at most two lines (it wraps), beside the filter's button."""
    words = header.split()
    longest = max((len(w) for w in words), default=0)
    # The narrowest split into two lines at a space.
    halves = [max(len(" ".join(words[:i])), len(" ".join(words[i:]))) for i in range(1, len(words))]
    return max(longest, min(halves, default=len(header))) + 3


def widths(columns: Sequence[Column], rows: Iterable[Mapping[str, Any]]) -> list[float]:
    """Each column's width: its widest value, or its header on up to two lines, and room for
    the filter's button; within MIN_WIDTH and MAX_WIDTH."""
    widest = [_header_width(c.header) for c in columns]
    for row in rows:
        for i, c in enumerate(columns):
            widest[i] = max(widest[i], shown_width(c.value(row), c.number_format) + 2)
    return [float(min(max(w, MIN_WIDTH), MAX_WIDTH)) for w in widest]


def write_sheet(
    wb: Workbook, title: str, columns: Sequence[Column], rows: Iterable[Mapping[str, Any]]
) -> int:
    """Append one sheet: widths from its first rows, a bold frozen header, filters over every
    row. The number of rows."""
    ws = wb.create_sheet(title)
    rows = iter(rows)
    first = list(itertools.islice(rows, SAMPLE))
    sized = widths(columns, first)
    for i, width in enumerate(sized, start=1):
        ws.column_dimensions[get_column_letter(i)].width = width
    ws.freeze_panes = "A2"
    bold = Font(bold=True)
    wrap = Alignment(wrap_text=True, vertical="top")
    header = []
    for c in columns:
        cell = WriteOnlyCell(ws, c.header)
        cell.font = bold
        cell.alignment = wrap
        header.append(cell)
    if any(len(c.header) + 3 > w for c, w in zip(columns, sized, strict=True)):
        # Two lines for the headers that wrap: a row's height is not fitted when a file opens.
        ws.row_dimensions[1].height = 30
    ws.append(header)
    n = 0
    for row in itertools.chain(first, rows):
        out: list[Any] = []
        for c in columns:
            value = c.value(row)
            if isinstance(value, str):
                out.append(_text(ws, value))
            elif value is not None and c.number_format is not None:
                cell = WriteOnlyCell(ws, value)
                cell.number_format = c.number_format
                out.append(cell)
            else:
                out.append(value)
        ws.append(out)
        n += 1
    ws.auto_filter.ref = f"A1:{get_column_letter(len(columns))}{n + 1}"
    return n


_DESCRIBED = [
    Column("Sheet", "sheet"),
    Column("Column", "header"),
    Column("Database column", "source"),
    Column("Meaning", "meaning"),
]


class Book:
    """A workbook written sheet by sheet (`add`), each sheet whole before the next, and at the
    end (`save`) the Columns sheet naming every column of every sheet added."""

    def __init__(self) -> None:
        self._wb = Workbook(write_only=True)
        self._described: list[dict[str, str]] = []

    def add(self, title: str, columns: Sequence[Column], rows: Iterable[Mapping[str, Any]]) -> int:
        """Write a sheet of `rows` under `columns`; the number of rows."""
        n = write_sheet(self._wb, title, columns, rows)
        self._described.extend(
            {"sheet": title, "header": c.header, "source": c.source, "meaning": c.meaning}
            for c in columns
        )
        return n

    def note(self, title: str, lines: Sequence[str]) -> None:
        """A sheet of text, one line a row, in one wide column that wraps."""
        ws = self._wb.create_sheet(title)
        ws.column_dimensions["A"].width = 100
        wrap = Alignment(wrap_text=True, vertical="top")
        for line in lines:
            cell = WriteOnlyCell(ws, ILLEGAL_CHARACTERS_RE.sub("", line))
            cell.data_type = "s"  # text, whatever it starts with
            cell.alignment = wrap
            ws.append([cell])

    def save(self, path: Path) -> None:
        if self._described:
            write_sheet(self._wb, COLUMNS_SHEET, _DESCRIBED, self._described)
        self._wb.save(path)
