"""IC3_SYNC_CRON: start a run on a cron schedule in IC3_TIMEZONE, from a thread of the service;
and checks the service makes every few minutes (staleness)."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import datetime, timedelta
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
    time is computed after a tick returns, so a slow tick skips the times it overran.

    At start, the last due time is a tick missed while the service was down when
    `last_started` (when the schedule last started a run) is before it: run now when less
    than `grace_min` late, else handed to `missed` (due time, lateness). A schedule that never
    started a run has missed nothing."""

    def __init__(
        self,
        cron: str,
        timezone: str,
        tick: Callable[[], None],
        *,
        grace_min: int = 0,
        last_started: Callable[[], datetime | None] | None = None,
        missed: Callable[[datetime, timedelta], None] | None = None,
    ) -> None:
        self.cron = check_cron(cron)
        self.zone = parse_timezone(timezone)
        self.tick = tick
        self.grace = timedelta(minutes=grace_min)
        self.last_started = last_started
        self.missed = missed
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def next_time(self, now: datetime | None = None) -> datetime:
        base = now or datetime.now(self.zone)
        return croniter(self.cron, base).get_next(datetime)

    def catch_up(self, now: datetime | None = None) -> str | None:
        """Deal with a tick missed while the service was down: "ran", "missed" or None."""
        if self.last_started is None:
            return None
        last = self.last_started()
        now = now or datetime.now(self.zone)
        due: datetime = croniter(self.cron, now).get_prev(datetime)
        if last is None or last >= due:
            return None
        late = now - due
        if late < self.grace:
            log.info("scheduled run due at %s was missed: running it now", due.isoformat())
            self.tick()
            return "ran"
        log.warning(
            "scheduled run due at %s was missed while the service was down (%s late, "
            "IC3_SCHEDULE_GRACE_MIN is %d): not run",
            due.isoformat(),
            late,
            self.grace.total_seconds() // 60,
        )
        if self.missed is not None:
            self.missed(due, late)
        return "missed"

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
        try:
            self.catch_up()
        except Exception:  # the schedule goes on whatever the catch-up met
            log.exception("scheduled catch-up failed")
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
