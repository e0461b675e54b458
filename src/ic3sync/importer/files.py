"""Opens the register's file, an .xlsx workbook (the sheet named, or the first with an asset id
header) or a .csv file (UTF-8, or the encoding named), as rows of cell values, and reads it into
register rows. A file that cannot be read, or holds no asset rows, raises ImportFileError."""

from __future__ import annotations

import codecs
import csv
import io
import zipfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import openpyxl
from openpyxl.workbook.workbook import Workbook

from ic3sync.errors import ImportFileError
from ic3sync.importer.sheet import (
    ALIASES,
    HEADER_SEARCH_ROWS,
    ID_FIELD,
    Register,
    has_id_header,
    parse_register,
    quoted_names,
    sheet_note,
)

_SUPPORTED = (".xlsx", ".csv")


def _guarded(
    source: str, rows: Iterator[Sequence[object]], what: str
) -> Iterator[Sequence[object]]:
    """Turn a reader's failure half-way through the file into an ImportFileError. What the
    caller raises between rows is not the reader's, and never reaches this handler."""
    try:
        yield from rows
    except Exception as exc:
        raise ImportFileError(source, f"cannot be read as {what}: {exc}") from None


Rows = Iterator[Sequence[object]]


@dataclass(frozen=True, slots=True)
class SheetRows:
    """The rows of the sheet read, its name (None for a CSV file) and the workbook's sheets."""

    rows: Rows
    sheet: str | None = None
    sheets: tuple[str, ...] = ()


def _pick_sheet(source: str, workbook: Workbook, wanted: str | None) -> Any:
    """The sheet named, or the first whose first rows hold an asset id header: a workbook may
    open with an "Instructions" sheet."""
    # A workbook opened read-only: its worksheets (never a chart sheet) stream their rows.
    sheets: list[Any] = list(workbook.worksheets)
    names = [s.title for s in sheets]
    if not sheets:
        raise ImportFileError(source, "has no worksheet")
    for sheet in sheets:
        # The dimension a writer records can be wrong; trusting it could drop rows silently.
        sheet.reset_dimensions()
    if wanted is not None:
        chosen = next((s for s in sheets if s.title == wanted), None)
        if chosen is None:
            chosen = next((s for s in sheets if s.title.casefold() == wanted.casefold()), None)
        if chosen is None:
            raise ImportFileError(
                source, f'has no sheet "{wanted}"; its sheets: {quoted_names(names)}'
            )
        return chosen
    if len(sheets) == 1:
        return sheets[0]
    for sheet in sheets:
        first = _guarded(
            source,
            sheet.iter_rows(max_row=HEADER_SEARCH_ROWS, values_only=True),
            "an .xlsx workbook",
        )
        if any(has_id_header(cells) for cells in first):
            return sheet
    raise ImportFileError(
        source,
        f"no sheet has an asset id column (one of {quoted_names(ALIASES[ID_FIELD])}) in its "
        f"first {HEADER_SEARCH_ROWS} rows; its sheets: {quoted_names(names)} "
        "(name the register's with --sheet)",
    )


@contextmanager
def _xlsx_rows(path: Path, wanted: str | None) -> Iterator[SheetRows]:
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
        sheet = _pick_sheet(source, workbook, wanted)
        rows = _guarded(source, sheet.iter_rows(values_only=True), "an .xlsx workbook")
        names = tuple(s.title for s in workbook.worksheets)
        yield SheetRows(rows, sheet.title, names)
    finally:
        workbook.close()


def _delimiter(text: str) -> str:
    first_line = next((line for line in text.splitlines() if line.strip()), "")
    counts = {sep: first_line.count(sep) for sep in (",", ";", "\t")}
    best = max(counts, key=lambda sep: counts[sep])
    return best if counts[best] > counts[","] else ","


def encoding_name(encoding: str) -> str:
    """The codec `encoding` names (`cp1252`, `windows-1252`, `utf8`...), or ValueError."""
    try:
        return codecs.lookup(encoding).name
    except LookupError:
        raise ValueError(f"unknown encoding {encoding!r}; for Excel's CSV try cp1252") from None


def _decode(source: str, data: bytes, encoding: str) -> str:
    try:
        codec = encoding_name(encoding)
    except ValueError as exc:
        raise ImportFileError(source, str(exc)) from None
    if codec != "utf-8":
        try:
            return data.decode(codec)
        except UnicodeDecodeError as exc:
            raise ImportFileError(
                source,
                f"is not {encoding} text (byte 0x{data[exc.start]:02x} at offset {exc.start})",
            ) from None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        where = f"byte 0x{data[exc.start]:02x} at offset {exc.start}"
    try:
        data.decode("cp1252")
    except UnicodeDecodeError:
        raise ImportFileError(
            source, f'is not UTF-8 text ({where}); save it as "CSV UTF-8"'
        ) from None
    # Excel's "CSV (Comma delimited)" is written in Windows-1252: say so rather than guess.
    raise ImportFileError(
        source,
        f"is not UTF-8 text ({where}) but reads as Windows-1252, as Excel's "
        '"CSV (Comma delimited)" is saved: import it with --encoding cp1252, or save it as '
        '"CSV UTF-8"',
    )


@contextmanager
def _csv_rows(path: Path, encoding: str) -> Iterator[SheetRows]:
    source = str(path)
    data = path.read_bytes()
    if data.startswith(b"PK\x03\x04"):
        raise ImportFileError(source, "is an .xlsx workbook (a zip archive), not a CSV file")
    if b"\x00" in data:
        raise ImportFileError(source, "holds binary data (NUL bytes), not CSV text")
    text = _decode(source, data, encoding)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=_delimiter(text))
    yield SheetRows(_guarded(source, reader, "CSV"))


@contextmanager
def _sheet_rows(path: Path, sheet: str | None, encoding: str | None) -> Iterator[SheetRows]:
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
    if suffix == ".xlsx" and encoding is not None:
        raise ImportFileError(source, "is an .xlsx workbook: --encoding is for .csv files")
    if suffix == ".csv" and sheet is not None:
        raise ImportFileError(source, f'is a CSV file, which has no sheets: --sheet "{sheet}"')
    opened = _xlsx_rows(path, sheet) if suffix == ".xlsx" else _csv_rows(path, encoding or "utf-8")
    try:
        with opened as rows:
            yield rows
    except OSError as exc:
        raise ImportFileError(source, f"cannot be read: {exc.strerror or exc}") from None


def read_register(path: Path, *, sheet: str | None = None, encoding: str | None = None) -> Register:
    """The asset rows of an .xlsx or .csv register, and how many blank rows lay between them.
    `sheet` names the workbook's sheet (default: the first with an asset id header);
    `encoding` is the CSV file's (default UTF-8). A file without asset rows raises
    ImportFileError like a bad one: a scripted import must notice."""
    path = Path(path)
    with _sheet_rows(path, sheet, encoding) as read:
        register = parse_register(str(path), read.rows, read.sheet, read.sheets)
    if not register.rows:
        raise ImportFileError(
            str(path),
            f"a header on row {register.header_row} and no asset rows below it"
            f"{sheet_note(register.sheet, read.sheets)}; is it the right file or sheet?",
        )
    return register
