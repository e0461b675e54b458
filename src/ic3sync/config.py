"""Settings read from the environment and from `.env` in the working directory.

The names are the contract's; nothing else in the code reads the environment.
"""

from __future__ import annotations

import ssl
from functools import lru_cache
from typing import Literal
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from ic3sync.errors import ConfigError

DEFAULT_API_URL = (
    "https://app.innomaint.com/api/public/api/restapicontroller/"
    "assetmanagement/getAssetIDDetailByAssetID"
)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_file=".env", env_file_encoding="utf-8", extra="ignore", populate_by_name=True
    )

    database_url: str = Field(
        "sqlite:///ic3sync.db",
        validation_alias="IC3_DATABASE_URL",
        description=(
            "SQLAlchemy URL of the database; production is PostgreSQL, "
            "`postgresql+psycopg://user:pass@host:5432/db` (`postgresql://` and `postgres://` mean"
            " the same)"
        ),
    )
    api_url: str = Field(
        DEFAULT_API_URL,
        validation_alias="INNOMAINT_API_URL",
        description="full URL of Innomaint's getAssetIDDetailByAssetID",
    )
    api_token: SecretStr | None = Field(
        None,
        validation_alias="INNOMAINT_API_TOKEN",
        description=(
            "bearer token for Innomaint; a sync without it stops at once naming this variable. "
            "Never logged, stored or echoed"
        ),
    )
    # Every number has an upper bound and every float is finite: beyond what anyone means (an
    # hour between requests, a century of logs) the clocks, sockets and dates a value reaches
    # overflow ("1e308" seconds crashed the request; "inf" would let a vendor hold a run forever).
    rate_ms: int = Field(
        200,
        ge=0,
        le=3_600_000,
        validation_alias="INNOMAINT_RATE_MS",
        description=(
            "least time in milliseconds between the starts of two API requests, retries included"
        ),
    )
    timeout_s: float = Field(
        15.0,
        gt=0,
        le=3_600,
        allow_inf_nan=False,
        validation_alias="INNOMAINT_TIMEOUT_S",
        description=(
            "one deadline in seconds per request attempt, for connecting and reading the whole "
            "answer"
        ),
    )
    max_retries: int = Field(
        3,
        ge=0,
        le=20,
        validation_alias="INNOMAINT_MAX_RETRIES",
        description=(
            "retries of one request on 429, 502, 503, 504, timeouts and connection errors (3 "
            "retries: at most 4 attempts)"
        ),
    )
    max_response_mb: float = Field(
        5.0,
        gt=0,
        le=1_024,
        allow_inf_nan=False,
        validation_alias="INNOMAINT_MAX_RESPONSE_MB",
        description=(
            "an answer larger than this fails its attempt (answer too large); it is read as a "
            "stream, never held whole"
        ),
    )
    max_consecutive_failures: int = Field(
        10,
        ge=1,
        le=1_000_000,
        validation_alias="INNOMAINT_MAX_CONSECUTIVE_FAILURES",
        description=(
            "this many assets in a row failing because Innomaint cannot be reached or answers "
            "garbage end the run aborted; the rest are logged skipped"
        ),
    )
    max_field_chars: int = Field(
        2000,
        ge=256,
        le=1_000_000,
        validation_alias="INNOMAINT_MAX_FIELD_CHARS",
        description=(
            "the longest vendor string stored; a longer one is cut to this many characters and "
            "the cut named in the asset's log row"
        ),
    )
    ca_file: str | None = Field(
        None,
        validation_alias="INNOMAINT_CA_FILE",
        description=(
            "a CA bundle (PEM) for a vendor or proxy whose certificate a private CA signed; "
            "HTTP_PROXY, HTTPS_PROXY and NO_PROXY are honoured"
        ),
    )
    admin_token: SecretStr | None = Field(
        None,
        validation_alias="IC3_ADMIN_TOKEN",
        description=(
            "bearer token for /api/admin/* and the dashboard's login; without it serve binds only "
            "to loopback, elsewhere it needs at least 24 printable ASCII characters"
        ),
    )
    sync_cron: str | None = Field(
        None,
        validation_alias="IC3_SYNC_CRON",
        description=(
            "a cron expression (`0 2 * * *`; a sixth field is seconds): serve starts a full run on"
            " that schedule"
        ),
    )
    timezone: str = Field(
        "UTC",
        validation_alias="IC3_TIMEZONE",
        description="time zone name of IC3_SYNC_CRON and of the times the dashboard shows",
    )
    log_format: Literal["text", "json"] = Field(
        "text",
        validation_alias="IC3_LOG_FORMAT",
        description=(
            "log lines as readable text, or as JSON lines carrying run_id and cmms_asset_id"
        ),
    )
    # A Slack or Teams webhook URL is itself a credential (its path is the secret), so it is
    # held like a token and only its host is ever shown.
    notify_webhook_url: SecretStr | None = Field(
        None,
        validation_alias="IC3_NOTIFY_WEBHOOK_URL",
        description=(
            "after a run, POST its summary as JSON here; held as a secret, only its host is shown"
        ),
    )
    notify_email_to: str | None = Field(
        None,
        validation_alias="IC3_NOTIFY_EMAIL_TO",
        description=(
            "after a run, mail its summary to these addresses (separated by commas, semicolons or "
            "spaces), through IC3_SMTP_URL"
        ),
    )
    smtp_url: SecretStr | None = Field(
        None,
        validation_alias="IC3_SMTP_URL",
        description=(
            "the mail server, `smtp://user:pass@host:587` (STARTTLS, certificate verified; "
            "`smtps://` for TLS from the start; `smtp+plain://host:25` for an internal relay "
            "without TLS, only without credentials; `?from=` sets the sender)"
        ),
    )
    smtp_ca_file: str | None = Field(
        None,
        validation_alias="IC3_SMTP_CA_FILE",
        description=(
            "a CA bundle (PEM) for a mail server whose certificate a private CA signed; "
            "without it the system's trust store is used"
        ),
    )
    notify_on: Literal["problems", "always"] = Field(
        "problems",
        validation_alias="IC3_NOTIFY_ON",
        description=(
            "when to notify: `problems` (new failures, aborted or interrupted runs, a scheduled "
            "tick skipped or missed, staleness; never a sync-one, a cancelled run or failures "
            "already told) or `always` (every run)"
        ),
    )
    public_url: str | None = Field(
        None,
        validation_alias="IC3_PUBLIC_URL",
        description=(
            "the dashboard's http(s) address as operators reach it, for the run's link in a notice"
        ),
    )
    # One delivery attempt; a notice with its retries gets three times this.
    notify_timeout_s: float = Field(
        10.0,
        gt=0,
        le=120,
        allow_inf_nan=False,
        validation_alias="IC3_NOTIFY_TIMEOUT_S",
        description=(
            "seconds for one delivery attempt; a notice with its retries gets three times this"
        ),
    )
    log_retention_days: int = Field(
        180,
        ge=1,
        le=36_500,
        validation_alias="IC3_LOG_RETENTION_DAYS",
        description=(
            "cmms_sync_log and cmms_sync_run rows older than this many days are pruned after each "
            "run; each asset's latest log row is kept"
        ),
    )
    stale_after_h: int = Field(
        26,
        ge=1,
        le=8760,
        validation_alias="IC3_STALE_AFTER_H",
        description=(
            "hours without a completed full run after which the data is stale: `serve` tells "
            "once and `ic3sync status` warns"
        ),
    )
    schedule_grace_min: int = Field(
        60,
        ge=0,
        le=10_080,
        validation_alias="IC3_SCHEDULE_GRACE_MIN",
        description=(
            "a scheduled tick missed while `serve` was down runs at start-up when it is less late "
            "than this many minutes, and is told otherwise"
        ),
    )
    # Addresses of reverse proxies whose X-Forwarded-Proto and X-Forwarded-For are believed
    # (comma-separated IPs or networks, uvicorn's forwarded_allow_ips); none by default.
    trusted_proxies: str | None = Field(
        None,
        validation_alias="IC3_TRUSTED_PROXIES",
        description=(
            "comma-separated IPs or networks of reverse proxies whose X-Forwarded-Proto and "
            "X-Forwarded-For are believed"
        ),
    )
    vendor_timezone: str = Field(
        "Asia/Kolkata",
        validation_alias="INNOMAINT_TIMEZONE",
        description="time zone name of the vendor's times that carry no offset",
    )
    # How long a run waits for a database that went away (a restart, a failover) before it
    # ends `aborted`. Long enough for a PostgreSQL restart or failover.
    db_retry_s: float = Field(
        30.0,
        ge=0,
        le=86_400,
        allow_inf_nan=False,
        validation_alias="IC3_DB_RETRY_S",
        description=(
            "seconds a run waits for a database that went away (a restart, a failover) before it "
            "ends aborted"
        ),
    )

    @field_validator("timezone", "vendor_timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        # Every command refuses a zone it cannot read, the service before it listens: a page
        # is no place to find out (the schedule and every time shown depend on it).
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(
                f"{value!r} is not a time zone name (e.g. UTC, Asia/Kolkata)"
            ) from None
        return value

    @field_validator("ca_file", "smtp_ca_file")
    @classmethod
    def _ca_bundle(cls, value: str | None) -> str | None:
        # Read at start, so that a bundle that cannot be used stops every command before a
        # run, not each asset in it with a certificate error.
        if value is None or not value.strip():
            return None
        try:
            ssl.create_default_context(cafile=value)
        except (OSError, ssl.SSLError, ValueError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else None
            raise ValueError(
                f"{value!r} is not a readable CA bundle in PEM ({reason or type(exc).__name__})"
            ) from None
        return value

    @field_validator("public_url")
    @classmethod
    def _web_address(cls, value: str | None) -> str | None:
        # The link in every notice: an address a person can open, not "javascript:" or a path.
        if value is None:
            return None
        parts = urlsplit(value.strip())
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(
                f"{value!r} is not an http(s) address (e.g. https://ic3sync.example.org)"
            )
        return value.strip()

    @property
    def vendor_zone(self) -> ZoneInfo:
        """The zone of the vendor's times that carry no offset."""
        return ZoneInfo(self.vendor_timezone)

    @field_validator("api_token", "admin_token", "notify_webhook_url", "smtp_url", mode="before")
    @classmethod
    def _blank_is_none(cls, value: object) -> object:
        # An exported-but-empty variable means "not set", not "the empty token".
        if isinstance(value, str) and not value.strip():
            return None
        return value.strip() if isinstance(value, str) else value

    @field_validator("sync_cron", "notify_email_to", "public_url", "trusted_proxies", mode="before")
    @classmethod
    def _blank_cron_is_none(cls, value: object) -> object:
        if isinstance(value, str) and not value.strip():
            return None
        return value

    def require_api_token(self) -> SecretStr:
        """The vendor token, or a ConfigError telling the operator which variable to set."""
        if self.api_token is None:
            raise ConfigError(
                "INNOMAINT_API_TOKEN is not set: export it or put it in .env "
                "in the working directory, then run the sync again"
            )
        return self.api_token


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    try:
        return Settings()
    except Exception as exc:  # pydantic ValidationError: name the variable, hide values
        raise ConfigError(f"invalid configuration: {_describe(exc)}") from None


def _describe(exc: Exception) -> str:
    errors = getattr(exc, "errors", None)
    if not callable(errors):
        return type(exc).__name__
    parts = []
    for err in errors():
        loc = ".".join(str(p) for p in err.get("loc", ()))
        # pydantic words a validator's own message "Value error, <message>".
        message = str(err.get("msg")).removeprefix("Value error, ")
        parts.append(f"{loc.upper()}: {message}")
    return "; ".join(parts)
