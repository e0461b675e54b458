"""The fast mapping matches the straightforward one for any answer: hypothesis draws answers of
valid and hostile values, and rows_from_response must give exactly what the reference below
gives (the same values of the same types in the same order, the same problems and notes, or the
same error). The parsers the fast path changed are held to their references too.

The reference is the mapping and parsers as they were before their CPU per answer was cut,
kept as written; they read the same unchanged pieces (regular expressions, date parsers) from
ic3sync.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import fields
from datetime import UTC, timedelta, timezone, tzinfo
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from functools import partial
from typing import Any, Final
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from ic3sync import mapping, parsing
from ic3sync.db.schema import (
    ASSET_INT_COLUMNS,
    ASSET_TEXT_COLUMNS,
    DURATION_COLUMNS,
    PERFORMANCE_TEXT_COLUMNS,
    WORKORDER_COST_COLUMNS,
    WORKORDER_COUNT_COLUMNS,
    WORKORDER_PERIODS,
)
from ic3sync.errors import SerialMismatch
from ic3sync.innomaint.models import AssetResponse, parse_response
from ic3sync.innomaint.simulator import asset_payload
from ic3sync.innomaint.simulator.payloads import DATA_FAULTS
from ic3sync.mapping import DEFAULT_VENDOR_ZONE, AssetRows
from ic3sync.parsing import (
    _DECIMAL_RE,
    _DURATION_RE,
    _INT_RE,
    _ZERO_RE,
    Unparseable,
    _clean,
    is_empty,
    parse_date,
    parse_ddmmyyyy,
    parse_timestamp,
)

# The reference: parsers


def parse_int(v: Any, *, bits: int = 64) -> int:
    """An integer from an int, a bool, an integral float or a string such as " 12 " or "12.0".
    Strings are plain ASCII digits: no thousands separators, exponents or "1_000". Values outside
    the signed range of `bits` are refused so the database never rejects them."""
    n: int
    if isinstance(v, bool):
        n = int(v)
    elif isinstance(v, int):
        n = v
    elif isinstance(v, float):
        if not math.isfinite(v) or not v.is_integer():
            raise Unparseable(v, "is not an integer")
        n = int(v)
    elif isinstance(v, Decimal):
        if not v.is_finite() or v != v.to_integral_value():
            raise Unparseable(v, "is not an integer")
        if v.adjusted() > bits:  # int() of 1E+999999 would build a huge number first
            raise Unparseable(v, f"is out of range for a {bits}-bit integer")
        n = int(v)
    elif isinstance(v, str):
        s = _clean(v)
        if s is None or not _INT_RE.fullmatch(s):
            raise Unparseable(v, "is not an integer")
        n = int(s.split(".", 1)[0])
    else:
        raise Unparseable(v, "is not an integer")
    limit = 1 << (bits - 1)
    if not -limit <= n < limit:
        raise Unparseable(v, f"is out of range for a {bits}-bit integer")
    return n


def parse_count(v: Any, *, bits: int = 32) -> int:
    """A count, as parse_int; a negative count is no count (rule 10)."""
    n = parse_int(v, bits=bits)
    if n < 0:
        raise Unparseable(v, "is a negative count")
    return n


def _decimal(v: Any, places: int, max_digits: int, what: str, shown: Any = None) -> Decimal:
    shown = v if shown is None else shown
    if isinstance(v, bool):
        raise Unparseable(shown, what)
    if isinstance(v, int):
        d = Decimal(v)
    elif isinstance(v, float):
        # repr gives the shortest string that round-trips: 0.1 stays 0.1, not 0.1000000000000000055.
        d = Decimal(repr(v))
    elif isinstance(v, Decimal):
        d = v
    elif isinstance(v, str):
        s = _clean(v)
        if s is None or not _DECIMAL_RE.fullmatch(s):
            raise Unparseable(shown, what)
        d = Decimal(s)
    else:
        raise Unparseable(shown, what)
    if not d.is_finite():
        raise Unparseable(shown, what)
    out_of_range = f"is out of range for numeric({max_digits},{places})"
    if d and d.adjusted() >= max_digits - places:
        raise Unparseable(shown, out_of_range)
    try:
        # Half-up is how PostgreSQL rounds when it casts to numeric(p,s).
        q = d.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)
    except InvalidOperation:
        raise Unparseable(shown, out_of_range) from None
    if q and q.adjusted() >= max_digits - places:
        raise Unparseable(shown, out_of_range)
    # "-0.00" would be stored and shown as negative zero.
    return q if q else q.copy_abs()


def parse_decimal(v: Any, *, places: int = 2, max_digits: int = 14) -> Decimal:
    """A Decimal quantized to `places` (half up) that fits numeric(max_digits, places).
    NaN, infinities, bools, out-of-range values and strings over 64 characters are refused."""
    return _decimal(v, places, max_digits, "is not a decimal number")


def parse_percent(v: Any) -> Decimal:
    """A percentage from 0 to 100 such as "100", "99.5" or "99.5%", as numeric(9,4) holds it;
    an availability of 104 % or -3 % is no availability (rule 10)."""
    what = "is not a percentage"
    if isinstance(v, str) and v.rstrip().endswith("%"):
        pct = _decimal(v.rstrip()[:-1], 4, 9, what, shown=v)
    else:
        pct = _decimal(v, 4, 9, what)
    if not 0 <= pct <= 100:
        raise Unparseable(v, "is outside 0-100")
    return pct


def parse_duration(v: Any) -> int:
    """Seconds from "H:MM:SS" (hours unbounded: "8526:06:43"), "H:MM" (the fields are named
    "..._hrs", so two parts are hours and minutes), or zero ("0", 0). Fractional seconds are
    dropped. Minutes or seconds of 60 or more, negatives, and bare numbers other than zero
    (hours? seconds?) are refused."""
    what = "is not a duration (H:MM:SS)"
    if isinstance(v, bool):
        raise Unparseable(v, what)
    if isinstance(v, int | float):
        if v == 0:
            return 0
        raise Unparseable(v, what)
    if not isinstance(v, str):
        raise Unparseable(v, what)
    s = _clean(v)
    if s is None:
        raise Unparseable(v, what)
    m = _DURATION_RE.fullmatch(s)
    if m is None:
        if _ZERO_RE.fullmatch(s):
            return 0
        raise Unparseable(v, what)
    hours, minutes, seconds = int(m[1]), int(m[2]), int(m[3] or 0)
    if minutes >= 60 or seconds >= 60:
        raise Unparseable(v, what)
    total = hours * 3600 + minutes * 60 + seconds
    if total >= 1 << 63:
        raise Unparseable(v, "is out of range for a duration")
    return total


# The reference: the accessor and the mapping


def _reference_value(section: Any, name: str) -> Any:
    extra = section.__pydantic_extra__ or {}
    if name in extra:
        return extra[name]
    return getattr(section, name, None)


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


def _master_int(column: str) -> Converter:
    if _zero_is_empty(column):
        return _id
    if column in _MASTER_COUNTS:
        return partial(parse_count, bits=64)
    return parse_int


# (column, API field, converter), built once: rows_from_response() runs for every asset of a run.
_MASTER_FIELDS: Final[tuple[tuple[str, str, Converter], ...]] = (
    *((c, c, _text) for c in ASSET_TEXT_COLUMNS),
    *((c, c, _master_int(c)) for c in ASSET_INT_COLUMNS if c != "traceability_id"),
    ("customer_id", "customer_id", _id),
    ("customer_name", "customer_name", _text),
    ("location_id", "location_id", _id),
    ("location_name", "location_name", _text),
    ("installation_date", "installation_date", parse_date),
)

# Reference rows in the order building, floor, department: (key column, other columns).
_DIMENSIONS: Final = (
    ("building_id", ("customer_id", "building_name")),
    ("floor_id", ("floor_name", "location_id", "asset_floor_id")),
    ("department_id", ("department_name", "floor_id", "location_id", "asset_department_id")),
)
# Names that only reference rows carry; they are not ic3_asset_master columns.
_DIMENSION_NAMES: Final = {
    name: ("data." + name) for name in ("building_name", "floor_name", "department_name")
}

_COMPANIONS: Final[dict[str, tuple[str, Converter]]] = {
    **{text: (seconds, parse_duration) for text, seconds in DURATION_COLUMNS.items()},
    "availability": ("availability_pct", parse_percent),
    "asset_created_date": ("asset_created_at", parse_ddmmyyyy),
}
_PERFORMANCE_TEXT: Final = tuple(c for c in PERFORMANCE_TEXT_COLUMNS if c != "serialnumber")
_PERFORMANCE_FIELDS: Final = tuple((c, _COMPANIONS.get(c)) for c in _PERFORMANCE_TEXT)

_WORKORDER_FIELDS: Final[tuple[tuple[str, Converter], ...]] = (
    *((c, parse_count) for c in WORKORDER_COUNT_COLUMNS),
    *((c, parse_decimal) for c in WORKORDER_COST_COLUMNS),
)


def _serial_key(v: Any) -> str | None:
    if isinstance(v, str):
        return v.strip().casefold() or None
    if isinstance(v, int) and not isinstance(v, bool):
        return str(v)
    return None


def _check_serial(requested_id: str, answered: Any) -> None:
    got = _serial_key(answered)
    if got is None:
        raise SerialMismatch(f"API answer has no serialnumber (asked for {requested_id!r})")
    if got != requested_id.strip().casefold():
        raise SerialMismatch(f"API answered for serialnumber {answered!r}, not {requested_id!r}")


def _put(
    out: dict[str, Any],
    column: str,
    raw: Any,
    convert: Converter,
    where: str,
    problems: list[str],
) -> None:
    """Set out[column] from raw unless raw is empty; an unparseable raw sets None and is named."""
    if is_empty(raw):
        return
    try:
        value = convert(raw)
    except Unparseable as exc:
        out[column] = None
        problems.append(f"{where}: {exc}")
        return
    if value is not _ABSENT:
        out[column] = value


def _traceability_id(data: Any, problems: list[str], notes: list[str]) -> tuple[int | None, bool]:
    """The id and whether a sent value failed to parse. traceid is the vendor's traceability
    key; answers that lack it carry the same number as id. When both are sent and differ,
    traceid is kept and the difference noted: the answer may be about another record."""
    failed = False
    found: dict[str, int] = {}
    for field in ("traceid", "id"):
        raw = _reference_value(data, field)
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


def _reference_rows_from_response(
    requested_id: str, response: AssetResponse, *, vendor_zone: tzinfo = DEFAULT_VENDOR_ZONE
) -> AssetRows:
    """The straightforward form of mapping.rows_from_response that the fast one must match,
    output for output: the mapping as it was before its per-answer CPU was cut, kept as written
    (its reads of a field through _reference_value, the accessor as it was)."""
    body = response.response
    data = body.data
    _check_serial(requested_id, data.serialnumber)

    problems: list[str] = []
    notes: list[str] = []
    master: dict[str, Any] = {}

    traceability_id, failed = _traceability_id(data, problems, notes)
    if traceability_id is not None or failed:
        master["traceability_id"] = traceability_id
    for column, field, convert in _MASTER_FIELDS:
        _put(master, column, _reference_value(data, field), convert, "data." + field, problems)
    updated_on = partial(parse_timestamp, naive_zone=vendor_zone)
    field = "traceability_updated_on"
    _put(master, field, _reference_value(data, field), updated_on, "data." + field, problems)

    names: dict[str, Any] = {}
    for name, where in _DIMENSION_NAMES.items():
        _put(names, name, _reference_value(data, name), _text, where, problems)
    building, floor, department = (
        _dimension(master, names, key, columns) for key, columns in _DIMENSIONS
    )

    performance: dict[str, Any] = {}
    if body.performance is not None:
        section = body.performance
        performance["serialnumber"] = requested_id
        for column, companion in _PERFORMANCE_FIELDS:
            raw = _reference_value(section, column)
            if is_empty(raw):
                continue
            where = "performance." + column
            try:
                text = _text(raw)
            except Unparseable as exc:
                performance[column] = None
                if companion is not None:
                    performance[companion[0]] = None
                problems.append(f"{where}: {exc}")
                continue
            performance[column] = text
            if companion is not None:
                _put(performance, companion[0], text, companion[1], where, problems)
        _put(
            performance,
            "total_ticket",
            _reference_value(section, "total_ticket"),
            parse_count,
            "performance.total_ticket",
            problems,
        )

    workorders: list[dict[str, Any]] = []
    if body.workorder_transactional is not None:
        for period_type in WORKORDER_PERIODS:
            period = getattr(body.workorder_transactional, period_type)
            if period is None:
                continue
            row: dict[str, Any] = {"period_type": period_type}
            prefix = f"workorder_transactional.{period_type}."
            for column, convert in _WORKORDER_FIELDS:
                _put(
                    row,
                    column,
                    _reference_value(period, column),
                    convert,
                    prefix + column,
                    problems,
                )
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


# What "the same" means: values of the same type and repr (Decimal("0.00") == Decimal("0"), and
# one instant in two zones is ==), dicts with their keys in the same order, or the same error.


def _exact(value: Any) -> Any:
    if isinstance(value, AssetRows):
        return tuple((f.name, _exact(getattr(value, f.name))) for f in fields(value))
    if isinstance(value, dict):
        return ("dict", tuple((k, _exact(v)) for k, v in value.items()))
    if isinstance(value, tuple | list):
        return (type(value).__name__, tuple(_exact(v) for v in value))
    return (type(value).__name__, repr(value))


def _outcome(run: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    try:
        return ("returned", _exact(run(*args, **kwargs)))
    except (Unparseable, SerialMismatch) as exc:
        return ("raised", type(exc).__name__, str(exc))


# Answers: the simulator's, its data faults, with fields replaced by valid and hostile values


class _Text(str):
    """Text of a subclass of str: the fast paths test exact types and must fall back."""


class _Number(int):
    """An int of a subclass, as an IntEnum is."""


SERIAL = "DJB Asset 00042"
ZONES: Final[list[tzinfo]] = [
    DEFAULT_VENDOR_ZONE,
    UTC,
    ZoneInfo("Europe/Berlin"),
    timezone(timedelta(hours=-3, minutes=-30)),
]
# fmt: off
_SAMPLES: Final = [
    # empty, or not
    "", " ", "\t\n ", "null", "NULL", " Null ", "nullable", "NA", "n/a", "abc", "x:y", "-",
    "High", "  Low ", "Naraina UGR_Zone",
    # numbers as text, in and out of their range
    "0", "00", "0.0", "0.00", "-0.001", "+5", "-5", "007", "12", " 12 ", "12.0", "12.", "12.5",
    ".5", "0.005", "999999999999.99", "999999999999.995", "1000000000000", "2147483647",
    "2147483648", "9223372036854775807", "9223372036854775808", "-1", "100", "99.5", "99.5%",
    " 99.5 % ", "100.01", "104%", "100000%", "%", "50%%", "NaN", "Infinity", "-inf", "١٢",
    "1_000", "1e3", "1,000", "0x10",
    # durations
    "00:00:00", "00:08:30", "8526:06:43", "01:30", "1:2:3", "00:00:10.9", "00:60:00",
    "00:00:60", "-01:00:00", "1:00:00:00", ":30", "1 day 02:00:00", f"{2**63 // 3600 + 1}:00:00",
    # times and dates
    "2026-03-19 04:21:46+00", "2026-03-19T04:21:46Z", "2026-03-19 09:51:46+05:30",
    "2026-03-19 09:51:46", "2026-03-19 04:21:46.5+00", "2026-13-19 04:21:46", "yesterday",
    "2020-05-01", "01/05/2020", "01-05-2020 10:00", "0000-00-00", "2020-02-30", "31/02/2020",
    "09/07/2024 16:59", "9/7/2024 6:05", "32/07/2024 16:59", "09/07/2024 24:00",
    "2020-05-01T23:30:00-05:00",
    # long
    "x" * 100, " " * 70 + "1", "1" + " " * 70, "1" * 80,
    # numbers
    0, 1, -1, 2**31 - 1, 2**31, 2**63 - 1, 2**63, -(2**63), -(2**63) - 1, 10**30, True, False,
    0.0, -0.0, 12.0, 99.5, 0.1, 1e300, math.nan, math.inf, -math.inf,
    Decimal("7.00"), Decimal("1E+999999"), Decimal("-0"), Decimal("NaN"), Decimal("sNaN"),
]
# fmt: on
_scalars = st.one_of(
    st.none(),
    st.sampled_from(_SAMPLES),
    st.integers(),
    st.floats(),
    st.decimals(),
    st.text(max_size=12),
    st.text(alphabet=" 0123456789.:+-%/eE", max_size=12),
    st.datetimes(timezones=st.sampled_from([None, UTC])),
    st.dates(),
)
_leaves = st.one_of(
    _scalars,
    st.sampled_from([v for v in _SAMPLES if isinstance(v, str)]).map(_Text),
    st.integers(min_value=-2, max_value=2**40).map(_Number),
    st.lists(_scalars, max_size=2),
    st.dictionaries(st.text(max_size=3), _scalars, max_size=2),
)

# Every field the mapping reads, by section, and one it does not.
_INTS: Final = [c for c in ASSET_INT_COLUMNS if c != "traceability_id"]
_DATA_FIELDS: Final = [
    *("id", "traceid", *ASSET_TEXT_COLUMNS, *_INTS, "customer_id", "customer_name"),
    *("location_id", "location_name", "installation_date", "traceability_updated_on"),
    *("building_name", "floor_name", "department_name", "unknown_field"),
]
_PERFORMANCE_FIELDS_SENT: Final = [*PERFORMANCE_TEXT_COLUMNS, "total_ticket", "unknown_field"]
_PERIOD_FIELDS: Final = [*WORKORDER_COUNT_COLUMNS, *WORKORDER_COST_COLUMNS, "unknown_field"]
_BASES: Final = {"generated": asset_payload, **DATA_FAULTS}


def _vary(draw: st.DrawFn, section: dict[str, Any], names: list[str]) -> None:
    """Remove or replace some of a section's fields."""
    for name in draw(st.lists(st.sampled_from(names), max_size=len(names) // 2)):
        if draw(st.integers(0, 4)) == 0:
            section.pop(name, None)
        else:
            section[name] = draw(_leaves)


def _sometimes_gone(draw: st.DrawFn, parent: dict[str, Any], name: str) -> Any:
    """Leave parent[name] as it is, drop it, set it None or to an empty object; return it."""
    choice = draw(st.sampled_from(["keep", "keep", "keep", "drop", "null", "empty"]))
    if choice == "drop":
        parent.pop(name, None)
    elif choice != "keep":
        parent[name] = None if choice == "null" else {}
    return parent.get(name)


@st.composite
def answers(draw: st.DrawFn) -> tuple[str, dict[str, Any]]:
    """(the requested id, an answer): the simulator's answer for an asset, as generated or with
    one of its data faults, then its sections and fields varied."""
    requested = draw(st.sampled_from([SERIAL, f"  {SERIAL.lower()} ", "12345"]))
    payload = _BASES[draw(st.sampled_from(sorted(_BASES)))](SERIAL)
    body = payload["response"]
    body["data"]["serialnumber"] = draw(
        st.sampled_from([requested, requested, requested, SERIAL, None, " ", 12345, True, [1]])
    )
    _vary(draw, body["data"], _DATA_FIELDS)
    performance = _sometimes_gone(draw, body, "performance")
    if performance:
        _vary(draw, performance, _PERFORMANCE_FIELDS_SENT)
    workorders = _sometimes_gone(draw, body, "workorder_transactional")
    for period_type in WORKORDER_PERIODS if workorders else ():
        period = _sometimes_gone(draw, workorders, period_type)
        if period:
            _vary(draw, period, _PERIOD_FIELDS)
    return requested, payload


# The checks


@settings(
    max_examples=500,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(answer=answers(), zone=st.sampled_from(ZONES))
def test_the_mapping_gives_exactly_what_the_reference_gives_for_any_answer(
    answer: tuple[str, dict[str, Any]], zone: tzinfo
) -> None:
    requested, payload = answer
    response = AssetResponse.model_validate(payload)
    reference = _outcome(_reference_rows_from_response, requested, response, vendor_zone=zone)
    # Twice: the second time every value the mapping remembers is known to it.
    for _ in range(2):
        fast = _outcome(mapping.rows_from_response, requested, response, vendor_zone=zone)
        assert fast == reference


def test_the_fixture_and_the_simulators_answers_map_as_the_reference_maps_them(
    fixture_bytes: bytes,
) -> None:
    answers = [("Delhi Cantt Naraina_BP_01", parse_response(fixture_bytes))]
    for sid in (f"DJB Asset {n:05d}" for n in range(100)):
        answers += [(sid, AssetResponse.model_validate(make(sid))) for make in _BASES.values()]
    for sid, response in answers:
        fast = _outcome(mapping.rows_from_response, sid, response)
        assert fast == _outcome(_reference_rows_from_response, sid, response)


@pytest.mark.parametrize(
    ("fast", "reference"),
    [
        (parsing.parse_int, parse_int),
        (partial(parsing.parse_int, bits=32), partial(parse_int, bits=32)),
        (parsing.parse_count, parse_count),
        (partial(parsing.parse_count, bits=64), partial(parse_count, bits=64)),
        (parsing.parse_decimal, parse_decimal),
        (partial(parsing.parse_decimal, places=4), partial(parse_decimal, places=4)),
        (parsing.parse_percent, parse_percent),
        (parsing.parse_duration, parse_duration),
    ],
)
@settings(max_examples=300, deadline=None)
@given(value=_leaves)
@example(value=True)
@example(value=_Text(" 12 "))
@example(value=_Number(0))
def test_each_parser_the_fast_path_changed_matches_its_reference(
    fast: Converter, reference: Converter, value: Any
) -> None:
    assert _outcome(fast, value) == _outcome(reference, value)


def test_sent_gives_what_value_gives_for_every_field_the_mapping_reads() -> None:
    payload = asset_payload(SERIAL)
    payload["response"]["data"].pop("barcode")
    body = AssetResponse.model_validate(payload).response
    sections = [(body.data, _DATA_FIELDS), (body.performance, _PERFORMANCE_FIELDS_SENT)]
    assert body.workorder_transactional is not None
    sections += [(body.workorder_transactional.upto, _PERIOD_FIELDS)]
    for section, names in sections:
        assert section is not None
        sent = section.sent()
        for name in [*names, "serialnumber"]:
            assert sent.get(name) is section.value(name) is _reference_value(section, name)
