"""Make the database itself refuse one write: a trigger that raises for the rows a condition
picks, on SQLite (RAISE(ABORT)) and PostgreSQL (a trigger function raising an exception).
Failures that are otherwise hard to cause (a constraint the code cannot violate, a write half-way
through a transaction) become a line of test set-up."""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa


def refuse(
    engine: sa.Engine,
    table: str,
    when: str,
    message: str,
    *,
    events: Sequence[str] = ("INSERT", "UPDATE"),
    name: str = "refuse_write",
) -> None:
    """From now on, an INSERT or UPDATE (`events`) of a row of `table` for which the SQL
    condition `when` holds (columns as NEW.column) fails with `message`."""
    assert "'" not in message
    with engine.begin() as conn:
        if engine.dialect.name == "sqlite":
            for event in events:
                conn.execute(
                    sa.text(
                        f"CREATE TRIGGER {name}_{event.lower()} BEFORE {event} ON {table} "
                        f"FOR EACH ROW WHEN {when} "
                        f"BEGIN SELECT RAISE(ABORT, '{message}'); END"
                    )
                )
            return
        conn.execute(
            sa.text(
                f"CREATE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
                f"IF {when} THEN RAISE EXCEPTION '{message}'; END IF; RETURN NEW; END $$"
            )
        )
        conn.execute(
            sa.text(
                f"CREATE TRIGGER {name} BEFORE {' OR '.join(events)} ON {table} "
                f"FOR EACH ROW EXECUTE FUNCTION {name}()"
            )
        )


def quoted(value: str) -> str:
    """A string literal for a trigger's condition."""
    return "'" + value.replace("'", "''") + "'"
