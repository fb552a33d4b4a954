"""Everything about how things look in the chat, in one place.

Escaped HTML, money and time formatting, the callback-data codec, keyboards and pagination.
Handlers build text with these helpers and never format by hand.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable, Sequence
from datetime import datetime
from zoneinfo import ZoneInfo

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from db.money import format_money

MAX_MESSAGE = 4096
MAX_CAPTION = 1024
MAX_CALLBACK = 64
MAX_BUTTON_LABEL = 40

_CB_PART = re.compile(r"^[A-Za-z0-9_.\-+]*$")


def esc(value: object) -> str:
    """HTML-escape any value for Telegram's HTML parse mode."""
    return html.escape(str(value), quote=False)


def clip(text: str, limit: int) -> str:
    """Shorten plain text to at most `limit` characters, with an ellipsis when cut."""
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: max(limit - 1, 0)] + "…"


def money(minor: int, currency: str) -> str:
    return format_money(minor, currency)


def local_time(moment: datetime, tz: ZoneInfo, fmt: str = "%Y-%m-%d %H:%M") -> str:
    return moment.astimezone(tz).strftime(fmt)


# --- callback data: "ns:action:arg[:arg]", ASCII, ids only -----------------------------------
def cb(ns: str, action: str, *args: object) -> str:
    parts = [ns, action, *(str(a) for a in args)]
    for part in parts:
        if ":" in part or not _CB_PART.match(part):
            raise ValueError(f"callback part {part!r} is not plain ASCII without ':'")
    data = ":".join(parts)
    if len(data.encode()) > MAX_CALLBACK:
        raise ValueError(f"callback data {data!r} is over {MAX_CALLBACK} bytes")
    return data


def cb_args(data: str | None, ns: str, action: str, count: int) -> list[int] | None:
    """Parse `ns:action:<int>...` into its integer args; None when the payload is malformed."""
    if not data:
        return None
    parts = data.split(":")
    if len(parts) != 2 + count or parts[0] != ns or parts[1] != action:
        return None
    try:
        values = [int(p) for p in parts[2:]]
    except ValueError:
        return None
    if any(abs(v) > 2**62 for v in values):
        return None
    return values


def cb_pattern(ns: str, action: str | None = None) -> str:
    """An anchored pattern for CallbackQueryHandler."""
    return rf"^{re.escape(ns)}:{re.escape(action)}(:|$)" if action else rf"^{re.escape(ns)}:"


# --- keyboards ---------------------------------------------------------------------------------
def button(label: str, data: str) -> InlineKeyboardButton:
    return InlineKeyboardButton(clip(label, MAX_BUTTON_LABEL), callback_data=data)


def keyboard(rows: Iterable[Sequence[InlineKeyboardButton]]) -> InlineKeyboardMarkup:
    rows = [list(r) for r in rows if r]
    return InlineKeyboardMarkup(rows)


def pager_row(ns: str, action: str, page: int, pages: int, *args: object) -> list[InlineKeyboardButton]:
    """‹ page/pages › navigation; empty when everything fits on one page."""
    if pages <= 1:
        return []
    row = []
    if page > 1:
        row.append(button("‹", cb(ns, action, *args, page - 1)))
    row.append(button(f"{page}/{pages}", cb("nav", "noop")))
    if page < pages:
        row.append(button("›", cb(ns, action, *args, page + 1)))
    return row


# --- long messages ---------------------------------------------------------------------------
def split_message(html_text: str, limit: int = MAX_MESSAGE - 96) -> list[str]:
    """Split on line boundaries so no chunk exceeds the limit (tags never span lines here)."""
    chunks: list[str] = []
    current = ""
    for line in html_text.split("\n"):
        while len(line) > limit:  # a single monster line: cut it (only plain text gets this long)
            chunks.append(line[:limit])
            line = line[limit:]
        candidate = f"{current}\n{line}" if current else line
        if len(candidate) > limit:
            chunks.append(current)
            current = line
        else:
            current = candidate
    if current:
        chunks.append(current)
    return chunks or [""]


def lines(*parts: str | None) -> str:
    return "\n".join(p for p in parts if p is not None)
