"""The start-up check of the schema's revision agrees with Alembic.

Migration 0002 adds cmms_sync_log.error_kind and gives the rows written before it their kind,
once, from their messages; it can be undone and done again."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from ic3sync.db.engine import make_engine
from ic3sync.db.migrate import (
    _module_revisions,
    alembic_config,
    current_revision,
    head_revision,
    migrate_to,
    outdated_schema,
    upgrade,
)
from ic3sync.db.schema import sync_log
from ic3sync.errors import DatabaseError
from tests.procs import base_env, run_cli

# (status, http_status, message as written before 0002) -> the kind it is given
OLD_ROWS = [
    (("failed", 404, "HTTP 404 Not Found: asset not found"), "http_404"),
    (("failed", 200, 'API answered "status": false: No record found'), "status_false"),
    (("failed", 200, "API answered for serialnumber 'B', not 'A'"), "serial_mismatch"),
    (("failed", None, "no answer within 15 s (ReadTimeout) after 4 attempts"), "timeout"),
    (("failed", None, "connection error (ConnectError): refused after 4 attempts"), "connection"),
    (("failed", 503, "HTTP 503 Service Unavailable after 4 attempts"), "server_error"),
    (("failed", 429, "HTTP 429 Too Many Requests after 4 attempts"), "rate_limited"),
    (("failed", 401, "Innomaint rejected the API token (HTTP 401); check it"), "auth"),
    (("failed", 200, "response is not JSON"), "not_json"),
    (("failed", None, "database rejected the asset's rows: value too long"), "database"),
    (("skipped", None, "run cancelled before this asset"), "cancelled"),
    (("skipped", None, "run aborted before this asset: token"), "aborted"),
    (("success", 200, "stored as NULL: ticketcount 'abc'"), None),
    (("failed", None, "a message no rule knows"), None),
]


def _migrate(engine: sa.Engine, revision: str, *, down: bool = False) -> None:
    migrate_to(engine, revision, down=down)


def test_old_log_rows_get_their_kind_from_their_message_once(db_url):
    engine = make_engine(db_url)
    try:
        _migrate(engine, "0001")
        now = datetime.now(UTC)
        with engine.begin() as conn:
            conn.execute(
                sa.text(
                    "INSERT INTO cmms_sync_run (trigger, status, started_at) "
                    "VALUES ('cli', 'completed', :now)"
                ),
                {"now": now},
            )
            for (status, http_status, message), _ in OLD_ROWS:
                conn.execute(
                    sa.text(
                        "INSERT INTO cmms_sync_log (run_id, cmms_asset_id, status, http_status, "
                        "error_message, attempts, synced_at) VALUES (1, 'A', :s, :h, :m, 1, :now)"
                    ),
                    {"s": status, "h": http_status, "m": message, "now": now},
                )
        _migrate(engine, "head")
        with engine.connect() as conn:
            kinds = conn.execute(
                sa.select(sync_log.c.error_kind).order_by(sync_log.c.log_id)
            ).scalars()
            assert list(kinds) == [kind for _, kind in OLD_ROWS]
            # The spec's view still answers over the table.
            assert conn.execute(sa.text("SELECT COUNT(*) FROM ic3_sync_log")).scalar() == len(
                OLD_ROWS
            )
        _migrate(engine, "0001", down=True)
        with engine.connect() as conn:
            columns = {c["name"] for c in sa.inspect(conn).get_columns("cmms_sync_log")}
        assert "error_kind" not in columns
        _migrate(engine, "head")
    finally:
        engine.dispose()


def test_the_start_up_check_reads_the_same_revisions_as_alembic(db_url, tmp_path):
    """Each command's schema check reads revisions without Alembic; it must agree with it, on an
    empty database, part way and at the head."""
    assert head_revision() == ScriptDirectory.from_config(alembic_config()).get_current_head()
    engine = make_engine(db_url)
    try:
        for target in (None, "0003", "head"):
            if target:
                _migrate(engine, target)
            with engine.connect() as conn:
                alembic_says = MigrationContext.configure(conn).get_current_revision()
            assert current_revision(engine) == alembic_says
            assert (outdated_schema(engine) is None) == (alembic_says == head_revision())
    finally:
        engine.dispose()


def test_a_migration_file_is_read_in_either_form_alembic_writes(tmp_path):
    plain = tmp_path / "a.py"
    plain.write_text('"""x"""\nrevision = "0007"\ndown_revision = "0006"\nbranch_labels = None\n')
    typed = tmp_path / "b.py"
    typed.write_text('revision: str = "0001"\ndown_revision: str | None = None\n')
    assert _module_revisions(plain) == ("0007", "0006")
    assert _module_revisions(typed) == ("0001", None)
    broken = tmp_path / "c.py"
    broken.write_text("revision = make()\n")
    with pytest.raises(RuntimeError, match=r"c\.py: no plain"):
        _module_revisions(broken)


def test_migrate_says_from_which_revision_to_which_before_it_upgrades(db_url):
    engine = make_engine(db_url)
    try:
        _migrate(engine, "0005")
    finally:
        engine.dispose()
    proc = run_cli("migrate", env=base_env(db_url))
    assert proc.returncode == 0, proc.stderr
    head = head_revision()
    lines = proc.stdout.splitlines()
    assert lines[0].startswith(f"upgrading the schema from revision 0005 to {head} (")
    assert lines[1].startswith(f"schema upgraded 0005 -> {head} (")


def test_migrate_refuses_a_database_migrated_by_a_newer_version(db_url):
    engine = make_engine(db_url)
    try:
        _migrate(engine, "head")
        with engine.begin() as conn:
            conn.execute(sa.text("UPDATE alembic_version SET version_num = '0999'"))
        proc = run_cli("migrate", env=base_env(db_url))
        assert proc.returncode == 1
        assert proc.stderr.startswith(
            f"error: schema at revision 0999, which this ic3sync (newest revision "
            f"{head_revision()}) does not know: the database was migrated by a newer version"
        ), proc.stderr
        assert "Traceback" not in proc.stderr and proc.stdout == ""
        assert current_revision(engine) == "0999"
        with pytest.raises(DatabaseError, match="does not know"):
            upgrade(engine)
    finally:
        engine.dispose()
