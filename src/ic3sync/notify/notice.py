"""What a notice of a run says (contract rules 12 and 15): its counts, its failures told apart
as new or still failing (since when), its changes and link, as plain text, HTML and JSON; and
whether IC3_NOTIFY_ON=problems tells it."""

from __future__ import annotations

import html
import logging
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from ic3sync.db.digest import FailureHistory, failure_history, single_asset_run
from ic3sync.db.read.changes import run_change_counts
from ic3sync.durations import duration
from ic3sync.model import SyncResult
from ic3sync.redact import Redactor
from ic3sync.wording import counted

log = logging.getLogger("ic3sync.notify")

# The failures a notice lists; the rest are on the run's page and in cmms_sync_log.
NOTICE_FAILURES = 20
# Statuses that are a problem whatever the counts; a run that failed assets is one too.
PROBLEM_STATUSES = frozenset({"aborted", "interrupted"})
# Where a run's changes are listed, below its page.
CHANGES_PATH = "#run-changes"


@dataclass(frozen=True, slots=True)
class Failure:
    cmms_asset_id: str
    reason: str
    kind: str
    # The asset's streak of failed attempts, this run's included: 1 is a new failure.
    runs: int = 1
    since_run: int | None = None
    since: datetime | None = None

    @property
    def new(self) -> bool:
        return self.runs <= 1

    def since_text(self) -> str:
        when = f" on {self.since.date().isoformat()}" if self.since else ""
        return f"failing since run {self.since_run}{when}, {self.runs} runs"


