"""Shared fixtures: real databases. PostgreSQL at 127.0.0.1:5432 (or IC3_TEST_PG_ADMIN_URL) gets
a uniquely named database per test that is dropped afterwards; SQLite gets a file in tmp_path.
An unreachable PostgreSQL fails the suite: it never skips."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from ic3sync.db.engine import make_engine
from ic3sync.db.migrate import upgrade

PG_ADMIN_URL = os.environ.get(
    "IC3_TEST_PG_ADMIN_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
FIXTURE = (
    Path(__file__).resolve().parent
    / "fixtures"
    / "innomaint"
    / "asset_detail_Delhi_Cantt_Naraina_BP_01.json"
)

BACKENDS = ["sqlite", "postgresql"]


def _admin_engine() -> sa.Engine:
    return sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")


def create_pg_database() -> str:
    """Create an empty, uniquely named database and return its URL."""
    name = f"ic3test_{uuid.uuid4().hex[:12]}"
    admin = _admin_engine()
    try:
        with admin.connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    except sa.exc.OperationalError as exc:
        pytest.fail(f"PostgreSQL is not reachable at {PG_ADMIN_URL}: {exc}", pytrace=False)
    finally:
        admin.dispose()
    return sa.make_url(PG_ADMIN_URL).set(database=name).render_as_string(hide_password=False)


def drop_pg_database(url: str) -> None:
    name = sa.make_url(url).database
    admin = _admin_engine()
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(params=BACKENDS)
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """The URL of an empty database of each backend (not migrated)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'ic3sync.db'}"
        return
    url = create_pg_database()
    try:
        yield url
    finally:
        drop_pg_database(url)


@pytest.fixture
def engine(db_url: str) -> Iterator[sa.Engine]:
    """A migrated engine on each backend."""
    eng = make_engine(db_url)
    upgrade(eng)
    try:
        yield eng
    finally:
        eng.dispose()


@pytest.fixture
def fixture_bytes() -> bytes:
    return FIXTURE.read_bytes()
