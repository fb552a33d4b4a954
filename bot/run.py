"""Run the bot against Telegram: long polling (the everyday way) or a webhook behind a proxy.

Both modes validate the settings, upgrade the database, build the one production Application
(bot/app.py: `TELEGRAM_API_URL` for API and file URLs, `AIORateLimiter` with retries) and hand it
to PTB's runner. PTB's runners stop on SIGINT/SIGTERM: they stop fetching, let the updates in hand
finish (`Application.stop` waits for them) and shut down, so nothing is left half-processed.

A failed start is one line on stderr, never a traceback: the bot token is part of every Bot API
URL and PTB puts it in its InvalidToken message, so nothing from here reaches the terminal
unredacted. Exit 2 when Telegram rejects the token, 1 when the Bot API cannot be reached or
anything else goes wrong.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import sys
from collections.abc import Callable

from sqlalchemy.exc import SQLAlchemyError
from telegram import Update
from telegram.error import InvalidToken, NetworkError, TelegramError

from bot.app import build_application
from bot.leader import AlreadyRunning, become_active, fail_already_running
from bot.logging_setup import RedactSecrets, configure_logging
from db.errors import PosError
from db.migrate import upgrade
from db.settings import Settings, SettingsError

log = logging.getLogger(__name__)
TOKEN_REJECTED = "Telegram rejected TELEGRAM_BOT_TOKEN: check it with @BotFather"
# PTB logs a failed bootstrap step (getMe, setWebhook...) with its traceback under this prefix,
# then raises the same error, which `_serve` reports in one line.
_BOOTSTRAP_LOG = "Network Retry Loop (Bootstrap"


class _QuietStartupFailure(logging.Filter):
    """Drop PTB's log record of a start-up failure that `_serve` reports itself."""

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        return not (isinstance(error, TelegramError) and _BOOTSTRAP_LOG in record.getMessage())


def _fail(line: str) -> None:
    print(line, file=sys.stderr)


def _entry(func: Callable[[Settings], int]) -> Callable[[Settings], int]:
    """The last line of defence: no exception text leaves a run mode unredacted.

    Settings, POS and database errors go on to bot.cli, which prints each in one line (they never
    carry the token: the database never sees it). Anything else is logged through the redacting
    log handler and summed up in one redacted line; exit 1.
    """

    @functools.wraps(func)
    def entry(settings: Settings) -> int:
        try:
            return func(settings)
        except (SettingsError, PosError, SQLAlchemyError):
            raise
        except Exception as exc:
            configure_logging(settings)  # redaction on every handler, even if it failed before
            log.error("The bot stopped on an unexpected error", exc_info=exc)
            text = RedactSecrets(settings.secrets()).redact(str(exc)).strip().splitlines()
            _fail(f"The bot stopped on an unexpected error: {type(exc).__name__}: {text[0] if text else ''}")
            return 1

    return entry


def _serve(settings: Settings, runner: Callable[[], object]) -> int:
    """Run PTB's runner; a start-up failure becomes one line on stderr and the exit code."""
    redact = RedactSecrets(settings.secrets()).redact
    quiet, ptb_log = _QuietStartupFailure(), logging.getLogger("telegram.ext")
    ptb_log.addFilter(quiet)
    try:
        runner()
    except InvalidToken:
        _fail(TOKEN_REJECTED)
        return 2
    except NetworkError as exc:  # TimedOut too; once running, PTB retries these itself
        _fail(f"Could not reach the Telegram Bot API at {settings.telegram_api_url}: {redact(str(exc))}")
        return 1
    except TelegramError as exc:
        _fail(f"The Telegram Bot API at {settings.telegram_api_url} refused to start the bot: {redact(str(exc))}")
        return 1
    finally:
        ptb_log.removeFilter(quiet)
    log.info("Stopped")
    return 0


@_entry
def run_polling(settings: Settings) -> int:
    """Long polling until SIGINT/SIGTERM. Returns the process exit code."""
    settings.token()  # SettingsError with how to get one, before anything else happens
    configure_logging(settings)
    upgrade(settings.database_url)
    try:
        active = become_active(settings)  # noqa: F841 - held for the life of the process
    except AlreadyRunning as error:
        return fail_already_running(error)
    application = build_application(settings)
    log.info("Polling %s for updates (Ctrl-C or SIGTERM stops)", settings.telegram_api_url)
    return _serve(
        settings, lambda: application.run_polling(allowed_updates=Update.ALL_TYPES, drop_pending_updates=False)
    )


def webhook_path(secret: str) -> str:
    """The URL path the bot listens on: unguessable without the secret, stable across restarts."""
    return "telegram-" + hashlib.sha256(f"pos-bot webhook path:{secret}".encode()).hexdigest()[:24]


def webhook_settings(settings: Settings) -> tuple[str, str, str]:
    """(public webhook URL, listening path, secret); SettingsError naming what is missing."""
    settings.token()
    if not settings.webhook_url:
        raise SettingsError(
            "Setting WEBHOOK_URL is required for webhook mode: the public https:// URL your reverse proxy "
            "forwards to this bot (see docs/deploy.md)"
        )
    if settings.webhook_secret is None:
        raise SettingsError(
            "Setting WEBHOOK_SECRET is required for webhook mode: a random string of A-Z, a-z, 0-9, _ and - "
            "(e.g. `openssl rand -hex 32`)"
        )
    secret = settings.webhook_secret.get_secret_value()
    path = webhook_path(secret)
    return f"{settings.webhook_url}/{path}", path, secret


@_entry
def run_webhook(settings: Settings) -> int:
    """Serve Telegram's webhook on WEBHOOK_LISTEN:WEBHOOK_PORT until SIGINT/SIGTERM."""
    public_url, path, secret = webhook_settings(settings)
    configure_logging(settings)
    upgrade(settings.database_url)
    try:
        active = become_active(settings, webhook=True)  # noqa: F841 - held for the life of the process
    except AlreadyRunning as error:
        return fail_already_running(error)
    application = build_application(settings)
    log.info(
        "Webhook: listening on http://%s:%s/%s; Telegram posts to %s",
        settings.webhook_listen,
        settings.webhook_port,
        path,
        public_url,
    )
    return _serve(
        settings,
        lambda: application.run_webhook(
            listen=settings.webhook_listen,
            port=settings.webhook_port,
            url_path=path,
            webhook_url=public_url,
            secret_token=secret,
            allowed_updates=Update.ALL_TYPES,
            drop_pending_updates=False,
        ),
    )
