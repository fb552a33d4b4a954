"""Settings: one class, read from the environment and `.env`, validated at start.

A missing or malformed setting stops the process with one line naming it. Secrets (the bot token,
the webhook secret) are SecretStr and never appear in an error message or a log line.
"""

from __future__ import annotations

import importlib.util
import re
from datetime import time
from decimal import Decimal
from typing import Annotated
from urllib.parse import urlparse
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from db.money import is_known_currency

TOKEN_HELP = (
    "TELEGRAM_BOT_TOKEN is not set: create a bot with @BotFather in Telegram, then put "
    "TELEGRAM_BOT_TOKEN=<token> in .env (see .env.example) or the environment"
)
_TOKEN_RE = re.compile(r"^\d{3,20}:[A-Za-z0-9_-]{20,100}$")
_DRIVERS = {"sqlite": "aiosqlite", "postgresql": "asyncpg"}
# ISO 4217 codes that are not money a shop takes: no currency, testing, precious metals, SDRs.
_NOT_SHOP_CURRENCIES = {"XXX", "XTS", "XAU", "XAG", "XPD", "XPT", "XDR", "XBA", "XBB", "XBC", "XBD", "XSU", "XUA"}
# What to say when pydantic's own check fails (wrong type, out of range) instead of its wording.
_HINTS = {
    "daily_report_time": "must be a time of day as HH:MM (24-hour clock), e.g. 21:00",
    "low_stock_threshold": "must be a whole number from 0 to 1000000",
    "webhook_port": "must be a port number from 1 to 65535",
    "api_port": "must be a port number from 1 to 65535",
    "api_rate_limit": "must be a whole number of requests a minute from 1 to 1000000",
    "prices_include_tax": "must be true or false",
    "cashier_can_refund": "must be true or false",
    "require_shift": "must be true or false",
    "cashier_max_discount_percent": "must be a percentage from 0 to 100 with at most two decimals, e.g. 10",
    "loyalty_earn_percent": "must be a percentage from 0 (off) to 100 with at most two decimals, e.g. 2.5",
    "receipt_link_days": "must be a whole number of days from 1 to 3650",
    "approval_minutes": "must be a whole number of minutes from 1 to 1440",
    "store_address": "must be at most 200 characters",
    "store_tax_id": "must be at most 64 characters",
    "admin_ids": "must be Telegram user ids separated by commas, e.g. 111111111,222222222",
    "receipt_footer": "must be at most 200 characters",
    "receipt_width": "must be 80 or 58 (the paper roll's width in millimetres)",
}
_SMTP_PORTS = {"smtp": 25, "smtp+starttls": 587, "smtps": 465}


