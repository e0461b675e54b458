"""What one cell of the register becomes: text as Excel shows it, an asset id kept as written,
or a whole number that fits its column. A cell that cannot raises CellError."""

from __future__ import annotations

import math
import re
from datetime import date, datetime, time, timedelta

from ic3sync.model import has_control_character

# Far above any serial number, far below what a database index entry can hold (PostgreSQL's
# refuses about 2,700 bytes).
MAX_ASSET_ID_LENGTH = 255

# What data_only=True gives for a formula that failed; never a real value.
_EXCEL_ERRORS = frozenset(
    {"#NULL!", "#DIV/0!", "#VALUE!", "#REF!", "#NAME?", "#NUM!", "#N/A", "#GETTING_DATA"}
)
_WHOLE_NUMBER = re.compile(r"([+-]?[0-9]+)(?:\.0*)?", re.ASCII)
# A float at or beyond 2**53 has lost digits: Excel keeps only about 15.
_EXACT_FLOAT_LIMIT = 2.0**53


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
