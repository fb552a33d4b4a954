"""Stored dialog state: conversation steps and the chat/user drafts, as versioned JSON text.

The bot's persistence (bot/persistence.py) turns PTB's state into JSON and back, and knows what
it stored last (it skips a write of what is already there); this module only keeps the rows.
Each write is one statement: an upsert (INSERT … ON CONFLICT DO UPDATE, on SQLite as on
PostgreSQL) or a DELETE, inside the caller's short transaction, committed before the bot shows
the step it stores.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import DialogConversation, DialogData, utcnow

CHAT, USER = "chat", "user"


async def conversations(session: AsyncSession, *, name: str) -> list[DialogConversation]:
    return list((await session.scalars(select(DialogConversation).where(DialogConversation.name == name))).all())


async def set_conversation(session: AsyncSession, *, name: str, key: str, state: str | None, version: int) -> None:
    """Store the step of the dialog `name` for `key`; None: the dialog ended."""
    if state is None:
        await session.execute(
            delete(DialogConversation).where(DialogConversation.name == name, DialogConversation.key == key)
        )
        return
    await _upsert(session, DialogConversation, {"name": name, "key": key}, {"state": state, "version": version})


async def data(session: AsyncSession, *, kind: str) -> list[DialogData]:
    return list((await session.scalars(select(DialogData).where(DialogData.kind == kind))).all())


async def set_data(session: AsyncSession, *, kind: str, owner_id: int, data: str | None, version: int) -> None:
    """Store a chat's or user's dialog data; None (or nothing in it) removes the row."""
    if data is None:
        await session.execute(delete(DialogData).where(DialogData.kind == kind, DialogData.owner_id == owner_id))
        return
    await _upsert(session, DialogData, {"kind": kind, "owner_id": owner_id}, {"data": data, "version": version})


async def _upsert(session: AsyncSession, model: Any, key: dict[str, Any], values: dict[str, Any]) -> None:
    """Insert the row `key` with `values`, or set `values` on the row already there: one statement."""
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    values = {**values, "updated_at": utcnow()}
    statement = insert(model).values(**key, **values).on_conflict_do_update(index_elements=list(key), set_=values)
    await session.execute(statement)
