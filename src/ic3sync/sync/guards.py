"""What stops a run between two assets: a cancel request, a lost run lock, a vendor that
cannot be reached. Each reads the world at most as often as it needs to."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from ic3sync.errors import LOCK_LOST, VENDOR_DOWN_KINDS, DatabaseError
from ic3sync.model import AssetOutcome

log = logging.getLogger("ic3sync.sync")

# How often a run reads its row for a cancel request from another process (the dashboard of
# another server, the API while the CLI runs). Between assets, never during one.
CANCEL_CHECK_S = 1.0
# How often a run makes sure it still holds its PostgreSQL lock. The lock's connection sits idle
# for the whole run, and an idle connection is what an idle_session_timeout, a firewall or an
# operator's pg_terminate_backend ends first; with it the lock would go, unnoticed.
LOCK_CHECK_S = 5.0


class CancelWatch:
    """Whether the run was asked to stop: here (Ctrl-C, SIGTERM, the manager) at once, or by
    any other process, read through `asked_elsewhere` at most every CANCEL_CHECK_S."""

    def __init__(self, event: threading.Event, asked_elsewhere: Callable[[], bool]) -> None:
        self.event = event
        self._asked_elsewhere = asked_elsewhere
        self._checked = 0.0

    def requested(self, run_id: int) -> bool:
        if self.event.is_set():
            return True
        if time.monotonic() - self._checked < CANCEL_CHECK_S:
            return False
        self._checked = time.monotonic()
        if not self._asked_elsewhere():
            return False
        log.warning(
            "run %s: cancel requested from another process; stopping",
            run_id,
            extra={"run_id": run_id},
        )
        self.event.set()
        return True


class LockWatch:
    """At most every LOCK_CHECK_S: DatabaseError once the run lock went to another run."""

    def __init__(self, held: Callable[[], bool]) -> None:
        self._held = held
        self._checked = time.monotonic()

    def check(self) -> None:
        if time.monotonic() - self._checked < LOCK_CHECK_S:
            return
        self._checked = time.monotonic()
        if not self._held():
            raise DatabaseError(LOCK_LOST)


class VendorBreaker:
    """Counts the assets in a row that failed because the vendor could not be reached or
    answered garbage; at the fetcher's limit the run stops instead of failing the rest one by
    one (contract rule 9)."""

    def __init__(self, limit: int, public_url: str) -> None:
        self.limit = limit
        self.public_url = public_url
        self.streak = 0
        self.last_reason = ""

    def record(self, outcome: AssetOutcome) -> None:
        if outcome.status == "failed" and outcome.error_kind in VENDOR_DOWN_KINDS:
            self.streak += 1
            self.last_reason = outcome.error or ""
        else:
            self.streak = 0

    def tripped(self) -> str | None:
        """The run's abort message once the limit is reached."""
        if self.streak < self.limit:
            return None
        return (
            f"Innomaint at {self.public_url} (INNOMAINT_API_URL) could not be reached "
            f"for {self.streak} assets in a row; last reason: {self.last_reason}"
        )
