"""Dashboard sessions on the server side: a login is a row, a logout deletes it, and a session
made with another admin token or past its time is not one."""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta

import sqlalchemy as sa

from ic3sync.db.schema import dashboard_session as table


def _hash(session_id: str) -> str:
    return hashlib.sha256(session_id.encode()).hexdigest()


def open_session(
    conn: sa.Connection, session_id: str, token_mark: str, now: datetime, lasts: timedelta
) -> None:
    """Record a login; sessions that ended by time or by a token change go at the same time."""
    conn.execute(
        sa.delete(table).where((table.c.expires_at <= now) | (table.c.token_mark != token_mark))
    )
    conn.execute(
        sa.insert(table).values(
            session_hash=_hash(session_id),
            token_mark=token_mark,
            created_at=now,
            expires_at=now + lasts,
        )
    )


def session_alive(conn: sa.Connection, session_id: str, token_mark: str, now: datetime) -> bool:
    query = sa.select(sa.literal(1)).where(
        table.c.session_hash == _hash(session_id),
        table.c.token_mark == token_mark,
        table.c.expires_at > now,
    )
    return conn.execute(query).first() is not None


def end_session(conn: sa.Connection, session_id: str) -> None:
    conn.execute(sa.delete(table).where(table.c.session_hash == _hash(session_id)))
