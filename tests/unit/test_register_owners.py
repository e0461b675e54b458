"""The README's table of who owns each register column is the one the importer's column lists
make, and those lists follow what the sync writes: the table cannot drift from the code."""

from __future__ import annotations

from pathlib import Path

from ic3sync.importer.sheet import VALUE_FIELDS
from ic3sync.importer.transaction import (
    CMMS_OWNED,
    OWNERS_BEGIN,
    OWNERS_END,
    SHEET_OWNED,
    owners_table,
)
from ic3sync.mapping import MASTER_COLUMNS_SENT

README = Path(__file__).resolve().parents[2] / "README.md"


def test_the_readme_holds_the_owners_table_the_code_makes():
    text = README.read_text(encoding="utf-8")
    start, end = text.index(OWNERS_BEGIN) + len(OWNERS_BEGIN), text.index(OWNERS_END)
    assert text[start:end].strip() == owners_table(), (
        "README.md's table of column owners is stale: paste importer.transaction.owners_table()"
    )


def test_innomaint_owns_the_columns_its_answers_set_and_the_sheet_the_others():
    assert set(CMMS_OWNED) | set(SHEET_OWNED) == set(VALUE_FIELDS)
    assert {"customer_id", "customer_name", "location_name", "criticality"} == set(CMMS_OWNED)
    assert {"report_seq_no", "asset_name"} == set(SHEET_OWNED)
    assert not set(SHEET_OWNED) & MASTER_COLUMNS_SENT
