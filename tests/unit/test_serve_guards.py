"""Where `ic3sync serve` may listen with which admin token: off loopback, a token that a person
could guess (short, or long but of few characters) is refused, naming the variable and never
the token."""

from __future__ import annotations

import pytest
from pydantic import SecretStr

from ic3sync.api.server import check_bind
from ic3sync.config import Settings
from ic3sync.errors import ConfigError


def _settings(token: str) -> Settings:
    return Settings(_env_file=None, admin_token=SecretStr(token))


@pytest.mark.parametrize(
    "token", ["a" * 24, "ab" * 12, "abcdefghi" * 3, "password" * 3 + "12", "a" * 31]
)
def test_a_long_token_of_few_different_characters_is_refused_off_loopback(token: str) -> None:
    with pytest.raises(ConfigError) as refused:
        check_bind(_settings(token), "0.0.0.0")
    said = str(refused.value)
    assert "IC3_ADMIN_TOKEN" in said and "10 different" in said and token not in said
    check_bind(_settings(token), "127.0.0.1")  # on loopback nobody else can try it


@pytest.mark.parametrize(
    "token", ["0123456789abcdefghijklmn", "q7Xz-2pLk_9RmWv4TbYc8NsE", "ab" * 16]
)
def test_a_varied_or_a_32_character_token_is_taken_off_loopback(token: str) -> None:
    check_bind(_settings(token), "0.0.0.0")
