"""/staff invite <role>: a one-time link that adds whoever opens it, after they confirm their name."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from db.engine import transaction
from db.models import AuditEntry, Role, Staff, StaffInvite, utcnow
from handlers.customer_chat import BAD_INVITE
from tests.chat.security_helpers import db_checksum

NEWBIE_ID, OTHER_ID = 7101, 7102
LINK = re.compile(r"https://t\.me/pos_test_bot\?start=(i_[A-Za-z0-9_-]+)")


@pytest.fixture
def newbie(shop):
    return shop.client(NEWBIE_ID, "Nina")


@pytest.fixture
def other(shop):
    return shop.client(OTHER_ID, "Otto")


async def invite(admin, role: str = "cashier") -> str:
    await admin.send(f"/staff invite {role}")
    found = LINK.search(admin.text)
    assert found, admin.text
    return found[1]


async def member(session_factory, telegram_id: int) -> Staff | None:
    async with session_factory() as session:
        return await session.scalar(select(Staff).where(Staff.telegram_id == telegram_id))


async def test_an_invitation_adds_its_opener_once(admin, newbie, other, session_factory):
    payload = await invite(admin, "manager")
    assert len(payload) <= 64
    async with session_factory() as session:
        row = (await session.scalars(select(StaffInvite))).one()
        assert payload[2:] not in row.token_hash and row.role is Role.MANAGER

    await newbie.send(f"/start {payload}")
    assert "invited to join Corner Shop as manager" in newbie.text and "will be Nina" in newbie.text
    await newbie.tap("✅ Join as Nina")
    assert "you are on the staff as manager" in newbie.text
    joined = await member(session_factory, NEWBIE_ID)
    assert joined is not None and joined.role is Role.MANAGER and joined.name == "Nina" and joined.active
    await newbie.send("/help")
    assert "/report" in newbie.text  # a manager's commands
    async with session_factory() as session:
        actions = [a.action for a in (await session.scalars(select(AuditEntry).order_by(AuditEntry.id))).all()]
    assert actions[-2:] == ["staff_invite", "staff_add"]

    # Used: nobody else gets in with it, and it answers like any bad link.
    before = await db_checksum(session_factory)
    await other.send(f"/start {payload}")
    assert other.text == BAD_INVITE
    assert await member(session_factory, OTHER_ID) is None
    assert await db_checksum(session_factory) == before


@pytest.mark.parametrize("case", ["unknown", "expired", "held by another", "forged join"])
async def test_a_bad_invitation_adds_nobody(admin, newbie, other, fake, session_factory, case):
    from tests.chat.test_security_matrix import screen

    payload = await invite(admin)
    if case == "unknown":
        payload = "i_" + "Z" * 32
    elif case == "expired":
        async with transaction(session_factory) as session:
            await session.execute(update(StaffInvite).values(expires_at=utcnow() - timedelta(seconds=1)))
    elif case == "held by another":
        await other.send(f"/start {payload}")
        assert "invited" in other.text
    before = await db_checksum(session_factory)
    if case == "forged join":
        async with session_factory() as session:
            invite_id = (await session.scalars(select(StaffInvite.id))).one()
        await newbie.press(f"me:join:{invite_id}", message=screen(fake, NEWBIE_ID))
        assert newbie.last_answer["text"] == BAD_INVITE
    else:
        await newbie.send(f"/start {payload}")
        assert newbie.text == BAD_INVITE
    assert await member(session_factory, NEWBIE_ID) is None
    assert await db_checksum(session_factory) == before


async def test_only_admins_invite_and_the_role_must_be_one(admin, manager, session_factory):
    await manager.send("/staff invite cashier")
    assert "needs the admin role" in manager.text
    await admin.send("/staff invite boss")
    assert "/staff invite" in admin.text and "t.me" not in admin.text
    async with session_factory() as session:
        assert (await session.scalars(select(StaffInvite))).all() == []
