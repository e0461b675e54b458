"""The environment variables each command reads (a .env file works too), named in its help."""

from __future__ import annotations

_DATABASE = ("IC3_DATABASE_URL", "IC3_LOG_FORMAT")
_VENDOR = (
    "INNOMAINT_API_URL",
    "INNOMAINT_API_TOKEN",
    "INNOMAINT_RATE_MS",
    "INNOMAINT_TIMEOUT_S",
    "INNOMAINT_MAX_RETRIES",
    "INNOMAINT_TIMEZONE",
    "INNOMAINT_CA_FILE",
    "INNOMAINT_MAX_FIELD_CHARS",
    "IC3_DB_RETRY_S",
)
_NOTIFY = (
    "IC3_NOTIFY_WEBHOOK_URL",
    "IC3_NOTIFY_EMAIL_TO",
    "IC3_SMTP_URL",
    "IC3_SMTP_CA_FILE",
    "IC3_NOTIFY_ON",
    "IC3_NOTIFY_TIMEOUT_S",
    "IC3_PUBLIC_URL",
)
_RUN = (*_VENDOR, "INNOMAINT_MAX_RESPONSE_MB", "INNOMAINT_MAX_CONSECUTIVE_FAILURES")
_AFTER_RUN = (*_NOTIFY, "IC3_LOG_RETENTION_DAYS")
_SERVICE = (
    "IC3_ADMIN_TOKEN",
    "IC3_TRUSTED_PROXIES",
    "IC3_SYNC_CRON",
    "IC3_SCHEDULE_GRACE_MIN",
    "IC3_STALE_AFTER_H",
    "IC3_TIMEZONE",
)
ENV_READ: dict[str, tuple[str, ...]] = {
    "migrate": _DATABASE,
    "import-assets": _DATABASE,
    "sync": _DATABASE + _RUN + _AFTER_RUN,
    "sync-one": _DATABASE + _RUN + _AFTER_RUN,
    "serve": _DATABASE + _RUN + _AFTER_RUN + _SERVICE,
    "simulator": ("INNOMAINT_API_TOKEN", "IC3_LOG_FORMAT"),
    "demo": (*_DATABASE, "INNOMAINT_TIMEZONE", "IC3_DB_RETRY_S"),
    "notify-test": (*_NOTIFY, "IC3_LOG_FORMAT"),
    "prune": (*_DATABASE, "IC3_LOG_RETENTION_DAYS"),
    "changes": (*_DATABASE, "IC3_TIMEZONE"),
    "export": (*_DATABASE, "IC3_TIMEZONE"),
    "runs": (*_DATABASE, "IC3_TIMEZONE"),
    "status": (*_DATABASE, "IC3_STALE_AFTER_H"),
    "attention": (*_DATABASE, "IC3_TIMEZONE"),
}


def reads(command: str) -> str:
    """The line of `command`'s help that names what it reads."""
    return "Environment (or .env): " + ", ".join(ENV_READ[command]) + "."
