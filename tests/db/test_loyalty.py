"""Loyalty points: earning, paying with points, returns, adjustments, the ledger check, races."""

from __future__ import annotations

import asyncio
import random

import pytest
from sqlalchemy import select, text

from db import checkout, loyalty, refunds
from db.engine import transaction
from db.errors import Forbidden, InvalidInput
from db.models import AuditEntry, Customer, PaymentMethod, PointsEntry, PointsKind, Role
from db.pricing import PaymentIn
from tests.factories import CURRENCY, THRESHOLD, fill_cart, make_customer, make_product, make_staff, next_id, run

EARN_BP = 500  # 5%


@pytest.fixture
async def cashier(session_factory):
    return await run(session_factory, make_staff, role=Role.CASHIER)


@pytest.fixture
async def manager(session_factory):
    return await run(session_factory, make_staff, role=Role.MANAGER)


@pytest.fixture
async def customer(session_factory):
    return await run(session_factory, make_customer)


async def give(factory, customer_id: int, points: int, manager) -> None:
    await run(factory, loyalty.adjust_points, customer_id=customer_id, points=points, reason="welcome", actor=manager)


async def points_of(factory, customer_id: int) -> int:
    async with factory() as session:
        return await loyalty.balance(session, customer_id=customer_id)


async def entries_of(factory, customer_id: int) -> list[tuple[str, int]]:
    async with factory() as session:
        rows = await session.scalars(
            select(PointsEntry).where(PointsEntry.customer_id == customer_id).order_by(PointsEntry.id)
        )
        return [(e.kind.value, e.points) for e in rows]


async def pay(
    factory,
    *,
    cashier,
    items,
    customer_id: int | None,
    payments: list[PaymentIn] | None = None,
    earn_bp: int = EARN_BP,
    chat_id: int | None = None,
    hold: float = 0,
):
    """Fill a cart and check it out with ``payments`` (default: card for the whole total)."""
    chat_id = chat_id or 700_000 + next_id()
    view = await run(factory, fill_cart, chat_id=chat_id, items=items)
    async with transaction(factory) as session:
        result = await checkout.checkout(
            session,
            chat_id=chat_id,
            expected_version=view.version,
            cashier=cashier,
            payments=payments or [PaymentIn("card", view.total_minor)],
            currency=CURRENCY,
            default_low_stock_threshold=THRESHOLD,
            customer_id=customer_id,
            loyalty_earn_bp=earn_bp,
        )
        if hold:
            await asyncio.sleep(hold)
        return result


async def ledger_clean(factory) -> bool:
    async with factory() as session:
        return await loyalty.check_points(session) == []


async def test_a_sale_earns_on_what_was_paid(session_factory, cashier, customer):
    product = await run(session_factory, make_product, price_minor=1010)
    await pay(session_factory, cashier=cashier, items=[(product, 1)], customer_id=customer.id)
    # 5% of 10.10 is 50.5 -> 51 (half away from zero)
    assert await points_of(session_factory, customer.id) == 51
    assert await entries_of(session_factory, customer.id) == [("earn", 51)]
    assert await ledger_clean(session_factory)


async def test_no_customer_or_earning_off_earns_nothing(session_factory, cashier, customer):
    product = await run(session_factory, make_product, price_minor=1000)
    await pay(session_factory, cashier=cashier, items=[(product, 1)], customer_id=None)
    await pay(session_factory, cashier=cashier, items=[(product, 1)], customer_id=customer.id, earn_bp=0)
    assert await points_of(session_factory, customer.id) == 0
    async with session_factory() as session:
        assert (await session.scalars(select(PointsEntry))).all() == []


async def test_paying_part_with_points_earns_on_the_money_only(session_factory, cashier, manager, customer):
    await give(session_factory, customer.id, 300, manager)
    product = await run(session_factory, make_product, price_minor=1000)
    result = await pay(
        session_factory,
        cashier=cashier,
        items=[(product, 1)],
        customer_id=customer.id,
        payments=[PaymentIn("points", 300), PaymentIn("cash", 700, 1000)],
    )
    assert [(p.method, p.amount_minor) for p in result.sale.payments] == [
        (PaymentMethod.POINTS, 300),
        (PaymentMethod.CASH, 700),
    ]
    # 300 spent, 5% of the 7.00 paid in money earned
    assert await entries_of(session_factory, customer.id) == [("adjust", 300), ("redeem", -300), ("earn", 35)]
    assert await points_of(session_factory, customer.id) == 35
    assert await ledger_clean(session_factory)


