"""IC3_STALE_AFTER_H: `serve` tells once when no full run has completed for that long (a
schedule that stopped, runs that keep aborting), and again only after a full run completed."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from ic3sync.db.digest import last_full_run_completed
from ic3sync.notify.dispatch import Notifications
from ic3sync.notify.events import EventNotice

log = logging.getLogger("ic3sync.notify")


def _utc_now() -> datetime:
    return datetime.now(UTC)


def stale_warning(last: datetime | None, now: datetime, stale_after_h: int) -> str | None:
    """What /healthz and the overview warn of when no full run has completed for
    `stale_after_h` hours (`last`: when the last one completed); None while it is fresh."""
    if last is None:
        return "no full run has completed yet"
    hours = (now - last).total_seconds() / 3600
    if hours < stale_after_h:
        return None
    return (
        f"no full run has completed for {hours:,.0f} hours (IC3_STALE_AFTER_H is "
        f"{stale_after_h}); the last completed at {last:%Y-%m-%d %H:%M} UTC"
    )


class StalenessWatch:
    """`check()` (called periodically) tells when the register went stale. Without any full
    run, the time is counted from the watch's start: a fresh install is not stale at once."""

    def __init__(
        self,
        engine: sa.Engine,
        notifications: Notifications,
        stale_after_h: int,
        *,
        now: Callable[[], datetime] = _utc_now,
    ) -> None:
        self.engine = engine
        self.notifications = notifications
        self.stale_after = timedelta(hours=stale_after_h)
        self.now = now
        self.started = now()
        # The last full run's time this watch has told about (`started` when there was none).
        self._told_since: datetime | None = None

    def check(self) -> bool:
        """Whether the register is stale; tells the first time it is found so."""
        try:
            with self.engine.connect() as conn:
                last = last_full_run_completed(conn)
        except sa.exc.SQLAlchemyError as exc:
            # /healthz says the database is away; staleness is checked again next time.
            log.warning("staleness not checked (%s)", type(exc).__name__)
            return False
        since = last or self.started
        if self.now() - since < self.stale_after:
            return False
        if self._told_since != since:
            self._told_since = since
            self._tell(last)
        return True

    def _tell(self, last: datetime | None) -> None:
        hours = int(self.stale_after.total_seconds() // 3600)
        when = (
            f"The last full run completed at {last:%Y-%m-%d %H:%M} UTC"
            if last
            else "No full run has completed since this service started"
        )
        log.warning("no full run has completed for %d hours: %s", hours, when)
        if not self.notifications.configured:
            return
        self.notifications.send_in_background(
            EventNotice(
                event="stale",
                subject=f"ic3sync: no full run has completed for {hours} hours",
                details=[
                    f"{when}; IC3_STALE_AFTER_H is {hours}.",
                    "Look at the schedule (IC3_SYNC_CRON) and at the latest runs: aborted, "
                    "cancelled or partial runs do not bring the whole register up to date.",
                ],
            )
        )
