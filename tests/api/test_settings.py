"""API_LISTEN, API_PORT, API_RATE_LIMIT: defaults, and one line naming a malformed one."""

from __future__ import annotations

import pytest

from db.settings import Settings, SettingsError, load_settings


def test_defaults():
    settings = Settings(_env_file=None)
    assert (settings.api_listen, settings.api_port, settings.api_rate_limit) == ("127.0.0.1", 8080, 120)


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("API_PORT", "0", "Setting API_PORT must be a port number from 1 to 65535"),
        ("API_PORT", "http", "Setting API_PORT must be a port number from 1 to 65535"),
        ("API_RATE_LIMIT", "0", "Setting API_RATE_LIMIT must be a whole number of requests a minute from 1 to 1000000"),
        (
            "API_RATE_LIMIT",
            "lots",
            "Setting API_RATE_LIMIT must be a whole number of requests a minute from 1 to 1000000",
        ),
    ],
)
def test_a_malformed_setting_is_one_line_naming_it(monkeypatch, tmp_path, name, value, message):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv(name, value)
    with pytest.raises(SettingsError) as error:
        load_settings()
    assert str(error.value) == message
