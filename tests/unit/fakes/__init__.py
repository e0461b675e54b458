"""In-memory fakes of the service layer's ports (ic3sync.sync.ports): a vendor that answers
from a script, and a store that keeps a run's rows in lists. The rules of a run are tested
through them in milliseconds; the real client and database have tests of their own."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from ic3sync.errors import AssetNotFound, AssetNotStored, RunInProgress
from ic3sync.innomaint.client import Fetched
from ic3sync.innomaint.models import parse_response
from ic3sync.innomaint.simulator import asset_payload
from ic3sync.model import AssetOutcome, AssetRef, AssetRows, AssetSelection, SyncResult

# What a scripted vendor does for an asset: an answer (a payload dict), or an error to raise,
# or a function of the request count that returns either.
Script = dict[str, Any] | Exception | Callable[[], Any]


class FakeFetcher:
    """Answers every asset with the simulator's payload for it, unless `script` says otherwise.
    `requests` lists the serialnumbers asked for, in order."""

    public_url = "https://vendor.invalid/api"

    def __init__(
        self,
        script: dict[str, Script] | None = None,
        *,
        max_consecutive_failures: int = 10,
        before_fetch: Callable[[str], None] | None = None,
    ) -> None:
        self.script = script or {}
        self.max_consecutive_failures = max_consecutive_failures
        self.before_fetch = before_fetch
        self.requests: list[str] = []

    def fetch(self, serialnumber: str) -> Fetched:
        if self.before_fetch is not None:
            self.before_fetch(serialnumber)
        self.requests.append(serialnumber)
        what = self.script.get(serialnumber, None)
        if callable(what) and not isinstance(what, Exception):
            what = what()
        if isinstance(what, Exception):
            raise what
        payload = what if what is not None else asset_payload(serialnumber)
        return Fetched(parse_response(json.dumps(payload)), 200, 1, 1.0)


@dataclass
class FakeRun:
    run_id: int
    trigger: str
    selection: AssetSelection
    status: str = "running"
    result: SyncResult | None = None


@dataclass
class FakeRunStore:
    """A RunStore in memory. `register` is the assets in run order; `refuse` names assets whose
    rows the database refuses; `cancel_elsewhere_after` asks for a cancel from another process
    once that many assets are logged; `lock_lost_after` loses the run lock likewise."""

    register: list[AssetRef]
    refuse: set[str] = field(default_factory=set)
    busy: bool = False
    cancel_elsewhere_after: int | None = None
    lock_lost_after: int | None = None
    runs: list[FakeRun] = field(default_factory=list)
    # (cmms_asset_id, what was written): the rows of each committed success.
    written: list[tuple[str, AssetRows]] = field(default_factory=list)
    log: list[AssetOutcome] = field(default_factory=list)
    commits: int = 0
    handed: int = 0
    events: list[str] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def run(self) -> FakeRun:
        return self.runs[-1]

    def start(self, trigger: str, selection: AssetSelection) -> tuple[int | None, int, list[int]]:
        if self.busy:
            raise RunInProgress(None)
        chosen = self._selected(selection)
        if not chosen:
            return None, 0, []
        self.runs.append(FakeRun(len(self.runs) + 1, trigger, selection))
        self._chosen = chosen
        return self.run.run_id, len(chosen), []

    def _selected(self, sel: AssetSelection) -> list[AssetRef]:
        if sel.cmms_asset_id is not None:
            found = [a for a in self.register if a.cmms_asset_id == sel.cmms_asset_id]
            if not found:
                raise AssetNotFound(sel.cmms_asset_id)
            return found
        chosen = [a for a in self.register if sel.customer_id in (None, a.customer_id)]
        if sel.only_failed:
            last = {o.cmms_asset_id: o.status for o in self.log}
            chosen = [a for a in chosen if last.get(a.cmms_asset_id) == "failed"]
        start = sel.offset or 0
        end = None if sel.batch is None else start + sel.batch
        return chosen[start:end]

    def assets(self) -> Iterator[AssetRef]:
        for asset in self._chosen:
            self.handed += 1
            yield asset

    def write_synced(self, asset: AssetRef, rows: AssetRows, outcome: AssetOutcome) -> None:
        if asset.cmms_asset_id in self.refuse:
            raise AssetNotStored("database rejected the asset's rows: refused by the test")
        self.written.append((asset.cmms_asset_id, rows))
        self.log.append(_copy(outcome))
        self.commits += 1
        self.events.append(f"commit {asset.cmms_asset_id}")

    def write_failed(self, asset: AssetRef, outcome: AssetOutcome) -> None:
        self.log.append(_copy(outcome))
        self.commits += 1
        self.events.append(f"commit {asset.cmms_asset_id}")

    def cancel_requested(self) -> bool:
        n = self.cancel_elsewhere_after
        return n is not None and len(self.log) >= n

    def lock_held(self) -> bool:
        n = self.lock_lost_after
        return n is None or len(self.log) < n

    def progress(self, result: SyncResult, current: str | None) -> None:
        pass

    def finish(self, result: SyncResult) -> None:
        if result.status in ("cancelled", "aborted"):
            untaken = self.handed - result.done
            rest = self._chosen[self.handed - untaken :]
            for asset in rest:
                self.log.append(AssetOutcome(asset.cmms_asset_id, "skipped", result.error))
            result.skipped += len(rest)
        self.run.status = result.status
        self.run.result = result


def _copy(outcome: AssetOutcome) -> AssetOutcome:
    return AssetOutcome(**{name: getattr(outcome, name) for name in outcome.__slots__})


def register(*ids: str, customer_id: int | None = None) -> list[AssetRef]:
    return [AssetRef(n + 1, cid, customer_id) for n, cid in enumerate(ids)]
