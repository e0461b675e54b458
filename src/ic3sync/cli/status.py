"""`ic3sync status`: one line for monitoring (Nagios, Zabbix, a cron wrapper), with the Nagios
exit codes: the database, its schema, a run going, the last full run and staleness."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated, Any

import typer

from ic3sync.cli.exits import out

if TYPE_CHECKING:
    import sqlalchemy as sa

    from ic3sync.config import Settings
    from ic3sync.db.views import RunView

OK, WARNING, CRITICAL, UNKNOWN = 0, 1, 2, 3
LEVELS = {OK: "OK", WARNING: "WARNING", CRITICAL: "CRITICAL", UNKNOWN: "UNKNOWN"}


@dataclass
class Status:
    """What `status` found; `problems` are worst first, each with its level."""

    code: int = OK
    problems: list[str] = field(default_factory=list)
    database_reachable: bool = False
    schema_revision: str | None = None
    schema_head: str | None = None
    running: dict[str, Any] | None = None
    last_full_run: dict[str, Any] | None = None
    last_full_completed_at: datetime | None = None
    hours_since_full_run: float | None = None
    stale_after_h: int | None = None
    stale: bool | None = None

    def problem(self, code: int, text: str) -> None:
        self.code = max(self.code, code)
        self.problems.append(text)

    def as_json(self) -> dict[str, Any]:
        body = asdict(self)
        del body["code"]
        if self.last_full_completed_at is not None:
            body["last_full_completed_at"] = self.last_full_completed_at.isoformat()
        return {"status": LEVELS[self.code], "exit_code": self.code, **body}


def status(
    as_json: Annotated[bool, typer.Option("--json", help="print JSON instead of one line")] = False,
) -> None:
    """One line for monitoring. Exit 0 OK, 1 WARNING (stale, or the last full run had
    failures), 2 CRITICAL (database unreachable, schema behind, last full run aborted),
    3 UNKNOWN (the settings or the check itself failed)."""
    found = Status()
    try:
        _check(found)
    except Exception as exc:
        # Whatever went wrong in the check itself, a monitor gets its line and UNKNOWN.
        from ic3sync.urls import strip_credentials

        found.problem(
            UNKNOWN, f"the check failed: {strip_credentials(str(exc) or type(exc).__name__)}"
        )
    if as_json:
        print(json.dumps(found.as_json(), ensure_ascii=False))
    else:
        out.print(_line(found), highlight=False, markup=False, soft_wrap=True)
    raise typer.Exit(found.code)


def _check(found: Status) -> None:
    from ic3sync.config import get_settings
    from ic3sync.db import migrate
    from ic3sync.db.engine import make_engine
    from ic3sync.db.errors import db_reason
    from ic3sync.errors import ConfigError

    try:
        settings = get_settings()
    except ConfigError as exc:
        found.problem(UNKNOWN, str(exc))
        return
    found.stale_after_h = settings.stale_after_h
    found.schema_head = migrate.head_revision()
    engine = make_engine(settings.database_url)
    try:
        try:
            found.schema_revision = migrate.current_revision(engine)
        except Exception as exc:
            if not _is_db_error(exc):
                raise
            found.problem(CRITICAL, f"database unreachable: {db_reason(exc)}")
            return
        found.database_reachable = True
        if (outdated := migrate.outdated_schema(engine)) is not None:
            found.problem(CRITICAL, outdated)
            return
        with engine.connect() as conn:
            _check_runs(conn, settings, found)
    finally:
        engine.dispose()


def _is_db_error(exc: Exception) -> bool:
    import sqlalchemy as sa

    return isinstance(exc, sa.exc.DBAPIError)


def _check_runs(conn: sa.Connection, settings: Settings, found: Status) -> None:
    from ic3sync.db import read

    going = read.list_runs(conn, status="running", limit=1).items
    if going:
        run = read.get_run(conn, going[0].run_id)
        found.running = {
            "run_id": run.run_id,
            "scope": run.scope,
            "done": run.done,
            "total": run.total,
            "progress_pct": run.progress_pct,
        }
    full = read.list_runs(conn, scope="full", limit=2).items
    last = next((r for r in full if r.status != "running"), None)
    if last is not None:
        found.last_full_run = _summary(last)
        if last.status == "aborted":
            found.problem(CRITICAL, f"the last full run {last.run_id} was aborted")
        elif last.failed:
            found.problem(WARNING, f"{last.failed:,} assets failed in the last full run")
        elif last.status != "completed":
            found.problem(WARNING, f"the last full run {last.run_id} was {last.status}")
    completed_at = read.last_full_completion(conn)
    found.last_full_completed_at = completed_at
    if completed_at is not None:
        found.hours_since_full_run = round(
            (datetime.now(UTC) - completed_at).total_seconds() / 3600, 1
        )
    found.stale = completed_at is None or (
        found.hours_since_full_run is not None
        and found.hours_since_full_run >= settings.stale_after_h
    )
    if found.stale:
        found.problem(
            WARNING,
            "stale: no full run has completed yet"
            if completed_at is None
            else f"stale: no full run has completed for {found.hours_since_full_run:g} h "
            f"(IC3_STALE_AFTER_H={settings.stale_after_h})",
        )


def _summary(run: RunView) -> dict[str, Any]:
    return {
        "run_id": run.run_id,
        "status": run.status,
        "trigger": run.trigger,
        "started_at": run.started_at.isoformat(),
        "finished_at": run.finished_at.isoformat() if run.finished_at else None,
        "total": run.total,
        "success": run.success,
        "failed": run.failed,
        "skipped": run.skipped,
    }


def _line(found: Status) -> str:
    """'IC3SYNC WARNING - the last full run 12 failed 3 assets; ... | perfdata', as Nagios
    plugins write it."""
    parts = list(found.problems)
    last = found.last_full_run
    if last is not None:
        ended = last["finished_at"] or last["started_at"]
        parts.append(
            f"last full run {last['run_id']} {last['status']} {ended[:16].replace('T', ' ')} "
            f"UTC: {last['success']:,} synced, {last['failed']:,} failed"
        )
    if found.running is not None:
        r = found.running
        parts.append(f"run {r['run_id']} going: {r['done']:,} of {r['total']:,}")
    if found.database_reachable:
        parts.append(f"schema {found.schema_revision or 'none'}")
    perf = []
    if last is not None:
        perf += [f"synced={last['success']}", f"failed={last['failed']}"]
    if found.hours_since_full_run is not None:
        perf.append(f"age_h={found.hours_since_full_run:g};{found.stale_after_h}")
    text = f"IC3SYNC {LEVELS[found.code]} - " + "; ".join(parts or ["nothing to report"])
    return text + (" | " + " ".join(perf) if perf else "")
