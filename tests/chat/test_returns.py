"""/refund line by line: steppers, a line kept out of stock, a method, the rest in one tap."""

from __future__ import annotations

from sqlalchemy import select

from db import staff as staff_db
from db.engine import transaction
from db.models import PaymentMethod, Refund, SaleStatus
from tests import factories
from tests.chat.conftest import CASHIER_ID
from tests.chat.counter_helpers import stock


async def _sale(session_factory):
    async with transaction(session_factory) as session:
        tea = await factories.make_product(session, name="Tea", sku="TEA", price_minor=500, stock=10)
        cake = await factories.make_product(session, name="Cake", sku="CAKE", price_minor=1000, stock=10)
        cashier = await staff_db.get_active_staff(session, telegram_id=CASHIER_ID)
    sale = (await factories.sell(session_factory, cashier=cashier, items=[(tea, 3), (cake, 1)])).sale
    return sale, tea, cake


async def test_a_partial_return_with_a_damaged_line_then_the_rest(manager, session_factory):
    sale, tea, cake = await _sale(session_factory)

    await manager.send(f"/refund {sale.number} leaking box")
    assert "Refund the whole sale ($25.00)?" in manager.text
    await manager.tap("Choose lines…")
    assert "Return from sale #" in manager.text and "Tea: 0 of 3 returnable" in manager.text
    assert "Back by: Card" in manager.text and "Reason: leaking box" in manager.text
    await manager.tap("^\\+$")  # the first line's + (Tea)
    await manager.tap("^\\+$")
    await manager.tap("📦")  # Tea: damaged, stays out of stock
    await manager.tap("Cash")
    assert "Tea: 2 of 3 returnable → $10.00 (damaged: not back to stock)" in manager.text
    assert "Pays back: $10.00" in manager.text and "Back by: Cash" in manager.text
    await manager.tap("✅ Refund \\$10.00")
    assert "Refunded $10.00" in manager.text and "partially refunded" in manager.text

    assert await stock(session_factory, tea.id) == 7  # not restocked
    async with session_factory() as session:
        (refund,) = (await session.scalars(select(Refund))).all()
    assert (refund.amount_minor, refund.method, refund.reason) == (1000, PaymentMethod.CASH, "leaking box")

    # The rest in one tap: what is left (1 tea, 1 cake), back to stock, the way it was paid.
    await manager.send(f"/refund {sale.number}")
    assert "Refund the rest of sale ($15.00)?" in manager.text
    await manager.tap("Refund \\$15.00")
    assert "Refunded." in manager.text
    assert await stock(session_factory, tea.id) == 8 and await stock(session_factory, cake.id) == 10
    after = await factories.run(session_factory, factories.checkout.get_sale, sale_id=sale.id)
    assert after.status is SaleStatus.REFUNDED and after.refunded_minor == 2500
    assert await factories.ledger_problems(session_factory) == []


async def test_returning_more_than_is_left_is_refused(manager, session_factory):
    sale, tea, _ = await _sale(session_factory)
    await manager.send(f"/refund {sale.number}")
    await manager.tap("Choose lines…")
    for _ in range(5):
        await manager.tap("^\\+$")  # stops at 3
    assert "Tea: 3 of 3 returnable" in manager.text
    # Meanwhile another screen returns everything.
    await factories.run(session_factory, factories.checkout.refund_sale, sale_id=sale.id, actor=None)
    await manager.tap("✅ Refund", message=manager.last_reply)
    assert "already refunded" in manager.last_answer["text"] or "can still be returned" in manager.last_answer["text"]
    async with session_factory() as session:
        assert len((await session.scalars(select(Refund))).all()) == 1
    assert await stock(session_factory, tea.id) == 10


async def test_a_cashiers_return_waits_for_a_manager(cashier, manager, session_factory):
    """CASHIER_CAN_REFUND is false by default: the cashier's return becomes an approval request."""
    sale, tea, _ = await _sale(session_factory)
    await cashier.send(f"/refund {sale.number} wrong tea")
    assert "Return from sale #" in cashier.text and "Refund the whole sale" not in cashier.text
    await cashier.tap("^\\+$")
    await cashier.tap("✅ Refund \\$5.00")
    waiting = cashier.last_reply
    assert "Waiting for a manager" in waiting.text and "$5.00" in waiting.text
    async with session_factory() as session:
        assert (await session.scalars(select(Refund))).all() == []
    assert "Approval needed" in manager.text and "Pays back $5.00" in manager.text

    await manager.tap("✅ Approve")
    edited = next(m for m in cashier.messages if m.message_id == waiting.message_id)
    assert "Approved by Mia Manager" in edited.text and "Refunded $5.00" in edited.text
    async with session_factory() as session:
        (refund,) = (await session.scalars(select(Refund))).all()
    assert (refund.amount_minor, refund.reason, refund.approved_by_id is not None) == (500, "wrong tea", True)
    assert await stock(session_factory, tea.id) == 8


async def test_a_cashier_cannot_press_the_managers_whole_refund(cashier, manager, session_factory):
    sale, _, _ = await _sale(session_factory)
    await manager.send(f"/refund {sale.number}")
    await cashier.send("/cart")
    answer = await cashier.press(f"ref:do:{sale.id}")
    assert answer["show_alert"]
    async with session_factory() as session:
        assert (await session.scalars(select(Refund))).all() == []
