"""What the service layer needs from the world: a fetcher of one asset's detail, and a store that
keeps what a run does. Production plugs in innomaint.client and db.unit_of_work; the unit tests
plug in fakes held in memory."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Protocol

from ic3sync.model import AssetOutcome, AssetRef, AssetSelection, SyncResult

if TYPE_CHECKING:
    from ic3sync.innomaint.client import Fetched
    from ic3sync.model import AssetRows


class Fetcher(Protocol):
    # Printable INNOMAINT_API_URL, and how many assets in a row may fail because the vendor
    # cannot be reached before the run gives up (rule 9).
    @property
    def public_url(self) -> str: ...
    @property
    def max_consecutive_failures(self) -> int: ...

    def fetch(self, serialnumber: str) -> Fetched: ...


class AssetStore(Protocol):
    """Where one asset's sync writes. Each call is one transaction (contract rule 2); failures
    leave as AssetNotStored (this asset only) or DatabaseError (the run cannot go on)."""

    def write_synced(self, asset: AssetRef, rows: AssetRows, outcome: AssetOutcome) -> None:
        """The asset's rows, the changes they make, and its success log row, together."""

    def write_failed(self, asset: AssetRef, outcome: AssetOutcome) -> None:
        """The asset's failed log row alone."""


class RunStore(AssetStore, Protocol):
    """The unit of work of a whole run: its row, its assets, its watchers' readings."""

    def start(self, trigger: str, selection: AssetSelection) -> tuple[int | None, int, list[int]]:
        """(the new run's id, its asset count, the runs found dead and marked interrupted).
        No run row (None) when the selection is empty. RunInProgress, AssetNotFound."""

    def assets(self) -> Iterator[AssetRef]:
        """The run's assets in run order (report_seq_no, then asset_id)."""

    def cancel_requested(self) -> bool:
        """Whether another process asked this run to stop; False when it cannot be read."""

    def lock_held(self) -> bool:
        """Whether the run still holds the run lock; True when it cannot be checked."""

    def progress(self, result: SyncResult, current: str | None) -> None:
        """The run row's counters for watchers, as often as the store sees fit."""

    def finish(self, result: SyncResult) -> None:
        """Log the assets a stopped run never reached as skipped (adding them to `result`) and
        close the run row."""
