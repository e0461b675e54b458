"""Tell operators how a run ended (contract rule 12): a JSON webhook (Slack and Teams show its
`text`) and a mail through SMTP with STARTTLS. Delivery happens in a background thread with a
bounded time, is retried, and can neither change a run's outcome nor delay the next run."""

from __future__ import annotations

import email.policy
import html
import logging
import smtplib
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from typing import Any, Protocol
from urllib.parse import quote, unquote, urlsplit

import httpx
import sqlalchemy as sa
from pydantic import SecretStr
from tenacity import (
    RetryCallState,
    Retrying,
    retry_if_exception,
    stop_after_attempt,
    stop_after_delay,
    wait_exponential,
)

from ic3sync.config import Settings
from ic3sync.db.digest import LoggedFailure, closed_run, run_failures
from ic3sync.db.read.changes import run_change_counts
from ic3sync.durations import duration
from ic3sync.errors import ConfigError
from ic3sync.metrics import SyncMetrics
from ic3sync.model import RunObserver, SyncResult

log = logging.getLogger("ic3sync.notify")

# The failures a notice lists; the rest are on the run's page and in cmms_sync_log.
NOTICE_FAILURES = 20
# Retries of one delivery after its first attempt (so at most 4 attempts).
RETRIES = 3
# Statuses that are a problem whatever the counts; a run that failed assets is one too.
PROBLEM_STATUSES = frozenset({"aborted", "interrupted"})
# Where a run's changes are listed, below its page.
CHANGES_PATH = "#run-changes"


class DeliveryError(Exception):
    """A notification did not get through. `permanent`: trying again would not help (a 4xx
    answer, refused credentials). The message never holds a secret."""

    def __init__(self, message: str, *, permanent: bool = False) -> None:
        super().__init__(message)
        self.permanent = permanent


class Redactor:
    """Replaces every configured secret (and its URL-quoted form) in a text by `***`: the last
    line of defence for texts that come from elsewhere (a vendor's reason, a server's reply)."""

    def __init__(self, secrets: Iterable[SecretStr | str | None]) -> None:
        values: set[str] = set()
        for secret in secrets:
            raw = secret.get_secret_value() if isinstance(secret, SecretStr) else secret
            if raw and len(raw) >= 4:
                values.update({raw, unquote(raw), quote(raw, safe="")})
        # Longest first, so a URL that contains a password loses the whole URL.
        self.values = sorted(values, key=len, reverse=True)

    def __call__(self, text: str) -> str:
        for value in self.values:
            text = text.replace(value, "***")
        return text


# -- what a notice says ----------------------------------------------------------------------


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
        parts = [f"{col}: {n} asset{'s' if n != 1 else ''}" for col, n in self.changes.items()]
        return "Changed: " + ", ".join(parts)

    def lines(self) -> list[str]:
        """The plain-text body, one fact a line; the webhook's `text` is the same."""
        lines = [
            self.subject,
            f"Trigger: {self.trigger}. {self.total} assets in {duration(self.duration_ms)}.",
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
            f"<p>Trigger: {e(self.trigger)}. {self.total} assets in "
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
        run_url=run_url(public_url, 0),
        sample=True,
    )


# -- delivery --------------------------------------------------------------------------------


class Notifier(Protocol):
    channel: str

    def describe(self) -> str:
        """Where it delivers, without a secret."""
        ...

    def send(self, notice: RunNotice, timeout_s: float) -> None:
        """Deliver once; DeliveryError when it did not get through."""
        ...


class WebhookNotifier:
    """POSTs the notice as JSON. The URL is a secret (Slack's and Teams' carry their key)."""

    channel = "webhook"

    def __init__(self, url: SecretStr, *, transport: httpx.BaseTransport | None = None) -> None:
        parts = urlsplit(url.get_secret_value())
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ConfigError("IC3_NOTIFY_WEBHOOK_URL is not an http(s) URL")
        self.url = url
        self.host = parts.hostname
        self.transport = transport

    def describe(self) -> str:
        return f"webhook to {self.host}"

    def send(self, notice: RunNotice, timeout_s: float) -> None:
        try:
            with httpx.Client(timeout=timeout_s, transport=self.transport) as client:
                answer = client.post(self.url.get_secret_value(), json=notice.as_json())
        except httpx.TimeoutException:
            raise DeliveryError(f"{self.describe()}: no answer within {timeout_s:g} s") from None
        except httpx.HTTPError as exc:
            raise DeliveryError(f"{self.describe()}: {type(exc).__name__}") from None
        if answer.status_code >= 300:
            permanent = 400 <= answer.status_code < 500 and answer.status_code != 429
            raise DeliveryError(
                f"{self.describe()}: HTTP {answer.status_code}", permanent=permanent
            )


