"""The audit log: who did which privileged thing, and when.

``record`` is called by the operation itself, in the caller's transaction, so an action and its
audit entry are committed (or rolled back) together.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from db.errors import InvalidInput
from db.models import AuditEntry, Staff

MAX_LIST = 500


async def record(session: AsyncSession, *, actor: Staff | None, action: str, details: str) -> AuditEntry:
    """Add an audit entry; ``actor`` None means the system (CLI, bootstrap)."""
    action = action.strip()
    if not action or len(action) > 32:
        raise ValueError(f"audit action must be 1..32 characters, got {action!r}")
    entry = AuditEntry(
        actor_telegram_id=actor.telegram_id if actor is not None else None,
        actor_name=(actor.name if actor is not None else "system")[:128],
        action=action,
        details=details,
    )
    session.add(entry)
    await session.flush()
    return entry


async def list_entries(
    session: AsyncSession, *, start: datetime | None = None, end: datetime | None = None, limit: int = 50
) -> list[AuditEntry]:
    """Entries with ``start <= created_at < end`` (either bound optional), newest first."""
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_LIST:
        raise InvalidInput(f"The limit must be a whole number from 1 to {MAX_LIST}.")
    query = select(AuditEntry)
    if start is not None:
        query = query.where(AuditEntry.created_at >= start)
    if end is not None:
        query = query.where(AuditEntry.created_at < end)
    query = query.order_by(AuditEntry.created_at.desc(), AuditEntry.id.desc()).limit(limit)
    return list((await session.scalars(query)).all())
