"""Logging for every run mode: one format, quiet HTTP libraries, and secrets redacted.

The bot token is part of every Bot API URL, so any log line or exception text that mentions a URL
may carry it; a REST API key may appear in what the bot sends. `RedactSecrets` rewrites each record
(message, arguments, exception and stack text) before a handler formats it; `configure_logging`
installs it on every root handler.
"""

from __future__ import annotations

import logging
import sys
import traceback
from collections.abc import Iterable

from db.apikeys import KEY_RE as API_KEY_RE
from db.apikeys import PREFIX as API_KEY_PREFIX
from db.settings import Settings

REDACTED = "[REDACTED]"
FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
# httpx logs every request URL at INFO, and the URL holds the token.
QUIET_LOGGERS = ("httpx", "httpcore", "apscheduler")


class RedactSecrets(logging.Filter):
    """Replace every secret in a record with [REDACTED]; never drops a record."""

    def __init__(self, secrets: Iterable[str]) -> None:
        super().__init__()
        self.secrets: list[str] = []
        self.add(secrets)

    def add(self, secrets: Iterable[str]) -> None:
        # Longest first, so a secret that contains another is replaced whole.
        found = {s for s in (*self.secrets, *secrets) if s}
        self.secrets = sorted(found, key=len, reverse=True)

    def redact(self, text: str) -> str:
        for secret in self.secrets:
            if secret in text:
                text = text.replace(secret, REDACTED)
        # REST API keys are made while the process runs (/apikey new shows one in the chat, and
        # python-telegram-bot logs what it sends at DEBUG): they are recognised by their shape.
        if API_KEY_PREFIX in text:
            text = API_KEY_RE.sub(REDACTED, text)
        return text

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a bad format string: keep the pieces, redacted
            message = f"{record.msg!r} % {record.args!r}"
        record.msg, record.args = self.redact(message), None
        if record.exc_info and record.exc_info[1] is not None:
            # Formatters reuse exc_text when it is set, so the traceback is rendered once, redacted.
            text = record.exc_text or "".join(traceback.format_exception(*record.exc_info)).rstrip("\n")
            record.exc_text = self.redact(text)
            # Drop the live exception: a handler that re-renders it (or a test reading
            # record.exc_info) must not see the unredacted text.
            record.exc_info = None
        elif record.exc_text:
            record.exc_text = self.redact(record.exc_text)
        if record.stack_info:
            record.stack_info = self.redact(record.stack_info)
        return True


def install_redaction(secrets: Iterable[str], handlers: Iterable[logging.Handler] | None = None) -> RedactSecrets:
    """Add the secrets to the redaction filter of each handler (the root's by default)."""
    secrets = list(secrets)
    targets = list(handlers) if handlers is not None else list(logging.getLogger().handlers)
    shared: RedactSecrets | None = None
    for handler in targets:
        existing = next((f for f in handler.filters if isinstance(f, RedactSecrets)), None)
        if existing is not None:
            existing.add(secrets)
            shared = shared or existing
        else:
            shared = shared or RedactSecrets(secrets)
            handler.addFilter(shared)
    return shared or RedactSecrets(secrets)


def configure_logging(settings: Settings, level: int = logging.INFO) -> None:
    """Set up logging once per process: a stderr handler if there is none, redaction on all."""
    root = logging.getLogger()
    if not root.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter(FORMAT))
        root.addHandler(handler)
    root.setLevel(level)
    for name in QUIET_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)
    install_redaction(settings.secrets())
