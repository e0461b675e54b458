"""Shared fixtures: real databases. PostgreSQL at 127.0.0.1:5432 (or IC3_TEST_PG_ADMIN_URL) gets
a uniquely named database per test that is dropped afterwards; SQLite gets a file in tmp_path.
An unreachable PostgreSQL fails the suite: it never skips.

A test that wants its database migrated (it uses `migrated_db_url`, or `engine` or `register`,
which use it) gets a copy of a database the migrations ran on once in this session: a PostgreSQL
database created with that one as its TEMPLATE, or a copy of that SQLite file. Each test still
has a database of its own while it runs; the copy just skips running the same migrations again.

Creating and dropping a PostgreSQL database costs about half a second of the server's work, so a
worker keeps the migrated ones its tests are done with: after the test, every other session on
it is ended and, when its schema is still the template's (tables, columns, indexes, constraints
and revision), its tables are emptied with their sequences restarted, and the next test that
asks for a migrated database gets it. One whose schema a test changed is dropped."""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import sqlalchemy as sa
from hypothesis import settings

from ic3sync.db.engine import make_engine
from ic3sync.db.migrate import head_revision, upgrade

PG_ADMIN_URL = os.environ.get(
    "IC3_TEST_PG_ADMIN_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
# The customer's real answer for one asset, kept inside the repository.
FIXTURE = (
    Path(__file__).resolve().parent / "fixtures" / "asset_detail_Delhi_Cantt_Naraina_BP_01.json"
)

BACKENDS = ["sqlite", "postgresql"]

# Hypothesis examples are judged by what they do, never by how long one took: on a loaded
# machine a file or database write can outlast any per-example deadline. Speed is measured by
# `make bench`.
settings.register_profile("ic3sync", deadline=None)
settings.load_profile("ic3sync")

# `make thorough` sets this: the generated-input tests then draw several times the examples
# `make test` draws, which keeps the suite within its minutes.
THOROUGH = bool(os.environ.get("IC3_TEST_THOROUGH"))


def examples(quick: int, thorough: int) -> int:
    """How many examples a generated-input test draws: `thorough` under `make thorough`."""
    return thorough if THOROUGH else quick


def _admin_engine() -> sa.Engine:
    return sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")


def create_pg_database(template: str | None = None) -> str:
    """Create a uniquely named database, empty or a copy of `template`, and return its URL."""
    name = f"ic3test_{uuid.uuid4().hex[:12]}"
    copy = f' TEMPLATE "{template}"' if template else ""
    admin = _admin_engine()
    try:
        with admin.connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{name}"{copy}'))
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


# What a migrated PostgreSQL database's schema is: a database handed back is reused only while
# this reads the same on it as on the template.
_SCHEMA_FINGERPRINT = """
SELECT md5(coalesce(string_agg(x, ';' ORDER BY x), '')) FROM (
  SELECT table_name || '.' || column_name || ':' || data_type || ':'
         || coalesce(column_default, '') || ':' || is_nullable AS x
    FROM information_schema.columns WHERE table_schema = 'public'
  UNION ALL SELECT 'i:' || indexdef FROM pg_indexes WHERE schemaname = 'public'
  UNION ALL SELECT 'c:' || conname || ':' || pg_get_constraintdef(oid)
    FROM pg_constraint WHERE connamespace = 'public'::regnamespace
  UNION ALL SELECT 's:' || sequencename FROM pg_sequences WHERE schemaname = 'public'
  UNION ALL SELECT 'v:' || viewname FROM pg_views WHERE schemaname = 'public'
  UNION ALL SELECT 't:' || tgname FROM pg_trigger WHERE NOT tgisinternal
  UNION ALL SELECT 'r:' || version_num FROM alembic_version
) AS schema_items
"""


@contextmanager
def _connected(url: str) -> Iterator[sa.Connection]:
    """One autocommit connection to `url`, closed with its engine afterwards."""
    engine = sa.create_engine(url, isolation_level="AUTOCOMMIT", poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as conn:
            yield conn
    finally:
        engine.dispose()


def _ended_others(conn: sa.Connection) -> None:
    conn.execute(
        sa.text(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
    )


def _fingerprint(conn: sa.Connection) -> str:
    return str(conn.execute(sa.text(_SCHEMA_FINGERPRINT)).scalar_one())


class MigratedTemplates:
    """One database per backend, migrated to head the first time a test asks for it, and the
    PostgreSQL copies this worker's tests are done with, emptied for the next one."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.sqlite_file: Path | None = None
        self.pg_url: str | None = None
        self.pg_fingerprint = ""
        self.pg_free: list[str] = []

    @staticmethod
    def _migrate(url: str) -> None:
        engine = make_engine(url)
        try:
            assert upgrade(engine)[1] == head_revision()
        finally:
            # No connection may stay open: PostgreSQL copies a template only while nobody is
            # connected to it, and closing the last SQLite connection folds the WAL into the file.
            engine.dispose()

    def sqlite_copy(self, target: Path) -> str:
        if self.sqlite_file is None:
            path = self.folder / "migrated.db"
            self._migrate(f"sqlite:///{path}")
            self.sqlite_file = path
        shutil.copyfile(self.sqlite_file, target)
        return f"sqlite:///{target}"

    def pg_copy(self) -> str:
        if self.pg_url is None:
            url = create_pg_database()
            try:
                self._migrate(url)
            except BaseException:
                drop_pg_database(url)
                raise
            self.pg_url = url
            with _connected(url) as conn:
                self.pg_fingerprint = _fingerprint(conn)
        if self.pg_free:
            return self.pg_free.pop()
        return create_pg_database(template=sa.make_url(self.pg_url).database)

    def pg_return(self, url: str) -> None:
        """Take back a copy a test is done with: emptied for the next test when its schema is
        still the template's, else dropped."""
        if self._emptied(url):
            self.pg_free.append(url)
        else:
            drop_pg_database(url)

    def _emptied(self, url: str) -> bool:
        try:
            with _connected(url) as conn:
                # A process the test left behind may hold a lock or write later: it is cut off.
                _ended_others(conn)
                if _fingerprint(conn) != self.pg_fingerprint:
                    return False
                tables = conn.execute(
                    sa.text(
                        "SELECT quote_ident(tablename) FROM pg_tables"
                        " WHERE schemaname = 'public' AND tablename <> 'alembic_version'"
                    )
                ).scalars()
                conn.execute(sa.text("SET lock_timeout = '10s'"))
                conn.execute(sa.text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
            return True
        except sa.exc.DBAPIError:
            return False

    def close(self) -> None:
        for url in self.pg_free:
            drop_pg_database(url)
        if self.pg_url is not None:
            drop_pg_database(self.pg_url)


@pytest.fixture(scope="session")
def migrated_templates(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MigratedTemplates]:
    templates = MigratedTemplates(tmp_path_factory.mktemp("migrated-template"))
    try:
        yield templates
    finally:
        templates.close()


@pytest.fixture(params=BACKENDS)
def db_url(
    request: pytest.FixtureRequest, tmp_path: Path, migrated_templates: MigratedTemplates
) -> Iterator[str]:
    """The URL of a database of each backend of the test's own: empty, or migrated when the test
    also uses `migrated_db_url`."""
    migrated = "migrated_db_url" in request.fixturenames
    if request.param == "sqlite":
        path = tmp_path / "ic3sync.db"
        yield migrated_templates.sqlite_copy(path) if migrated else f"sqlite:///{path}"
        return
    if migrated:
        url, done = migrated_templates.pg_copy(), migrated_templates.pg_return
    else:
        url, done = create_pg_database(), drop_pg_database
    try:
        yield url
    finally:
        done(url)


@pytest.fixture
def migrated_db_url(db_url: str) -> str:
    """`db_url`, migrated to the newest schema (the same database as `db_url` in this test)."""
    return db_url


@pytest.fixture
def engine(migrated_db_url: str) -> Iterator[sa.Engine]:
    """A migrated engine on each backend."""
    eng = make_engine(migrated_db_url)
    try:
        yield eng
    finally:
        eng.dispose()


@pytest.fixture
def fixture_bytes() -> bytes:
    return FIXTURE.read_bytes()
