"""Names that look like settings but are none are warned about, with the closest setting."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import pytest

from ic3sync.bootstrap import warn_unknown_settings


def test_a_misspelt_name_in_env_or_the_environment_is_named_with_the_closest_setting(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text("IC3_DATABSE_URL=postgresql+psycopg://u@h/db\nIC3_TIMEZONE=UTC\n")
    monkeypatch.setenv("INNOMAINT_RATE_MSS", "500")
    monkeypatch.setenv("INNOMAINT_API_TOKEN", "t")
    monkeypatch.setenv("IC3_TEST_PG_ADMIN_URL", "postgresql+psycopg://postgres@h/postgres")

    with caplog.at_level(logging.WARNING, logger="ic3sync.bootstrap"):
        said = warn_unknown_settings(env_file)

    assert said == [
        f"IC3_DATABSE_URL in {env_file} is not an ic3sync setting and is ignored; "
        "did you mean IC3_DATABASE_URL?",
        "INNOMAINT_RATE_MSS in the environment is not an ic3sync setting and is ignored; "
        "did you mean INNOMAINT_RATE_MS?",
    ]
    assert [r.getMessage() for r in caplog.records] == said


def test_known_names_and_other_variables_say_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in [n for n in os.environ if n.startswith(("IC3_", "INNOMAINT_"))]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("IC3_LOG_RETENTION_DAYS", "30")
    monkeypatch.setenv("PATHX", "1")
    assert warn_unknown_settings(tmp_path / "no.env") == []
