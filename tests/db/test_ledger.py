"""The stock ledger check."""

from __future__ import annotations

from sqlalchemy import text

from db import catalog, checkout
from db import stock as stock_db
from db.models import PaymentMethod, Role
from tests.factories import ledger_problems, make_product, make_staff, run, sell


async def test_ledger_is_clean_after_sales_refunds_restocks_and_adjustments(session_factory):
    cashier = await run(session_factory, make_staff, role=Role.MANAGER)
    tea = await run(session_factory, make_product, stock=20)
    bun = await run(session_factory, make_product, stock=5)
    await run(session_factory, make_product, stock=0)  # no movements at all
    first = await sell(session_factory, cashier=cashier, items=[(tea, 3), (bun, 2)])
    await sell(session_factory, cashier=cashier, items=[(tea, 1)], method=PaymentMethod.CASH, tendered_minor=10_000)
    await run(session_factory, stock_db.restock, product_id=bun.id, qty=7, actor=cashier)
    await run(session_factory, stock_db.adjust, product_id=tea.id, delta=-4, reason="breakage", actor=cashier)
    await run(session_factory, stock_db.adjust, product_id=bun.id, delta=2, reason="recount", actor=cashier)
    await run(session_factory, checkout.refund_sale, sale_id=first.sale.id, actor=cashier)
    await sell(session_factory, cashier=cashier, items=[(bun, 14)])

    assert await ledger_problems(session_factory) == []
    assert (await run(session_factory, catalog.get_product, product_id=tea.id)).stock == 20 - 3 - 1 - 4 + 3
    assert (await run(session_factory, catalog.get_product, product_id=bun.id)).stock == 0


async def test_ledger_finds_a_stock_changed_behind_its_back(session_factory):
    tea = await run(session_factory, make_product, name="Tea", sku="TEA", stock=10)
    bare = await run(session_factory, make_product, name="Bare", sku="BARE", stock=0)
    async with session_factory.begin() as session:
        await session.execute(text("UPDATE products SET stock = stock + 5 WHERE id = :id"), {"id": tea.id})
        await session.execute(text("UPDATE products SET stock = 2 WHERE id = :id"), {"id": bare.id})

    problems = await ledger_problems(session_factory)

    assert [(p.product_id, p.sku, p.name, p.stock, p.movements_sum, p.difference) for p in problems] == [
        (tea.id, "TEA", "Tea", 15, 10, 5),
        (bare.id, "BARE", "Bare", 2, 0, 2),
    ]
