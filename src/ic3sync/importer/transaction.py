"""The import itself: the register read whole and checked, then upserted by db/register.py in
one transaction; and the line a person reads after it."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy as sa

from ic3sync.db.errors import map_db_errors
from ic3sync.db.register import upsert_register
from ic3sync.importer.files import read_register
from ic3sync.importer.sheet import VALUE_FIELDS
from ic3sync.wording import counted


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


def import_summary(path: Path | str, result: ImportResult) -> str:
    """The line a person reads after an import: which sheet, and what became of its rows."""
    sheet = f' (sheet "{result.sheet}")' if result.sheet else ""
    # "skipped" is the contract's word; it is split into rows that were already as stored and
    # blank rows, which are different news to whoever keeps the sheet.
    skipped = result.unchanged + result.blank
    return (
        f"{path}{sheet}: {counted(result.rows, 'row')} read: {result.inserted} inserted, "
        f"{result.updated} updated, {skipped} skipped "
        f"({result.unchanged} unchanged, {result.blank} blank)"
    )


def import_assets(
    engine: sa.Engine, path: Path, *, sheet: str | None = None, encoding: str | None = None
) -> ImportResult:
    """Upsert the register at `path` into ic3_asset_master on cmms_asset_id, in one transaction.

    New ids are inserted; for known ids a value in the sheet replaces the stored one and an empty
    cell leaves it alone. Raises ImportFileError (nothing written) for a bad file or row, or a
    sheet without asset rows. `sheet` and `encoding` are read_register's.
    """
    register = read_register(path, sheet=sheet, encoding=encoding)
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
