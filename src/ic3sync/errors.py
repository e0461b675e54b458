"""The exceptions of ic3sync. They carry what went wrong in words an operator can act on,
and never the API token. The edges (cli/, api/) turn them into exit codes and HTTP codes.

    Ic3SyncError
    ├── ConfigError            bad or missing configuration (e.g. no INNOMAINT_API_TOKEN)
    ├── DatabaseError          the database cannot be reached or refused a statement
    ├── AssetNotStored         one asset's rows were refused, or their connection kept dropping
    ├── ImportFileError        an asset register file or one of its rows is not acceptable
    ├── AssetNotFound          the asset is not in ic3_asset_master
    ├── NoAssetMatches         a run's selection matches no asset: nothing to do, no run row
    ├── RunInProgress          another sync run holds the lock
    ├── RunNotFound            no run has this run_id
    ├── RunNotCancellable      the run is not running (it is over)
    ├── ServiceStopping        the service is shutting down and starts no run
    ├── AssetSyncFailed        a single-asset sync ran, but the asset did not succeed
    ├── Cancelled              the run was asked to stop (Ctrl-C, SIGTERM, a cancel request)
    └── VendorError            one asset could not be fetched from Innomaint
        ├── VendorAuthError    401/403: the token is wrong; the whole run stops
        ├── VendorTransient    429, 502-504, timeouts, connection errors: retried
        ├── VendorRejected     400, 404, other statuses, non-JSON, "status": false
        └── SerialMismatch     the answer is about another asset

Every failure of an asset has a `kind` from the closed set ErrorKind, stored beside its message in
cmms_sync_log.error_kind: metrics and the dashboard group by it and never read the message.
"""

from __future__ import annotations

from typing import Literal, get_args

ErrorKind = Literal[
    "http_400",  # the vendor refused the request
    "http_404",  # the vendor does not know the asset
    "http_4xx",  # another 4xx the vendor answered
    "http_other",  # a status that is neither 2xx, 4xx nor 5xx (a redirect, which is not followed)
    "auth",  # 401 or 403: the token is wrong; the run stops
    "rate_limited",  # 429 after the retries
    "server_error",  # 5xx (502-504 after the retries)
    "timeout",  # no whole answer within INNOMAINT_TIMEOUT_S
    "connection",  # refused, reset, DNS, TLS, a URL that cannot be called
    "too_large",  # an answer above INNOMAINT_MAX_RESPONSE_MB
    "not_json",  # a 200 whose body is not JSON
    "bad_answer",  # JSON of an unexpected shape, or a body that cannot be read
    "status_false",  # a 200 with "status": false
    "serial_mismatch",  # the answer is about another asset
    "database",  # the database refused the asset's rows or stayed away
    "cancelled",  # skipped: the run was cancelled before the asset
    "aborted",  # skipped: the run was aborted before the asset
]
ERROR_KINDS: tuple[ErrorKind, ...] = get_args(ErrorKind)
# The kinds that say the vendor cannot be reached or answers garbage, whatever the asset.
VENDOR_DOWN_KINDS: frozenset[ErrorKind] = frozenset(
    {"connection", "timeout", "server_error", "not_json"}
)
HTTP_KINDS: frozenset[ErrorKind] = frozenset(
    {"http_400", "http_404", "http_4xx", "http_other", "auth", "rate_limited", "server_error"}
)


def http_kind(status: int) -> ErrorKind:
    """The kind of a failed answer by its HTTP status."""
    if status in (401, 403):
        return "auth"
    if status == 429:
        return "rate_limited"
    if status in (400, 404):
        return "http_400" if status == 400 else "http_404"
    if 400 <= status < 500:
        return "http_4xx"
    return "server_error" if status >= 500 else "http_other"


class Ic3SyncError(Exception):
    """Base of every error ic3sync raises on purpose."""

    kind: ErrorKind | None = None


class ConfigError(Ic3SyncError):
    pass


class DatabaseError(Ic3SyncError):
    kind = "database"


LOCK_LOST = (
    "the run lock was lost with its database connection and another run has taken it; "
    "this run stops so that two runs never write at once"
)


class AssetNotStored(Ic3SyncError):
    """The database refused one asset's rows, or lost the connection while they were written
    too many times: that asset fails, the run goes on."""

    kind = "database"

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(reason)


