"""Schemathesis against /openapi.json of a live `ic3sync serve` on each backend: generated
requests to every operation get no 5xx and no answer that breaks the documented schema."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings

from ic3sync.db.engine import make_engine
from tests.conftest import BACKENDS, MigratedTemplates, examples
from tests.e2e.conftest import ADMIN_TOKEN, BROKEN, ServerProcess, serving
from tests.helpers import seed_assets

# Enough to reach every parameter's edges; `make thorough` draws more.
EXAMPLES_PER_OPERATION = examples(15, 60)
REGISTER = ["Delhi Cantt Naraina_BP_01", "Plant 01_PUMP_01", "Plant/02 #PUMP?02", BROKEN]


@pytest.fixture(scope="module", params=BACKENDS)
def live_server(
    request: pytest.FixtureRequest,
    api_simulator: str,
    tmp_path_factory: pytest.TempPathFactory,
    migrated_templates: MigratedTemplates,
) -> Iterator[ServerProcess]:
    tmp: Path = tmp_path_factory.mktemp(f"schemathesis-{request.param}")
    if request.param == "sqlite":
        url = migrated_templates.sqlite_copy(tmp / "ic3sync.db")
    else:
        url = migrated_templates.pg_copy()
    engine = make_engine(url)
    seed_assets(engine, REGISTER)
    engine.dispose()
    try:
        with serving(url, api_simulator, tmp) as server:
            yield server
    finally:
        if request.param == "postgresql":
            migrated_templates.pg_return(url)


def test_the_service_keeps_to_its_openapi_schema(live_server: ServerProcess) -> None:
    api = schemathesis.openapi.from_url(f"{live_server.url}/openapi.json")
    operations = [result.ok() for result in api.get_all_operations()]
    assert len(operations) == 12
    headers = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(
            max_examples=EXAMPLES_PER_OPERATION,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            database=None,
        )
        def check(case: schemathesis.Case) -> None:
            case.call_and_validate(headers=headers)

        check()