@dataclass(frozen=True, slots=True)
class SmtpServer:
    host: str
    port: int
    user: str | None
    password: SecretStr | None
    sender: str
    implicit_tls: bool


def parse_smtp_url(url: SecretStr) -> SmtpServer:
    """smtp://user:pass@host:587 (STARTTLS) or smtps://...:465 (TLS from the start); a
    `?from=` parameter sets the sender. ConfigError naming the variable, never the password."""
    raw = url.get_secret_value()
    parts = urlsplit(raw)
    if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
        raise ConfigError("IC3_SMTP_URL is not smtp://user:pass@host:587 (or smtps://...)")
    try:
        port = parts.port
    except ValueError:
        raise ConfigError("IC3_SMTP_URL has a port that is not a number from 0 to 65535") from None
    implicit = parts.scheme == "smtps"
    query = dict(p.partition("=")[::2] for p in parts.query.split("&") if p)
    user = unquote(parts.username) if parts.username else None
    sender = unquote(query.get("from", "")) or (
        user if user and "@" in user else f"ic3sync@{socket.getfqdn()}"
    )
    return SmtpServer(
        host=parts.hostname,
        port=port or (465 if implicit else 587),
        user=user,
        password=SecretStr(unquote(parts.password)) if parts.password else None,
        sender=sender,
        implicit_tls=implicit,
    )


def parse_addresses(raw: str) -> list[str]:
    """IC3_NOTIFY_EMAIL_TO: addresses separated by commas, semicolons or spaces."""
    addresses = [a for a in raw.replace(";", ",").replace(" ", ",").split(",") if a]
    for address in addresses:
        local, at, domain = address.rpartition("@")
        if not at or not local or "." not in domain:
            raise ConfigError(f"IC3_NOTIFY_EMAIL_TO: {address!r} is not a mail address")
    return addresses


class MailNotifier:
    """Sends the notice as a plain-text and HTML mail. The connection is always encrypted
    (STARTTLS or TLS) and the server's certificate verified: without that the password would
    cross the network in the clear. `tls` replaces the system's trust store (tests)."""

    channel = "email"

    def __init__(
        self, server: SmtpServer, to: Sequence[str], *, tls: ssl.SSLContext | None = None
    ) -> None:
        self.server = server
        self.to = list(to)
        self.tls = tls or ssl.create_default_context()

    def describe(self) -> str:
        n = len(self.to)
        who = self.to[0] if n == 1 else f"{n} addresses"
        return f"mail to {who} via {self.server.host}:{self.server.port}"

    def message(self, notice: RunNotice) -> EmailMessage:
        # A subject on one line: the default 78-column folding would start it on a
        # continuation line, which some clients show with a leading space.
        msg = EmailMessage(policy=email.policy.SMTP.clone(max_line_length=200))
        msg["Subject"] = notice.subject
        msg["From"] = self.server.sender
        msg["To"] = ", ".join(self.to)
        msg["Date"] = formatdate(localtime=False)
        msg["Message-ID"] = make_msgid(domain="ic3sync")
        msg.set_content(notice.text() + "\n")
        msg.add_alternative(notice.html(), subtype="html")
        return msg

    def send(self, notice: RunNotice, timeout_s: float) -> None:
        s = self.server
        try:
            smtp: smtplib.SMTP
            if s.implicit_tls:
                smtp = smtplib.SMTP_SSL(s.host, s.port, timeout=timeout_s, context=self.tls)
            else:
                smtp = smtplib.SMTP(s.host, s.port, timeout=timeout_s)
            with smtp:
                if not s.implicit_tls:
                    smtp.ehlo()
                    if not smtp.has_extn("starttls"):
                        raise DeliveryError(
                            f"{self.describe()}: the server offers no STARTTLS; "
                            "not sending credentials or mail in the clear",
                            permanent=True,
                        )
                    smtp.starttls(context=self.tls)
                    smtp.ehlo()
                if s.user and s.password:
                    smtp.login(s.user, s.password.get_secret_value())
                smtp.send_message(self.message(notice))
        except DeliveryError:
            raise
        except smtplib.SMTPAuthenticationError as exc:
            raise DeliveryError(
                f"{self.describe()}: login refused ({exc.smtp_code})", permanent=True
            ) from None
        except smtplib.SMTPRecipientsRefused:
            raise DeliveryError(f"{self.describe()}: recipients refused", permanent=True) from None
        except TimeoutError:
            raise DeliveryError(f"{self.describe()}: no answer within {timeout_s:g} s") from None
        except ssl.SSLError as exc:
            raise DeliveryError(f"{self.describe()}: TLS failed ({exc.reason})") from None
        except (smtplib.SMTPException, OSError) as exc:
            code = getattr(exc, "smtp_code", None) or getattr(exc, "strerror", None)
            reason = f"{type(exc).__name__} {code or ''}".rstrip()
            raise DeliveryError(f"{self.describe()}: {reason}") from None