class ImportFileError(Ic3SyncError):
    def __init__(self, path: str, message: str, row: int | None = None) -> None:
        self.path = path
        self.row = row
        where = f"{path}, row {row}" if row is not None else path
        super().__init__(f"{where}: {message}")


class ExportFileError(Ic3SyncError):
    """A file an export was asked to write cannot be written there."""


class AsOfDateError(Ic3SyncError):
    """A day the register cannot be shown as of (one in the future)."""


class AssetNotFound(Ic3SyncError):
    def __init__(self, cmms_asset_id: str) -> None:
        self.cmms_asset_id = cmms_asset_id
        super().__init__(f"asset {cmms_asset_id!r} is not in ic3_asset_master")


# What a person does about an id the register does not hold: the dashboard and sync-one say it.
NOT_IN_REGISTER_HINT = (
    "To sync it, add it to the asset register and import the register: "
    "ic3sync import-assets <register.xlsx>. Ids are compared as written, spaces included."
)

EMPTY_REGISTER = (
    "ic3_asset_master holds no asset yet: import the register first (`ic3sync import-assets FILE`)"
)


class NoAssetMatches(Ic3SyncError):
    """Not a failure: the selection is empty, so no run starts and no run row is written (an
    empty run would only bury the real ones)."""

    def __init__(self, selection: str) -> None:
        self.selection = selection  # empty: the whole register, which is empty
        if selection:
            super().__init__(f"no asset matches {selection}; nothing to sync")
        else:
            super().__init__(f"{EMPTY_REGISTER}; nothing to sync")


class RunInProgress(Ic3SyncError):
    def __init__(self, run_id: int | None) -> None:
        self.run_id = run_id
        which = f"run {run_id}" if run_id is not None else "another run"
        super().__init__(f"a sync is already running ({which}); wait for it or cancel it")


class RunNotFound(Ic3SyncError):
    def __init__(self, run_id: int) -> None:
        self.run_id = run_id
        super().__init__(f"run {run_id} does not exist")


class RunNotCancellable(Ic3SyncError):
    """The run is not running: it is over, so there is nothing to cancel."""

    def __init__(self, run_id: int, message: str) -> None:
        self.run_id = run_id
        super().__init__(message)


class ServiceStopping(Ic3SyncError):
    def __init__(self) -> None:
        super().__init__("the service is shutting down; no new run is started")


class AssetSyncFailed(Ic3SyncError):
    """A single-asset sync ran but the asset failed (the vendor's reason) or the run stopped."""

    def __init__(
        self, cmms_asset_id: str, run_id: int, reason: str, *, vendor: bool, run_status: str
    ) -> None:
        self.cmms_asset_id = cmms_asset_id
        self.run_id = run_id
        self.reason = reason
        # True when the asset was fetched and failed, or the run was aborted (a rejected
        # token); False when the run stopped before the asset for another reason.
        self.vendor = vendor
        self.run_status = run_status
        super().__init__(f"{cmms_asset_id}: {reason}")


class Cancelled(Ic3SyncError):
    """Raised inside a wait when the run has been asked to stop."""

    kind = "cancelled"


class VendorError(Ic3SyncError):
    """One request to the Innomaint API failed. `reason` is safe to log and store; `kind` says
    what failed, for machines."""

    # Every place that raises one names its kind; this is only the floor.
    kind: ErrorKind = "bad_answer"

    def __init__(
        self,
        reason: str,
        *,
        kind: ErrorKind | None = None,
        http_status: int | None = None,
        attempts: int = 1,
    ) -> None:
        self.reason = reason
        if kind is not None:
            self.kind = kind
        self.http_status = http_status
        self.attempts = attempts
        super().__init__(reason)

    @property
    def unreachable(self) -> bool:
        """The vendor as a whole failed (no connection, a timeout, 5xx, garbage), not this
        asset: enough of these in a row end the run (contract rule 9)."""
        return self.kind in VENDOR_DOWN_KINDS


class VendorAuthError(VendorError):
    kind = "auth"


class VendorTransient(VendorError):
    def __init__(
        self,
        reason: str,
        *,
        kind: ErrorKind,
        http_status: int | None = None,
        attempts: int = 1,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(reason, kind=kind, http_status=http_status, attempts=attempts)
        self.retry_after = retry_after


class VendorRejected(VendorError):
    pass


class SerialMismatch(VendorError):
    kind = "serial_mismatch"
