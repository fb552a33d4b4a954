"""/audit: privileged actions with who, when and what, newest first, in the store's time zone."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import update

from db import audit as audit_db
from db import catalog, checkout
from db import staff as staff_db
from db import stock as stock_db
from db.engine import transaction
from db.models import AuditEntry, Role
from tests import factories
from tests.chat.conftest import ADMIN_ID, CASHIER_ID, MANAGER_ID
from tests.chat.security_helpers import audit_entries, db_checksum

BERLIN = ZoneInfo("Europe/Berlin")


async def _manager(session):
    return await staff_db.get_active_staff(session, telegram_id=MANAGER_ID)


async def _privileged_actions(session_factory) -> None:
    """A price change, a stock adjustment, an archive, a refund and a staff change, each on its own."""
    async with transaction(session_factory) as session:
        product = await factories.make_product(session, name="Oat milk", sku="OAT1", price_minor=199, stock=20)
        cashier = await staff_db.get_active_staff(session, telegram_id=CASHIER_ID)
    sale = (await factories.sell(session_factory, cashier=cashier, items=[(product, 2)])).sale
    async with transaction(session_factory) as session:
        await catalog.set_price(session, product_id=product.id, price_minor=249, actor=await _manager(session))
    async with transaction(session_factory) as session:
        await stock_db.adjust(session, product_id=product.id, delta=-3, reason="broken", actor=await _manager(session))
    async with transaction(session_factory) as session:
        await checkout.refund_sale(session, sale_id=sale.id, actor=await _manager(session))
    async with transaction(session_factory) as session:
        await catalog.archive_product(session, product_id=product.id, actor=await _manager(session))
    async with transaction(session_factory) as session:
        admin = await staff_db.get_active_staff(session, telegram_id=ADMIN_ID)
        await staff_db.set_role(session, telegram_id=CASHIER_ID, role=Role.MANAGER, actor=admin)


async def test_privileged_actions_are_recorded_with_who_and_what(shop, session_factory):
    await _privileged_actions(session_factory)
    entries = [e for e in await audit_entries(session_factory) if e.actor_telegram_id is not None]
    actions = [(e.action, e.actor_telegram_id) for e in entries]
    assert actions == [
        ("price", MANAGER_ID),
        ("adjust", MANAGER_ID),
        ("refund", MANAGER_ID),
        ("archive", MANAGER_ID),
        ("staff_role", ADMIN_ID),
    ]
    assert "OAT1" in entries[0].details and "199 → 249" in entries[0].details
    assert "-3" in entries[1].details and "broken" in entries[1].details
    assert entries[2].details.startswith("sale #")
    assert all(e.actor_name for e in entries[:4])


async def test_the_audit_entry_rolls_back_with_its_action(shop, session_factory):
    async with transaction(session_factory) as session:
        product = await factories.make_product(session, sku="TEA1", price_minor=100)
    before = len(await audit_entries(session_factory))

    class Boom(Exception):
        pass

    with pytest.raises(Boom):
        async with transaction(session_factory) as session:
            await catalog.set_price(session, product_id=product.id, price_minor=500, actor=await _manager(session))
            raise Boom
    assert len(await audit_entries(session_factory)) == before
    assert (await factories.run(session_factory, catalog.get_product, product_id=product.id)).price_minor == 100


async def test_admin_sees_the_audit_newest_first_in_store_time(admin, session_factory):
    await _privileged_actions(session_factory)
    await admin.send("/audit")
    text = admin.text
    assert "Audit log — most recent" in text
    order = [text.index(word) for word in ("staff_role", "archive", "refund", "adjust", "price")]
    assert order == sorted(order)
    assert f"Mia Manager ({MANAGER_ID})" in text and "system" in text
    newest = (await audit_entries(session_factory))[-1]
    assert newest.created_at.astimezone(BERLIN).strftime("%Y-%m-%d %H:%M") in text

    await admin.send("/audit today")
    assert "Audit log — today" in admin.text and "staff_role" in admin.text
    await admin.send("/audit 2001-01-01")
    assert "Nothing recorded." in admin.text


async def test_store_time_zone_decides_the_day(admin, session_factory):
    # 23:30 UTC on 1 March is already 2 March in Berlin.
    async with transaction(session_factory) as session:
        entry = await audit_db.record(session, actor=None, action="price", details="late change")
        await session.execute(
            update(AuditEntry)
            .where(AuditEntry.id == entry.id)
            .values(created_at=datetime(2024, 3, 1, 23, 30, tzinfo=UTC))
        )
    await admin.send("/audit 2024-03-01")
    assert "Nothing recorded." in admin.text
    await admin.send("/audit 2024-03-02")
    assert "2024-03-02 00:30" in admin.text and "late change" in admin.text


async def test_bad_period_is_explained(admin, session_factory):
    before = await db_checksum(session_factory)
    await admin.send("/audit someday")
    assert "is not a period I know" in admin.text
    await admin.send("/audit 2024-02-30")
    assert "is not a real date" in admin.text
    assert await db_checksum(session_factory) == before


async def test_long_audit_pages_in_place_and_fits_telegram(admin, session_factory):
    earlier = len(await audit_entries(session_factory))  # the shop's own staff entries
    start = datetime.now(UTC) + timedelta(minutes=1)  # newer than those
    async with transaction(session_factory) as session:
        for n in range(25):
            entry = await audit_db.record(session, actor=None, action="adjust", details=f"entry {n:02} " + "x" * 900)
            entry.created_at = start + timedelta(minutes=n)
    total = earlier + 25
    pages = -(-total // 10)
    await admin.send("/audit")
    assert f"{total} entries" in admin.text and f"1/{pages}" in admin.buttons
    assert "entry 24" in admin.text and "entry 15" in admin.text and "entry 14" not in admin.text
    assert "x" * 200 in admin.text and "x" * 900 not in admin.text  # long details are clipped
    assert len(admin.text) < 4096
    await admin.tap("›")
    assert "entry 14" in admin.text and "entry 05" in admin.text and f"2/{pages}" in admin.buttons
    await admin.tap("›")
    assert "entry 04" in admin.text and "entry 00" in admin.text and f"3/{pages}" in admin.buttons
    await admin.tap("‹")
    assert f"2/{pages}" in admin.buttons
    assert len([m for m in admin.messages if m.buttons]) == 1  # edited in place


async def test_period_pages_keep_their_period(admin, session_factory):
    async with transaction(session_factory) as session:
        for n in range(12):
            await audit_db.record(session, actor=None, action="price", details=f"change {n}")
    await admin.send("/audit today")
    assert "1/2" in admin.buttons
    await admin.tap("›")
    assert "change 0" in admin.text and "2/2" in admin.buttons


@pytest.mark.parametrize(
    "payload",
    ["audit:page", "audit:page:1", "audit:page:x:y:1", "audit:page:99999999999:1:1", "audit:page:739000:1:1"],
)
async def test_forged_audit_pages_are_refused(admin, session_factory, payload):
    await admin.send("/audit")
    before = await db_checksum(session_factory)
    answer = await admin.press(payload)
    assert answer["show_alert"] is True and "no longer valid" in answer["text"]
    assert await db_checksum(session_factory) == before


async def test_audit_is_for_admins_only(manager, cashier):
    await manager.send("/audit")
    assert "That needs the admin role; yours is manager." in manager.text
    await cashier.send("/help")
    answer = await cashier.press("audit:page:0:0:1")
    assert "That needs the admin role" in answer["text"]


async def test_price_changes_read_as_money_in_the_audit(admin, manager, session_factory):
    await manager.send("/add Pear juice | 2.50 | 10 | Drinks | PJ1")
    await manager.send("/price PJ1 2.75")
    await admin.send("/audit today")
    assert "Pear juice" in admin.text
    assert "$2.50 → $2.75" in admin.text
    assert "price $2.50, stock 10" in admin.text
    assert "250" not in admin.text.replace("2.50", "")
