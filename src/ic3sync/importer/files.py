"""Opens the register's file, an .xlsx workbook (its first worksheet) or a .csv file, as rows of
cell values, and reads it into register rows. A file that cannot be read raises ImportFileError."""

from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import openpyxl
from openpyxl.worksheet._read_only import ReadOnlyWorksheet

from ic3sync.errors import ImportFileError
from ic3sync.importer.sheet import Register, parse_register

_SUPPORTED = (".xlsx", ".csv")


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
