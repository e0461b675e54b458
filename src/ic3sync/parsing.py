"""Strict parsers of the string formats the Innomaint API uses for numbers, durations and dates.
Each returns a value its database column accepts or raises Unparseable; nothing else escapes.
"""

from __future__ import annotations

import math
import re
import reprlib
from datetime import UTC, date, datetime, tzinfo
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

__all__ = [
    "Unparseable",
    "is_empty",
    "parse_count",
    "parse_date",
    "parse_ddmmyyyy",
    "parse_decimal",
    "parse_duration",
    "parse_int",
    "parse_percent",
    "parse_timestamp",
]

# Far longer than any value the API sends; refusing early keeps pathological input cheap.
_MAX_LEN = 64

_INT_RE = re.compile(r"[+-]?[0-9]+(?:\.0*)?")
_DECIMAL_RE = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)")
_DURATION_RE = re.compile(r"([0-9]+):([0-9]{1,2})(?::([0-9]{1,2})(?:\.[0-9]+)?)?")
_ZERO_RE = re.compile(r"0+(?:\.0*)?")
_DDMMYYYY_RE = re.compile(
    r"([0-9]{1,2})[/-]([0-9]{1,2})[/-]([0-9]{4})"
    r"(?:[ T]+([0-9]{1,2}):([0-9]{2})(?::([0-9]{2}))?)?"
)

_repr = reprlib.Repr()
_repr.maxstring = 40
_repr.maxother = 40
_repr.maxlevel = 2


def _show(value: Any) -> str:
    # reprlib bounds each element (and the work done on a huge value); this bounds the whole.
    text = _repr.repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


class Unparseable(ValueError):
    """A value the API sent that is not in the expected format; the message names the value."""

    def __init__(self, value: Any, what: str) -> None:
        self.value = value
        super().__init__(f"{_show(value)} {what}")


def is_empty(v: Any) -> bool:
    """True for None, "", whitespace-only strings and the string "null" (any case): a missing
    value printed as text must not overwrite a stored one, and no real name or code is "null".
    0 is not empty; callers decide where 0 means "none" (ids)."""
    if v is None:
        return True
    if isinstance(v, str):
        s = v.strip()
        return not s or (len(s) == 4 and s.lower() == "null")
    return False


def _clean(v: str) -> str | None:
    s = v.strip()
    return s if len(s) <= _MAX_LEN else None


def parse_int(v: Any, *, bits: int = 64) -> int:
    """An integer from an int, a bool, an integral float or a string such as " 12 " or "12.0".
    Strings are plain ASCII digits: no thousands separators, exponents or "1_000". Values outside
    the signed range of `bits` are refused so the database never rejects them."""
    n: int
    # The API's usual types first; a bool is an int to isinstance, not to type(). No class is
    # both a str and a number, so the order of the str test against the others changes nothing.
    if type(v) is int:
        n = v
    elif isinstance(v, str):
        s = _clean(v)
        if s is None or not _INT_RE.fullmatch(s):
            raise Unparseable(v, "is not an integer")
        n = int(s.split(".", 1)[0])
    elif isinstance(v, bool):
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


# The quantum of each scale the columns use, built once: quantize() runs for every cost.
_QUANTA = {places: Decimal(1).scaleb(-places) for places in (2, 4)}


def _out_of_range(shown: Any, places: int, max_digits: int) -> Unparseable:
    return Unparseable(shown, f"is out of range for numeric({max_digits},{places})")


def _decimal(v: Any, places: int, max_digits: int, what: str, shown: Any = None) -> Decimal:
    shown = v if shown is None else shown
    if isinstance(v, str):  # the API's usual form first; no str is also a number
        s = _clean(v)
        if s is None or not _DECIMAL_RE.fullmatch(s):
            raise Unparseable(shown, what)
        d = Decimal(s)
    elif isinstance(v, bool):
        raise Unparseable(shown, what)
    elif isinstance(v, int):
        d = Decimal(v)
    elif isinstance(v, float):
        # repr gives the shortest string that round-trips: 0.1 stays 0.1, not 0.1000000000000000055.
        d = Decimal(repr(v))
    elif isinstance(v, Decimal):
        d = v
    else:
        raise Unparseable(shown, what)
    if not d.is_finite():
        raise Unparseable(shown, what)
    if d and d.adjusted() >= max_digits - places:
        raise _out_of_range(shown, places, max_digits)
    quantum = _QUANTA.get(places) or Decimal(1).scaleb(-places)
    try:
        # Half-up is how PostgreSQL rounds when it casts to numeric(p,s).
        q = d.quantize(quantum, rounding=ROUND_HALF_UP)
    except InvalidOperation:
        raise _out_of_range(shown, places, max_digits) from None
    if q and q.adjusted() >= max_digits - places:
        raise _out_of_range(shown, places, max_digits)
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
    if not isinstance(v, str):  # the API's usual form is text: its test first
        if isinstance(v, int | float) and not isinstance(v, bool) and v == 0:
            return 0
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


def parse_ddmmyyyy(v: Any) -> datetime:
    """A naive datetime from the day-first "DD/MM/YYYY HH:MM[:SS]" the API uses. "-" may stand
    for "/", day and month may have one digit, and a date alone is midnight."""
    what = "is not a date-time (DD/MM/YYYY HH:MM)"
    if not isinstance(v, str):
        raise Unparseable(v, what)
    s = _clean(v)
    m = _DDMMYYYY_RE.fullmatch(s) if s is not None else None
    if m is None:
        raise Unparseable(v, what)
    day, month, year, hour, minute, second = m.groups()
    try:
        return datetime(
            int(year), int(month), int(day), int(hour or 0), int(minute or 0), int(second or 0)
        )
    except ValueError:
        raise Unparseable(v, what) from None


def parse_timestamp(v: Any, naive_zone: tzinfo = UTC) -> datetime:
    """The instant of an ISO 8601 time ("2026-03-19 09:51:46+05:30", "...T...Z"), in UTC; a time
    without an offset is read in `naive_zone` (the vendor's INNOMAINT_TIMEZONE). UTC because
    SQLite keeps a datetime's wall clock and drops its offset: 09:51:46+05:30 stored as is
    would read back 5 h 30 min late."""
    what = "is not a timestamp"
    if isinstance(v, datetime):
        dt = v
    elif isinstance(v, str):
        s = _clean(v)
        if s is None:
            raise Unparseable(v, what)
        try:
            dt = datetime.fromisoformat(s)
        except ValueError:
            raise Unparseable(v, what) from None
    else:
        raise Unparseable(v, what)
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=naive_zone)
    return dt.astimezone(UTC)


def parse_date(v: Any) -> date:
    """A date from "2020-05-01", day-first "01/05/2020" (a time after it is ignored), or the date
    part of a timestamp as written (not converted to another zone)."""
    what = "is not a date"
    if isinstance(v, datetime):
        return v.date()
    if isinstance(v, date):
        return v
    if not isinstance(v, str):
        raise Unparseable(v, what)
    s = _clean(v)
    if s is None:
        raise Unparseable(v, what)
    try:
        if _DDMMYYYY_RE.fullmatch(s):
            return parse_ddmmyyyy(s).date()
        if len(s) <= 10:
            return date.fromisoformat(s)
        return datetime.fromisoformat(s).date()  # the date as written, in its own zone
    except (Unparseable, ValueError):
        raise Unparseable(v, what) from None
