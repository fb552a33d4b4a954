"""The update inbox: at-least-once delivery of Telegram updates.

`receive` stores a batch of fetched updates before the poller may acknowledge them, and says
which were new (the update processor need not ask about those); the update processor skips one
already `done` (Telegram redelivered it, or the inbox drain got there first) and marks each done
once its answer went out; at start the bot handles `pending` ones first.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import InboxUpdate, utcnow


async def receive(session: AsyncSession, *, updates: list[tuple[int, str]]) -> list[int]:
    """Store the (update_id, JSON) pairs not stored yet, in one statement; the ids that were new.

    A new one cannot be done yet: the update processor need not ask (bot/processor.py)."""
    if not updates:
        return []
    now = utcnow()
    rows = [{"update_id": i, "payload": p, "received_at": now} for i, p in dict(updates).items()]
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    statement = (
        insert(InboxUpdate)
        .values(rows)
        .on_conflict_do_nothing(index_elements=["update_id"])
        .returning(InboxUpdate.update_id)
    )
    return list((await session.scalars(statement)).all())


async def is_done(session: AsyncSession, *, update_id: int) -> bool:
    done = await session.scalar(select(InboxUpdate.done_at).where(InboxUpdate.update_id == update_id))
    return done is not None


async def mark_done(session: AsyncSession, *, update_id: int) -> None:
    await session.execute(update(InboxUpdate).where(InboxUpdate.update_id == update_id).values(done_at=utcnow()))


async def pending(session: AsyncSession) -> list[tuple[int, str]]:
    """Updates stored but not done, oldest first."""
    rows = await session.execute(
        select(InboxUpdate.update_id, InboxUpdate.payload)
        .where(InboxUpdate.done_at.is_(None))
        .order_by(InboxUpdate.update_id)
    )
    return [(update_id, payload) for update_id, payload in rows.all()]


async def prune(session: AsyncSession, *, done_before: datetime) -> int:
    """Forget updates done before `done_before` (Telegram redelivers for a day at most)."""
    result = await session.execute(delete(InboxUpdate).where(InboxUpdate.done_at < done_before))
    return result.rowcount
