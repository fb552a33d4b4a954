"""The audit log."""

from __future__ import annotations

from datetime import timedelta

import pytest

from db import audit, catalog, checkout, staff
from db import stock as stock_db
from db.errors import InvalidInput
from db.models import Role, utcnow
from tests.factories import make_product, make_staff, run, sell


async def test_record_and_list_newest_first(session_factory):
    admin = await run(session_factory, make_staff, role=Role.ADMIN, name="Ada", telegram_id=11)
    start = utcnow()
    await run(session_factory, audit.record, actor=admin, action="price", details="TEA: 100 → 120")
    await run(session_factory, audit.record, actor=None, action="restock", details="TEA: +5")
    end = utcnow() + timedelta(seconds=1)

    entries = await run(session_factory, audit.list_entries, start=start, end=end)
    assert [(e.action, e.actor_name, e.actor_telegram_id) for e in entries] == [
        ("restock", "system", None),
        ("price", "Ada", 11),
    ]
    assert entries[1].details == "TEA: 100 → 120"
    assert len(await run(session_factory, audit.list_entries, start=start, end=end, limit=1)) == 1
    assert await run(session_factory, audit.list_entries, start=end, end=end + timedelta(hours=1)) == []
    assert len(await run(session_factory, audit.list_entries)) == 3  # with make_staff's own entry
    for limit in (0, 501, "5"):
        with pytest.raises(InvalidInput):
            await run(session_factory, audit.list_entries, limit=limit)


async def test_privileged_operations_are_audited(session_factory):
    admin = await run(session_factory, staff.bootstrap_admins, ids=[1])
    actor = admin[0]
    product = await run(session_factory, make_product, stock=5, actor=actor)
    await run(session_factory, catalog.edit_product, product_id=product.id, name="Renamed", actor=actor)
    await run(session_factory, catalog.set_price, product_id=product.id, price_minor=999, actor=actor)
    await run(session_factory, stock_db.restock, product_id=product.id, qty=1, actor=actor)
    await run(session_factory, stock_db.adjust, product_id=product.id, delta=-1, reason="count", actor=actor)
    sale = (await sell(session_factory, cashier=actor, items=[(product, 1)])).sale
    await run(session_factory, checkout.refund_sale, sale_id=sale.id, actor=actor)
    await run(session_factory, catalog.archive_product, product_id=product.id, actor=actor)
    await run(session_factory, catalog.unarchive_product, product_id=product.id, actor=actor)
    await run(session_factory, staff.add_staff, telegram_id=2, role=Role.CASHIER, actor=actor)
    await run(session_factory, staff.set_role, telegram_id=2, role=Role.MANAGER, actor=actor)
    await run(session_factory, staff.remove_staff, telegram_id=2, actor=actor)

    entries = await run(session_factory, audit.list_entries, limit=100)
    assert [e.action for e in reversed(entries)] == [
        "staff_add",  # the bootstrap
        "product_add",
        "product_edit",
        "price",
        "restock",
        "adjust",
        "refund",
        "archive",
        "unarchive",
        "staff_add",
        "staff_role",
        "staff_remove",
    ]
    assert {e.actor_telegram_id for e in entries[:-1]} == {1}


async def test_a_rolled_back_operation_leaves_no_audit_entry(session_factory):
    product = await run(session_factory, make_product, stock=1)
    before = len(await run(session_factory, audit.list_entries))
    with pytest.raises(InvalidInput):
        await run(session_factory, stock_db.adjust, product_id=product.id, delta=-2, reason="count")
    assert len(await run(session_factory, audit.list_entries)) == before
