"""Whether the database answers, for /healthz."""

from __future__ import annotations

import sqlalchemy as sa


def ping(conn: sa.Connection) -> None:
    """Raises the driver's error when the database does not answer."""
    conn.execute(sa.text("SELECT 1"))
