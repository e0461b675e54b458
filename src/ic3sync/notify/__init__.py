"""Tell operators how a run ended (contract rule 12): what a notice says (`notice`), the
channels it goes by (`channels`) and who is told after a run (`dispatch`)."""

from ic3sync.notify.channels import (
    DeliveryError,
    MailNotifier,
    Notifier,
    SmtpServer,
    WebhookNotifier,
    notifiers_from,
    parse_addresses,
    parse_smtp_url,
)
from ic3sync.notify.dispatch import RETRIES, Delivery, Notifications, secrets_of
from ic3sync.notify.events import EventNotice, Notice
from ic3sync.notify.notice import (
    NOTICE_FAILURES,
    PROBLEM_STATUSES,
    Failure,
    RunNotice,
    is_problem,
    notice_for,
    run_url,
    sample_notice,
)
from ic3sync.redact import Redactor

__all__ = [
    "NOTICE_FAILURES",
    "PROBLEM_STATUSES",
    "RETRIES",
    "Delivery",
    "DeliveryError",
    "EventNotice",
    "Failure",
    "MailNotifier",
    "Notice",
    "Notifications",
    "Notifier",
    "Redactor",
    "RunNotice",
    "SmtpServer",
    "WebhookNotifier",
    "is_problem",
    "notice_for",
    "notifiers_from",
    "parse_addresses",
    "parse_smtp_url",
    "run_url",
    "sample_notice",
    "secrets_of",
]
