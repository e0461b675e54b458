"""Prometheus metrics of the sync runs a process executes, fed as an observer of each run."""

from __future__ import annotations

from prometheus_client import CONTENT_TYPE_LATEST as CONTENT_TYPE
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

from ic3sync.errors import VendorTransient
from ic3sync.model import AssetOutcome, RunObserver, SyncResult

__all__ = ["CONTENT_TYPE", "SyncMetrics", "failure_reason"]

# Request latencies of a CMMS API: tens of milliseconds to the 15 s timeout.
REQUEST_BUCKETS = (0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 15.0, 30.0, 60.0)
# A run is one asset to the whole register at a few assets a second: seconds to hours.
RUN_BUCKETS = (1, 5, 15, 60, 300, 900, 1800, 3600, 7200, 14400, 28800)


def failure_reason(outcome: AssetOutcome) -> str:
    """The label of why an asset failed: its kind, a closed set (labels must not be free text)."""
    return outcome.error_kind or "other"


class SyncMetrics:
    """The metrics of one process, in their own registry so tests and apps do not collide."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        r = self.registry
        self.assets = Counter(
            "ic3sync_assets",
            "Assets a sync run finished, by status (success, failed) and failure kind",
            ["status", "reason"],
            registry=r,
        )
        self.request_seconds = Histogram(
            "ic3sync_innomaint_request_seconds",
            "Duration of every HTTP request to Innomaint: each attempt, retries, timeouts and "
            "errors included",
            buckets=REQUEST_BUCKETS,
            registry=r,
        )
        self.retries = Counter(
            "ic3sync_innomaint_retries",
            "Innomaint requests retried, by kind (rate_limited, server_error, timeout, connection)",
            ["reason"],
            registry=r,
        )
        self.runs = Counter(
            "ic3sync_runs",
            "Sync runs ended in this process, by trigger and final status",
            ["trigger", "status"],
            registry=r,
        )
        self.run_seconds = Histogram(
            "ic3sync_run_duration_seconds",
            "Duration of the sync runs ended in this process",
            ["trigger"],
            buckets=RUN_BUCKETS,
            registry=r,
        )
        self.notifications = Counter(
            "ic3sync_notifications",
            "Run notifications by channel (webhook, email) and outcome (sent, retried, failed)",
            ["channel", "outcome"],
            registry=r,
        )
        self.in_progress = Gauge(
            "ic3sync_run_in_progress", "1 while this process runs a sync, else 0", registry=r
        )

    def run_started(self) -> None:
        self.in_progress.set(1)

    def run_ended(self) -> None:
        self.in_progress.set(0)

    def run_finished(self, trigger: str, result: SyncResult) -> None:
        self.runs.labels(trigger=trigger, status=result.status).inc()
        self.run_seconds.labels(trigger=trigger).observe(result.duration_ms / 1000.0)

    def notification(self, channel: str, outcome: str) -> None:
        self.notifications.labels(channel=channel, outcome=outcome).inc()

    def asset_done(self, outcome: AssetOutcome) -> None:
        reason = failure_reason(outcome) if outcome.status == "failed" else ""
        self.assets.labels(status=outcome.status, reason=reason).inc()

    def observer(self, trigger: str) -> RunObserver:
        """What a run of this trigger tells these metrics."""
        return _RunMetrics(self, trigger)

    def retried(self, serialnumber: str, exc: VendorTransient, wait_s: float) -> None:
        self.retries.labels(reason=exc.kind).inc()

    def render(self) -> bytes:
        return generate_latest(self.registry)


class _RunMetrics(RunObserver):
    def __init__(self, metrics: SyncMetrics, trigger: str) -> None:
        self.metrics = metrics
        self.trigger = trigger

    def asset_done(self, index: int, outcome: AssetOutcome) -> None:
        self.metrics.asset_done(outcome)

    def run_finished(self, result: SyncResult) -> None:
        self.metrics.run_finished(self.trigger, result)
