"""Run the Alembic migrations from code, so `ic3sync migrate` needs no alembic.ini on disk."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

MIGRATIONS = Path(__file__).with_name("migrations")


def alembic_config(connection: sa.Connection | None = None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    if connection is not None:
        cfg.attributes["connection"] = connection
    return cfg


def upgrade(engine: sa.Engine) -> tuple[str | None, str]:
    """Upgrade to head. Returns (revision before, revision after)."""
    with engine.begin() as conn:
        before = MigrationContext.configure(conn).get_current_revision()
        command.upgrade(alembic_config(conn), "head")
        after = MigrationContext.configure(conn).get_current_revision()
    return before, after or ""


def head_revision() -> str:
    return ScriptDirectory.from_config(alembic_config()).get_current_head() or ""


def current_revision(engine: sa.Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def outdated_schema(engine: sa.Engine) -> str | None:
    """None when the database is at the newest schema revision, else what to do about it.
    Raises the driver's error when the database does not answer."""
    current = current_revision(engine)
    head = head_revision()
    if current == head:
        return None
    return f"schema at revision {current or 'none'}, not {head}: run `ic3sync migrate`"
