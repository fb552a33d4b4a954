"""Run the bot against Telegram: long polling (the everyday way) or a webhook behind a proxy.

Both modes validate the settings, upgrade the database, build the one production Application
(bot/app.py: `TELEGRAM_API_URL` for API and file URLs, `AIORateLimiter` with retries) and hand it
to PTB's runner. PTB's runners stop on SIGINT/SIGTERM: they stop fetching, let the updates in hand
finish (`Application.stop` waits for them) and shut down, so nothing is left half-processed.
"""

from __future__ import annotations

import hashlib
import logging

from telegram import Update

from bot.app import build_application
from bot.config import Settings, SettingsError
from bot.logging_setup import configure_logging
from db.migrate import upgrade

log = logging.getLogger(__name__)


def run_polling(settings: Settings) -> int:
    """Long polling until SIGINT/SIGTERM. Returns the process exit code."""
    settings.token()  # SettingsError with how to get one, before anything else happens
    configure_logging(settings)
    upgrade(settings.database_url)
    application = build_application(settings)
    log.info("Polling %s for updates (Ctrl-C or SIGTERM stops)", settings.telegram_api_url)
    application.run_polling(allowed_updates=Update.ALL_TYPES, drop_pending_updates=False)
    log.info("Stopped")
    return 0


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


def run_webhook(settings: Settings) -> int:
    """Serve Telegram's webhook on WEBHOOK_LISTEN:WEBHOOK_PORT until SIGINT/SIGTERM."""
    public_url, path, secret = webhook_settings(settings)
    configure_logging(settings)
    upgrade(settings.database_url)
    application = build_application(settings)
    log.info(
        "Webhook: listening on http://%s:%s/%s; Telegram posts to %s",
        settings.webhook_listen,
        settings.webhook_port,
        path,
        public_url,
    )
    application.run_webhook(
        listen=settings.webhook_listen,
        port=settings.webhook_port,
        url_path=path,
        webhook_url=public_url,
        secret_token=secret,
        allowed_updates=Update.ALL_TYPES,
        drop_pending_updates=False,
    )
    log.info("Stopped")
    return 0
