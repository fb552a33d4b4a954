"""Settings: each malformed setting stops start-up with one line naming it; secrets stay secret."""

from __future__ import annotations

from datetime import time

import pytest

from db.settings import TOKEN_HELP, SettingsError, load_settings

TOKEN = "123456789:AAHsecretsecretsecretsecretsecret_xyz"


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch, tmp_path):
    """No developer's .env or environment leaks into these tests."""
    monkeypatch.chdir(tmp_path)
    for name in (
        "TELEGRAM_BOT_TOKEN", "TELEGRAM_API_URL", "DATABASE_URL", "ADMIN_IDS", "STORE_NAME", "CURRENCY",
        "STORE_TIMEZONE", "PHONE_REGION", "DAILY_REPORT_TIME", "LOW_STOCK_THRESHOLD", "WEBHOOK_URL",
        "WEBHOOK_SECRET", "WEBHOOK_LISTEN", "WEBHOOK_PORT", "RECEIPT_FOOTER", "RECEIPT_WIDTH", "RECEIPT_PRINTER",
        "SMTP_URL", "SMTP_FROM",
    ):  # fmt: skip
        monkeypatch.delenv(name, raising=False)


def test_defaults_need_nothing_but_a_token_to_run():
    settings = load_settings()
    assert settings.database_url == "sqlite+aiosqlite:///pos.db"
    assert settings.currency == "USD" and settings.store_timezone == "UTC"
    with pytest.raises(SettingsError) as err:
        settings.token()
    assert str(err.value) == TOKEN_HELP
    assert "@BotFather" in TOKEN_HELP and ".env" in TOKEN_HELP


def test_values_are_read_from_the_environment_and_dotenv(monkeypatch, tmp_path):
    (tmp_path / ".env").write_text(f"TELEGRAM_BOT_TOKEN={TOKEN}\nCURRENCY=eur\nADMIN_IDS=11, 22\n")
    monkeypatch.setenv("STORE_TIMEZONE", "Europe/Berlin")
    monkeypatch.setenv("DAILY_REPORT_TIME", "20:30")
    settings = load_settings()
    assert settings.token() == TOKEN
    assert settings.currency == "EUR"
    assert settings.admin_ids == [11, 22]
    assert str(settings.tz) == "Europe/Berlin"
    assert settings.daily_report_time == time(20, 30)
    assert settings.secrets() == [TOKEN]


