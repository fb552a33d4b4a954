"""Checkout with taxes, discounts and a split payment; returns; gapless receipt numbers.

The figures are the hand-computed cart of tests/db/test_pricing.py, recorded through the real
checkout and refund functions on both backends.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from db import carts, checkout, money_report, pricing, refunds, taxes
from db.errors import Conflict, InvalidInput, OutOfStock, StaleCart, TotalChanged
from db.models import CartLine, Discount, PaymentMethod, Role, Sale, SaleStatus
from db.periods import period_for_days
from tests.factories import (
    CURRENCY,
    THRESHOLD,
    fill_cart,
    ledger_problems,
    make_product,
    make_staff,
    run,
    stock_of,
)

UTC_ZONE = ZoneInfo("UTC")


@pytest.fixture
async def cashier(session_factory):
    return await run(session_factory, make_staff, role=Role.CASHIER)


async def _rates(session):
    vat = await taxes.add_rate(session, name="VAT", rate_bp=1600, actor=None)
    zero = await taxes.add_rate(session, name="Zero-rated", rate_bp=0, actor=None)
    sales = await taxes.add_rate(session, name="Sales", rate_bp=725, actor=None)
    return vat, zero, sales


async def _hand_cart(session_factory, chat_id=7):
    """A 2 x 3.16 (VAT 16%, 5% off), B 3 x 1.00 (0%), C 1 x 10.00 (7.25%), 1.00 off the cart."""
    a = await run(session_factory, make_product, name="Apples", price_minor=316, stock=10)
    b = await run(session_factory, make_product, name="Bread", price_minor=100, stock=10)
    c = await run(session_factory, make_product, name="Cheese", price_minor=1000, stock=10)
    async with session_factory() as session, session.begin():
        vat, zero, sales = await _rates(session)
        for product, rate in ((a, vat), (b, zero), (c, sales)):
            await taxes.assign(session, target=product.sku, name=rate.name, actor=None)
    view = await run(session_factory, fill_cart, chat_id=chat_id, items=[(a, 2), (b, 3), (c, 1)])
    async with session_factory() as session, session.begin():
        line_a = await session.scalar(
            select(CartLine).where(CartLine.cart_id == view.cart_id, CartLine.product_id == a.id)
        )
        session.add(Discount(cart_id=view.cart_id, cart_line_id=line_a.id, percent_bp=500, reason="bruised"))
        session.add(Discount(cart_id=view.cart_id, amount_minor=100, reason="regular"))
    return (a, b, c), view


async def _checkout(session_factory, cashier, view, *, payments, inclusive=True, chat_id=7, expected=None):
    return await run(
        session_factory,
        checkout.checkout,
        chat_id=chat_id,
        expected_version=view.version,
        cashier=cashier,
        payments=payments,
        prices_include_tax=inclusive,
        expected_total_minor=expected,
        currency=CURRENCY,
        default_low_stock_threshold=THRESHOLD,
    )


async def test_taxed_discounted_split_sale_and_partial_return(session_factory, cashier):
    (a, b, _), view = await _hand_cart(session_factory)
    card = pricing.PaymentIn(method="card", amount_minor=1000)
    cash = pricing.PaymentIn(method="cash", amount_minor=800, tendered_minor=2000)

    result = await _checkout(session_factory, cashier, view, payments=[card, cash], expected=1800)

    sale = result.sale
    assert (sale.gross_minor, sale.discount_minor, sale.tax_minor, sale.total_minor) == (1932, 132, 142, 1800)
    assert [(line.tax_name, line.tax_minor, line.line_total_minor) for line in sale.lines] == [
        ("VAT", 78, 569),
        ("Zero-rated", 0, 284),
        ("Sales", 64, 947),
    ]
    assert [(p.method, p.amount_minor, p.tendered_minor, p.change_minor) for p in sale.payments] == [
        (PaymentMethod.CARD, 1000, None, None),
        (PaymentMethod.CASH, 800, 2000, 1200),
    ]
    assert sorted((d.reason, d.applied_minor) for d in sale.discounts) == [("bruised", 32), ("regular", 100)]

    # Return one apple (not restocked: bruised) and all the bread, in cash.
    line_a, line_b, _ = sale.lines
    async with session_factory() as session, session.begin():
        first = await refunds.refund(
            session,
            sale_id=sale.id,
            lines={line_a.id: refunds.ReturnLine(1, restock=False), line_b.id: refunds.ReturnLine(3)},
            method="cash",
            reason="unhappy",
            actor=cashier,
        )
    assert (first.amount_minor, first.tax_minor) == (285 + 284, 39)
    assert await stock_of(session_factory, a.id) == 8  # the apple stays out
    assert await stock_of(session_factory, b.id) == 10
    after = await run(session_factory, checkout.get_sale, sale_id=sale.id)
    assert after.status is SaleStatus.PARTLY_REFUNDED and after.refunded_minor == 569

    # Asking for more than is left records nothing.
    with pytest.raises(Conflict):
        await run(
            session_factory, refunds.refund, sale_id=sale.id, lines={line_b.id: refunds.ReturnLine(1)}, actor=None
        )

    # The rest, one tap: exactly what was paid in total comes back.
    rest = await run(session_factory, checkout.refund_sale, sale_id=sale.id, actor=cashier)
    assert rest.status is SaleStatus.REFUNDED and rest.refunded_minor == 1800
    assert sum(r.amount_minor for r in rest.refunds) == 1800
    assert sum(r.tax_minor for r in rest.refunds) == 142
    with pytest.raises(Conflict):
        await run(session_factory, checkout.refund_sale, sale_id=sale.id, actor=cashier)
    assert await ledger_problems(session_factory) == []


async def test_tax_on_top_of_shelf_prices(session_factory, cashier):
    _, view = await _hand_cart(session_factory)
    result = await _checkout(
        session_factory, cashier, view, payments=[pricing.PaymentIn(method="card", amount_minor=1960)], inclusive=False
    )
    assert (result.sale.tax_minor, result.sale.total_minor) == (160, 1960)


async def test_payments_that_do_not_add_up_record_nothing(session_factory, cashier):
    _, view = await _hand_cart(session_factory)
    with pytest.raises(StaleCart):
        await _checkout(session_factory, cashier, view, payments=[pricing.PaymentIn(method="card", amount_minor=1700)])
    with pytest.raises(TotalChanged):  # the screen showed another total
        await _checkout(
            session_factory,
            cashier,
            view,
            payments=[pricing.PaymentIn(method="card", amount_minor=1800)],
            expected=1932,
        )
    with pytest.raises(InvalidInput):
        await _checkout(
            session_factory,
            cashier,
            view,
            payments=[pricing.PaymentIn(method="cash", amount_minor=1800, tendered_minor=5)],
        )
    async with session_factory() as session:
        assert await session.scalar(select(func.count(Sale.id))) == 0


async def _checkout_chat(session_factory, cashier, chat_id):
    view = await run(session_factory, carts.get_cart_view, chat_id=chat_id)
    return await run(
        session_factory,
        checkout.checkout,
        chat_id=chat_id,
        expected_version=view.version,
        cashier=cashier,
        payment_method=PaymentMethod.CARD,
        currency=CURRENCY,
        default_low_stock_threshold=THRESHOLD,
    )


async def test_receipt_numbers_have_no_gaps_under_races_and_failures(session_factory, cashier):
    """Twelve checkouts at once; four race for one unit, so three fail for a shortage (and roll
    back after the others claimed numbers): the sales made are numbered 1..9, no gap, no reuse."""
    plenty = await run(session_factory, make_product, name="Plenty", stock=1000)
    scarce = await run(session_factory, make_product, name="Scarce", stock=1)
    chats = list(range(100, 112))
    for chat_id in chats:
        items = [(plenty, 1)] + ([(scarce, 1)] if chat_id % 3 == 0 else [])
        await run(session_factory, fill_cart, chat_id=chat_id, items=items)

    results = await asyncio.gather(
        *(_checkout_chat(session_factory, cashier, chat_id) for chat_id in chats), return_exceptions=True
    )

    made = [r for r in results if isinstance(r, checkout.CheckoutResult)]
    failed = [r for r in results if isinstance(r, OutOfStock)]
    assert len(made) == 9 and len(failed) == 3, results
    numbers = sorted(r.sale.number for r in made)
    assert numbers == list(range(1, 10))
    # The next one continues at 10.
    await run(session_factory, fill_cart, chat_id=999, items=[(plenty, 1)])
    assert (await _checkout_chat(session_factory, cashier, 999)).sale.number == 10


async def test_two_refunds_racing_never_return_more_than_sold(session_factory, cashier):
    product = await run(session_factory, make_product, name="Mug", price_minor=500, stock=10)
    await run(session_factory, fill_cart, chat_id=5, items=[(product, 3)])
    sale = (await _checkout_chat(session_factory, cashier, 5)).sale
    line_id = sale.lines[0].id

    async def give_back(qty):
        return await run(
            session_factory, refunds.refund, sale_id=sale.id, lines={line_id: refunds.ReturnLine(qty)}, actor=cashier
        )

    results = await asyncio.gather(give_back(2), give_back(2), return_exceptions=True)
    done = [r for r in results if not isinstance(r, Exception)]
    refused = [r for r in results if isinstance(r, Conflict | InvalidInput)]
    assert len(done) == 1 and len(refused) == 1, results
    after = await run(session_factory, checkout.get_sale, sale_id=sale.id)
    assert after.lines[0].refunded_quantity == 2 and after.refunded_minor == 1000
    assert await stock_of(session_factory, product.id) == 9
    assert await ledger_problems(session_factory) == []


async def test_money_report_reconciles_to_the_cent(session_factory, cashier):
    """The hand-computed sale (gross 19.32, discounts 1.32, tax 0.78 + 0 + 0.64, paid 10.00 card +
    8.00 cash) and a return of one apple and all the bread (2.85 + 2.84 = 5.69 in cash)."""
    (_, _, _), view = await _hand_cart(session_factory)
    card = pricing.PaymentIn(method="card", amount_minor=1000)
    cash = pricing.PaymentIn(method="cash", amount_minor=800, tendered_minor=2000)
    sale = (await _checkout(session_factory, cashier, view, payments=[card, cash])).sale
    line_a, line_b, _ = sale.lines
    await run(
        session_factory,
        refunds.refund,
        sale_id=sale.id,
        lines={line_a.id: refunds.ReturnLine(1, restock=False), line_b.id: refunds.ReturnLine(3)},
        method="cash",
        actor=cashier,
    )
    today = datetime.now(UTC).date()
    period = period_for_days(today, today, UTC_ZONE)

    report = await run(session_factory, money_report.money_summary, period=period, tz=UTC_ZONE)

    assert (report.gross_minor, report.discounts_minor, report.net_sales_minor) == (1932, 132, 1800)
    assert (report.refunds_minor, report.net_revenue_minor) == (569, 1231)
    assert report.gross_minor - report.discounts_minor - report.refunds_minor == report.net_revenue_minor
    assert [(t.name, t.rate_bp, t.tax_minor, t.net_minor) for t in report.taxes] == [
        ("Zero-rated", 0, 0, 284),
        ("Sales", 725, 64, 883),
        ("VAT", 1600, 78, 491),
    ]
    assert sum(t.tax_minor for t in report.taxes) == report.tax_minor == 142
    assert [(m.method, m.amount_minor) for m in report.payments] == [
        (PaymentMethod.CARD, 1000),
        (PaymentMethod.CASH, 800),
    ]
    assert [(m.method, m.count, m.amount_minor) for m in report.refunds] == [(PaymentMethod.CASH, 1, 569)]
    assert [(d.day, d.gross_minor, d.refunds_minor, d.net_revenue_minor) for d in report.by_day] == [
        (today, 1932, 569, 1231)
    ]
    assert [(p.name, p.net_revenue_minor) for p in report.best_by_revenue] == [
        ("Cheese", 947),
        ("Apples", 284),
        ("Bread", 0),
    ]
    assert [c.total_minor for c in report.by_cashier] == [1800]
