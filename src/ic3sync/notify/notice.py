"""What a notice of a run says (contract rule 12): its counts, first failures, changes and
link, as plain text, HTML and JSON."""

from __future__ import annotations

import html
import logging
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa

from ic3sync.db.digest import LoggedFailure, run_failures
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

    def changes_line(self) -> str | None:
        if not self.changes:
            return None
        parts = [f"{col}: {counted(n, 'asset')}" for col, n in self.changes.items()]
        return "Changed: " + ", ".join(parts)

    def lines(self) -> list[str]:
        """The plain-text body, one fact a line; the webhook's `text` is the same."""
        lines = [
            self.subject,
            f"Trigger: {self.trigger}. {counted(self.total, 'asset')} in "
            f"{duration(self.duration_ms)}.",
        ]
        if self.error:
            lines.append(f"Error: {self.error}")
        if changed := self.changes_line():
            lines.append(changed)
        if self.failures:
            more = self.failed - len(self.failures)
            head = f"First {len(self.failures)} failures" if more > 0 else "Failures"
            lines.append(f"{head}:")
            lines += [f"- {f.cmms_asset_id}: {f.reason} [{f.kind}]" for f in self.failures]
            if more > 0:
                lines.append(f"... and {more} more")
        if self.run_url:
            lines.append(f"Run: {self.run_url}")
        return lines

    def text(self) -> str:
        return "\n".join(self.lines())

    def html(self) -> str:
        e = html.escape
        rows = "".join(
            f"<tr><td>{e(f.cmms_asset_id)}</td><td>{e(f.reason)}</td><td>{e(f.kind)}</td></tr>"
            for f in self.failures
        )
        parts = [
            f"<h2>{e(self.subject)}</h2>",
            f"<p>Trigger: {e(self.trigger)}. {counted(self.total, 'asset')} in "
            f"{e(duration(self.duration_ms))}.</p>",
        ]
        if self.error:
            parts.append(f"<p><strong>Error:</strong> {e(self.error)}</p>")
        if changed := self.changes_line():
            link = f' (<a href="{e(self.changes_url)}">changes</a>)' if self.changes_url else ""
            parts.append(f"<p>{e(changed)}{link}</p>")
        if rows:
            parts.append(
                "<table border=1 cellpadding=4 cellspacing=0>"
                "<tr><th>asset</th><th>reason</th><th>kind</th></tr>"
                f"{rows}</table>"
            )
            if self.failed > len(self.failures):
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
            "failures": [
                {"cmms_asset_id": f.cmms_asset_id, "reason": f.reason, "kind": f.kind}
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
            Failure(redact(f.cmms_asset_id), redact(f.reason), f.kind) for f in self.failures
        ]
        return self


def is_problem(result: SyncResult) -> bool:
    return result.status in PROBLEM_STATUSES or result.failed > 0


def _kind(failure: LoggedFailure) -> str:
    # Rows logged before the kind existed, and not classified by the migration, have none.
    return failure.kind or "other"


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
    """The notice of a finished run: its result, with its first failures and changes read
    back from the database (or taken from the result when the database is away)."""
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
            logged = run_failures(conn, result.run_id, NOTICE_FAILURES)
            notice.changes = dict(run_change_counts(conn, result.run_id))
        notice.failures = [Failure(f.cmms_asset_id, f.reason, _kind(f)) for f in logged]
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