@dataclass(slots=True)
class RunNotice:
    run_id: int
    status: str
    trigger: str
    total: int
    success: int
    failed: int
    skipped: int
    duration_ms: int
    error: str | None = None
    failures: list[Failure] = field(default_factory=list)
    changes: dict[str, int] = field(default_factory=dict)
    run_url: str | None = None
    sample: bool = False
    # Failures of the whole run (not only those listed) by kind, new and still failing.
    new_by_kind: dict[str, int] = field(default_factory=dict)
    still_by_kind: dict[str, int] = field(default_factory=dict)
    # Failures not told before (new, or failing only since runs that told nobody); None when
    # the log could not be read, and then every failure counts.
    untold: int | None = None
    # A sync-one: an operator looking at one asset, who sees its outcome.
    single_asset: bool = False

    @property
    def about(self) -> str:
        return f"run {self.run_id}"

    @property
    def outcome(self) -> str:
        if self.status == "completed":
            return "completed with failures" if self.failed else "completed"
        return self.status

    @property
    def subject(self) -> str:
        prefix = "[sample] " if self.sample else ""
        return (
            f"{prefix}ic3sync run {self.run_id} {self.outcome}: {self.success} ok, "
            f"{self.failed} failed, {self.skipped} skipped"
        )

    @property
    def changes_url(self) -> str | None:
        return f"{self.run_url}{CHANGES_PATH}" if self.run_url and self.changes else None

    @property
    def is_problem(self) -> bool:
        """IC3_NOTIFY_ON=problems tells it: an aborted or interrupted run, or one with failures
        not told before; never a sync-one nor a run an operator cancelled."""
        if self.single_asset or self.status == "cancelled":
            return False
        untold = self.failed if self.untold is None else self.untold
        return self.status in PROBLEM_STATUSES or untold > 0

    def failures_line(self) -> str | None:
        if not self.new_by_kind and not self.still_by_kind:
            return None
        return (
            f"New failures: {_counted(self.new_by_kind)}; "
            f"still failing: {_counted(self.still_by_kind)}"
        )

    def changes_line(self) -> str | None:
        if not self.changes:
            return None
        parts = [f"{col}: {counted(n, 'asset')}" for col, n in self.changes.items()]
        return "Changed: " + ", ".join(parts)

    def lines(self) -> list[str]:
        """The plain-text body, one fact a line; the webhook's `text` is the same."""
        lines = [self.subject]
        if tally := self.failures_line():
            lines.append(tally)
        lines.append(
            f"Trigger: {self.trigger}. {counted(self.total, 'asset')} in "
            f"{duration(self.duration_ms)}."
        )
        if self.error:
            lines.append(f"Error: {self.error}")
        if changed := self.changes_line():
            lines.append(changed)
        for head, group in self._groups():
            lines.append(f"{head}:")
            for f in group:
                since = "" if f.new else f", {f.since_text()}"
                lines.append(f"- {f.cmms_asset_id}: {f.reason} [{f.kind}]{since}")
        if (more := self.failed - len(self.failures)) > 0 and self.failures:
            lines.append(f"... and {more} more")
        if self.run_url:
            lines.append(f"Run: {self.run_url}")
        return lines

    def text(self) -> str:
        return "\n".join(self.lines())

    def _groups(self) -> list[tuple[str, list[Failure]]]:
        new = [f for f in self.failures if f.new]
        still = [f for f in self.failures if not f.new]
        return [(head, g) for head, g in (("New failures", new), ("Still failing", still)) if g]

    def html(self) -> str:
        e = html.escape
        parts = [f"<h2>{e(self.subject)}</h2>"]
        if tally := self.failures_line():
            parts.append(f"<p><strong>{e(tally)}</strong></p>")
        parts.append(
            f"<p>Trigger: {e(self.trigger)}. {counted(self.total, 'asset')} in "
            f"{e(duration(self.duration_ms))}.</p>"
        )
        if self.error:
            parts.append(f"<p><strong>Error:</strong> {e(self.error)}</p>")
        if changed := self.changes_line():
            link = f' (<a href="{e(self.changes_url)}">changes</a>)' if self.changes_url else ""
            parts.append(f"<p>{e(changed)}{link}</p>")
        for head, group in self._groups():
            rows = "".join(
                f"<tr><td>{e(f.cmms_asset_id)}</td><td>{e(f.reason)}</td><td>{e(f.kind)}</td>"
                f"<td>{'new' if f.new else e(f.since_text())}</td></tr>"
                for f in group
            )
            parts.append(
                f"<h3>{head}</h3><table border=1 cellpadding=4 cellspacing=0>"
                "<tr><th>asset</th><th>reason</th><th>kind</th><th>since</th></tr>"
                f"{rows}</table>"
            )
        if self.failures and self.failed > len(self.failures):
            parts.append(f"<p>... and {self.failed - len(self.failures)} more</p>")
        if self.run_url:
            parts.append(f'<p><a href="{e(self.run_url)}">Open run {self.run_id}</a></p>')
        return "<html><body>" + "".join(parts) + "</body></html>"

    def as_json(self) -> dict[str, Any]:
        return {
            "text": self.text(),
            "run_id": self.run_id,
            "status": self.status,
            "trigger": self.trigger,
            "counts": {
                "total": self.total,
                "success": self.success,
                "failed": self.failed,
                "skipped": self.skipped,
            },
            "duration_ms": self.duration_ms,
            "error": self.error,
            "new_failures": {
                "count": sum(self.new_by_kind.values()),
                "by_kind": self.new_by_kind,
            },
            "still_failing": {
                "count": sum(self.still_by_kind.values()),
                "by_kind": self.still_by_kind,
            },
            "failures": [
                {
                    "cmms_asset_id": f.cmms_asset_id,
                    "reason": f.reason,
                    "kind": f.kind,
                    "new": f.new,
                    "failing_since_run": f.since_run,
                    "failing_since": f.since.isoformat() if f.since else None,
                    "failed_runs": f.runs,
                }
                for f in self.failures
            ],
            "changes": self.changes,
            "url": self.run_url,
            "changes_url": self.changes_url,
            "sample": self.sample,
        }

    def redacted(self, redact: Redactor) -> RunNotice:
        self.error = redact(self.error) if self.error else self.error
        self.failures = [
            Failure(redact(f.cmms_asset_id), redact(f.reason), f.kind, f.runs, f.since_run, f.since)
            for f in self.failures
        ]
        return self


