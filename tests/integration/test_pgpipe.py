"""The write path's libpq pipeline (db/pgpipe.py) against a real PostgreSQL: values in text form
come back as they went in, the first error of a batch is the one raised, a deallocated statement
is prepared again, and a connection killed mid-batch reads as lost to SQLAlchemy."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime
from decimal import Decimal

import psycopg
import pytest
import sqlalchemy as sa

from ic3sync.db import pgpipe
from tests.conftest import create_pg_database, drop_pg_database


@pytest.fixture
def pg() -> Iterator[psycopg.Connection]:
    url = create_pg_database()
    conn = psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://"), autocommit=True)
    conn.execute(
        "CREATE TABLE t (id int PRIMARY KEY, s text, n numeric(14,2), f double precision,"
        " b boolean, ts timestamptz, d date)"
    )
    try:
        yield conn
    finally:
        conn.close()
        drop_pg_database(url)


INSERT = b"INSERT INTO t (id, s, n, f, b, ts, d) VALUES ($1, $2, $3, $4, $5, $6, $7)"


def _row(i: int) -> list[object]:
    return [
        i,
        "Zürich 'quoted' \\ back",
        Decimal("1250.50"),
        0.1,
        i % 2 == 0,
        datetime(2026, 11, 30, 23, 15, 7, 123456, tzinfo=UTC),
        date(2026, 2, 28),
    ]


def test_values_in_text_form_are_stored_as_they_were(pg):
    pipe = pgpipe.Pipeline(pg)
    pipe.command(b"BEGIN")
    for i in (1, 2):
        pipe.execute(b"ins", INSERT, [pgpipe.text(v) for v in _row(i)])
    pipe.execute(b"ins", INSERT, [pgpipe.text(v) for v in [3, None, None, None, None, None, None]])
    pipe.command(b"COMMIT")
    pipe.sync()
    rows = pg.execute("SELECT id, s, n, f, b, ts, d FROM t ORDER BY id").fetchall()
    assert [list(r) for r in rows[:2]] == [_row(1), _row(2)]
    assert list(rows[2]) == [3, None, None, None, None, None, None]
    # Prepared once for the session, used three times.
    assert pg.execute("SELECT count(*) FROM pg_prepared_statements").fetchone() == (1,)


def test_the_first_error_is_raised_and_nothing_of_the_batch_is_kept(pg):
    pipe = pgpipe.Pipeline(pg)
    pipe.command(b"BEGIN")
    pipe.execute(b"ins", INSERT, [pgpipe.text(v) for v in _row(1)])
    pipe.execute(b"ins", INSERT, [pgpipe.text(v) for v in _row(1)])  # duplicate key
    pipe.command(b"SELECT 1/0")  # skipped: the batch is aborted
    pipe.command(b"COMMIT")
    with pytest.raises(psycopg.errors.UniqueViolation):
        pipe.sync()
    pg.execute("ROLLBACK")
    assert pg.execute("SELECT count(*) FROM t").fetchone() == (0,)
    # The statement was prepared before the error: the next batch uses it without preparing.
    pipe.execute(b"ins", INSERT, [pgpipe.text(v) for v in _row(5)])
    pipe.sync()
    assert pg.execute("SELECT id FROM t").fetchall() == [(5,)]


def test_a_deallocated_statement_is_prepared_again_after_one_failure(pg):
    pipe = pgpipe.Pipeline(pg)
    pipe.execute(b"ins", INSERT, [pgpipe.text(v) for v in _row(1)])
    pipe.sync()
    pg.execute("DEALLOCATE ALL")
    pipe.execute(b"ins", INSERT, [pgpipe.text(v) for v in _row(2)])
    with pytest.raises(psycopg.Error) as raised:
        pipe.sync()
    assert raised.value.sqlstate == pgpipe.UNPREPARED_SQLSTATE
    pipe.execute(b"ins", INSERT, [pgpipe.text(v) for v in _row(3)])
    pipe.sync()
    assert pg.execute("SELECT id FROM t ORDER BY id").fetchall() == [(1,), (3,)]


def test_after_a_partial_deallocation_no_statement_is_prepared_twice(pg):
    other = b"INSERT INTO t (id) VALUES ($1)"
    pipe = pgpipe.Pipeline(pg)
    pipe.execute(b"ins", INSERT, [pgpipe.text(v) for v in _row(1)])
    pipe.execute(b"one", other, [b"2"])
    pipe.sync()
    pg.execute("DEALLOCATE one_1")  # "ins" survives on the server
    pipe.execute(b"ins", INSERT, [pgpipe.text(v) for v in _row(3)])
    pipe.execute(b"one", other, [b"4"])
    with pytest.raises(psycopg.Error) as raised:
        pipe.sync()
    assert raised.value.sqlstate == pgpipe.UNPREPARED_SQLSTATE
    # Both prepared again, under new names: "ins" is not prepared a second time under its own.
    pipe.execute(b"ins", INSERT, [pgpipe.text(v) for v in _row(5)])
    pipe.execute(b"one", other, [b"6"])
    pipe.sync()
    assert pg.execute("SELECT id FROM t ORDER BY id").fetchall() == [(1,), (2,), (5,), (6,)]


def test_a_value_without_a_text_form_is_refused_before_sending():
    with pytest.raises(TypeError, match="bytes"):
        pgpipe.text(b"raw")


def test_a_connection_killed_mid_batch_is_lost_to_sqlalchemy(pg):
    pid = pg.info.backend_pid
    pipe = pgpipe.Pipeline(pg)
    pipe.command(b"BEGIN")
    pipe.execute(b"ins", INSERT, [pgpipe.text(v) for v in _row(1)])
    with psycopg.connect(pg.info.dsn, autocommit=True) as other:
        other.execute("SELECT pg_terminate_backend(%s)", (pid,))
    with pytest.raises(psycopg.OperationalError) as raised:
        pipe.command(b"COMMIT")
        pipe.sync()
    dialect = sa.create_engine("postgresql+psycopg://").dialect
    assert dialect.is_disconnect(raised.value, pg, None)
