"""Run the Alembic migrations from code, so `ic3sync migrate` needs no alembic.ini on disk.

Every command checks the schema's revision before it starts; that check reads the revisions
from the migration files and the database's from its `alembic_version` table, without loading
Alembic (which, with Mako, is a fifth of a command's start-up). Only an upgrade loads it.
"""

from __future__ import annotations

import ast
import functools
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import sqlalchemy as sa

from ic3sync.errors import DatabaseError

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS = Path(__file__).with_name("migrations")
VERSION_TABLE = "alembic_version"  # Alembic's default, which env.py keeps


def alembic_config(connection: sa.Connection | None = None) -> Config:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    if connection is not None:
        cfg.attributes["connection"] = connection
    return cfg


@contextmanager
def migration_transaction(engine: sa.Engine) -> Iterator[sa.Connection]:
    """A connection in a transaction for migrations. On SQLite a CHECK changes by copying the
    table and dropping the old one, and with foreign keys enforced that drop would delete the
    rows referencing it (a run's log) on cascade: SQLite's own procedure switches enforcement
    off, which it allows only outside a transaction, and checks the keys before committing."""
    with engine.connect() as conn:
        sqlite = conn.dialect.name == "sqlite"
        if sqlite:
            _driver_pragma(conn, "foreign_keys=OFF")
        try:
            with conn.begin():
                yield conn
                if sqlite and (broken := conn.exec_driver_sql("PRAGMA foreign_key_check").first()):
                    raise RuntimeError(f"the migration broke a foreign key: {tuple(broken)}")
        finally:
            if sqlite:
                _driver_pragma(conn, "foreign_keys=ON")


def _driver_pragma(conn: sa.Connection, pragma: str) -> None:
    # Through the driver's connection: SQLAlchemy would begin a transaction first.
    cursor = conn.connection.cursor()
    try:
        cursor.execute(f"PRAGMA {pragma}")
    finally:
        cursor.close()


def migrate_to(engine: sa.Engine, target: str, *, down: bool = False) -> None:
    """Upgrade (or downgrade) to `target`."""
    from alembic import command

    with migration_transaction(engine) as conn:
        (command.downgrade if down else command.upgrade)(alembic_config(conn), target)


def upgrade_plan(engine: sa.Engine) -> tuple[str | None, str]:
    """(the database's revision, the head) an upgrade would go between. DatabaseError when
    the database was migrated by a newer version than this one: nothing here can read it."""
    current = current_revision(engine)
    _refuse_newer(current)
    return current, head_revision()


def _refuse_newer(current: str | None) -> None:
    if current is not None and current not in known_revisions():
        raise DatabaseError(newer_than_code(current))


def upgrade(engine: sa.Engine) -> tuple[str | None, str]:
    """Upgrade to head. Returns (revision before, revision after)."""
    from alembic import command

    with migration_transaction(engine) as conn:
        before = _stored_revision(conn)
        _refuse_newer(before)
        command.upgrade(alembic_config(conn), "head")
        after = _stored_revision(conn)
    return before, after or ""


def _module_revisions(path: Path) -> tuple[str, str | None]:
    """`revision` and `down_revision` of one migration file, read without running it."""
    found: dict[str, object] = {}
    for node in ast.parse(path.read_text(encoding="utf-8"), str(path)).body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1:
            target, value = node.targets[0], node.value
        elif isinstance(node, ast.AnnAssign) and node.value is not None:
            target, value = node.target, node.value
        else:
            continue
        if isinstance(target, ast.Name) and target.id in ("revision", "down_revision"):
            try:
                found[target.id] = ast.literal_eval(value)
            except ValueError:
                found[target.id] = value  # not a literal: refused below
    revision, down = found.get("revision"), found.get("down_revision")
    if not isinstance(revision, str) or not (down is None or isinstance(down, str)):
        raise RuntimeError(f"{path.name}: no plain `revision` and `down_revision` found")
    return revision, down


@functools.cache
def _revision_pairs() -> tuple[tuple[str, str | None], ...]:
    return tuple(_module_revisions(p) for p in sorted((MIGRATIONS / "versions").glob("*.py")))


def known_revisions() -> frozenset[str]:
    """Every revision these migrations know."""
    return frozenset(rev for rev, _ in _revision_pairs())


@functools.cache
def head_revision() -> str:
    """The newest revision of the migrations: the one no other names as its down_revision."""
    pairs = _revision_pairs()
    heads = {rev for rev, _ in pairs} - {down for _, down in pairs}
    if len(heads) != 1:
        raise RuntimeError(f"the migrations have {len(heads)} heads, not one: {sorted(heads)}")
    return heads.pop()


def _stored_revision(conn: sa.Connection) -> str | None:
    if not sa.inspect(conn).has_table(VERSION_TABLE):
        return None
    rows = conn.execute(sa.text(f"SELECT version_num FROM {VERSION_TABLE}")).scalars().all()
    # One row on a linear history; several (branches) can never equal the head.
    return ", ".join(sorted(rows)) or None


def current_revision(engine: sa.Engine) -> str | None:
    with engine.connect() as conn:
        return _stored_revision(conn)


def outdated_schema(engine: sa.Engine) -> str | None:
    """None when the database is at the newest schema revision, else what to do about it.
    Raises the driver's error when the database does not answer."""
    current = current_revision(engine)
    head = head_revision()
    if current == head:
        return None
    if current is not None and current not in known_revisions():
        return newer_than_code(current)
    return f"schema at revision {current or 'none'}, not {head}: run `ic3sync migrate`"


def newer_than_code(current: str) -> str:
    return (
        f"schema at revision {current}, which this ic3sync (newest revision {head_revision()}) "
        "does not know: the database was migrated by a newer version; run that version, or "
        "restore the backup taken before its upgrade"
    )