def notifiers_from(settings: Settings, *, tls: ssl.SSLContext | None = None) -> list[Notifier]:
    """The channels the settings configure. ConfigError for a half or bad configuration."""
    notifiers: list[Notifier] = []
    if settings.notify_webhook_url is not None:
        notifiers.append(WebhookNotifier(settings.notify_webhook_url))
    to, smtp = settings.notify_email_to, settings.smtp_url
    if (to is None) != (smtp is None):
        missing = "IC3_SMTP_URL" if smtp is None else "IC3_NOTIFY_EMAIL_TO"
        raise ConfigError(
            "mail notifications need both IC3_NOTIFY_EMAIL_TO and IC3_SMTP_URL: "
            f"{missing} is not set"
        )
    if to is not None and smtp is not None:
        notifiers.append(MailNotifier(parse_smtp_url(smtp), parse_addresses(to), tls=tls))
    return notifiers


# -- sending ---------------------------------------------------------------------------------


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
        return self.configured and (self.notify_on == "always" or is_problem(result))

    def observer(self, trigger: str) -> RunObserver:
        return _NotifyWhenFinished(self, trigger)

    def run_finished(self, trigger: str, result: SyncResult) -> None:
        """Send the run's notice in the background when IC3_NOTIFY_ON wants it."""
        if not self.wanted(result):
            return
        assert self.engine is not None
        notice = notice_for(self.engine, trigger, result, self.public_url)
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
                self.send_in_background(notice_for(self.engine, *found, self.public_url))

    def send_in_background(self, notice: RunNotice) -> None:
        thread = threading.Thread(
            target=self.deliver, args=(notice,), name=f"notify-{notice.run_id}", daemon=True
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

    def deliver(self, notice: RunNotice) -> list[Delivery]:
        """Send `notice` to every channel, each retried on its own; never raises."""
        notice = notice.redacted(self.redact)
        return [self._deliver_one(n, notice) for n in self.notifiers]

    def _deliver_one(self, notifier: Notifier, notice: RunNotice) -> Delivery:
        started = time.monotonic()
        attempts = 0

        def attempt() -> None:
            nonlocal attempts
            attempts += 1
            left = self.budget_s - (time.monotonic() - started)
            notifier.send(notice, max(0.1, min(self.timeout_s, left)))

        def retrying(state: RetryCallState) -> None:
            exc = state.outcome.exception() if state.outcome else None
            log.warning(
                "run %s: notification by %s failed (attempt %d), retrying: %s",
                notice.run_id,
                notifier.channel,
                state.attempt_number,
                self.redact(str(exc)),
            )
            self._count(notifier.channel, "retried")

        retry = Retrying(
            stop=stop_after_attempt(RETRIES + 1) | stop_after_delay(self.budget_s),
            wait=wait_exponential(multiplier=self.backoff_s, max=8 * self.backoff_s),
            retry=retry_if_exception(lambda e: isinstance(e, DeliveryError) and not e.permanent),
            before_sleep=retrying,
            reraise=True,
        )
        try:
            retry(_guarded(attempt, notifier))
        except DeliveryError as exc:
            detail = self.redact(str(exc))
            log.error(
                "run %s: notification by %s not delivered after %d attempt(s): %s",
                notice.run_id,
                notifier.channel,
                attempts,
                detail,
            )
            self._count(notifier.channel, "failed")
            return Delivery(notifier.channel, notifier.describe(), False, attempts, detail)
        log.info(
            "run %s: notification sent: %s",
            notice.run_id,
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
