"""Small helpers the integration and end-to-end tests share: seeding the register, reading
tables back, and a client pointed at a simulator."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from pydantic import SecretStr

from ic3sync.db.schema import asset_master, metadata
from ic3sync.innomaint.client import InnomaintClient
from ic3sync.model import AssetOutcome, RunObserver

TOKEN = "sim-token-0123456789-abcdefghij-KLMNOPQRST"


def seed_assets(
    engine: sa.Engine,
    ids: Sequence[str],
    *,
    customer_id: int | None = 24463,
    criticality: str | None = None,
    start_seq: int = 1,
) -> None:
    now = datetime.now(UTC)
    rows = [
        {
            "cmms_asset_id": cid,
            "report_seq_no": start_seq + i,
            "asset_name": f"Asset {cid}",
            "customer_id": customer_id,
            "criticality": criticality,
            "created_at": now,
            "updated_at": now,
        }
        for i, cid in enumerate(ids)
    ]
    with engine.begin() as conn:
        conn.execute(sa.insert(asset_master), rows)


def table_rows(engine: sa.Engine, name: str, order_by: str | None = None) -> list[dict[str, Any]]:
    table = metadata.tables[name]
    query = sa.select(table)
    if order_by:
        query = query.order_by(sa.text(order_by))
    with engine.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(query)]


def master(engine: sa.Engine, cmms_asset_id: str) -> dict[str, Any]:
    with engine.connect() as conn:
        row = conn.execute(
            sa.select(asset_master).where(asset_master.c.cmms_asset_id == cmms_asset_id)
        ).one()
    return dict(row._mapping)


class OnOutcome(RunObserver):
    """A run observer that hands each asset's outcome to `callback`."""

    def __init__(self, callback: Callable[[AssetOutcome], object]) -> None:
        self.callback = callback

    def asset_done(self, index: int, outcome: AssetOutcome) -> None:
        self.callback(outcome)


def client_for(url: str, *, rate_ms: int = 0, max_retries: int = 3, **kw: Any) -> InnomaintClient:
    return InnomaintClient(
        url=url,
        token=SecretStr(TOKEN),
        rate_ms=rate_ms,
        timeout_s=kw.pop("timeout_s", 5),
        max_retries=max_retries,
        backoff_base_s=0,
        retry_after_cap_s=kw.pop("retry_after_cap_s", 0.05),
        **kw,
    )


def all_text(engine: sa.Engine, tables: Iterable[str] | None = None) -> str:
    """Every value of every table, as one string, for secret-leak checks."""
    parts = []
    with engine.connect() as conn:
        for name in tables or metadata.tables:
            for row in conn.execute(sa.select(metadata.tables[name])):
                parts.extend(str(v) for v in row)
    return "\n".join(parts)
