"""Cursor (keyset) pagination: a page is "the next ``limit`` rows after this id".

Unlike an offset, a cursor stays right while rows are added or removed between pages, and the
database finds the page through the primary key however deep it is. The cursor is opaque to
clients (they pass back ``next_cursor``); inside, it is the last id of the page.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from sqlalchemy import Select
from sqlalchemy.ext.asyncio import AsyncSession

from db.catalog import MAX_ROW_ID, require_int
from db.errors import InvalidInput

T = TypeVar("T")
MAX_LIMIT = 200
BAD_CURSOR = "The cursor is not one this API gave out: pass back next_cursor exactly as received."


@dataclass(frozen=True)
class CursorPage(Generic[T]):
    items: list[T]
    next_cursor: str | None  # None on the last page


def encode_cursor(last_id: int) -> str:
    return base64.urlsafe_b64encode(f"id:{last_id}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> int | None:
    """The id the page starts after; None for the first page; InvalidInput for a forged cursor."""
    if cursor is None or cursor == "":
        return None
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise InvalidInput(BAD_CURSOR) from None
    kind, _, number = text.partition(":")
    if kind != "id" or not number.isdigit() or not 0 < int(number) <= MAX_ROW_ID:
        raise InvalidInput(BAD_CURSOR)
    return int(number)


async def keyset_page(
    session: AsyncSession, query: Select[Any], *, id_column: Any, cursor: str | None, limit: int, newest_first: bool
) -> CursorPage[Any]:
    """One page of ``query`` (which selects one entity) ordered by ``id_column``."""
    limit = require_int(limit, "The limit", lo=1, hi=MAX_LIMIT)
    after = decode_cursor(cursor)
    if after is not None:
        query = query.where(id_column < after if newest_first else id_column > after)
    query = query.order_by(id_column.desc() if newest_first else id_column).limit(limit + 1)
    rows = list((await session.scalars(query)).all())
    more = len(rows) > limit
    rows = rows[:limit]
    return CursorPage(items=rows, next_cursor=encode_cursor(rows[-1].id) if more else None)
