"""The work that follows a run the command line started: its notice and the log's prune."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from ic3sync.model import Observers, RunObserver

if TYPE_CHECKING:
    from ic3sync.bootstrap import Wiring


class _RunStartSeen(RunObserver):
    """Remembers the id of the run once it has started; None while no run has."""

    run_id: int | None = None

    def run_started(self, run_id: int, total: int) -> None:
        self.run_id = run_id


@contextmanager
def notify_and_prune_after_run(wiring: Wiring) -> Iterator[RunObserver]:
    """What follows a run of this process: its notice (sent in the background while the log
    is pruned, then waited for a bounded time) and the prune. Neither touches the exit code."""
    from ic3sync.db.retention import prune_after_run

    notifications = wiring.notifications()
    started = _RunStartSeen()
    try:
        yield Observers(started, notifications.observer("cli"))
    finally:
        if started.run_id is not None:
            prune_after_run(wiring.engine, wiring.settings.log_retention_days)
            notifications.drain()
