"""Who is told, after a run: the notices IC3_NOTIFY_ON wants, sent to every channel in a
background thread with a bounded time, retried, never changing a run's outcome nor delaying
the next run."""

from __future__ import annotations

import logging
import ssl
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlsplit

import sqlalchemy as sa
from tenacity import RetryCallState, stop_after_delay

from ic3sync.config import Settings
from ic3sync.db.digest import closed_run
from ic3sync.model import RunObserver, SyncResult
from ic3sync.notify.channels import DeliveryError, Notifier, notifiers_from
from ic3sync.notify.events import EventNotice, Notice
from ic3sync.notify.notice import RunNotice, is_problem, notice_for, run_url
from ic3sync.redact import Redactor
from ic3sync.retrying import Backoff, retrying

if TYPE_CHECKING:
    from ic3sync.metrics import SyncMetrics

log = logging.getLogger("ic3sync.notify")

# Retries of one delivery after its first attempt (so at most 4 attempts).
RETRIES = 3


@dataclass(frozen=True, slots=True)
class Delivery:
    channel: str
    where: str
    ok: bool
    attempts: int
    detail: str = ""


class Notifications:
    """Sends the notices of the runs this process ends. `timeout_s` bounds one attempt;
    a delivery with its retries is bounded by `budget_s` (3 attempts' worth by default)."""

    def __init__(
        self,
        notifiers: Sequence[Notifier],
        *,
        engine: sa.Engine | None = None,
        notify_on: str = "problems",
        public_url: str | None = None,
        redact: Redactor | None = None,
        metrics: SyncMetrics | None = None,
        timeout_s: float = 10.0,
        budget_s: float | None = None,
        backoff_s: float = 1.0,
    ) -> None:
        self.notifiers = list(notifiers)
        self.engine = engine
        self.notify_on = notify_on
        self.public_url = public_url
        self.redact = redact or Redactor(())
        self.metrics = metrics
        self.timeout_s = timeout_s
        self.budget_s = budget_s if budget_s is not None else 3 * timeout_s
        self.backoff_s = backoff_s
        self._pending: list[threading.Thread] = []
        self._lock = threading.Lock()

    @classmethod
    def from_settings(
        cls,
        settings: Settings,
        engine: sa.Engine | None = None,
        *,
        metrics: SyncMetrics | None = None,
        tls: ssl.SSLContext | None = None,
        **options: Any,
    ) -> Notifications:
        return cls(
            notifiers_from(settings, tls=tls),
            engine=engine,
            notify_on=settings.notify_on,
            public_url=settings.public_url,
            redact=secrets_of(settings),
            metrics=metrics,
            timeout_s=settings.notify_timeout_s,
            **options,
        )

    @property
    def configured(self) -> bool:
        return bool(self.notifiers)

    def describe(self) -> list[str]:
        return [n.describe() for n in self.notifiers]

    def wanted(self, result: SyncResult) -> bool:
        """Whether the run may be told, from its result: its notice decides for `problems`."""
        return self.configured and (self.notify_on == "always" or is_problem(result))

    def tells(self, notice: RunNotice) -> bool:
        return self.notify_on == "always" or notice.is_problem

    def observer(self, trigger: str) -> RunObserver:
        return _NotifyWhenFinished(self, trigger)

    def run_finished(self, trigger: str, result: SyncResult) -> None:
        """Send the run's notice in the background when IC3_NOTIFY_ON wants it."""
        if not self.wanted(result):
            return
        assert self.engine is not None
        notice = notice_for(self.engine, trigger, result, self.public_url)
        if self.tells(notice):
            self.send_in_background(notice)

    def runs_interrupted(self, run_ids: Iterable[int]) -> None:
        """Send the notices of runs found interrupted (their process died before it could)."""
        if not self.configured or self.engine is None:
            return
        for run_id in run_ids:
            try:
                with self.engine.connect() as conn:
                    found = closed_run(conn, run_id)
            except sa.exc.SQLAlchemyError as exc:
                log.error("run %s: no notice of its interruption (%s)", run_id, type(exc).__name__)
                continue
            if found is not None and self.wanted(found[1]):
                notice = notice_for(self.engine, *found, self.public_url)
                if self.tells(notice):
                    self.send_in_background(notice)

    def tick_skipped(self, running_run_id: int | None, reason: str) -> None:
        """A scheduled tick found a run going: the night's full run did not start. Told on
        `problems` too: the register was not brought up to date when the schedule said."""
        if not self.configured:
            return
        which = f"run {running_run_id}" if running_run_id is not None else "another run"
        self.send_in_background(
            EventNotice(
                event="schedule_skipped",
                subject=f"ic3sync scheduled run skipped: {which} was still going",
                details=[
                    f"The scheduled full run due at {datetime.now(UTC):%Y-%m-%d %H:%M} UTC "
                    f"did not start: {reason}.",
                    "It is not queued; the next scheduled time starts one as usual.",
                ],
                run_id=running_run_id,
                url=run_url(self.public_url, running_run_id) if running_run_id else None,
            )
        )

    def tick_missed(self, due: datetime, late: timedelta) -> None:
        """A scheduled tick missed while `serve` was down, too late to run at start-up."""
        if not self.configured:
            return
        minutes = int(late.total_seconds() // 60)
        self.send_in_background(
            EventNotice(
                event="schedule_missed",
                subject=f"ic3sync scheduled run missed: due at {due:%Y-%m-%d %H:%M %Z}",
                details=[
                    f"The service was down when it was due and started {minutes} minutes "
                    "later, more than IC3_SCHEDULE_GRACE_MIN: it was not run.",
                    "The next scheduled time starts one as usual; `ic3sync sync` runs one now.",
                ],
            )
        )

    def send_in_background(self, notice: Notice) -> None:
        thread = threading.Thread(
            target=self.deliver, args=(notice,), name=f"notify-{notice.about}", daemon=True
        )
        with self._lock:
            self._pending = [t for t in self._pending if t.is_alive()]
            self._pending.append(thread)
        thread.start()

    def drain(self, timeout_s: float | None = None) -> bool:
        """Wait up to `timeout_s` (default: the delivery budget) for the notices still being
        sent; False when some were still going (they are abandoned with the process)."""
        deadline = time.monotonic() + (self.budget_s + 1 if timeout_s is None else timeout_s)
        with self._lock:
            pending = list(self._pending)
        for thread in pending:
            thread.join(max(0.0, deadline - time.monotonic()))
        late = [t for t in pending if t.is_alive()]
        if late:
            log.warning("%d notification(s) still being delivered at exit: abandoned", len(late))
        return not late

    def deliver(self, notice: Notice) -> list[Delivery]:
        """Send `notice` to every channel, each retried on its own; never raises."""
        notice = notice.redacted(self.redact)
        return [self._deliver_one(n, notice) for n in self.notifiers]

    def _deliver_one(self, notifier: Notifier, notice: Notice) -> Delivery:
        started = time.monotonic()
        attempts = 0

        def attempt() -> None:
            nonlocal attempts
            attempts += 1
            left = self.budget_s - (time.monotonic() - started)
            notifier.send(notice, max(0.1, min(self.timeout_s, left)))

        def retrying_after(state: RetryCallState) -> None:
            exc = state.outcome.exception() if state.outcome else None
            log.warning(
                "%s: notification by %s failed (attempt %d), retrying: %s",
                notice.about,
                notifier.channel,
                state.attempt_number,
                self.redact(str(exc)),
            )
            self._count(notifier.channel, "retried")

        retry = retrying(
            retries=RETRIES,
            retry_on=lambda e: isinstance(e, DeliveryError) and not e.permanent,
            # A server's Retry-After is honoured up to one attempt's time: the delivery's
            # whole budget is three attempts'.
            backoff=Backoff(self.backoff_s, 8 * self.backoff_s, retry_after_cap_s=self.timeout_s),
            before_sleep=retrying_after,
            stop=stop_after_delay(self.budget_s),
        )
        try:
            retry(_guarded(attempt, notifier))
        except DeliveryError as exc:
            detail = self.redact(str(exc))
            log.error(
                "%s: notification by %s not delivered after %d attempt(s): %s",
                notice.about,
                notifier.channel,
                attempts,
                detail,
            )
            self._count(notifier.channel, "failed")
            return Delivery(notifier.channel, notifier.describe(), False, attempts, detail)
        log.info(
            "%s: notification sent: %s",
            notice.about,
            notifier.describe(),
            extra={"run_id": notice.run_id},
        )
        self._count(notifier.channel, "sent")
        return Delivery(notifier.channel, notifier.describe(), True, attempts)

    def _count(self, channel: str, outcome: str) -> None:
        if self.metrics is not None:
            self.metrics.notification(channel, outcome)


def _guarded(attempt: Callable[[], None], notifier: Notifier) -> Callable[[], None]:
    """An attempt whose unexpected errors become a permanent DeliveryError (without their
    text, which could hold anything), so a bug in a channel never escapes the thread."""

    def run() -> None:
        try:
            attempt()
        except DeliveryError:
            raise
        except Exception as exc:
            log.exception("notification by %s: unexpected error", notifier.channel)
            raise DeliveryError(
                f"{notifier.describe()}: unexpected {type(exc).__name__}", permanent=True
            ) from None

    return run


def secrets_of(settings: Settings) -> Redactor:
    smtp_password = None
    if settings.smtp_url is not None:
        with_password = urlsplit(settings.smtp_url.get_secret_value()).password
        smtp_password = unquote(with_password) if with_password else None
    # A webhook's path is its key: an error that quotes only the path must not show it.
    webhook_path = None
    if settings.notify_webhook_url is not None:
        webhook_path = urlsplit(settings.notify_webhook_url.get_secret_value()).path
    return Redactor(
        [
            settings.api_token,
            settings.admin_token,
            settings.notify_webhook_url,
            webhook_path if webhook_path and len(webhook_path) > 8 else None,
            settings.smtp_url,
            smtp_password,
        ]
    )


class _NotifyWhenFinished(RunObserver):
    def __init__(self, notifications: Notifications, trigger: str) -> None:
        self.notifications = notifications
        self.trigger = trigger

    def run_finished(self, result: SyncResult) -> None:
        # Whatever goes wrong here is logged: a notice must never change the run's outcome.
        try:
            self.notifications.run_finished(self.trigger, result)
        except Exception:
            log.exception("run %s: could not prepare its notification", result.run_id)

    def runs_interrupted(self, run_ids: list[int]) -> None:
        try:
            self.notifications.runs_interrupted(run_ids)
        except Exception:
            log.exception("runs %s: could not prepare their notifications", run_ids)
