"""URLs as they are printed: no userinfo, and no value of a query parameter that holds a
secret, whatever its name's case or place."""

from __future__ import annotations

import pytest

from ic3sync.db.engine import redact_url
from ic3sync.urls import strip_credentials, without_credentials


@pytest.mark.parametrize(
    "url",
    [
        "postgresql://u@127.0.0.1:1/db?password=S3cretPw",
        "postgresql://u@h/db?sslmode=require&sslpassword=S3cretPw",
        "postgresql+psycopg://u@h/db?PassWord=S3cretPw&application_name=ic3",
        "postgresql://u@h/db?sslkey=/k.pem&db_secret=S3cretPw",
    ],
)
def test_a_database_url_is_printed_without_a_secret_query_value(url: str) -> None:
    shown = redact_url(url)
    assert "S3cretPw" not in shown and "=***" in shown
    assert shown.startswith(url.split("@")[0] + "@")  # the user name is no secret


def test_other_query_values_and_the_user_name_stay() -> None:
    shown = redact_url("postgresql://ic3:pw@h:5432/db?sslmode=require&password=S3cretPw")
    assert shown == "postgresql://ic3:***@h:5432/db?password=***&sslmode=require"


@pytest.mark.parametrize(
    "url",
    [
        "https://user:S3cretPw@vendor.example/api",
        "https://vendor.example/api?api_key=S3cretPw&x=1",
        "https://vendor.example/api?access_token=S3cretPw",
        "https://vendor.example/api?x=1;client_secret=S3cretPw#top",
    ],
)
def test_a_vendor_url_is_printed_without_credentials(url: str) -> None:
    assert "S3cretPw" not in without_credentials(url)
    assert "S3cretPw" not in strip_credentials(f"cannot call {url}: refused")
    assert without_credentials(url).startswith("https://vendor.example/api")


def test_a_url_without_credentials_is_printed_as_it_is() -> None:
    url = "https://vendor.example/api/getAssetIDDetailByAssetID?customer=24463&page=2"
    assert without_credentials(url) == url == strip_credentials(url)
