"""The write path's parameters in the forms the databases are sent: PostgreSQL's text forms taken
in line for the common types and by pgpipe.text for the rest, a time's text remembered only for
the very object it was made of, and SQLite's bind processors shared by every statement that binds
one type object, without one statement's value leaking into another's."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from enum import IntEnum, StrEnum

from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy.dialects import sqlite
from sqlalchemy.dialects.postgresql import psycopg as pg_psycopg

from ic3sync.db import fastpath, pgpipe
from ic3sync.db.schema import sync_log


class Kind(IntEnum):
    ONE = 1


class Word(StrEnum):
    OK = "ok"


def _expected(value: object) -> bytes | None:
    """PostgreSQL's text form of each type the write path binds, written out plainly."""
    if value is None:
        return None
    if isinstance(value, str):
        return str.__str__(value).encode()
    if isinstance(value, bool):
        return b"t" if value else b"f"
    if isinstance(value, int):
        return int.__repr__(value).encode()
    if isinstance(value, Decimal):
        return str(value).encode()
    if isinstance(value, float):
        return repr(value).encode()
    assert isinstance(value, datetime | date)
    return value.isoformat().encode()


_TIMES = st.datetimes(timezones=st.just(UTC)) | st.datetimes()
VALUES = (
    st.none()
    | st.text()
    | st.integers()
    | st.booleans()
    | st.decimals(allow_nan=False, allow_infinity=False)
    | st.floats(allow_nan=False, allow_infinity=False)
    | _TIMES
    | st.dates()
    | st.sampled_from([Kind.ONE, Word.OK])
)
COLUMNS = ("customer_id", "cmms_asset_id", "status", "error_message", "http_status", "synced_at")


@given(st.lists(st.tuples(*[VALUES] * len(COLUMNS)), min_size=1, max_size=6))
def test_postgresql_parameters_are_each_values_text_form(rows):
    statement = fastpath.insert_statement(pg_psycopg.dialect(), sync_log.name, COLUMNS)
    by_key = dict(zip(statement.pg_keys, range(len(COLUMNS)), strict=True))
    for values in rows:
        row = dict(zip(COLUMNS, values, strict=True))
        sent = statement.pg_parameters(row)
        assert sent == [_expected(row[key]) for key in statement.pg_keys]
        assert len(by_key) == len(sent)


@given(st.lists(_TIMES, min_size=1, max_size=8), st.lists(st.integers(0, 7), max_size=20))
def test_a_times_text_is_remembered_for_that_object_only(times, picks):
    # Objects equal in value or repeated in turn: each gets the text of its own value.
    order = [times[i % len(times)] for i in picks] + times
    for value in order:
        assert pgpipe.text(value) == value.isoformat().encode()
        # Equal to it but another object, and the same instant in another zone (equal too).
        twins = [value + timedelta(0)]
        if value.tzinfo is not None:
            twins.append(value.astimezone(timezone(timedelta(hours=5, minutes=30))))
        for twin in twins:
            assert pgpipe.text(twin) == twin.isoformat().encode()
            assert pgpipe.text(value) == value.isoformat().encode()


def test_sqlite_statements_that_bind_one_type_share_its_processor_and_keep_their_values():
    dialect = sqlite.dialect()
    log = fastpath.insert_statement(dialect, sync_log.name, ("cmms_asset_id", "synced_at"))
    beat = fastpath.update_statement(dialect, "cmms_sync_run", "run_id", ("heartbeat_at",))
    first = datetime(2026, 12, 1, 6, 0, 0, 1, tzinfo=UTC)
    second = datetime(2026, 12, 1, 7, 30, 0, 2, tzinfo=UTC)
    processors = {key: process for _, key, process in (*log.binds, *beat.binds) if process}
    assert processors["synced_at"] is processors["heartbeat_at"]  # one timestamp type, one memo
    logged = log.parameters({"cmms_asset_id": "A", "synced_at": first})
    beaten = beat.parameters({"heartbeat_at": second, "run_id": 1})
    again = log.parameters({"cmms_asset_id": "A", "synced_at": first})
    assert logged == again
    assert any("06:00:00.000001" in str(v) for v in _values(logged))
    assert any("07:30:00.000002" in str(v) for v in _values(beaten))
    assert not any("06:00:00" in str(v) for v in _values(beaten))


def _values(params: object) -> list[object]:
    return list(params.values()) if isinstance(params, dict) else list(params)  # type: ignore[call-overload]
