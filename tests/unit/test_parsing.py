"""The parsers of the API's string formats: examples from real answers and properties."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

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

PARSERS = [
    parse_int,
    parse_decimal,
    parse_duration,
    parse_percent,
    parse_ddmmyyyy,
    parse_timestamp,
    parse_date,
]
RESULT_TYPES = [
    (parse_int, int),
    (parse_decimal, Decimal),
    (parse_duration, int),
    (parse_percent, Decimal),
    (parse_ddmmyyyy, datetime),
    (parse_timestamp, datetime),
    (parse_date, date),
]
MAX_BIGINT = 2**63 - 1
WRONG_TYPES: list[Any] = [{"a": 1}, [1, 2], (3,), object(), b"12"]

json_scalars = st.none() | st.booleans() | st.integers() | st.floats() | st.text()
json_values = st.recursive(
    json_scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(), inner, max_size=3),
    max_leaves=8,
)


# is_empty


@pytest.mark.parametrize("value", [None, "", " ", "\t\n ", "null", "NULL", " Null "])
def test_none_blank_and_the_word_null_are_empty(value: Any) -> None:
    assert is_empty(value)


@pytest.mark.parametrize("value", [0, 0.0, False, "0", "NA", "nullable", "x", [], {}])
def test_zero_words_and_containers_are_not_empty(value: Any) -> None:
    assert not is_empty(value)


# parse_int


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (12, 12),
        (0, 0),
        (-3, -3),
        (True, 1),
        (False, 0),
        (12.0, 12),
        (Decimal("7.00"), 7),
        ("12", 12),
        (" 12 ", 12),
        ("12.0", 12),
        ("12.", 12),
        ("+5", 5),
        ("-5", -5),
        ("007", 7),
    ],
)
def test_integers_are_read_from_numbers_and_numeric_strings(value: Any, expected: int) -> None:
    result = parse_int(value)
    assert result == expected
    assert type(result) is int


@pytest.mark.parametrize(
    "value",
    ["abc", "12.5", "1_000", "1e3", "1,000", "", " ", "nan", "inf", "١٢", "0x10", 12.5],
)
def test_non_integers_are_unparseable(value: Any) -> None:
    with pytest.raises(Unparseable, match="is not an integer"):
        parse_int(value)


@pytest.mark.parametrize("value", [float("nan"), float("inf"), Decimal("NaN"), Decimal("sNaN")])
def test_non_finite_numbers_are_not_integers(value: Any) -> None:
    with pytest.raises(Unparseable):
        parse_int(value)


def test_integers_outside_the_column_range_are_refused_before_the_database_sees_them() -> None:
    assert parse_int(MAX_BIGINT) == MAX_BIGINT
    assert parse_int(-(2**63)) == -(2**63)
    with pytest.raises(Unparseable, match="out of range for a 64-bit integer"):
        parse_int(2**63)
    with pytest.raises(Unparseable, match="out of range for a 64-bit integer"):
        parse_int("99999999999999999999")
    assert parse_int(2**31 - 1, bits=32) == 2**31 - 1
    with pytest.raises(Unparseable, match="out of range for a 32-bit integer"):
        parse_int("2147483648", bits=32)
    with pytest.raises(Unparseable, match="out of range"):
        parse_int(Decimal("1E+999999"))


def test_a_value_longer_than_64_characters_is_refused_without_parsing_it() -> None:
    with pytest.raises(Unparseable, match="is not a decimal number"):
        parse_decimal("0." + "0" * 70 + "1")
    with pytest.raises(Unparseable, match="is not an integer"):
        parse_int("1" * 5000)


def test_a_long_value_is_shortened_in_the_message() -> None:
    with pytest.raises(Unparseable) as info:
        parse_int("x" * 500)
    assert len(str(info.value)) < 80
    assert info.value.value == "x" * 500


@given(st.integers(min_value=-(2**63), max_value=MAX_BIGINT))
def test_any_bigint_survives_the_round_trip_through_its_string(n: int) -> None:
    assert parse_int(str(n)) == n
    assert parse_int(f" {n}.0 ") == n


# parse_decimal


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("0.00", Decimal("0.00")),
        ("1234.5", Decimal("1234.50")),
        (" 12 ", Decimal("12.00")),
        (".5", Decimal("0.50")),
        (7, Decimal("7.00")),
        (0.1, Decimal("0.10")),
        ("0.005", Decimal("0.01")),
        ("-0.001", Decimal("0.00")),
        ("999999999999.99", Decimal("999999999999.99")),
    ],
)
def test_decimals_are_quantized_to_cents_rounding_half_up(value: Any, expected: Decimal) -> None:
    result = parse_decimal(value)
    assert result == expected
    assert result.as_tuple().exponent == -2


def test_a_rounded_zero_is_not_negative() -> None:
    assert not parse_decimal("-0.001").is_signed()


@pytest.mark.parametrize(
    "value", ["NaN", "Infinity", "-inf", "abc", "1e3", "1,000.00", "", True, float("nan")]
)
def test_non_numbers_are_not_decimals(value: Any) -> None:
    with pytest.raises(Unparseable, match="is not a decimal number"):
        parse_decimal(value)


@pytest.mark.parametrize("value", ["1000000000000", "999999999999.995", "-1000000000000.00"])
def test_decimals_that_do_not_fit_numeric_14_2_are_refused(value: str) -> None:
    with pytest.raises(Unparseable, match=r"out of range for numeric\(14,2\)"):
        parse_decimal(value)


@given(
    st.decimals(
        min_value=Decimal("-999999999999.99"),
        max_value=Decimal("999999999999.99"),
        allow_nan=False,
        allow_infinity=False,
        places=8,
    )
)
def test_any_decimal_in_range_quantizes_to_two_places_within_half_a_cent(d: Decimal) -> None:
    result = parse_decimal(format(d, "f"))
    assert result.as_tuple().exponent == -2
    assert abs(result - d) <= Decimal("0.005")
    assert len(result.as_tuple().digits) <= 14


# parse_percent


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("100", Decimal("100")),
        ("99.5", Decimal("99.5")),
        ("99.5%", Decimal("99.5")),
        (" 99.5 % ", Decimal("99.5")),
        ("0", Decimal("0")),
        (100, Decimal("100")),
        (99.5, Decimal("99.5")),
    ],
)
def test_percentages_read_with_or_without_the_sign(value: Any, expected: Decimal) -> None:
    result = parse_percent(value)
    assert result == expected
    assert result.as_tuple().exponent == -4


@pytest.mark.parametrize("value", ["abc", "%", "99.5%%", "NaN", "", "50 percent"])
def test_non_percentages_are_unparseable_and_named_as_sent(value: str) -> None:
    with pytest.raises(Unparseable, match="is not a percentage") as info:
        parse_percent(value)
    assert repr(value)[:20] in str(info.value)


def test_a_percentage_too_large_for_numeric_9_4_is_refused() -> None:
    with pytest.raises(Unparseable, match=r"numeric\(9,4\)"):
        parse_percent("100000%")


# parse_duration


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("8526:06:43", 30694003),
        ("00:08:30", 510),
        ("17052:30:27", 17052 * 3600 + 30 * 60 + 27),
        ("00:17:00", 1020),
        ("0", 0),
        ("00", 0),
        (0, 0),
        (" 1:02:03 ", 3723),
        ("1:2:3", 3723),
        ("01:30", 5400),
        ("00:00:10.9", 10),
    ],
)
def test_durations_read_as_hours_minutes_seconds(value: Any, expected: int) -> None:
    assert parse_duration(value) == expected


@pytest.mark.parametrize(
    "value",
    [
        "00:60:00",
        "00:00:60",
        "-01:00:00",
        "1:00:00:00",
        "abc",
        "",
        "12",
        12,
        "1.5",
        True,
        "1 day 02:00:00",
        ":30",
    ],
)
def test_malformed_negative_or_ambiguous_durations_are_unparseable(value: Any) -> None:
    with pytest.raises(Unparseable, match="duration"):
        parse_duration(value)


def test_a_duration_beyond_a_bigint_of_seconds_is_refused() -> None:
    with pytest.raises(Unparseable, match="out of range"):
        parse_duration(f"{2**63 // 3600 + 1}:00:00")


@given(st.integers(min_value=0, max_value=MAX_BIGINT))
@example(30694003)
@example(0)
def test_any_seconds_formatted_as_h_mm_ss_parse_back(seconds: int) -> None:
    hours, rest = divmod(seconds, 3600)
    text = f"{hours}:{rest // 60:02d}:{rest % 60:02d}"
    assert parse_duration(text) == seconds


@given(
    st.integers(min_value=0, max_value=10**12),
    st.integers(min_value=0, max_value=59),
    st.integers(min_value=0, max_value=59),
)
def test_any_hours_value_is_accepted(hours: int, minutes: int, seconds: int) -> None:
    text = f"{hours:02d}:{minutes:02d}:{seconds:02d}"
    assert parse_duration(text) == hours * 3600 + minutes * 60 + seconds


# parse_ddmmyyyy


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("09/07/2024 16:59", datetime(2024, 7, 9, 16, 59)),
        ("09/07/2024 16:59:07", datetime(2024, 7, 9, 16, 59, 7)),
        ("9/7/2024 6:05", datetime(2024, 7, 9, 6, 5)),
        ("09-07-2024 16:59", datetime(2024, 7, 9, 16, 59)),
        ("09/07/2024", datetime(2024, 7, 9)),
        (" 31/12/2023 23:59 ", datetime(2023, 12, 31, 23, 59)),
    ],
)
def test_day_first_date_times_read_as_naive_datetimes(value: str, expected: datetime) -> None:
    result = parse_ddmmyyyy(value)
    assert result == expected
    assert result.tzinfo is None


@pytest.mark.parametrize(
    "value",
    [
        "32/07/2024 16:59",
        "09/13/2024 16:59",
        "09/07/2024 24:00",
        "2024-07-09 16:59",
        "abc",
        20240709,
    ],
)
def test_impossible_or_other_date_times_are_not_day_first(value: Any) -> None:
    with pytest.raises(Unparseable, match="DD/MM/YYYY"):
        parse_ddmmyyyy(value)


@given(st.datetimes(min_value=datetime(1000, 1, 1), max_value=datetime(9999, 12, 31)))
def test_any_day_first_date_time_round_trips_to_the_second(dt: datetime) -> None:
    dt = dt.replace(microsecond=0)
    assert parse_ddmmyyyy(dt.strftime("%d/%m/%Y %H:%M:%S")) == dt


# parse_timestamp


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2026-03-19 04:21:46+00", datetime(2026, 3, 19, 4, 21, 46, tzinfo=UTC)),
        ("2026-03-19T04:21:46Z", datetime(2026, 3, 19, 4, 21, 46, tzinfo=UTC)),
        ("2026-03-19 09:51:46+05:30", datetime(2026, 3, 19, 4, 21, 46, tzinfo=UTC)),
        ("2026-03-19 04:21:46.5+00", datetime(2026, 3, 19, 4, 21, 46, 500000, tzinfo=UTC)),
        ("2026-03-19 04:21:46", datetime(2026, 3, 19, 4, 21, 46, tzinfo=UTC)),
    ],
)
def test_timestamps_are_instants_in_utc_and_naive_ones_default_to_utc(
    value: str, expected: datetime
) -> None:
    result = parse_timestamp(value)
    assert result == expected
    # UTC itself, not only the same instant: SQLite stores the wall clock and drops the offset.
    assert result.utcoffset() == timedelta(0)


def test_a_zone_less_timestamp_is_read_in_the_zone_given() -> None:
    kolkata = ZoneInfo("Asia/Kolkata")
    result = parse_timestamp("2026-03-19 09:51:46", naive_zone=kolkata)
    assert result == datetime(2026, 3, 19, 4, 21, 46, tzinfo=UTC)
    assert parse_timestamp("2026-03-19 09:51:46Z", naive_zone=kolkata).hour == 9


@pytest.mark.parametrize(("value", "expected"), [("0", 0), (7, 7), ("12.0", 12)])
def test_counts_are_zero_or_more(value: Any, expected: int) -> None:
    assert parse_count(value) == expected


@pytest.mark.parametrize("value", ["-1", -3, "-0.0x"])
def test_a_negative_count_is_unparseable(value: Any) -> None:
    with pytest.raises(Unparseable):
        parse_count(value)


@pytest.mark.parametrize("value", ["100.01", "104%", -0.5, "-3"])
def test_a_percentage_outside_0_to_100_is_unparseable(value: Any) -> None:
    with pytest.raises(Unparseable, match="outside 0-100"):
        parse_percent(value)


@pytest.mark.parametrize("value", ["-01:00:00", "-0:30", -60])
def test_a_negative_duration_is_unparseable(value: Any) -> None:
    with pytest.raises(Unparseable):
        parse_duration(value)


def test_the_same_instant_in_another_zone_is_equal() -> None:
    assert parse_timestamp("2026-03-19 09:51:46+05:30") == parse_timestamp("2026-03-19 04:21:46Z")


@pytest.mark.parametrize(
    "value", ["19/03/2026 04:21", "2026-13-19 04:21:46", "yesterday", 1700000000]
)
def test_non_iso_timestamps_are_unparseable(value: Any) -> None:
    with pytest.raises(Unparseable, match="is not a timestamp"):
        parse_timestamp(value)


# parse_date


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2020-05-01", date(2020, 5, 1)),
        ("01/05/2020", date(2020, 5, 1)),
        ("01-05-2020", date(2020, 5, 1)),
        ("01/05/2020 10:00", date(2020, 5, 1)),
        ("2020-05-01 23:30:00+00", date(2020, 5, 1)),
        ("2020-05-01T23:30:00-05:00", date(2020, 5, 1)),
    ],
)
def test_dates_read_iso_day_first_or_from_a_timestamp(value: str, expected: date) -> None:
    assert parse_date(value) == expected


@pytest.mark.parametrize("value", ["0000-00-00", "2020-02-30", "31/02/2020", "soon", 2020])
def test_impossible_dates_are_unparseable(value: Any) -> None:
    with pytest.raises(Unparseable, match="is not a date"):
        parse_date(value)


# All parsers


@pytest.mark.parametrize("parser", PARSERS)
@pytest.mark.parametrize("value", WRONG_TYPES)
def test_containers_and_other_types_are_unparseable_not_a_crash(parser: Any, value: Any) -> None:
    with pytest.raises(Unparseable):
        parser(value)


@pytest.mark.parametrize("parser", PARSERS)
@given(value=json_values)
def test_garbage_raises_nothing_but_unparseable(parser: Any, value: Any) -> None:
    try:
        parser(value)
    except Unparseable as exc:
        assert isinstance(exc, ValueError)
        assert len(str(exc)) < 200


@pytest.mark.parametrize(("parser", "result_type"), RESULT_TYPES)
@given(text=st.text(max_size=80))
def test_any_string_gives_the_parser_type_or_unparseable(
    parser: Any, result_type: type, text: str
) -> None:
    try:
        result = parser(text)
    except Unparseable:
        return
    assert isinstance(result, result_type)
