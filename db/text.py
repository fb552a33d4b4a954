"""Wording shared by the chat (handlers/render.py) and the CLI: plain text, no markup."""

from __future__ import annotations


def counted(count: int, word: str, plural: str | None = None) -> str:
    """'1 sale', '3 sales', '2 categories' (plural given): a count and its noun."""
    return f"{count} {word}" if count == 1 else f"{count} {plural or word + 's'}"
