"""Wording shared by the chat (handlers/render.py) and the CLI: plain text, no markup."""

from __future__ import annotations


def counted(count: int, word: str, plural: str | None = None) -> str:
    """'1 sale', '3 sales', '2 categories' (plural given): a count and its noun."""
    return f"{count} {word}" if count == 1 else f"{count} {plural or word + 's'}"


ECHO_WIDTH = 64  # how much of what a user typed a reply repeats


def clip(text: object, limit: int) -> str:
    """Shorten plain text to at most `limit` characters, with an ellipsis when cut."""
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: max(limit - 1, 0)] + "…"


def quoted(value: object, width: int = ECHO_WIDTH) -> str:
    """What the user typed, in quotes and clipped, for a message that repeats it (plain text).

    Input can be as long as Telegram allows (4096 characters): repeated whole, it would make the
    reply too long to send.
    """
    return f"“{clip(value, width)}”"


PAYMENT_LABELS = {"cash": "Cash", "card": "Card", "mobile": "Mobile money", "points": "Points"}


def payment_label(method: object) -> str:
    """'Cash', 'Card', 'Mobile money' for a PaymentMethod (or its value)."""
    value = str(getattr(method, "value", method))
    return PAYMENT_LABELS.get(value, value.replace("_", " ").capitalize())
