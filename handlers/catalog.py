"""(being written)"""

from __future__ import annotations

from telegram.ext import BaseHandler


def handlers() -> list[BaseHandler]:
    return []


def text_handlers() -> list[BaseHandler]:
    """Plain text in a private chat searches the catalog (registered last)."""
    return []
