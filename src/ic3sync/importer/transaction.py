"""The import itself: the register read whole and checked, then upserted by db/register.py in
one transaction; the lines a person reads after it; and who owns each column the sheet may set
(contract rule 4), as the README's table shows it."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy as sa

from ic3sync.db.errors import map_db_errors
from ic3sync.db.register import upsert_register
from ic3sync.importer.files import read_register
from ic3sync.importer.sheet import VALUE_FIELDS
from ic3sync.mapping import MASTER_COLUMNS_SENT
from ic3sync.wording import counted

# Once an asset has synced, Innomaint owns the columns it sends: a re-import leaves them as the
# sync stored them, or the two would revert each other every night. The sheet owns the rest.
CMMS_OWNED: tuple[str, ...] = tuple(c for c in VALUE_FIELDS if c in MASTER_COLUMNS_SENT)
SHEET_OWNED: tuple[str, ...] = tuple(c for c in VALUE_FIELDS if c not in MASTER_COLUMNS_SENT)

# The README's table of owners sits between these markers; a test checks it is current.
OWNERS_BEGIN = "<!-- owners:begin -->"
OWNERS_END = "<!-- owners:end -->"


def owners_table() -> str:
    """The columns an import may set and who owns each, as a Markdown table."""

    def names(columns: tuple[str, ...]) -> str:
        return ", ".join(f"`{c}`" for c in columns)

    return "\n".join(
        (
            "| columns | owner |",
            "| --- | --- |",
            f"| {names(SHEET_OWNED)} | the sheet: every import updates them |",
            f"| {names(CMMS_OWNED)} | the sheet until the asset's first sync, then Innomaint: "
            "an import keeps what Innomaint sent and fills only empty values (`--sheet-wins` "
            "takes the sheet's) |",
        )
    )


@dataclass(frozen=True, slots=True)
class ImportResult:
    rows: int  # asset rows read
    inserted: int
    updated: int
    unchanged: int  # rows whose values all matched the stored ones
    blank: int = 0  # blank rows between asset rows, read and ignored
    kept: int = 0  # values of synced assets Innomaint owns, left where the sheet differs
    taken: int = 0  # such values the sheet's replaced (--sheet-wins)
    # Stored values changed, recorded as register changes.
    changed: int = field(default=0, compare=False)
    # The worksheet read (None for a CSV file), so a person can tell they imported the right one.
    sheet: str | None = field(default=None, compare=False)
    header_row: int = field(default=1, compare=False)


def _values(n: int) -> str:
    return f"{n:,} value" if n == 1 else f"{n:,} values"


def import_summary(path: Path | str, result: ImportResult) -> str:
    """The line a person reads after an import: which sheet, and what became of its rows."""
    sheet = f' (sheet "{result.sheet}")' if result.sheet else ""
    # "skipped" is the contract's word; it is split into rows that were already as stored and
    # blank rows, which are different news to whoever keeps the sheet.
    skipped = result.unchanged + result.blank
    lines = [
        f"{path}{sheet}: {counted(result.rows, 'row')} read: {result.inserted} inserted, "
        f"{result.updated} updated, {skipped} skipped "
        f"({result.unchanged} unchanged, {result.blank} blank)"
    ]
    if result.kept:
        lines.append(
            f"kept {_values(result.kept)} Innomaint sent where the sheet differs "
            "(import-assets --sheet-wins to take the sheet's)"
        )
    if result.taken:
        lines.append(
            f"took the sheet's {_values(result.taken)} over what Innomaint sent "
            "(--sheet-wins); the next sync sets them again where Innomaint still differs"
        )
    return "\n".join(lines)


def import_assets(
    engine: sa.Engine,
    path: Path,
    *,
    sheet: str | None = None,
    encoding: str | None = None,
    sheet_wins: bool = False,
) -> ImportResult:
    """Upsert the register at `path` into ic3_asset_master on cmms_asset_id, in one transaction.

    New ids are inserted; for known ids a value in the sheet replaces the stored one and an empty
    cell leaves it alone, except that the columns Innomaint owns (CMMS_OWNED) of an asset that
    has synced keep their value unless `sheet_wins`. Every stored value changed is recorded as a
    `register` change. Raises ImportFileError (nothing written) for a bad file or row, or a
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
        counts = upsert_register(
            conn,
            rows,
            VALUE_FIELDS,
            datetime.now(UTC),
            cmms_owned=CMMS_OWNED,
            sheet_wins=sheet_wins,
        )
    return ImportResult(
        rows=len(register.rows),
        inserted=counts.inserted,
        updated=counts.updated,
        unchanged=counts.unchanged,
        blank=register.blank_rows,
        kept=counts.kept,
        taken=counts.taken,
        changed=counts.changed,
        sheet=register.sheet,
        header_row=register.header_row,
    )