def is_problem(result: SyncResult) -> bool:
    """Whether a run may be one IC3_NOTIFY_ON=problems tells, from its result alone; its
    notice (RunNotice.is_problem) decides, knowing which failures are old news."""
    if result.status == "cancelled":
        return False
    return result.status in PROBLEM_STATUSES or result.failed > 0


def _counted(by_kind: dict[str, int]) -> str:
    total = sum(by_kind.values())
    if not total:
        return "0"
    kinds = ", ".join(f"{kind} {n}" for kind, n in by_kind.items())
    return f"{total} ({kinds})"


def _failure(logged: FailureHistory) -> Failure:
    # Rows logged before the kind existed, and not classified by the migration, have none.
    kind = logged.kind or "other"
    if logged.new:
        return Failure(logged.cmms_asset_id, logged.reason, kind)
    return Failure(
        logged.cmms_asset_id, logged.reason, kind, logged.runs, logged.since_run, logged.since_at
    )


def _by_kind(failures: list[Failure]) -> dict[str, int]:
    return dict(Counter(f.kind for f in failures).most_common())


def _failures_from_result(result: SyncResult) -> list[Failure]:
    """When the log cannot be read, the result's own "<asset>: <reason>" strings."""
    failures = []
    for entry in result.errors[:NOTICE_FAILURES]:
        asset, _, reason = entry.partition(": ")
        # The result's strings carry no kind; the log that does could not be read.
        failures.append(Failure(asset, reason, "other"))
    return failures


def run_url(public_url: str | None, run_id: int) -> str | None:
    return f"{public_url.rstrip('/')}/runs/{run_id}" if public_url else None


def notice_for(
    engine: sa.Engine, trigger: str, result: SyncResult, public_url: str | None
) -> RunNotice:
    """The notice of a finished run: its result, with its failures (new ones first), their
    history and its changes read back from the database (or taken from the result when the
    database is away)."""
    notice = RunNotice(
        run_id=result.run_id,
        status=result.status,
        trigger=trigger,
        total=result.total,
        success=result.success,
        failed=result.failed,
        skipped=result.skipped,
        duration_ms=result.duration_ms,
        error=result.error,
        run_url=run_url(public_url, result.run_id),
    )
    try:
        with engine.connect() as conn:
            logged = failure_history(conn, result.run_id)
            notice.single_asset = single_asset_run(conn, result.run_id)
            notice.changes = dict(run_change_counts(conn, result.run_id))
        failures = [_failure(f) for f in logged]
        new = [f for f in failures if f.new]
        still = [f for f in failures if not f.new]
        notice.new_by_kind, notice.still_by_kind = _by_kind(new), _by_kind(still)
        notice.untold = sum(1 for f in logged if f.new or not f.told)
        notice.failures = (new + still)[:NOTICE_FAILURES]
    except sa.exc.SQLAlchemyError as exc:
        log.warning("run %s: notice without the log (%s)", result.run_id, type(exc).__name__)
        notice.failures = _failures_from_result(result)
    return notice


def sample_notice(public_url: str | None) -> RunNotice:
    """What `ic3sync notify-test` sends: a made-up run with two failures."""
    return RunNotice(
        run_id=0,
        status="completed",
        trigger="cli",
        total=3,
        success=1,
        failed=2,
        skipped=0,
        duration_ms=1234,
        failures=[
            Failure("SAMPLE-ASSET-1", "HTTP 404 from Innomaint", "http_404"),
            Failure("SAMPLE-ASSET-2", "no answer within 15 s", "timeout"),
        ],
        changes={"criticality": 1},
        # A made-up run has no page: the link goes to the run history, which exists.
        run_url=f"{public_url.rstrip('/')}/runs" if public_url else None,
        sample=True,
    )
