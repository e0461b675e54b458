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

    database_url: str = Field("sqlite:///ic3sync.db", validation_alias="IC3_DATABASE_URL")
    api_url: str = Field(DEFAULT_API_URL, validation_alias="INNOMAINT_API_URL")
    api_token: SecretStr | None = Field(None, validation_alias="INNOMAINT_API_TOKEN")
    # Every number has an upper bound and every float is finite: beyond what anyone means (an
    # hour between requests, a century of logs) the clocks, sockets and dates a value reaches
    # overflow ("1e308" seconds crashed the request; "inf" would let a vendor hold a run forever).
    rate_ms: int = Field(200, ge=0, le=3_600_000, validation_alias="INNOMAINT_RATE_MS")
    timeout_s: float = Field(
        15.0, gt=0, le=3_600, allow_inf_nan=False, validation_alias="INNOMAINT_TIMEOUT_S"
    )
    max_retries: int = Field(3, ge=0, le=20, validation_alias="INNOMAINT_MAX_RETRIES")
    max_response_mb: float = Field(
        5.0, gt=0, le=1_024, allow_inf_nan=False, validation_alias="INNOMAINT_MAX_RESPONSE_MB"
    )
    max_consecutive_failures: int = Field(
        10, ge=1, le=1_000_000, validation_alias="INNOMAINT_MAX_CONSECUTIVE_FAILURES"
    )
    # A CA bundle (PEM) for a vendor, or a proxy, whose certificate a private CA signed.
    ca_file: str | None = Field(None, validation_alias="INNOMAINT_CA_FILE")
    admin_token: SecretStr | None = Field(None, validation_alias="IC3_ADMIN_TOKEN")
    sync_cron: str | None = Field(None, validation_alias="IC3_SYNC_CRON")
    timezone: str = Field("UTC", validation_alias="IC3_TIMEZONE")
    log_format: Literal["text", "json"] = Field("text", validation_alias="IC3_LOG_FORMAT")
    # A Slack or Teams webhook URL is itself a credential (its path is the secret), so it is
    # held like a token and only its host is ever shown.
    notify_webhook_url: SecretStr | None = Field(None, validation_alias="IC3_NOTIFY_WEBHOOK_URL")
    notify_email_to: str | None = Field(None, validation_alias="IC3_NOTIFY_EMAIL_TO")
    smtp_url: SecretStr | None = Field(None, validation_alias="IC3_SMTP_URL")
    notify_on: Literal["problems", "always"] = Field("problems", validation_alias="IC3_NOTIFY_ON")
    public_url: str | None = Field(None, validation_alias="IC3_PUBLIC_URL")
    # One delivery attempt; a notice with its retries gets three times this.
    notify_timeout_s: float = Field(
        10.0, gt=0, le=120, allow_inf_nan=False, validation_alias="IC3_NOTIFY_TIMEOUT_S"
    )
    log_retention_days: int = Field(180, ge=1, le=36_500, validation_alias="IC3_LOG_RETENTION_DAYS")
    # Addresses of reverse proxies whose X-Forwarded-Proto and X-Forwarded-For are believed
    # (comma-separated IPs or networks, uvicorn's forwarded_allow_ips); none by default.
    trusted_proxies: str | None = Field(None, validation_alias="IC3_TRUSTED_PROXIES")
    vendor_timezone: str = Field("Asia/Kolkata", validation_alias="INNOMAINT_TIMEZONE")
    # How long a run waits for a database that went away (a restart, a failover) before it
    # ends `aborted`. Long enough for a PostgreSQL restart or failover.
    db_retry_s: float = Field(
        30.0, ge=0, le=86_400, allow_inf_nan=False, validation_alias="IC3_DB_RETRY_S"
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

    @field_validator("ca_file")
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