async def test_points_need_a_customer_and_a_balance(session_factory, cashier, manager, customer):
    product = await run(session_factory, make_product, price_minor=1000, stock=5)
    with pytest.raises(InvalidInput, match="needs the customer"):
        await pay(
            session_factory,
            cashier=cashier,
            items=[(product, 1)],
            customer_id=None,
            payments=[PaymentIn("points", 1000)],
        )
    await give(session_factory, customer.id, 999, manager)
    with pytest.raises(loyalty.NotEnoughPoints, match="has 999"):
        await pay(
            session_factory,
            cashier=cashier,
            items=[(product, 1)],
            customer_id=customer.id,
            payments=[PaymentIn("points", 1000)],
        )
    # Nothing of the refused sales was written.
    assert await points_of(session_factory, customer.id) == 999
    async with session_factory() as session:
        assert (await session.get(type(product), product.id)).stock == 5


@pytest.mark.parametrize("held", [False, True])
async def test_two_checkouts_spending_the_same_points_only_one_succeeds(
    session_factory, cashier, manager, customer, held
):
    await give(session_factory, customer.id, 500, manager)
    product = await run(session_factory, make_product, price_minor=1000, stock=10)

    async def spend(hold: float):
        return await pay(
            session_factory,
            cashier=cashier,
            items=[(product, 1)],
            customer_id=customer.id,
            payments=[PaymentIn("points", 400), PaymentIn("card", 600)],
            earn_bp=0,
            hold=hold,
        )

    if held:  # the first keeps its transaction open while the second starts
        first = asyncio.create_task(spend(0.3))
        await asyncio.sleep(0.1)
        results = [await first, *(await asyncio.gather(spend(0), return_exceptions=True))]
    else:
        results = await asyncio.gather(spend(0), spend(0), return_exceptions=True)
    sales = [r for r in results if isinstance(r, checkout.CheckoutResult)]
    refused = [r for r in results if isinstance(r, loyalty.NotEnoughPoints)]
    assert len(sales) == 1 and len(refused) == 1, results
    assert await points_of(session_factory, customer.id) == 100
    async with session_factory() as session:
        assert (await session.get(type(product), product.id)).stock == 9
    assert await ledger_clean(session_factory)


async def test_a_return_takes_back_earned_and_gives_back_spent_points(session_factory, cashier, manager, customer):
    await give(session_factory, customer.id, 200, manager)
    product = await run(session_factory, make_product, price_minor=500)
    result = await pay(
        session_factory,
        cashier=cashier,
        items=[(product, 2)],
        customer_id=customer.id,
        payments=[PaymentIn("points", 200), PaymentIn("card", 800)],
    )
    assert await points_of(session_factory, customer.id) == 40  # 200 - 200 + 5% of 8.00
    line = result.sale.lines[0]
    async with transaction(session_factory) as session:
        record = await refunds.refund(
            session, sale_id=result.sale.id, lines={line.id: refunds.ReturnLine(1)}, actor=manager
        )
        assert (record.amount_minor, record.points_minor, record.method) == (500, 100, PaymentMethod.CARD)
    # half returned: 100 spent points back, 20 earned points taken back
    assert await points_of(session_factory, customer.id) == 120
    assert (await entries_of(session_factory, customer.id))[-1] == ("refund", 80)
    async with transaction(session_factory) as session:
        await refunds.refund(session, sale_id=result.sale.id, lines=None, actor=manager)
    assert await points_of(session_factory, customer.id) == 200  # as before the sale
    assert await ledger_clean(session_factory)


async def test_points_back_cannot_be_refunded_as_money_by_points(session_factory, cashier, manager, customer):
    product = await run(session_factory, make_product, price_minor=500)
    result = await pay(session_factory, cashier=cashier, items=[(product, 1)], customer_id=customer.id)
    async with transaction(session_factory) as session:
        with pytest.raises(InvalidInput, match="Points go back on their own"):
            await refunds.refund(session, sale_id=result.sale.id, lines=None, actor=manager, method="points")


async def test_a_return_of_spent_earned_points_takes_back_only_what_is_left(
    session_factory, cashier, manager, customer
):
    product = await run(session_factory, make_product, price_minor=1000)
    result = await pay(session_factory, cashier=cashier, items=[(product, 1)], customer_id=customer.id)
    await give(session_factory, customer.id, -30, manager)  # 50 earned, 30 taken off since
    async with transaction(session_factory) as session:
        await refunds.refund(session, sale_id=result.sale.id, lines=None, actor=manager)
    assert await points_of(session_factory, customer.id) == 0
    assert await ledger_clean(session_factory)


