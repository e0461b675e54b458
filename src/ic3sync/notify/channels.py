"""The channels a notice goes by: a JSON webhook (Slack and Teams show its `text`) and a
mail through SMTP (STARTTLS, TLS, or an internal relay without TLS), each delivering once per
call."""

from __future__ import annotations

import email.policy
import smtplib
import socket
import ssl
from collections.abc import Sequence
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from typing import Protocol
from urllib.parse import unquote, urlsplit

import httpx
from pydantic import SecretStr

from ic3sync.config import Settings
from ic3sync.errors import ConfigError
from ic3sync.notify.events import Notice
from ic3sync.retrying import parse_retry_after


class DeliveryError(Exception):
    """A notification did not get through. `permanent`: trying again would not help (a 4xx
    answer, refused credentials). The message never holds a secret."""

    def __init__(
        self, message: str, *, permanent: bool = False, retry_after: float | None = None
    ) -> None:
        super().__init__(message)
        self.permanent = permanent
        # Seconds the server asked to wait before the next attempt (429's Retry-After).
        self.retry_after = retry_after


class Notifier(Protocol):
    channel: str

    def describe(self) -> str:
        """Where it delivers, without a secret."""
        ...

    def send(self, notice: Notice, timeout_s: float) -> None:
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

    def send(self, notice: Notice, timeout_s: float) -> None:
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
                f"{self.describe()}: HTTP {answer.status_code}",
                permanent=permanent,
                retry_after=parse_retry_after(answer.headers.get("Retry-After")),
            )


@dataclass(frozen=True, slots=True)
class SmtpServer:
    host: str
    port: int
    user: str | None
    password: SecretStr | None
    sender: str
    implicit_tls: bool
    # An internal relay spoken to without TLS (smtp+plain://): never with credentials.
    plain: bool = False


def parse_smtp_url(url: SecretStr) -> SmtpServer:
    """smtp://user:pass@host:587 (STARTTLS), smtps://...:465 (TLS from the start) or
    smtp+plain://host:25 (an internal relay without TLS, which takes no credentials); a
    `?from=` parameter sets the sender. ConfigError naming the variable, never the password."""
    raw = url.get_secret_value()
    parts = urlsplit(raw)
    if parts.scheme not in ("smtp", "smtps", "smtp+plain") or not parts.hostname:
        raise ConfigError(
            "IC3_SMTP_URL is not smtp://user:pass@host:587 (or smtps://..., smtp+plain://host:25)"
        )
    try:
        port = parts.port
    except ValueError:
        raise ConfigError("IC3_SMTP_URL has a port that is not a number from 0 to 65535") from None
    plain = parts.scheme == "smtp+plain"
    if plain and (parts.username or parts.password):
        raise ConfigError(
            "IC3_SMTP_URL: smtp+plain:// sends without TLS, so it takes no user or password "
            "(they would cross the network in the clear); use smtp:// (STARTTLS) for a server "
            "that wants a login"
        )
    implicit = parts.scheme == "smtps"
    query = dict(p.partition("=")[::2] for p in parts.query.split("&") if p)
    user = unquote(parts.username) if parts.username else None
    sender = unquote(query.get("from", "")) or (
        user if user and "@" in user else f"ic3sync@{socket.getfqdn()}"
    )
    return SmtpServer(
        host=parts.hostname,
        port=port or (465 if implicit else 25 if plain else 587),
        user=user,
        password=SecretStr(unquote(parts.password)) if parts.password else None,
        sender=sender,
        implicit_tls=implicit,
        plain=plain,
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
    """Sends the notice as a plain-text and HTML mail. The connection is encrypted (STARTTLS
    or TLS) and the server's certificate verified, trusting `ca_file` (IC3_SMTP_CA_FILE) or
    the system's store: without that a password would cross the network in the clear. Only
    an smtp+plain:// relay, which takes no credentials, is spoken to without TLS. `tls`
    replaces the trust store (tests)."""

    channel = "email"

    def __init__(
        self,
        server: SmtpServer,
        to: Sequence[str],
        *,
        tls: ssl.SSLContext | None = None,
        ca_file: str | None = None,
    ) -> None:
        self.server = server
        self.to = list(to)
        self.ca_file = ca_file
        self.tls = tls or ssl.create_default_context(cafile=ca_file)

    def describe(self) -> str:
        n = len(self.to)
        who = self.to[0] if n == 1 else f"{n} addresses"
        return f"mail to {who} via {self.server.host}:{self.server.port}"

    def message(self, notice: Notice) -> EmailMessage:
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

    def send(self, notice: Notice, timeout_s: float) -> None:
        s = self.server
        try:
            smtp: smtplib.SMTP
            if s.implicit_tls:
                smtp = smtplib.SMTP_SSL(s.host, s.port, timeout=timeout_s, context=self.tls)
            else:
                smtp = smtplib.SMTP(s.host, s.port, timeout=timeout_s)
            with smtp:
                if not s.implicit_tls and not s.plain:
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
        except ssl.SSLCertVerificationError as exc:
            # Trying again meets the same certificate: not retried, and the setting that fixes
            # it is named.
            trusted_by = f"IC3_SMTP_CA_FILE {self.ca_file!r}" if self.ca_file else "the system"
            raise DeliveryError(
                f"{self.describe()}: TLS failed ({exc.reason}): {exc.verify_message}; the "
                f"server's certificate is not trusted by {trusted_by}: set IC3_SMTP_CA_FILE "
                "to the CA bundle (PEM) that signed it",
                permanent=True,
            ) from None
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
        notifiers.append(
            MailNotifier(
                parse_smtp_url(smtp), parse_addresses(to), tls=tls, ca_file=settings.smtp_ca_file
            )
        )
    return notifiers
