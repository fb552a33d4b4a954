"""Stored dialog state: conversation steps and the chat/user drafts, as versioned JSON text.

The bot's persistence (bot/persistence.py) turns PTB's state into JSON and back; this module
only keeps the rows. Each write is its own short transaction, committed before the bot shows the
step it stores.
"""

from __future__ import annotations

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import DialogConversation, DialogData

CHAT, USER = "chat", "user"


async def conversations(session: AsyncSession, *, name: str) -> list[DialogConversation]:
    return list((await session.scalars(select(DialogConversation).where(DialogConversation.name == name))).all())


async def set_conversation(session: AsyncSession, *, name: str, key: str, state: str | None, version: int) -> None:
    """Store the step of the dialog `name` for `key`; None: the dialog ended."""
    row = await session.get(DialogConversation, (name, key))
    if state is None:
        if row is not None:
            await session.delete(row)
    elif row is None:
        session.add(DialogConversation(name=name, key=key, state=state, version=version))
    else:
        row.state, row.version = state, version


async def data(session: AsyncSession, *, kind: str) -> list[DialogData]:
    return list((await session.scalars(select(DialogData).where(DialogData.kind == kind))).all())


async def set_data(session: AsyncSession, *, kind: str, owner_id: int, data: str | None, version: int) -> None:
    """Store a chat's or user's dialog data; None (or nothing in it) removes the row."""
    if data is None:
        await session.execute(delete(DialogData).where(DialogData.kind == kind, DialogData.owner_id == owner_id))
        return
    row = await session.get(DialogData, (kind, owner_id))
    if row is None:
        session.add(DialogData(kind=kind, owner_id=owner_id, data=data, version=version))
    else:
        row.data, row.version = data, version
