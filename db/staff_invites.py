"""Staff invitations: a one-time link (``t.me/<bot>?start=i_<token>``) an admin makes for a role.

The token is 192 random bits; only its SHA-256 is stored. The first person to open the link holds
it; joining uses it up with a conditional UPDATE (``... WHERE used_by IS NULL``), so it adds one
person, once, however many press at the same time. An unknown, expired, used or someone else's
link is ``None`` to the caller, which answers them all alike.
"""

from __future__ import annotations

import re
import secrets
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from db import audit
from db import staff as staff_db
from db.catalog import is_row_id
from db.customer_links import TOKEN_BYTES, token_hash
from db.errors import Forbidden
from db.models import Role, Staff, StaffInvite, utcnow

PREFIX = "i_"
PAYLOAD = re.compile(r"^i_[A-Za-z0-9_-]{32}$")
VALID_HOURS = 48


async def make_invite(
    session: AsyncSession, *, role: Role, actor: Staff, now: datetime | None = None
) -> tuple[str, StaffInvite]:
    """A new invitation for ``role`` (an admin's): its start payload, shown once, and its row."""
    if not isinstance(actor, Staff) or not actor.active or actor.role is not Role.ADMIN:
        raise Forbidden("Only an admin can invite staff.")
    role = staff_db.parse_role(role)
    token = secrets.token_urlsafe(TOKEN_BYTES)
    invite = StaffInvite(
        token_hash=token_hash(token),
        role=role,
        created_by_id=actor.id,
        expires_at=(now or utcnow()) + timedelta(hours=VALID_HOURS),
    )
    session.add(invite)
    await session.flush()
    await audit.record(session, actor=actor, action="staff_invite", details=f"invitation #{invite.id} as {role.value}")
    return PREFIX + token, invite


def _usable(invite: StaffInvite | None, telegram_id: int, now: datetime | None) -> bool:
    return (
        invite is not None
        and invite.used_by is None
        and invite.expires_at > (now or utcnow())
        and invite.opened_by in (None, telegram_id)
    )


async def open_invite(
    session: AsyncSession, *, payload: str, telegram_id: int, now: datetime | None = None
) -> StaffInvite | None:
    """The invitation this link is, now held by this person; None for any link that is not usable."""
    if not isinstance(payload, str) or not PAYLOAD.match(payload):
        return None
    invite = await session.scalar(
        select(StaffInvite).where(StaffInvite.token_hash == token_hash(payload[len(PREFIX) :])).with_for_update()
    )
    if not _usable(invite, telegram_id, now):
        return None
    invite.opened_by = telegram_id
    await session.flush()
    return invite


async def accept_invite(
    session: AsyncSession, *, invite_id: int, telegram_id: int, name: str, now: datetime | None = None
) -> Staff | None:
    """Join as the invitation's role (it must be held by this person, unused, not expired)."""
    if not is_row_id(invite_id):
        return None
    now = now or utcnow()
    used = await session.execute(
        update(StaffInvite)
        .where(
            StaffInvite.id == invite_id,
            StaffInvite.opened_by == telegram_id,
            StaffInvite.used_by.is_(None),
            StaffInvite.expires_at > now,
        )
        .values(used_by=telegram_id, used_at=now)
        .execution_options(synchronize_session=False)
    )
    if used.rowcount != 1:
        return None
    invite = await session.get(StaffInvite, invite_id, populate_existing=True)
    assert invite is not None
    inviter = await session.get(Staff, invite.created_by_id)
    return await staff_db.add_staff(session, telegram_id=telegram_id, role=invite.role, name=name, actor=inviter)
