"""docs/configuration.md's table of settings is the one `Settings` generates: it cannot drift."""

from __future__ import annotations

from pathlib import Path

import pytest

from ic3sync import settings_doc
from ic3sync.config import Settings

CONFIGURATION = Path(__file__).resolve().parents[2] / "docs" / "configuration.md"


def test_the_configuration_page_holds_the_table_settings_generate():
    document = CONFIGURATION.read_text(encoding="utf-8")
    assert settings_doc.with_table(document) == document, (
        f"docs/configuration.md's settings table is stale: run {settings_doc.COMMAND}"
    )


def test_every_setting_has_a_row_with_its_variable_and_a_meaning():
    table = settings_doc.settings_table()
    for field in Settings.model_fields.values():
        assert field.description, f"{field.validation_alias} has no description"
        assert f"| `{field.validation_alias}` |" in table


def test_a_row_shows_the_default_and_the_range():
    rows = {row.split(" | ")[0]: row for row in settings_doc.settings_table().splitlines()}
    assert rows["| `INNOMAINT_RATE_MS`"].startswith(
        "| `INNOMAINT_RATE_MS` | `200` | 0 to 3,600,000 | "
    )
    assert (
        "| `INNOMAINT_TIMEOUT_S` | `15` | above 0, at most 3,600 | "
        in rows["| `INNOMAINT_TIMEOUT_S`"]
    )
    assert "| `IC3_LOG_FORMAT` | `text` | `text` or `json` | " in rows["| `IC3_LOG_FORMAT`"]
    assert rows["| `INNOMAINT_API_TOKEN`"].startswith("| `INNOMAINT_API_TOKEN` | none | ")


def test_check_says_the_command_when_the_table_is_stale(tmp_path, capsys):
    page = tmp_path / "configuration.md"
    page.write_text(f"# Settings\n\n{settings_doc.BEGIN}\n| old |\n{settings_doc.END}\nafter\n")
    assert settings_doc.main(["--check", str(page)]) == 1
    assert settings_doc.COMMAND in capsys.readouterr().err
    assert settings_doc.main(["--write", str(page)]) == 0
    assert settings_doc.main(["--check", str(page)]) == 0
    text = page.read_text()
    assert text.startswith("# Settings\n\n") and text.endswith(f"{settings_doc.END}\nafter\n")
    assert "| old |" not in text


def test_a_page_without_markers_is_refused():
    with pytest.raises(ValueError, match="markers"):
        settings_doc.with_table("# no table here\n")
