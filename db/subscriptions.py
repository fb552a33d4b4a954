"""Chats that receive the scheduled report pushes and low-stock alerts."""

from __future__ import annotations

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from db.carts import check_chat_id
from db.catalog import get_or_add
from db.models import Staff, Subscription


async def subscribe(session: AsyncSession, *, chat_id: int, actor: Staff | None = None) -> tuple[Subscription, bool]:
    """Subscribe a chat; (subscription, created) — subscribing twice is not an error."""
    chat_id = check_chat_id(chat_id)
    query = select(Subscription).where(Subscription.chat_id == chat_id)
    return await get_or_add(
        session, query, lambda: Subscription(chat_id=chat_id, created_by_id=actor.id if actor else None)
    )


async def unsubscribe(session: AsyncSession, *, chat_id: int) -> bool:
    """Unsubscribe a chat; False when it was not subscribed."""
    chat_id = check_chat_id(chat_id)
    result = await session.execute(delete(Subscription).where(Subscription.chat_id == chat_id))
    return result.rowcount > 0


async def list_chat_ids(session: AsyncSession) -> list[int]:
    return list((await session.scalars(select(Subscription.chat_id).order_by(Subscription.id))).all())
