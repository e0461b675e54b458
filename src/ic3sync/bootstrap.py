"""The one place that wires ic3sync together: settings -> engine (with its schema check) ->
the factory of Innomaint clients -> the run manager. The command line, the demo, the HTTP
service and its schedule take what they need from here and build none of it themselves."""

from __future__ import annotations

import logging
import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from ic3sync.config import Settings, get_settings
from ic3sync.errors import DatabaseError
from ic3sync.logs import setup_logging

if TYPE_CHECKING:
    # Loaded by the functions that use them: the simulator, which needs only its settings,
    # starts without the database layer and the Innomaint client.
    import sqlalchemy as sa

    from ic3sync.innomaint.client import ClientFactory, InnomaintClient, OnAttempt, OnRetry
    from ic3sync.metrics import SyncMetrics
    from ic3sync.notify import Notifications
    from ic3sync.runs import RunManager

log = logging.getLogger("ic3sync.bootstrap")

# "require": refuse an unreachable database or an outdated schema (the CLI).
# "if_reachable": refuse an outdated schema, start on an unreachable database (the service,
#   whose /healthz then says what is wrong). "skip": no check (`ic3sync migrate`).
SchemaCheck = Literal["require", "if_reachable", "skip"]


def load_settings(log_level: int = logging.WARNING) -> Settings:
    """The settings of this process, with logging set up in their format."""
    settings = get_settings()
    setup_logging(settings.log_format, log_level)
    warn_unknown_settings()
    return settings


# Read by the test suite and its tools, not by ic3sync: no warning for them.
_TOOL_SWITCHES = frozenset({"IC3_FAULTS_REPORT", "IC3_NOTIFY_SAMPLES", "IC3_SCREENSHOTS"})


def warn_unknown_settings(env_file: Path = Path(".env")) -> list[str]:
    """Warn about each IC3_* or INNOMAINT_* name in the environment or .env that is no setting,
    naming the closest one: a misspelt IC3_DATABSE_URL would otherwise quietly leave the
    default in place. Returns the warnings."""
    import difflib

    from dotenv import dotenv_values

    known = {
        alias.upper()
        for field in Settings.model_fields.values()
        if isinstance(alias := field.validation_alias, str)
    }
    places = {name: "the environment" for name in os.environ}
    if env_file.is_file():
        places |= {name: str(env_file) for name in dotenv_values(env_file)}
    said = []
    for name, place in sorted(places.items()):
        upper = name.upper()
        if not upper.startswith(("IC3_", "INNOMAINT_")) or upper in known | _TOOL_SWITCHES:
            continue
        if upper.startswith("IC3_TEST_"):
            continue
        close = difflib.get_close_matches(upper, known, n=1)
        hint = f"; did you mean {close[0]}?" if close else ""
        said.append(f"{name} in {place} is not an ic3sync setting and is ignored{hint}")
        log.warning("%s", said[-1])
    return said


def open_engine(settings: Settings, *, schema: SchemaCheck = "require") -> sa.Engine:
    """The engine of IC3_DATABASE_URL, its schema checked as `schema` says."""
    from ic3sync.db import migrate as migrations
    from ic3sync.db.engine import make_engine, redact_url
    from ic3sync.db.errors import map_db_errors, unreachable_message

    engine = make_engine(settings.database_url)
    if schema == "skip":
        return engine
    where = redact_url(settings.database_url)
    try:
        with map_db_errors(unreachable_message(settings.database_url)):
            outdated = migrations.outdated_schema(engine)
    except DatabaseError as exc:
        if schema == "require":
            raise
        log.error("%s (at start)", exc)
        return engine
    if outdated:
        raise DatabaseError(f"the database {where}: {outdated}")
    return engine


def client_factory(settings: Settings, **options: Any) -> ClientFactory:
    """Makes Innomaint clients configured from INNOMAINT_*; `options` override the client's
    own arguments (the demo's shorter backoff). ConfigError when the token is not set."""
    from ic3sync.innomaint.client import InnomaintClient

    def make(
        *,
        cancel: threading.Event,
        on_retry: OnRetry | None = None,
        on_attempt: OnAttempt | None = None,
    ) -> InnomaintClient:
        return InnomaintClient.from_settings(
            settings, cancel=cancel, on_retry=on_retry, on_attempt=on_attempt, **options
        )

    return make


@dataclass(frozen=True, slots=True)
class Wiring:
    """What a front end needs: its settings, an engine and a way to make clients."""

    settings: Settings
    engine: sa.Engine
    clients: ClientFactory

    def notifications(self, metrics: SyncMetrics | None = None) -> Notifications:
        """The run notifications IC3_NOTIFY_* configure (none configured: sends nothing).
        ConfigError for a half or malformed configuration, so a process refuses to start
        rather than find out after the night's run."""
        from ic3sync.notify import Notifications

        return Notifications.from_settings(self.settings, self.engine, metrics=metrics)

    def run_manager(self, metrics: SyncMetrics | None = None) -> RunManager:
        from ic3sync.metrics import SyncMetrics
        from ic3sync.runs import RunManager

        metrics = metrics or SyncMetrics()
        return RunManager(
            self.engine,
            self.settings,
            client_factory=self.clients,
            metrics=metrics,
            notifications=self.notifications(metrics),
        )


def bootstrap(
    settings: Settings | None = None,
    *,
    schema: SchemaCheck = "require",
    engine: sa.Engine | None = None,
    clients: ClientFactory | None = None,
) -> Wiring:
    """Wire settings, engine and clients; tests pass their own engine or client factory."""
    settings = settings or get_settings()
    return Wiring(
        settings=settings,
        engine=engine or open_engine(settings, schema=schema),
        clients=clients or client_factory(settings),
    )