@pytest.mark.parametrize("seed", range(4))
async def test_returning_every_unit_returns_exactly_the_points(session_factory, cashier, manager, seed):
    """Property: whatever the prices, the split and the order of the returns, returning every unit
    leaves the customer with exactly the points they had before the sale."""
    rnd = random.Random(seed)
    customer = await run(session_factory, make_customer)
    start = rnd.randint(1, 5000)
    await give(session_factory, customer.id, start, manager)
    items = [
        (await run(session_factory, make_product, price_minor=rnd.randint(1, 3000), stock=50), rnd.randint(1, 7))
        for _ in range(rnd.randint(1, 4))
    ]
    total = sum(p.price_minor * q for p, q in items)
    spend = rnd.randint(1, min(start, total))
    parts = [PaymentIn("points", spend)] + ([PaymentIn("card", total - spend)] if total > spend else [])
    result = await pay(
        session_factory,
        cashier=cashier,
        items=items,
        customer_id=customer.id,
        payments=parts,
        earn_bp=rnd.choice([1, 250, 333, 1000]),
    )
    left = {line.id: line.quantity for line in result.sale.lines}
    while left:
        line_id = rnd.choice(sorted(left))
        qty = rnd.randint(1, left[line_id])
        async with transaction(session_factory) as session:
            await refunds.refund(
                session, sale_id=result.sale.id, lines={line_id: refunds.ReturnLine(qty)}, actor=manager
            )
        left[line_id] -= qty
        if not left[line_id]:
            del left[line_id]
    assert await points_of(session_factory, customer.id) == start
    assert await ledger_clean(session_factory)


async def test_adjustments_need_a_manager_a_reason_and_never_go_below_zero(session_factory, cashier, manager, customer):
    async def adjust(points, reason, actor=manager):
        return await run(
            session_factory, loyalty.adjust_points, customer_id=customer.id, points=points, reason=reason, actor=actor
        )

    with pytest.raises(Forbidden):
        await adjust(10, "goodwill", cashier)
    with pytest.raises(InvalidInput, match="Say why"):
        await adjust(10, "   ")
    with pytest.raises(InvalidInput, match="other than zero"):
        await adjust(0, "nothing")
    after, entry = await adjust(25, "goodwill")
    assert after.points_balance == 25 and entry.kind is PointsKind.ADJUST and entry.staff_id == manager.id
    with pytest.raises(loyalty.NotEnoughPoints):
        await adjust(-26, "too much")
    assert await points_of(session_factory, customer.id) == 25
    async with session_factory() as session:
        audit = (await session.scalars(select(AuditEntry).where(AuditEntry.action == "points"))).all()
        assert [a.details for a in audit] == [f"customer #{customer.id} {customer.name}: +25; goodwill"]


async def test_the_ledger_check_detects_a_tampered_balance_and_entry(session_factory, manager, customer):
    await give(session_factory, customer.id, 40, manager)
    assert await ledger_clean(session_factory)
    async with transaction(session_factory) as session:
        await session.execute(text("UPDATE customers SET points_balance = points_balance + 7"))
    async with session_factory() as session:
        found = await loyalty.check_points(session)
    assert [(m.customer_id, m.balance, m.entries_sum, m.difference) for m in found] == [(customer.id, 47, 40, 7)]
    async with transaction(session_factory) as session:
        await session.execute(text("UPDATE customers SET points_balance = 40"))
        await session.execute(text("UPDATE points_entries SET points = 30"))
    async with session_factory() as session:
        assert [m.difference for m in await loyalty.check_points(session)] == [10]


async def test_the_balance_cannot_go_negative_even_by_sql(session_factory, customer):
    with pytest.raises(Exception):  # noqa: B017 - the CHECK constraint, whatever the driver calls it
        async with transaction(session_factory) as session:
            await session.execute(text("UPDATE customers SET points_balance = -1"))
    async with session_factory() as session:
        assert (await session.get(Customer, customer.id)).points_balance == 0


async def test_the_money_report_shows_points_issued_and_redeemed(session_factory, cashier, manager, customer):
    from datetime import UTC, datetime, timedelta
    from zoneinfo import ZoneInfo

    from db import money_report
    from db.periods import Period

    await give(session_factory, customer.id, 300, manager)
    product = await run(session_factory, make_product, price_minor=1000)
    await pay(
        session_factory,
        cashier=cashier,
        items=[(product, 1)],
        customer_id=customer.id,
        payments=[PaymentIn("points", 300), PaymentIn("card", 700)],
    )
    now = datetime.now(UTC)
    period = Period(
        first_day=now.date(),
        last_day=now.date(),
        start=now - timedelta(hours=1),
        end=now + timedelta(hours=1),
        label="now",
    )
    async with session_factory() as session:
        summary = await money_report.money_summary(session, period=period, tz=ZoneInfo("UTC"))
    assert (summary.points_issued, summary.points_redeemed) == (35, 300)
    assert [(p.method, p.amount_minor) for p in summary.payments] == [
        (PaymentMethod.CARD, 700),
        (PaymentMethod.POINTS, 300),
    ]
    text = "\n".join(money_report.summary_lines(summary, currency=CURRENCY))
    assert "Loyalty points: 35 issued ($0.35), 300 redeemed ($3.00)" in text
