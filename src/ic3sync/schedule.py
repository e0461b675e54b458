"""IC3_SYNC_CRON: start a run on a cron schedule in IC3_TIMEZONE, from a thread of the service;
and checks the service makes every few minutes (staleness)."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from croniter import croniter

from ic3sync.errors import ConfigError

log = logging.getLogger("ic3sync.schedule")


def parse_timezone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(
            f"IC3_TIMEZONE {name!r} is not a time zone name (e.g. UTC, Asia/Kolkata)"
        ) from None


def check_cron(expression: str) -> str:
    """The expression, or ConfigError. Five fields; a sixth is seconds (`* * * * * */10`)."""
    expression = expression.strip()
    if not croniter.is_valid(expression):
        raise ConfigError(
            f"IC3_SYNC_CRON {expression!r} is not a cron expression "
            "(minute hour day month weekday, e.g. '0 2 * * *')"
        )
    return expression


class Scheduler:
    """Calls `tick` at each time the cron expression names. A tick is never queued: the next
    time is computed after a tick returns, so a slow tick skips the times it overran."""

    def __init__(self, cron: str, timezone: str, tick: Callable[[], None]) -> None:
        self.cron = check_cron(cron)
        self.zone = parse_timezone(timezone)
        self.tick = tick
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def next_time(self, now: datetime | None = None) -> datetime:
        base = now or datetime.now(self.zone)
        return croniter(self.cron, base).get_next(datetime)

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="scheduler", daemon=True)
        self._thread.start()
        log.info(
            "scheduled syncs: %r in %s, next at %s",
            self.cron,
            self.zone.key,
            self.next_time().isoformat(),
        )

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def _loop(self) -> None:
        while not self._stop.is_set():
            due = self.next_time()
            wait_s = (due - datetime.now(self.zone)).total_seconds()
            if self._stop.wait(max(0.0, wait_s)):
                return
            try:
                self.tick()
            except Exception:  # one bad tick must not end the schedule
                log.exception("scheduled tick failed")


class Every:
    """Calls `check` now and then every `interval_s` seconds from a thread of the service
    (the staleness watch), until stopped; one failing call does not end it."""

    def __init__(self, interval_s: float, check: Callable[[], object], name: str) -> None:
        self.interval_s = interval_s
        self.check = check
        self.name = name
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name=self.name, daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                self.check()
            except Exception:
                log.exception("%s failed", self.name)
            if self._stop.wait(self.interval_s):
                return