@pytest.mark.parametrize(
    ("name", "value", "says"),
    [
        ("DATABASE_URL", "mysql://user@host/db", "(got mysql://; did you mean sqlite+aiosqlite://?)"),
        ("DATABASE_URL", "not a url at all", "is not a database URL"),
        ("DATABASE_URL", "sqlite:///pos.db", "(got sqlite://; did you mean sqlite+aiosqlite://?)"),
        ("DATABASE_URL", "postgresql://pos@db/pos", "did you mean postgresql+asyncpg://?"),
        ("CURRENCY", "XXQ", "not an ISO 4217 currency code"),
        ("CURRENCY", "XXX", "not an ISO 4217 currency code"),  # "no currency" is not one a shop takes
        ("STORE_TIMEZONE", "Mars/Olympus", "not an IANA time zone"),
        ("ADMIN_IDS", "123,abc", "“abc” is not a Telegram user id"),
        ("ADMIN_IDS", "-5", "is not a Telegram user id"),
        ("DAILY_REPORT_TIME", "25:00", "must be a time of day as HH:MM (24-hour clock), e.g. 21:00"),
        ("DAILY_REPORT_TIME", "9pm", "must be a time of day as HH:MM"),
        ("LOW_STOCK_THRESHOLD", "-1", "must be a whole number from 0 to 1000000"),
        ("LOW_STOCK_THRESHOLD", "few", "must be a whole number from 0 to 1000000"),
        ("TELEGRAM_API_URL", "ftp://example.org", "http:// or https://"),
        ("WEBHOOK_URL", "http://shop.example.org/hook", "Telegram requires HTTPS"),
        ("WEBHOOK_PORT", "70000", "must be a port number from 1 to 65535"),
        ("PHONE_REGION", "Germany", "not a two-letter country code"),
        ("PHONE_REGION", "XX", "not a two-letter country code"),
        ("STORE_NAME", "  ", "must not be empty"),
        ("RECEIPT_WIDTH", "70", "must be 80 or 58"),
        ("RECEIPT_WIDTH", "wide", "must be 80 or 58"),
        ("RECEIPT_FOOTER", "x" * 201, "at most 200 characters"),
        ("RECEIPT_PRINTER", "192.168.1.50:9100", "must be tcp://host:port"),
        ("RECEIPT_PRINTER", "tcp://printer:99999", "must be tcp://host:port"),
        ("SMTP_URL", "mail.example.com", "must be smtp://, smtp+starttls:// or smtps://"),
        ("SMTP_URL", "smtp://user:pass@mail.example.com", "SMTP_FROM must be set"),
        ("SMTP_FROM", "receipts at shop", "is not an e-mail address"),
    ],
)
def test_each_malformed_setting_is_one_line_naming_it(monkeypatch, name, value, says):
    monkeypatch.setenv(name, value)
    with pytest.raises(SettingsError) as err:
        load_settings()
    message = str(err.value)
    assert message.startswith(f"Setting {name} ") or message.startswith("Setting SMTP_FROM ")
    assert says in message
    assert "\n" not in message


def test_receipt_settings(monkeypatch):
    settings = load_settings()
    assert (settings.receipt_width, settings.receipt_columns, settings.printer_address) == (80, 48, None)
    assert not settings.mail_configured and settings.receipt_footer == ""
    monkeypatch.setenv("RECEIPT_WIDTH", "58")
    monkeypatch.setenv("RECEIPT_FOOTER", "  Thank you!   Come again. ")
    monkeypatch.setenv("RECEIPT_PRINTER", "tcp://192.168.1.50")
    monkeypatch.setenv("SMTP_URL", "smtps://shop:hunter2@mail.example.com")
    monkeypatch.setenv("SMTP_FROM", "Corner Shop <receipts@example.com>")
    settings = load_settings()
    assert (settings.receipt_width, settings.receipt_columns) == (58, 32)
    assert settings.receipt_footer == "Thank you! Come again."
    assert settings.printer_address == ("192.168.1.50", 9100)
    assert settings.mail_configured and settings.smtp_from == "Corner Shop <receipts@example.com>"
    assert "hunter2" in settings.secrets() and "hunter2" not in repr(settings)


def test_a_malformed_smtp_url_is_named_but_never_shown(monkeypatch):
    monkeypatch.setenv("SMTP_URL", "imap://shop:hunter2@mail.example.com")
    with pytest.raises(SettingsError) as err:
        load_settings()
    assert str(err.value).startswith("Setting SMTP_URL ") and "hunter2" not in str(err.value)


@pytest.mark.parametrize("name", ["TELEGRAM_BOT_TOKEN", "WEBHOOK_SECRET"])
def test_a_malformed_secret_is_named_but_never_shown(monkeypatch, name):
    secret = "leaky secret value!"
    monkeypatch.setenv(name, secret)
    with pytest.raises(SettingsError) as err:
        load_settings()
    assert str(err.value).startswith(f"Setting {name} ")
    assert secret not in str(err.value) and "leaky" not in repr(err.value)
    assert err.value.__cause__ is None and err.value.__suppress_context__  # no pydantic error chained


def test_an_empty_value_counts_as_unset(monkeypatch):
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", "  ")
    monkeypatch.setenv("WEBHOOK_SECRET", "")
    settings = load_settings()
    assert settings.telegram_bot_token is None and settings.webhook_secret is None
