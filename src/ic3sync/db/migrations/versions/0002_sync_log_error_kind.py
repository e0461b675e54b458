"""cmms_sync_log.error_kind: why an asset failed or was skipped, for machines

Revision ID: 0002
Revises: 0001

Rows written before this revision are given their kind once, here, from their message: the
only place a message is ever read to find a kind. The rules are frozen with the messages that
the code wrote up to this revision.
"""

from __future__ import annotations

import re

import sqlalchemy as sa
from alembic import op

# The statuses are read as the client reads them now, so old rows and new agree.
from ic3sync.errors import http_kind

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

# (pattern over the message, kind), first match wins.
_MESSAGE_KINDS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"^run cancelled"), "cancelled"),
    (re.compile(r"^run aborted"), "aborted"),
    (re.compile(r"^API answer(ed for serialnumber| has no serialnumber)"), "serial_mismatch"),
    (re.compile(r'"status": false'), "status_false"),
    (re.compile(r"^Innomaint rejected the API token"), "auth"),
    (re.compile(r"^no answer within"), "timeout"),
    (re.compile(r"^(connection error|cannot call)"), "connection"),
    (re.compile(r"answer too large"), "too_large"),
    (re.compile(r"^response is not JSON"), "not_json"),
    (
        re.compile(
            r"^(unreadable answer|response is JSON nested|response is not a JSON object"
            r"|API answered response_code|response has an unexpected shape)"
        ),
        "bad_answer",
    ),
    (re.compile(r"^database"), "database"),
)
_HTTP_STATUS = re.compile(r"^HTTP (\d{3})\b")


def kind_of(status: str, http_status: int | None, message: str | None) -> str | None:
    """The kind of an old log row; None for a success or a message no rule knows."""
    if status == "success":
        return None
    text = message or ""
    for pattern, kind in _MESSAGE_KINDS:
        if pattern.search(text):
            return kind
    if http_status is not None and http_status != 200:
        return http_kind(http_status)
    if match := _HTTP_STATUS.match(text):
        return http_kind(int(match.group(1)))
    return None


_log = sa.table(
    "cmms_sync_log",
    sa.column("status", sa.String),
    sa.column("http_status", sa.Integer),
    sa.column("error_message", sa.Text),
    sa.column("error_kind", sa.String),
)


def _same(column: sa.ColumnClause, value: object) -> sa.ColumnElement[bool]:
    return column.is_(None) if value is None else column == value


def upgrade() -> None:
    op.add_column("cmms_sync_log", sa.Column("error_kind", sa.String(32), nullable=True))
    conn = op.get_bind()
    distinct = conn.execute(
        sa.select(_log.c.status, _log.c.http_status, _log.c.error_message)
        .where(_log.c.status != "success")
        .distinct()
    ).all()
    for status, http_status, message in distinct:
        kind = kind_of(status, http_status, message)
        if kind is None:
            continue
        conn.execute(
            sa.update(_log)
            .where(
                _log.c.status == status,
                _same(_log.c.http_status, http_status),
                _same(_log.c.error_message, message),
            )
            .values(error_kind=kind)
        )


def downgrade() -> None:
    # Plain DROP COLUMN (SQLite 3.35+): a batch copy of the table would break the view on it.
    op.execute("ALTER TABLE cmms_sync_log DROP COLUMN error_kind")
