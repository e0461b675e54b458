"""The wiring's schema check, shared by the command line, the service and /healthz: an outdated
schema is refused with what to do; an unreachable database stops the CLI but not the service.
/healthz on an outdated schema: tests/e2e/test_api.py."""

from __future__ import annotations

import pytest

from ic3sync.bootstrap import open_engine
from ic3sync.config import Settings
from ic3sync.db.migrate import upgrade
from ic3sync.errors import DatabaseError

UNREACHABLE = "postgresql+psycopg://nobody:secret-pw@127.0.0.1:1/none"


def _settings(url: str) -> Settings:
    return Settings(database_url=url)


@pytest.mark.parametrize("schema", ["require", "if_reachable"])
def test_a_database_without_the_schema_is_refused_with_what_to_do(tmp_path, schema):
    settings = _settings(f"sqlite:///{tmp_path / 'empty.db'}")
    with pytest.raises(DatabaseError, match=r"revision none, not .*run `ic3sync migrate`"):
        open_engine(settings, schema=schema)  # type: ignore[arg-type]


def test_a_migrated_database_passes_the_check(tmp_path):
    settings = _settings(f"sqlite:///{tmp_path / 'ok.db'}")
    upgrade(open_engine(settings, schema="skip"))
    assert open_engine(settings).dialect.name == "sqlite"


def test_an_unreachable_database_stops_the_cli_but_not_the_service():
    settings = _settings(UNREACHABLE)
    with pytest.raises(DatabaseError, match="cannot reach the database") as refused:
        open_engine(settings, schema="require")
    assert "secret-pw" not in str(refused.value)
    assert open_engine(settings, schema="if_reachable").dialect.name == "postgresql"
