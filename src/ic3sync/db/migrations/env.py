"""Alembic environment: the URL comes from Settings (or the caller), never from alembic.ini."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import context

from ic3sync.db.schema import metadata

config = context.config


def run_migrations_online() -> None:
    # A connection (ic3sync's own callers) or an engine (pytest-alembic) in the attributes.
    given = config.attributes.get("connection")
    if isinstance(given, sa.Connection):
        _run(given)
        return
    from ic3sync.db.migrate import migration_transaction

    engine = given
    if engine is None:
        from ic3sync.config import get_settings
        from ic3sync.db.engine import make_engine

        engine = make_engine(get_settings().database_url)
    try:
        with migration_transaction(engine) as connection:
            _run(connection)
    finally:
        if given is None:
            engine.dispose()


def _run(connection) -> None:  # type: ignore[no-untyped-def]
    context.configure(
        connection=connection,
        target_metadata=metadata,
        compare_type=True,
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()


run_migrations_online()
