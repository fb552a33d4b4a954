"""Staff and roles, and the rule that the store always keeps an active admin."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import func, select

from db import staff
from db.engine import transaction
from db.errors import Forbidden, InvalidInput, NotFound
from db.models import AuditEntry, Role
from tests.factories import make_staff, run


async def _audit_count(factory) -> int:
    async with factory() as session:
        return await session.scalar(select(func.count(AuditEntry.id))) or 0


async def test_bootstrap_admins_is_idempotent(session_factory):
    await run(session_factory, staff.add_staff, telegram_id=2, role=Role.CASHIER, name="Bea")
    await run(session_factory, staff.remove_staff, telegram_id=2)
    admins = await run(session_factory, staff.bootstrap_admins, ids=[1, 2])
    assert [(a.telegram_id, a.role, a.active) for a in admins] == [(1, Role.ADMIN, True), (2, Role.ADMIN, True)]
    assert admins[1].name == "Bea"
    entries = await _audit_count(session_factory)
    assert await run(session_factory, staff.bootstrap_admins, ids=[1, 2]) == []
    assert await _audit_count(session_factory) == entries  # nothing changed, nothing audited


async def test_bootstrap_admins_only_while_there_is_no_active_admin(session_factory):
    await run(session_factory, staff.bootstrap_admins, ids=[1])
    await run(session_factory, staff.add_staff, telegram_id=2, role=Role.ADMIN, name="Bo")
    await run(session_factory, staff.remove_staff, telegram_id=1)
    assert await run(session_factory, staff.bootstrap_admins, ids=[1, 3]) == []  # Bo is an admin
    assert await run(session_factory, staff.get_active_staff, telegram_id=1) is None
    assert await run(session_factory, staff.get_active_staff, telegram_id=3) is None
    with pytest.raises(InvalidInput):
        await run(session_factory, staff.bootstrap_admins, ids=[0])


async def test_add_get_remove_and_readd(session_factory):
    admin = (await run(session_factory, staff.bootstrap_admins, ids=[1]))[0]
    added = await run(session_factory, staff.add_staff, telegram_id=50, role="Cashier ", name=" Cal ", actor=admin)
    assert (added.role, added.name, added.active) == (Role.CASHIER, "Cal", True)
    assert (await run(session_factory, staff.get_active_staff, telegram_id=50)).id == added.id
    assert await run(session_factory, staff.get_active_staff, telegram_id=51) is None

    removed = await run(session_factory, staff.remove_staff, telegram_id=50, actor=admin)
    assert not removed.active
    assert await run(session_factory, staff.get_active_staff, telegram_id=50) is None
    with pytest.raises(NotFound):
        await run(session_factory, staff.remove_staff, telegram_id=50, actor=admin)

    back = await run(session_factory, staff.add_staff, telegram_id=50, role=Role.MANAGER, actor=admin)
    assert (back.id, back.role, back.active, back.name) == (added.id, Role.MANAGER, True, "Cal")
    async with session_factory() as session:
        actions = (await session.scalars(select(AuditEntry.action).order_by(AuditEntry.id))).all()
    assert actions[-3:] == ["staff_add", "staff_remove", "staff_add"]


@pytest.mark.parametrize(
    "kwargs",
    [{"telegram_id": 0}, {"telegram_id": -5}, {"telegram_id": "12"}, {"role": "owner"}, {"name": "n" * 129}],
)
async def test_add_staff_refuses_bad_input(session_factory, kwargs):
    with pytest.raises(InvalidInput):
        await run(session_factory, staff.add_staff, **({"telegram_id": 7, "role": Role.CASHIER} | kwargs))


async def test_set_role(session_factory):
    await run(session_factory, staff.bootstrap_admins, ids=[1])
    await run(session_factory, make_staff, telegram_id=60)
    assert (await run(session_factory, staff.set_role, telegram_id=60, role="manager")).role is Role.MANAGER
    assert (await run(session_factory, staff.set_role, telegram_id=60, role=Role.ADMIN)).role is Role.ADMIN
    with pytest.raises(InvalidInput, match="not a role"):
        await run(session_factory, staff.set_role, telegram_id=60, role="boss")
    with pytest.raises(NotFound):
        await run(session_factory, staff.set_role, telegram_id=61, role=Role.CASHIER)


async def test_last_admin_can_be_neither_removed_nor_demoted(session_factory):
    await run(session_factory, staff.add_staff, telegram_id=1, role=Role.ADMIN, name="Ada")
    with pytest.raises(Forbidden, match=r"Ada .* is the last admin"):
        await run(session_factory, staff.remove_staff, telegram_id=1)
    with pytest.raises(Forbidden, match="last admin"):
        await run(session_factory, staff.set_role, telegram_id=1, role=Role.MANAGER)
    with pytest.raises(Forbidden, match="last admin"):
        await run(session_factory, staff.add_staff, telegram_id=1, role=Role.CASHIER)
    assert (await run(session_factory, staff.get_active_staff, telegram_id=1)).role is Role.ADMIN

    # With a second admin, one of them may go; then the other is the last.
    await run(session_factory, staff.add_staff, telegram_id=2, role=Role.ADMIN, name="Bo")
    await run(session_factory, staff.set_role, telegram_id=1, role=Role.MANAGER)
    with pytest.raises(Forbidden, match="Bo"):
        await run(session_factory, staff.remove_staff, telegram_id=2)
    # An inactive admin row does not count.
    await run(session_factory, staff.add_staff, telegram_id=3, role=Role.ADMIN)
    await run(session_factory, staff.remove_staff, telegram_id=3)
    with pytest.raises(Forbidden):
        await run(session_factory, staff.set_role, telegram_id=2, role=Role.CASHIER)


async def test_two_admins_demoting_each_other_at_once_leave_one_admin(session_factory):
    await run(session_factory, staff.bootstrap_admins, ids=[1, 2])

    async with transaction(session_factory) as session:
        await staff.set_role(session, telegram_id=1, role=Role.MANAGER)
        other = asyncio.create_task(run(session_factory, staff.set_role, telegram_id=2, role=Role.MANAGER))
        await asyncio.sleep(0.3)
        assert not other.done()  # waits for our transaction
    with pytest.raises(Forbidden):
        await other

    admins = [m.telegram_id for m in await run(session_factory, staff.list_staff) if m.role is Role.ADMIN]
    assert admins == [2]


async def test_list_staff_orders_active_by_role_then_name(session_factory):
    await run(session_factory, staff.add_staff, telegram_id=1, role=Role.ADMIN, name="Zed")
    await run(session_factory, staff.add_staff, telegram_id=2, role=Role.CASHIER, name="Amy")
    await run(session_factory, staff.add_staff, telegram_id=3, role=Role.MANAGER, name="Max")
    await run(session_factory, staff.add_staff, telegram_id=4, role=Role.CASHIER, name="Al")
    await run(session_factory, staff.remove_staff, telegram_id=4)
    everyone = await run(session_factory, staff.list_staff)
    assert [m.telegram_id for m in everyone] == [1, 3, 2, 4]
    assert [m.telegram_id for m in await run(session_factory, staff.list_staff, include_inactive=False)] == [1, 3, 2]
