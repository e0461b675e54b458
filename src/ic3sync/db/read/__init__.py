"""The read side: plain queries over a connection returning the typed rows of db/views.py.
A module per subject (runs, assets, the assets list, what needs attention, changes, the
register as files); the package names them
all, so a caller reads `read.get_run(conn, 7)`. How a value is shown is api/present.py's."""

from ic3sync.db.read.asset_list import list_assets, register_buildings, register_criticalities
from ic3sync.db.read.assets import asset_detail, register_customers, register_health
from ic3sync.db.read.attention import needs_attention
from ic3sync.db.read.changes import (
    asset_changes,
    change_counts,
    iter_changes,
    list_changes,
    run_change_counts,
    run_changes,
)
from ic3sync.db.read.export import iter_failures, iter_register, latest_run_id, register_columns
from ic3sync.db.read.health import ping
from ic3sync.db.read.runs import (
    failure_groups,
    failure_kinds,
    get_run,
    last_full_completion,
    list_runs,
    run_log,
)
from ic3sync.db.selection import find_asset

__all__ = [
    "asset_changes",
    "asset_detail",
    "change_counts",
    "failure_groups",
    "failure_kinds",
    "find_asset",
    "get_run",
    "iter_changes",
    "iter_failures",
    "iter_register",
    "last_full_completion",
    "latest_run_id",
    "list_assets",
    "list_changes",
    "list_runs",
    "needs_attention",
    "ping",
    "register_buildings",
    "register_columns",
    "register_criticalities",
    "register_customers",
    "register_health",
    "run_change_counts",
    "run_changes",
    "run_log",
]
