"""db.checkout.sell (a sale asked for in one go, as the REST API does): discounts on lines and on
the cart by the chat's rules, the cashier's limit by the caller's role, split payments."""

from __future__ import annotations

import re

import pytest

from db import checkout
from db.checkout import LineRequest, PaymentRequest
from db.discounts import DiscountAsk
from db.errors import Forbidden, InvalidInput
from db.models import PaymentMethod, Role
from tests.factories import CURRENCY, THRESHOLD, count_sales, ledger_problems, make_product, make_staff, run, stock_of

LIMIT_BP = 1000  # CASHIER_MAX_DISCOUNT_PERCENT=10


@pytest.fixture
async def cashier(session_factory):
    return await run(session_factory, make_staff, role=Role.CASHIER, name="Cal")


async def _sell(session_factory, cashier, lines, payments, **kwargs):
    return await run(
        session_factory,
        checkout.sell,
        lines=lines,
        payments=payments,
        cashier=cashier,
        currency=CURRENCY,
        default_low_stock_threshold=THRESHOLD,
        discount_limit_bp=LIMIT_BP,
        **kwargs,
    )


async def test_line_and_cart_discounts_and_a_split_payment(session_factory, cashier):
    tea = await run(session_factory, make_product, name="Tea", sku="TEA", price_minor=500, stock=10)
    bun = await run(session_factory, make_product, name="Bun", sku="BUN", price_minor=300, stock=10)
    # Tea 2 x 5.00 = 10.00, 5% off = 0.50; bun 1 x 3.00; cart 0.25 off 12.50, spread 9.50 : 3.00.
    lines = [
        LineRequest(quantity=2, sku="TEA", discount=DiscountAsk(percent_bp=500, amount_minor=None, reason=" dented ")),
        LineRequest(quantity=1, product_id=bun.id),
    ]
    payments = [
        PaymentRequest(method="card", amount_minor=1000),
        PaymentRequest(method="cash", amount_minor=225, tendered_minor=500),
    ]
    ask = DiscountAsk(percent_bp=None, amount_minor=25, reason="regular")
    sale = (await _sell(session_factory, cashier, lines, payments, discount=ask)).sale
    assert (sale.gross_minor, sale.discount_minor, sale.total_minor) == (1300, 75, 1225)
    assert [(ln.line_discount_minor, ln.cart_discount_minor, ln.line_total_minor) for ln in sale.lines] == [
        (50, 19, 931),
        (0, 6, 294),
    ]
    assert sorted((d.reason, d.applied_minor, d.sale_line_id is None) for d in sale.discounts) == [
        ("dented", 50, False),
        ("regular", 25, True),
    ]
    assert [(p.method, p.amount_minor, p.change_minor) for p in sale.payments] == [
        (PaymentMethod.CARD, 1000, None),
        (PaymentMethod.CASH, 225, 275),
    ]
    assert await stock_of(session_factory, tea.id) == 8 and await ledger_problems(session_factory) == []


async def test_the_limit_follows_the_callers_role_and_nothing_is_written_above_it(session_factory, cashier):
    tea = await run(session_factory, make_product, name="Tea", sku="TEA", price_minor=500, stock=10)
    lines = [LineRequest(quantity=2, sku="TEA")]
    eleven = DiscountAsk(percent_bp=1100, amount_minor=None, reason="friend")
    with pytest.raises(Forbidden, match=re.escape("at most $1.00")):
        await _sell(session_factory, cashier, lines, [PaymentRequest("card", 890)], discount=eleven)
    assert await count_sales(session_factory) == 0 and await stock_of(session_factory, tea.id) == 10
    sale = (
        await _sell(session_factory, cashier, lines, [PaymentRequest("card", 890)], discount=eleven, role=Role.MANAGER)
    ).sale
    assert sale.total_minor == 890


async def test_bad_discounts_and_payments_are_refused(session_factory, cashier):
    await run(session_factory, make_product, name="Tea", sku="TEA", price_minor=500, stock=10)
    card = [PaymentRequest("card", 500)]

    def one(discount):
        return [LineRequest(quantity=1, sku="TEA", discount=discount)]

    cases = [
        (one(DiscountAsk(None, 100, "  ")), card, "reason"),
        (one(DiscountAsk(None, 600, "why")), card, "never takes a line below zero"),
        (one(DiscountAsk(0, None, "why")), card, "more than 0%"),
        ([LineRequest(1, sku="TEA"), LineRequest(1, sku="TEA", discount=DiscountAsk(None, 1, "x"))], card, "one line"),
        (one(None), [PaymentRequest("card", 300), PaymentRequest("cash", 100)], "add up to $4.00"),
        (one(None), [PaymentRequest("card", 500), PaymentRequest("cash", 0)], "more than zero"),
        (one(None), [PaymentRequest("card", 500, tendered_minor=600)], "Only a cash"),
    ]
    for lines, payments, words in cases:
        with pytest.raises(InvalidInput, match=re.escape(words)):
            await _sell(session_factory, cashier, lines, payments)
    assert await count_sales(session_factory) == 0
