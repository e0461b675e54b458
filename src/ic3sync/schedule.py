"""IC3_SYNC_CRON: start a run on a cron schedule in IC3_TIMEZONE, from a thread of the service."""

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


# Each field of a cron expression, its name and range, in order; a sixth field is seconds.
_CRON_FIELDS = (
    ("minute", "0-59"),
    ("hour", "0-23"),
    ("day of month", "1-31"),
    ("month", "1-12"),
    ("weekday", "0-7, 0 and 7 are Sunday"),
    ("second", "0-59"),
)


def _bad_cron_field(fields: list[str]) -> str | None:
    """What is wrong with the first field that is wrong on its own, or None."""
    for index, field in enumerate(fields[: len(_CRON_FIELDS)]):
        alone = ["*"] * len(fields)
        alone[index] = field
        if not croniter.is_valid(" ".join(alone)):
            name, bounds = _CRON_FIELDS[index]
            return f"the {name} field {field!r} is not valid: its range is {bounds}"
    return None


def check_cron(expression: str) -> str:
    """The expression, or ConfigError naming the field at fault. Five fields; a sixth is
    seconds (`* * * * * */10`)."""
    expression = expression.strip()
    if not croniter.is_valid(expression):
        fields = expression.split()
        if len(fields) in (5, 6):
            reason = _bad_cron_field(fields) or "the fields do not go together"
        else:
            reason = f"it has {len(fields)} fields, not 5"
        raise ConfigError(
            f"IC3_SYNC_CRON {expression!r} is not a cron expression: {reason} "
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
