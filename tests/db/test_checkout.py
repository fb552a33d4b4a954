"""Checkout, refunds and sale lookups (one process; races are in test_checkout_races.py)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from db import carts, catalog, checkout
from db import stock as stock_db
from db.errors import Conflict, Forbidden, InvalidInput, NotFound, OutOfStock, StaleCart
from db.models import AuditEntry, MovementReason, PaymentMethod, Role, SaleStatus, utcnow
from tests.factories import (
    CURRENCY,
    THRESHOLD,
    count_sales,
    do_checkout,
    fill_cart,
    ledger_problems,
    make_customer,
    make_product,
    make_staff,
    movements_of,
    run,
    sell,
    stock_of,
)

CHAT = 777


@pytest.fixture
async def cashier(session_factory):
    return await run(session_factory, make_staff, role=Role.CASHIER, name="Cal")


async def test_card_checkout_records_sale_lines_movements_and_empties_cart(session_factory, cashier):
    tea = await run(session_factory, make_product, name="Tea", sku="TEA", price_minor=199, stock=10)
    bun = await run(session_factory, make_product, name="Bun", sku="BUN", price_minor=75, stock=10)
    alice = await run(session_factory, make_customer, name="Alice")
    await run(session_factory, fill_cart, chat_id=CHAT, items=[(tea, 3), (bun, 2)])
    await run(session_factory, carts.set_customer, chat_id=CHAT, customer_id=alice.id)

    result = await do_checkout(session_factory, chat_id=CHAT, cashier=cashier, tendered_minor=5000)

    sale = result.sale
    assert not result.already_recorded and result.low_stock_crossed == []
    assert (sale.total_minor, sale.payment_method, sale.status, sale.currency) == (
        747,
        PaymentMethod.CARD,
        SaleStatus.COMPLETED,
        CURRENCY,
    )
    assert (sale.tendered_minor, sale.change_minor) == (None, None)  # card: no cash involved
    assert (sale.cashier.name, sale.customer.name, sale.chat_id) == ("Cal", "Alice", CHAT)
    assert [(ln.product_name, ln.sku, ln.unit_price_minor, ln.quantity, ln.line_total_minor) for ln in sale.lines] == [
        ("Tea", "TEA", 199, 3, 597),
        ("Bun", "BUN", 75, 2, 150),
    ]
    assert await stock_of(session_factory, tea.id) == 7 and await stock_of(session_factory, bun.id) == 8
    [_, movement] = await movements_of(session_factory, tea.id)
    assert (movement.quantity, movement.reason, movement.sale_id, movement.staff_id) == (
        -3,
        MovementReason.SALE,
        sale.id,
        cashier.id,
    )
    view = await run(session_factory, carts.get_cart_view, chat_id=CHAT)
    assert (view.lines, view.customer_id, view.version) == ([], None, 5)
    assert await ledger_problems(session_factory) == []


async def test_cash_checkout_gives_change(session_factory, cashier):
    tea = await run(session_factory, make_product, price_minor=1234)
    result = await sell(
        session_factory, cashier=cashier, items=[(tea, 2)], method=PaymentMethod.CASH, tendered_minor=5000
    )
    assert (result.sale.total_minor, result.sale.tendered_minor, result.sale.change_minor) == (2468, 5000, 2532)
    exact = await sell(
        session_factory, cashier=cashier, items=[(tea, 1)], method=PaymentMethod.CASH, tendered_minor=1234
    )
    assert exact.sale.change_minor == 0


@pytest.mark.parametrize(("tendered", "message"), [(None, "cash tendered"), (2467, "short"), (-1, "between 0 and")])
async def test_cash_checkout_refuses_missing_or_short_tender_and_changes_nothing(
    session_factory, cashier, tendered, message
):
    tea = await run(session_factory, make_product, price_minor=1234, stock=5)
    await run(session_factory, fill_cart, chat_id=CHAT, items=[(tea, 2)])
    with pytest.raises(InvalidInput, match=message):
        await do_checkout(
            session_factory, chat_id=CHAT, cashier=cashier, method=PaymentMethod.CASH, tendered_minor=tendered
        )
    assert await stock_of(session_factory, tea.id) == 5
    assert await count_sales(session_factory) == 0
    view = await run(session_factory, carts.get_cart_view, chat_id=CHAT)
    assert (view.version, view.item_count) == (2, 2)


async def test_money_sums_are_exact(session_factory, cashier):
    # Prices that a float would get wrong: 0.10 + 0.20, 19.99 * 3, and large amounts.
    prices = [10, 20, 1999, 333, 99_999_999_999]
    products = [await run(session_factory, make_product, price_minor=p, stock=100) for p in prices]
    result = await sell(
        session_factory,
        cashier=cashier,
        items=[(products[0], 1), (products[1], 1), (products[2], 3), (products[3], 7), (products[4], 9)],
    )
    assert [ln.line_total_minor for ln in result.sale.lines] == [10, 20, 5997, 2331, 899_999_999_991]
    assert result.sale.total_minor == 10 + 20 + 5997 + 2331 + 899_999_999_991 == 900_000_008_349


async def test_repeated_checkout_of_same_version_makes_one_sale(session_factory, cashier):
    tea = await run(session_factory, make_product, stock=5)
    view = await run(session_factory, fill_cart, chat_id=CHAT, items=[(tea, 2)])
    first = await do_checkout(session_factory, chat_id=CHAT, cashier=cashier, version=view.version)
    again = await do_checkout(session_factory, chat_id=CHAT, cashier=cashier, version=view.version)
    assert not first.already_recorded and again.already_recorded
    assert again.sale.id == first.sale.id and [ln.quantity for ln in again.sale.lines] == [2]
    assert await count_sales(session_factory) == 1
    assert await stock_of(session_factory, tea.id) == 3


async def test_stale_version_is_refused(session_factory, cashier):
    tea = await run(session_factory, make_product, stock=5)
    old = await run(session_factory, fill_cart, chat_id=CHAT, items=[(tea, 1)])
    await run(session_factory, carts.add_item, chat_id=CHAT, product_id=tea.id)
    with pytest.raises(StaleCart):
        await do_checkout(session_factory, chat_id=CHAT, cashier=cashier, version=old.version)
    with pytest.raises(StaleCart):
        await do_checkout(session_factory, chat_id=CHAT, cashier=cashier, version=old.version + 5)
    assert await count_sales(session_factory) == 0
    assert await stock_of(session_factory, tea.id) == 5
    # The current version still works.
    assert (await do_checkout(session_factory, chat_id=CHAT, cashier=cashier)).sale.lines[0].quantity == 2


async def test_empty_cart_is_refused(session_factory, cashier):
    with pytest.raises(InvalidInput, match="empty"):
        await do_checkout(session_factory, chat_id=CHAT, cashier=cashier, version=1)
    await run(session_factory, carts.get_cart_view, chat_id=CHAT)
    with pytest.raises(InvalidInput, match="empty"):
        await do_checkout(session_factory, chat_id=CHAT, cashier=cashier)
    assert (await run(session_factory, carts.get_cart_view, chat_id=CHAT)).version == 1


async def test_shortage_rolls_everything_back_and_lists_every_shortage(session_factory, cashier):
    tea = await run(session_factory, make_product, name="Tea", stock=5)
    bun = await run(session_factory, make_product, name="Bun", stock=5)
    jam = await run(session_factory, make_product, name="Jam", stock=5)
    before = await run(session_factory, fill_cart, chat_id=CHAT, items=[(tea, 2), (bun, 4), (jam, 3)])
    # Stock fell after the items went into the cart.
    await run(session_factory, stock_db.adjust, product_id=bun.id, delta=-3, reason="damaged")
    await run(session_factory, stock_db.adjust, product_id=jam.id, delta=-5, reason="expired")

    with pytest.raises(OutOfStock) as caught:
        await do_checkout(session_factory, chat_id=CHAT, cashier=cashier, version=before.version)

    shortages = {s.name: (s.requested, s.available, s.missing) for s in caught.value.shortages}
    assert shortages == {"Bun": (4, 2, 2), "Jam": (3, 0, 3)}
    assert "Bun: 2 missing (only 2 left)" in caught.value.message
    assert await count_sales(session_factory) == 0
    assert [await stock_of(session_factory, p.id) for p in (tea, bun, jam)] == [5, 2, 0]
    after = await run(session_factory, carts.get_cart_view, chat_id=CHAT)
    assert (after.version, [(ln.product_id, ln.quantity) for ln in after.lines]) == (
        before.version,
        [(ln.product_id, ln.quantity) for ln in before.lines],
    )
    assert await ledger_problems(session_factory) == []


async def test_archived_product_in_cart_is_refused(session_factory, cashier):
    tea = await run(session_factory, make_product, name="Tea", stock=5)
    await run(session_factory, fill_cart, chat_id=CHAT, items=[(tea, 1)])
    await run(session_factory, catalog.archive_product, product_id=tea.id)
    with pytest.raises(OutOfStock) as caught:
        await do_checkout(session_factory, chat_id=CHAT, cashier=cashier)
    assert [(s.product_id, s.available) for s in caught.value.shortages] == [(tea.id, 0)]
    assert await stock_of(session_factory, tea.id) == 5


async def test_sale_keeps_the_price_and_name_it_was_sold_at(session_factory, cashier):
    tea = await run(session_factory, make_product, name="Tea", price_minor=100)
    sale = (await sell(session_factory, cashier=cashier, items=[(tea, 1)])).sale
    await run(session_factory, catalog.edit_product, product_id=tea.id, name="Green Tea", price_minor=150)
    await run(session_factory, catalog.archive_product, product_id=tea.id)
    again = await run(session_factory, checkout.get_sale, sale_id=sale.id)
    assert [(ln.product_name, ln.unit_price_minor) for ln in again.lines] == [("Tea", 100)]


async def test_customer_argument_overrides_the_cart_and_must_exist(session_factory, cashier):
    tea = await run(session_factory, make_product)
    alice = await run(session_factory, make_customer, name="Alice")
    bob = await run(session_factory, make_customer, name="Bob")
    await run(session_factory, fill_cart, chat_id=CHAT, items=[(tea, 1)])
    await run(session_factory, carts.set_customer, chat_id=CHAT, customer_id=alice.id)
    with pytest.raises(NotFound):
        await do_checkout(session_factory, chat_id=CHAT, cashier=cashier, customer_id=bob.id + 10)
    result = await do_checkout(session_factory, chat_id=CHAT, cashier=cashier, customer_id=bob.id)
    assert result.sale.customer_id == bob.id


async def test_checkout_validates_its_arguments(session_factory, cashier):
    tea = await run(session_factory, make_product)
    view = await run(session_factory, fill_cart, chat_id=CHAT, items=[(tea, 1)])
    base = {
        "chat_id": CHAT,
        "expected_version": view.version,
        "cashier": cashier,
        "payment_method": PaymentMethod.CARD,
        "tendered_minor": None,
        "currency": CURRENCY,
        "default_low_stock_threshold": THRESHOLD,
    }
    for change in (
        {"payment_method": "bitcoin"},
        {"currency": "XXY"},
        {"expected_version": 0},
        {"expected_version": "2"},
        {"default_low_stock_threshold": -1},
    ):
        with pytest.raises(InvalidInput):
            await run(session_factory, checkout.checkout, **(base | change))
    former = await run(session_factory, make_staff)
    former.active = False
    with pytest.raises(Forbidden):
        await run(session_factory, checkout.checkout, **(base | {"cashier": former}))
    # A payment method given as its text value is accepted.
    result = await run(session_factory, checkout.checkout, **(base | {"payment_method": "mobile"}))
    assert result.sale.payment_method is PaymentMethod.MOBILE
    assert await count_sales(session_factory) == 1


async def test_low_stock_crossing_is_reported_once_per_crossing(session_factory, cashier):
    tea = await run(session_factory, make_product, name="Tea", stock=6)  # store default threshold 3
    mug = await run(session_factory, make_product, name="Mug", stock=20, low_stock_threshold=15)

    first = await sell(session_factory, cashier=cashier, items=[(tea, 2), (mug, 1)])
    assert first.low_stock_crossed == []  # 4 > 3 and 19 > 15

    crossing = await sell(session_factory, cashier=cashier, items=[(tea, 1), (mug, 4)])
    assert sorted(p.name for p in crossing.low_stock_crossed) == ["Mug", "Tea"]
    assert all(p.low_stock_alerted for p in crossing.low_stock_crossed)

    still_low = await sell(session_factory, cashier=cashier, items=[(tea, 1)])
    assert still_low.low_stock_crossed == []

    await run(session_factory, stock_db.restock, product_id=tea.id, qty=10, default_threshold=THRESHOLD)
    assert not (await run(session_factory, catalog.get_product, product_id=tea.id)).low_stock_alerted
    again = await sell(session_factory, cashier=cashier, items=[(tea, 10)])
    assert [p.name for p in again.low_stock_crossed] == ["Tea"]


async def test_refund_restocks_and_is_final(session_factory, cashier):
    manager = await run(session_factory, make_staff, role=Role.MANAGER, name="Mia")
    tea = await run(session_factory, make_product, stock=5, low_stock_threshold=4)
    bun = await run(session_factory, make_product, stock=5)
    sale = (await sell(session_factory, cashier=cashier, items=[(tea, 2), (bun, 1)])).sale
    assert (await run(session_factory, catalog.get_product, product_id=tea.id)).low_stock_alerted

    refunded = await run(
        session_factory, checkout.refund_sale, sale_id=sale.id, actor=manager, default_threshold=THRESHOLD
    )

    assert refunded.status is SaleStatus.REFUNDED
    assert refunded.refunded_by_id == manager.id and refunded.refunded_at is not None
    tea_now = await run(session_factory, catalog.get_product, product_id=tea.id)
    assert tea_now.stock == 5 and not tea_now.low_stock_alerted
    assert await stock_of(session_factory, bun.id) == 5
    movement = (await movements_of(session_factory, tea.id))[-1]
    assert (movement.quantity, movement.reason, movement.sale_id, movement.staff_id) == (
        2,
        MovementReason.REFUND,
        sale.id,
        manager.id,
    )
    with pytest.raises(Conflict, match="already refunded"):
        await run(session_factory, checkout.refund_sale, sale_id=sale.id, actor=manager)
    with pytest.raises(NotFound):
        await run(session_factory, checkout.refund_sale, sale_id=sale.id + 1, actor=manager)
    assert await stock_of(session_factory, tea.id) == 5
    async with session_factory() as session:
        entry = await session.scalar(select(AuditEntry).where(AuditEntry.action == "refund"))
    assert entry is not None and entry.actor_name == "Mia" and f"#{sale.id}" in entry.details
    assert await ledger_problems(session_factory) == []


async def test_get_sale_and_list_sales(session_factory, cashier):
    other = await run(session_factory, make_staff, name="Other")
    tea = await run(session_factory, make_product, stock=50)
    first = (await sell(session_factory, cashier=cashier, items=[(tea, 1)])).sale
    second = (await sell(session_factory, cashier=other, items=[(tea, 2)])).sale
    third = (await sell(session_factory, cashier=cashier, items=[(tea, 3)])).sale
    now = utcnow()
    async with session_factory() as session:
        got = await checkout.get_sale(session, sale_id=second.id)
        assert (got.cashier.name, got.customer, [ln.quantity for ln in got.lines]) == ("Other", None, [2])
        with pytest.raises(NotFound, match=f"No sale #{third.id + 1}"):
            await checkout.get_sale(session, sale_id=third.id + 1)
        everyone = await checkout.list_sales(session, start=now - timedelta(hours=1), end=now + timedelta(hours=1))
        mine = await checkout.list_sales(
            session, start=now - timedelta(hours=1), end=now + timedelta(hours=1), cashier_id=cashier.id
        )
        newest = await checkout.list_sales(
            session, start=now - timedelta(hours=1), end=now + timedelta(hours=1), limit=1
        )
        later = await checkout.list_sales(session, start=now + timedelta(hours=1), end=now + timedelta(hours=2))
    assert [s.id for s in everyone] == [third.id, second.id, first.id]
    assert [s.id for s in mine] == [third.id, first.id]
    assert [s.id for s in newest] == [third.id]
    assert later == []
