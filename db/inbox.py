"""The update inbox: at-least-once delivery of Telegram updates.

`receive` stores a batch of fetched updates before the poller may acknowledge them; the update
processor skips one already `done` (Telegram redelivered it, or the inbox drain got there first)
and marks each done once its answer went out; at start the bot handles `pending` ones first.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import InboxUpdate, utcnow


async def receive(session: AsyncSession, *, updates: list[tuple[int, str]]) -> int:
    """Store the (update_id, JSON) pairs not stored yet; how many were new."""
    if not updates:
        return 0
    ids = [update_id for update_id, _ in updates]
    known = set((await session.scalars(select(InboxUpdate.update_id).where(InboxUpdate.update_id.in_(ids)))).all())
    new = [InboxUpdate(update_id=i, payload=p) for i, p in dict(updates).items() if i not in known]
    session.add_all(new)
    return len(new)


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
