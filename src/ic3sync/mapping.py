"""Pure mapping of one Innomaint answer to the rows ic3sync writes: no I/O, no database.
Empty API values are left out (the stored value stays); unparseable ones become None and are named.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from datetime import tzinfo
from typing import Any, Final, NamedTuple
from zoneinfo import ZoneInfo

from ic3sync.errors import SerialMismatch
from ic3sync.innomaint.models import AssetResponse
from ic3sync.model import (
    ASSET_INT_COLUMNS,
    ASSET_TEXT_COLUMNS,
    DURATION_COLUMNS,
    PERFORMANCE_TEXT_COLUMNS,
    WORKORDER_COST_COLUMNS,
    WORKORDER_COUNT_COLUMNS,
    WORKORDER_PERIODS,
    AssetRows,
)
from ic3sync.parsing import (
    Unparseable,
    is_empty,
    parse_count,
    parse_date,
    parse_ddmmyyyy,
    parse_decimal,
    parse_duration,
    parse_int,
    parse_percent,
    parse_timestamp,
)

__all__ = ["DEFAULT_VENDOR_ZONE", "MASTER_COLUMNS_SENT", "AssetRows", "rows_from_response"]

# INNOMAINT_TIMEZONE's default: the vendor writes its zone-less times in India Standard Time.
DEFAULT_VENDOR_ZONE: Final = ZoneInfo("Asia/Kolkata")


class _Absent:
    """Marks a value that counts as not sent (an id of 0), so the stored value stays."""


_ABSENT: Final = _Absent()

Converter = Callable[[Any], Any]


def _text(v: Any) -> str:
    if isinstance(v, str):
        return v.strip()
    # Codes such as a barcode may arrive as JSON numbers; bools and containers are not text.
    if isinstance(v, int) and not isinstance(v, bool):
        return str(v)
    if isinstance(v, float) and math.isfinite(v):
        return repr(v)
    raise Unparseable(v, "is not text")


def _id(v: Any) -> int | _Absent:
    # The vendor writes "no such thing" as 0 (the spec's nullInt); 0 is never a real id or year.
    n = parse_int(v)
    return _ABSENT if n == 0 else n


def _zero_is_empty(column: str) -> bool:
    return column.endswith("_id") or column == "year_of_manufacturing"


# The register's own counters (bigint columns): never negative.
_MASTER_COUNTS: Final = frozenset({"ticketcount", "schedulecount"})


def _count64(v: Any) -> int:
    return parse_count(v, bits=64)


def _master_int(column: str) -> Converter:
    if _zero_is_empty(column):
        return _id
    if column in _MASTER_COUNTS:
        return _count64
    return parse_int


class _Field(NamedTuple):
    """An API field and the column it sets: the column is the field of its name. Built once,
    with the name of its problems, as rows_from_response() runs for every asset of a run."""

    column: str
    where: str  # names a value that does not parse
    convert: Converter
    # The performance texts: the column their parsed value sets and its converter.
    companion: tuple[str, Converter] | None = None


def _fields(section: str, columns: Iterable[tuple[str, Converter]]) -> tuple[_Field, ...]:
    return tuple(_Field(column, f"{section}.{column}", convert) for column, convert in columns)


_MASTER_FIELDS: Final = _fields(
    "data",
    (
        *((c, _text) for c in ASSET_TEXT_COLUMNS),
        *((c, _master_int(c)) for c in ASSET_INT_COLUMNS if c != "traceability_id"),
        ("customer_id", _id),
        ("customer_name", _text),
        ("location_id", _id),
        ("location_name", _text),
        ("installation_date", parse_date),
    ),
)
_UPDATED_ON: Final = "traceability_updated_on"
# Every ic3_asset_master column an answer may set: once an asset has synced, Innomaint owns
# these, and an import leaves them as the sync stored them (contract rule 4).
MASTER_COLUMNS_SENT: Final = frozenset(
    {"traceability_id", _UPDATED_ON, *(field.column for field in _MASTER_FIELDS)}
)

# Reference rows in the order building, floor, department: (key column, other columns).
_DIMENSIONS: Final = (
    ("building_id", ("customer_id", "building_name")),
    ("floor_id", ("floor_name", "location_id", "asset_floor_id")),
    ("department_id", ("department_name", "floor_id", "location_id", "asset_department_id")),
)
# Names that only reference rows carry; they are not ic3_asset_master columns.
_DIMENSION_NAMES: Final = _fields(
    "data", ((name, _text) for name in ("building_name", "floor_name", "department_name"))
)

# A performance value as sent -> the column of its parsed companion, and the parser.
COMPANIONS: Final[dict[str, tuple[str, Converter]]] = {
    **{text: (seconds, parse_duration) for text, seconds in DURATION_COLUMNS.items()},
    "availability": ("availability_pct", parse_percent),
    "asset_created_date": ("asset_created_at", parse_ddmmyyyy),
}


def _with_companion(field: _Field) -> _Field:
    if field.column not in COMPANIONS:
        return field
    column, convert = COMPANIONS[field.column]
    return field._replace(companion=(column, convert))


_PERFORMANCE_FIELDS: Final = tuple(
    _with_companion(field)
    for field in _fields(
        "performance",
        (
            *((c, _text) for c in PERFORMANCE_TEXT_COLUMNS if c != "serialnumber"),
            ("total_ticket", parse_count),
        ),
    )
)

_WORKORDER_FIELDS: Final = {
    period_type: _fields(
        f"workorder_transactional.{period_type}",
        (
            *((c, parse_count) for c in WORKORDER_COUNT_COLUMNS),
            *((c, parse_decimal) for c in WORKORDER_COST_COLUMNS),
        ),
    )
    for period_type in WORKORDER_PERIODS
}


def _serial_key(v: Any) -> str | None:
    if isinstance(v, str):
        return v.strip().casefold() or None
    if isinstance(v, int) and not isinstance(v, bool):
        return str(v)
    return None


# How much of each serialnumber a mismatch shows: a vendor's 4 MiB one must not become a 4 MiB
# reason in every log row, notice and page that quotes it.
SERIAL_SHOWN = 100


def _shown_serial(v: Any) -> str:
    if isinstance(v, str) and len(v) > SERIAL_SHOWN:
        return f"{v[:SERIAL_SHOWN]!r}... ({len(v):,} characters)"
    text = repr(v)
    return text if len(text) <= SERIAL_SHOWN else text[:SERIAL_SHOWN] + "..."


def _check_serial(requested_id: str, answered: Any) -> None:
    got = _serial_key(answered)
    asked = _shown_serial(requested_id)
    if got is None:
        raise SerialMismatch(f"API answer has no serialnumber (asked for {asked})")
    if got != requested_id.strip().casefold():
        raise SerialMismatch(
            f"API answered for serialnumber {_shown_serial(answered)}, not {asked}"
        )


def _convert_into(
    out: dict[str, Any], fields: tuple[_Field, ...], sent: Mapping[str, Any], problems: list[str]
) -> None:
    """Set out[column] for each field that was sent (is_empty says which were not); a value that
    does not parse sets None and is named in `problems`. A performance text also sets its
    companion to what the text parses to, or None."""
    for column, where, convert, companion in fields:
        raw = sent.get(column)
        if raw is None or (isinstance(raw, str) and is_empty(raw)):
            continue
        try:
            value = convert(raw)
        except Unparseable as exc:
            out[column] = None
            if companion is not None:
                out[companion[0]] = None
            problems.append(f"{where}: {exc}")
            continue
        if value is _ABSENT:
            continue
        out[column] = value
        if companion is not None:
            try:
                out[companion[0]] = companion[1](value)
            except Unparseable as exc:
                out[companion[0]] = None
                problems.append(f"{where}: {exc}")


def _traceability_id(
    data: Mapping[str, Any], problems: list[str], notes: list[str]
) -> tuple[int | None, bool]:
    """The id and whether a sent value failed to parse. traceid is the vendor's traceability
    key; answers that lack it carry the same number as id. When both are sent and differ,
    traceid is kept and the difference noted: the answer may be about another record."""
    failed = False
    found: dict[str, int] = {}
    for field in ("traceid", "id"):
        raw = data.get(field)
        if is_empty(raw):
            continue
        try:
            value = _id(raw)
        except Unparseable as exc:
            problems.append(f"data.{field}: {exc}")
            failed = True
            continue
        if isinstance(value, int):
            found[field] = value
    if len(found) == 2 and found["id"] != found["traceid"]:
        notes.append(f"data.id {found['id']} differs from traceid {found['traceid']}; traceid kept")
    return found.get("traceid", found.get("id")), failed


def _dimension(
    master: Mapping[str, Any], extra: Mapping[str, Any], key: str, columns: tuple[str, ...]
) -> dict[str, Any] | None:
    key_value = master.get(key)
    if key_value is None:
        return None
    row = {key: key_value}
    # Only values that parsed: these rows are shared by many assets, so one answer's bad value
    # must not blank a field every other asset agrees on.
    for column in columns:
        value = master.get(column, extra.get(column))
        if value is not None:
            row[column] = value
    return row


def rows_from_response(
    requested_id: str, response: AssetResponse, *, vendor_zone: tzinfo = DEFAULT_VENDOR_ZONE
) -> AssetRows:
    """Map one answer to the rows to write, keyed on `requested_id`; the vendor's times that
    carry no offset are read in `vendor_zone` (INNOMAINT_TIMEZONE).

    Raises SerialMismatch when the answer is about another asset (or names none)."""
    body = response.response
    data = body.data
    _check_serial(requested_id, data.serialnumber)

    problems: list[str] = []
    notes: list[str] = list(response.notes)
    master: dict[str, Any] = {}

    sent = data.sent()
    traceability_id, failed = _traceability_id(sent, problems, notes)
    if traceability_id is not None or failed:
        master["traceability_id"] = traceability_id
    _convert_into(master, _MASTER_FIELDS, sent, problems)
    raw = sent.get(_UPDATED_ON)
    if not is_empty(raw):
        # Not among the fields: its converter depends on vendor_zone, and its text is seldom
        # the same twice.
        try:
            master[_UPDATED_ON] = parse_timestamp(raw, vendor_zone)
        except Unparseable as exc:
            master[_UPDATED_ON] = None
            problems.append(f"data.{_UPDATED_ON}: {exc}")

    names: dict[str, Any] = {}
    _convert_into(names, _DIMENSION_NAMES, sent, problems)
    building, floor, department = (
        _dimension(master, names, key, columns) for key, columns in _DIMENSIONS
    )

    performance: dict[str, Any] = {}
    if body.performance is not None:
        performance["serialnumber"] = requested_id
        _convert_into(performance, _PERFORMANCE_FIELDS, body.performance.sent(), problems)

    workorders: list[dict[str, Any]] = []
    if body.workorder_transactional is not None:
        for period_type, fields in _WORKORDER_FIELDS.items():
            period = getattr(body.workorder_transactional, period_type)
            if period is None:
                continue
            row: dict[str, Any] = {"period_type": period_type}
            _convert_into(row, fields, period.sent(), problems)
            workorders.append(row)

    return AssetRows(
        cmms_asset_id=requested_id,
        traceability_id=traceability_id,
        master=master,
        building=building,
        floor=floor,
        department=department,
        performance=performance,
        workorders=tuple(workorders),
        problems=tuple(problems),
        notes=tuple(notes),
    )
