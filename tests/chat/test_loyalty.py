"""Loyalty points at the counter: earning, paying with points, returns, /points for managers."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import select

from db import loyalty
from db.engine import transaction
from db.models import AuditEntry, Customer, Payment, PaymentMethod, PointsEntry
from tests.chat.conftest import CASHIER_ID
from tests.chat.counter_helpers import customer, fill, product, sales
from tests.chat.security_helpers import db_checksum


@pytest.fixture
def settings(settings):
    return settings.model_copy(update={"loyalty_earn_percent": Decimal(5)})


async def points_of(factory, customer_id: int) -> int:
    async with factory() as session:
        return await loyalty.balance(session, customer_id=customer_id)


async def entries(factory, customer_id: int) -> list[tuple[str, int, str]]:
    async with factory() as session:
        rows = await session.scalars(
            select(PointsEntry).where(PointsEntry.customer_id == customer_id).order_by(PointsEntry.id)
        )
        return [(e.kind.value, e.points, e.reason) for e in rows]


async def give(factory, customer_id: int, points: int) -> None:
    async with transaction(factory) as session:
        await loyalty.change_points(session, customer_id=customer_id, points=points, kind=loyalty.PointsKind.ADJUST)


async def pick(client, name: str) -> None:
    """At the payment step: 👤 Customer, Find, the name, their button."""
    await client.tap("👤 Customer")
    await client.tap("Find customer")
    await client.send(name)
    await client.tap(next(b for b in client.buttons if b.startswith(name)))


async def test_a_sale_to_a_customer_earns_points_shown_on_the_receipt(cashier, manager, session_factory):
    milk = await product(session_factory, name="Milk", price_minor=1010, stock=5)
    ann = await customer(session_factory, name="Ann Points", phone="+442079460958")
    await fill(session_factory, CASHIER_ID, (milk, 1))
    await cashier.send("/checkout")
    assert "⭐ Points" not in " ".join(cashier.buttons)  # no points yet
    await pick(cashier, "Ann Points")
    await cashier.tap("Card")
    await cashier.tap("✅ Confirm sale")
    assert "⭐ Points earned: 51 · balance: 51 points (worth $0.51)" in cashier.text
    assert await points_of(session_factory, ann.id) == 51
    [sale] = await sales(session_factory)
    assert await entries(session_factory, ann.id) == [("earn", 51, f"sale #{sale.number}")]

    await manager.send("/history Ann Points")
    assert "Points: 51 points (worth $0.51)" in manager.text


async def test_paying_part_with_points_then_cash(cashier, session_factory):
    bread = await product(session_factory, name="Bread", price_minor=1000, stock=5)
    ann = await customer(session_factory, name="Ann Points")
    await give(session_factory, ann.id, 300)
    await fill(session_factory, CASHIER_ID, (bread, 1))
    await cashier.send("/checkout")
    await pick(cashier, "Ann Points")
    assert "⭐ Points (300)" in cashier.buttons
    assert "The customer has 300 points (worth $3.00)" in cashier.text
    await cashier.tap("⭐ Points (300)")
    assert "Paid so far: Points $3.00" in cashier.text and "Left to pay: <b>$7.00</b>" in cashier.last_reply.html
    assert cashier.buttons[0] == "💵 Exact $7.00"
    await cashier.send("10")
    assert "Payments: Points $3.00; Cash $7.00 · tendered $10.00 · change $3.00" in cashier.text
    await cashier.tap("✅ Confirm sale")
    assert "Payment: Points $3.00" in cashier.text and "Payment: Cash $7.00" in cashier.text
    assert "⭐ Points earned: 35 · balance: 35 points" in cashier.text
    async with session_factory() as session:
        paid = (await session.execute(select(Payment.method, Payment.amount_minor).order_by(Payment.id))).all()
    assert paid == [(PaymentMethod.POINTS, 300), (PaymentMethod.CASH, 700)]
    assert await points_of(session_factory, ann.id) == 35


async def test_typed_points_and_every_bad_amount(cashier, session_factory):
    bread = await product(session_factory, name="Bread", price_minor=1000, stock=5)
    ann = await customer(session_factory, name="Ann Points")
    await give(session_factory, ann.id, 2000)
    await fill(session_factory, CASHIER_ID, (bread, 1))
    await cashier.send("/checkout")
    await cashier.send("2.00 points")
    assert "Points need the customer" in cashier.text
    await pick(cashier, "Ann Points")
    await cashier.send("lots points")
    assert "is not an amount" in cashier.text
    await cashier.send("30 points")
    assert "has only 2000 points (worth $20.00)" in cashier.text
    await cashier.send("15 points")
    assert "Points $15.00 is more than the $10.00 left to pay" in cashier.text
    await cashier.send("2.50 POINTS")
    assert "Left to pay: $7.50" in cashier.text and cashier.buttons[0] == "💵 Exact $7.50"
    await cashier.tap("Card")
    assert "Payments: Points $2.50; Card $7.50" in cashier.text
    await cashier.tap("✅ Confirm sale")
    assert await points_of(session_factory, ann.id) == 2000 - 250 + 38  # 5% of 7.50 = 37.5 -> 38


async def test_points_cover_the_whole_total_and_too_few_points_are_refused(cashier, session_factory):
    bread = await product(session_factory, name="Bread", price_minor=500, stock=5)
    ann = await customer(session_factory, name="Ann Points")
    await give(session_factory, ann.id, 800)
    await fill(session_factory, CASHIER_ID, (bread, 1))
    await cashier.send("/checkout")
    await pick(cashier, "Ann Points")
    await cashier.tap("⭐ Points (800)")
    assert "Payment: Points" in cashier.text and "Confirm the sale?" in cashier.text
    # Meanwhile the points are spent elsewhere: the Confirm records nothing.
    await give(session_factory, ann.id, -700)
    before = await db_checksum(session_factory, shop_only=True)
    await cashier.tap("✅ Confirm sale")
    assert "Not enough points" in cashier.last_answer["text"]
    assert await db_checksum(session_factory, shop_only=True) == before
    assert await sales(session_factory) == []


async def test_a_return_gives_back_spent_and_takes_back_earned_points(cashier, manager, session_factory):
    bread = await product(session_factory, name="Bread", price_minor=500, stock=5)
    ann = await customer(session_factory, name="Ann Points")
    await give(session_factory, ann.id, 200)
    await fill(session_factory, CASHIER_ID, (bread, 2))
    await cashier.send("/checkout")
    await pick(cashier, "Ann Points")
    await cashier.send("2 points")
    await cashier.tap("Card")
    await cashier.tap("✅ Confirm sale")
    assert await points_of(session_factory, ann.id) == 40
    [sale] = await sales(session_factory)
    await manager.send(f"/refund {sale.number}")
    refund_button = next(b for b in manager.buttons if "all" in b.lower() or "refund" in b.lower())
    await manager.tap(refund_button)
    if "Confirm" in " ".join(manager.buttons):
        await manager.tap(next(b for b in manager.buttons if "Confirm" in b))
    assert await points_of(session_factory, ann.id) == 200
    await manager.send(f"/sale {sale.number}")
    assert "by Card + 200 points" in manager.text
    async with session_factory() as session:
        assert await loyalty.check_points(session) == []


async def test_points_for_managers_show_and_adjust(manager, cashier, session_factory):
    ann = await customer(session_factory, name="Ann Points", phone="+442079460958")
    await customer(session_factory, name="Ann Other")

    await manager.send("/points")
    assert "Usage" in manager.text
    await manager.send("/points Nobody")
    assert "No customer matches" in manager.text
    await manager.send("/points Ann")
    assert "Several customers match" in manager.text
    await manager.tap(next(b for b in manager.buttons if b.startswith("Ann Points")))
    assert "Points: <b>" in manager.last_reply.html or "Points: 0 points" in manager.text
    assert "No points yet." in manager.text

    before = await db_checksum(session_factory, shop_only=True)
    await manager.send("/points Ann +50 goodwill")
    assert "Several customers match" in manager.text and "Nothing was changed" in manager.text
    await manager.send(f"/points #{ann.id} +50")
    assert "Say why" in manager.text and "Nothing was changed" in manager.text
    await manager.send(f"/points #{ann.id} -1 oops")
    assert "Not enough points" in manager.text and "Nothing was changed" in manager.text
    await manager.send("/points #999999 +5 nobody")
    assert "No customer matches" in manager.text
    await cashier.send(f"/points #{ann.id} +50 goodwill")
    assert "needs the manager role" in cashier.text
    assert await db_checksum(session_factory, shop_only=True) == before

    await manager.send("/points +442079460958 +50 goodwill")
    assert "✅ Points adjusted by +50." in manager.text and "50 points (worth $0.50)" in manager.text
    assert "+50</b> adjusted — goodwill" in manager.last_reply.html or "+50 adjusted — goodwill" in manager.text
    await manager.send("/points Ann Points -20 broken jar")
    assert "30 points" in manager.text
    async with session_factory() as session:
        assert (await session.get(Customer, ann.id)).points_balance == 30
        audit = (await session.scalars(select(AuditEntry).where(AuditEntry.action == "points"))).all()
        assert [a.details for a in audit] == [
            f"customer #{ann.id} Ann Points: +50; goodwill",
            f"customer #{ann.id} Ann Points: -20; broken jar",
        ]


def test_the_customer_and_the_change_are_told_apart():
    from handlers.loyalty import split_args

    assert split_args("+44 20 7946 0958 +50 goodwill".split()) == ("+44 20 7946 0958", 50, "goodwill")
    assert split_args("+442079460958 -20 broken jar".split()) == ("+442079460958", -20, "broken jar")
    assert split_args("+44 20 7946 0958".split()) == ("+44 20 7946 0958", None, "")
    assert split_args("Ann Lee +5 said -3 was wrong".split()) == ("Ann Lee", 5, "said -3 was wrong")
    assert split_args(["#12", "+5"]) == ("#12", 5, "")