class SettingsError(Exception):
    """One clear line naming the setting and what is wrong with it."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore", case_sensitive=False)

    telegram_bot_token: SecretStr | None = None
    telegram_api_url: str = "https://api.telegram.org"
    database_url: str = "sqlite+aiosqlite:///pos.db"
    admin_ids: Annotated[list[int], NoDecode] = Field(default_factory=list)
    store_name: str = Field(default="POS Bot Store", min_length=1, max_length=64)
    store_address: str = Field(default="", max_length=200)
    store_tax_id: str = Field(default="", max_length=64)
    currency: str = "USD"
    store_timezone: str = "UTC"
    phone_region: str | None = None
    daily_report_time: time = time(21, 0)
    low_stock_threshold: int = Field(default=5, ge=0, le=1_000_000)
    prices_include_tax: bool = True
    cashier_max_discount_percent: Decimal = Field(default=Decimal(10), ge=0, le=100, decimal_places=2)
    cashier_can_refund: bool = False
    loyalty_earn_percent: Decimal = Field(default=Decimal(0), ge=0, le=100, decimal_places=2)
    receipt_link_days: int = Field(default=90, ge=1, le=3650)
    approval_minutes: int = Field(default=15, ge=1, le=24 * 60)
    require_shift: bool = False
    webhook_url: str | None = None
    webhook_secret: SecretStr | None = None
    webhook_listen: str = "127.0.0.1"
    webhook_port: int = Field(default=8443, ge=1, le=65535)
    api_listen: str = "127.0.0.1"
    api_port: int = Field(default=8080, ge=1, le=65535)
    api_rate_limit: int = Field(default=120, ge=1, le=1_000_000)
    receipt_footer: str = Field(default="", max_length=200)
    receipt_width: int = 80
    receipt_printer: str | None = None
    smtp_url: SecretStr | None = None
    smtp_from: str | None = Field(default=None, validate_default=True)

    @field_validator(
        "telegram_bot_token",
        "webhook_secret",
        "webhook_url",
        "phone_region",
        "receipt_printer",
        "smtp_url",
        "smtp_from",
        mode="before",
    )
    @classmethod
    def _empty_is_unset(cls, value):
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("telegram_bot_token")
    @classmethod
    def _token_shape(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not _TOKEN_RE.match(value.get_secret_value().strip()):
            raise ValueError("does not look like a bot token (expected <digits>:<35 letters>)")
        return SecretStr(value.get_secret_value().strip()) if value else None

    @field_validator("webhook_secret")
    @classmethod
    def _secret_shape(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not re.fullmatch(r"[A-Za-z0-9_-]{1,256}", value.get_secret_value()):
            raise ValueError("must be 1-256 characters of A-Z, a-z, 0-9, _ and -")
        return value

    @field_validator("store_name", mode="before")
    @classmethod
    def _store_name(cls, value):
        if isinstance(value, str) and not value.strip():
            raise ValueError("must not be empty: it is shown on greetings and receipts")
        return value.strip() if isinstance(value, str) else value

    @field_validator("telegram_api_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        parsed = urlparse(value)
        if parsed.scheme not in ("http", "https") or not parsed.netloc:
            raise ValueError("must be an http:// or https:// URL")
        return value.rstrip("/")

    @field_validator("webhook_url")
    @classmethod
    def _https_url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        parsed = urlparse(value)
        if parsed.scheme != "https" or not parsed.netloc:
            raise ValueError("must be the public https:// URL Telegram posts to (Telegram requires HTTPS)")
        return value.rstrip("/")

    @field_validator("database_url")
    @classmethod
    def _database_url(cls, value: str) -> str:
        try:
            url = make_url(value)
        except ArgumentError:
            raise ValueError("is not a database URL (e.g. sqlite+aiosqlite:///pos.db)") from None
        # Read the names from the URL itself: asking SQLAlchemy for them loads the dialect, and an
        # unknown one ("nonsense://") raises its own error instead of naming this setting.
        backend, _, driver = url.drivername.partition("+")
        if _DRIVERS.get(backend) != driver:
            wanted = f"{backend}+{_DRIVERS[backend]}://" if backend in _DRIVERS else "sqlite+aiosqlite://"
            raise ValueError(
                f"must use sqlite+aiosqlite:// or postgresql+asyncpg:// (got {url.drivername}://; "
                f"did you mean {wanted}?)"
            )
        if importlib.util.find_spec(driver) is None:
            raise ValueError(f"needs the {driver} package, which is not installed (pipenv install)")
        return value

    @field_validator("admin_ids", mode="before")
    @classmethod
    def _admin_ids(cls, value):
        if isinstance(value, str):
            ids = []
            for part in re.split(r"[,\s]+", value.strip()):
                if not part:
                    continue
                if not re.fullmatch(r"\d{1,20}", part):
                    raise ValueError(f"“{part}” is not a Telegram user id (a whole number)")
                ids.append(int(part))
            return ids
        return value

    @field_validator("currency")
    @classmethod
    def _currency(cls, value: str) -> str:
        code = value.strip().upper()
        if not is_known_currency(code) or code in _NOT_SHOP_CURRENCIES:
            raise ValueError(f"“{value}” is not an ISO 4217 currency code (e.g. USD, EUR, KES)")
        return code

    @field_validator("store_timezone")
    @classmethod
    def _timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value.strip())
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"“{value}” is not an IANA time zone (e.g. Europe/Berlin)") from None
        return value.strip()

    @field_validator("phone_region")
    @classmethod
    def _region(cls, value: str | None) -> str | None:
        if value is None:
            return None
        region = value.strip().upper()
        import phonenumbers  # only a set PHONE_REGION needs it (~10 ms): start-up without one skips it

        if region not in phonenumbers.SUPPORTED_REGIONS:
            raise ValueError(f"“{value}” is not a two-letter country code such as US or KE")
        return region

    @field_validator("receipt_width")
    @classmethod
    def _receipt_width(cls, value: int) -> int:
        if value not in (58, 80):
            raise ValueError("must be 80 or 58 (the paper roll's width in millimetres)")
        return value

    @field_validator("receipt_printer")
    @classmethod
    def _printer(cls, value: str | None) -> str | None:
        if value is None:
            return None
        value = value.strip()
        try:
            parsed = urlparse(value)
            port = parsed.port
        except ValueError:
            parsed, port = None, None
        if parsed is None or parsed.scheme != "tcp" or not parsed.hostname or parsed.path not in ("", "/"):
            raise ValueError("must be tcp://host:port of an ESC/POS network printer, e.g. tcp://192.168.1.50:9100")
        return f"tcp://{parsed.hostname}:{port or 9100}"

    @field_validator("smtp_url")
    @classmethod
    def _smtp_url(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None:
            return None
        shape = "must be smtp://, smtp+starttls:// or smtps:// with a host, e.g. smtp+starttls://user:pass@mail.example.com:587"
        try:
            parsed = urlparse(value.get_secret_value().strip())
            parsed.port  # noqa: B018 - raises on a port out of range
        except ValueError:
            raise ValueError(shape) from None
        if parsed.scheme not in _SMTP_PORTS or not parsed.hostname:
            raise ValueError(shape)
        return SecretStr(value.get_secret_value().strip())

    @field_validator("smtp_from")
    @classmethod
    def _smtp_from(cls, value: str | None, info) -> str | None:
        if value is None:
            if info.data.get("smtp_url") is not None:
                raise ValueError("must be set when SMTP_URL is: the address receipts are sent from")
            return None
        from email.utils import parseaddr

        from email_validator import EmailNotValidError, validate_email

        _, address = parseaddr(value)
        try:
            validate_email(address, check_deliverability=False)
        except EmailNotValidError:
            raise ValueError(f"“{value}” is not an e-mail address (e.g. receipts@example.com)") from None
        return value.strip()

    @field_validator("store_address", "store_tax_id", "receipt_footer", mode="before")
    @classmethod
    def _strip(cls, value):
        return " ".join(value.split()) if isinstance(value, str) else value

    @property
    def cashier_max_discount_bp(self) -> int:
        """CASHIER_MAX_DISCOUNT_PERCENT in hundredths of a percent (10 -> 1000)."""
        return int(self.cashier_max_discount_percent * 100)

    @property
    def receipt_columns(self) -> int:
        """Characters a line of the printed text receipt: 48 on an 80 mm roll, 32 on 58 mm."""
        return 48 if self.receipt_width == 80 else 32

    @property
    def printer_address(self) -> tuple[str, int] | None:
        """(host, port) of RECEIPT_PRINTER, or None when no printer is set."""
        if self.receipt_printer is None:
            return None
        parsed = urlparse(self.receipt_printer)
        return parsed.hostname or "", parsed.port or 9100

    @property
    def mail_configured(self) -> bool:
        return self.smtp_url is not None and self.smtp_from is not None

    @property
    def loyalty_earn_bp(self) -> int:
        """LOYALTY_EARN_PERCENT in hundredths of a percent (2.5 -> 250); 0 is off."""
        return int(self.loyalty_earn_percent * 100)

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.store_timezone)

    def token(self) -> str:
        """The bot token; raises SettingsError with how to get one when it is missing."""
        if self.telegram_bot_token is None:
            raise SettingsError(TOKEN_HELP)
        return self.telegram_bot_token.get_secret_value()

    def secrets(self) -> list[str]:
        """Values that must never reach a log line."""
        found = [s.get_secret_value() for s in (self.telegram_bot_token, self.webhook_secret, self.smtp_url) if s]
        password = urlparse(self.smtp_url.get_secret_value()).password if self.smtp_url else None
        return found + ([password] if password else [])


def load_settings(**overrides) -> Settings:
    """Read and validate the settings; raise SettingsError with one line on the first problem."""
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        err = exc.errors(include_input=False, include_url=False)[0]
        field = str(err["loc"][0]) if err["loc"] else "settings"
        if err["type"] == "value_error":  # our own validators speak for themselves
            message = err["msg"].removeprefix("Value error, ")
        else:
            message = _HINTS.get(field) or err["msg"].lower()
        raise SettingsError(f"Setting {field.upper()} {message}") from None
