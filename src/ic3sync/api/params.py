"""The parameters of the admin API and the dashboard's routes, checked the same way on both."""

from __future__ import annotations

from typing import Annotated

from fastapi import Path, Query

from ic3sync.model import INT64_MAX, ChangeSource

INT32_MAX = 2**31 - 1

RunId = Annotated[int, Path(ge=1, le=INT64_MAX, description="the run's run_id")]
AssetId = Annotated[
    str,
    Path(
        description="the Innomaint asset id as in ic3_asset_master, URL-encoded "
        "(e.g. `Delhi%20Cantt%20Naraina_BP_01`)",
        examples=["Delhi Cantt Naraina_BP_01"],
    ),
]
Limit = Annotated[int, Query(ge=1, le=500, description="page size")]
Offset = Annotated[int, Query(ge=0, le=INT32_MAX, description="rows to skip")]
Source = Annotated[
    ChangeSource | None,
    Query(description="only a sync's changes (`cmms`) or an import's (`register`)"),
]
ColumnName = Annotated[
    str | None,
    Query(
        max_length=100,
        pattern=r"^[a-z0-9_.]+$",
        description="only changes of this column (`criticality`, `upto.ticket_count`, ...)",
    ),
]
