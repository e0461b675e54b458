"""The settings a run takes from the environment: the wait for a lost database and the vendor's
time zone reach run_sync, and a bad value is refused naming its variable."""

from __future__ import annotations

from zoneinfo import ZoneInfo

import pytest

from ic3sync.config import Settings
from ic3sync.sync import run_options


def test_the_database_wait_and_the_vendor_zone_reach_the_run(monkeypatch):
    monkeypatch.setenv("IC3_DB_RETRY_S", "2.5")
    monkeypatch.setenv("INNOMAINT_TIMEZONE", "Europe/Berlin")
    options = run_options(Settings(_env_file=None))
    assert options == {"db_retry_s": 2.5, "vendor_zone": ZoneInfo("Europe/Berlin")}


def test_the_defaults_are_thirty_seconds_and_india(monkeypatch):
    monkeypatch.delenv("IC3_DB_RETRY_S", raising=False)
    monkeypatch.delenv("INNOMAINT_TIMEZONE", raising=False)
    options = run_options(Settings(_env_file=None))
    assert options == {"db_retry_s": 30.0, "vendor_zone": ZoneInfo("Asia/Kolkata")}


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("INNOMAINT_TIMEZONE", "Mars/Olympus"),
        ("IC3_TIMEZONE", "Mars/Olympus"),
        ("IC3_DB_RETRY_S", "-1"),
        ("IC3_LOG_FORMAT", "xml"),
        # Beyond what the clocks, sockets and dates they reach can hold, or not numbers at all.
        ("INNOMAINT_TIMEOUT_S", "1e308"),
        ("INNOMAINT_TIMEOUT_S", "inf"),
        ("INNOMAINT_MAX_RESPONSE_MB", "Infinity"),
        ("INNOMAINT_RATE_MS", "1000000000000000"),
        ("INNOMAINT_MAX_CONSECUTIVE_FAILURES", "10000000000000000000000"),
        ("IC3_LOG_RETENTION_DAYS", "100000000000"),
        ("IC3_DB_RETRY_S", "nan"),
        ("IC3_NOTIFY_TIMEOUT_S", "-inf"),
        ("IC3_PUBLIC_URL", "javascript:alert(1)"),
        ("IC3_PUBLIC_URL", "ic3sync.example.org/dashboard"),
    ],
)
def test_a_bad_value_is_refused_naming_the_variable(monkeypatch, name, value):
    monkeypatch.setenv(name, value)
    with pytest.raises(ValueError, match=name):
        Settings(_env_file=None)


def test_a_ca_file_that_is_missing_or_no_pem_bundle_is_refused_naming_it(monkeypatch, tmp_path):
    not_pem = tmp_path / "ca.txt"
    not_pem.write_text("not a certificate\n")
    for path in (tmp_path / "missing.pem", not_pem, tmp_path):
        monkeypatch.setenv("INNOMAINT_CA_FILE", str(path))
        with pytest.raises(ValueError, match="INNOMAINT_CA_FILE") as caught:
            Settings(_env_file=None)
        assert "not a readable CA bundle in PEM" in str(caught.value)


def test_a_pem_bundle_is_taken_as_the_ca_file(monkeypatch, tmp_path):
    import trustme

    bundle = tmp_path / "ca.pem"
    trustme.CA().cert_pem.write_to_path(str(bundle))
    monkeypatch.setenv("INNOMAINT_CA_FILE", str(bundle))
    assert Settings(_env_file=None).ca_file == str(bundle)
