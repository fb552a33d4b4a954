"""/sales [period]: own sales for cashiers, everyone's for managers; paging; malformed periods."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import update

from db.checkout import refund_sale
from db.engine import transaction
from db.models import Sale, Staff
from db.staff import get_active_staff
from tests.chat.conftest import CASHIER2_ID, CASHIER_ID
from tests.chat.counter_helpers import product, sales
from tests.factories import sell


async def staff_member(factory, telegram_id: int) -> Staff:
    async with factory() as session:
        member = await get_active_staff(session, telegram_id=telegram_id)
    assert member is not None
    return member


async def test_cashier_sees_own_sales_of_today(cashier, session_factory):
    tea = await product(session_factory, name="Tea", price_minor=300, stock=50)
    cal = await staff_member(session_factory, CASHIER_ID)
    cleo = await staff_member(session_factory, CASHIER2_ID)
    mine = [await sell(session_factory, cashier=cal, items=[(tea, n)]) for n in (1, 2)]
    await sell(session_factory, cashier=cleo, items=[(tea, 5)])
    await cashier.send("/sales")
    text = cashier.text
    assert "Your sales · today" in text and "2 sales · $9.00" in text
    for result in mine:
        assert f"#{result.sale.id} · " in text
    assert "$15.00" not in text and "Cleo" not in text
    # Newest first, with the local time.
    first, second = (line for line in text.splitlines() if line.startswith("#"))
    assert first.startswith(f"#{mine[1].sale.id} · ") and second.startswith(f"#{mine[0].sale.id} · ")
    tz = cashier.application.bot_data["services"].settings.tz
    assert mine[0].sale.created_at.astimezone(tz).strftime("%H:%M") in second


async def test_manager_sees_everyones_sales_with_the_cashier(manager, session_factory):
    tea = await product(session_factory, name="Tea", price_minor=300, stock=50)
    cal = await staff_member(session_factory, CASHIER_ID)
    cleo = await staff_member(session_factory, CASHIER2_ID)
    await sell(session_factory, cashier=cal, items=[(tea, 1)])
    await sell(session_factory, cashier=cleo, items=[(tea, 5)])
    await manager.send("/sales today")
    assert "All sales · today" in manager.text and "2 sales · $18.00" in manager.text
    assert "Cal Cashier" in manager.text and "Cleo Cashier" in manager.text


async def test_periods_and_no_sales(cashier, session_factory):
    tea = await product(session_factory, name="Tea", price_minor=300, stock=50)
    cal = await staff_member(session_factory, CASHIER_ID)
    result = await sell(session_factory, cashier=cal, items=[(tea, 1)])
    async with transaction(session_factory) as session:
        await session.execute(
            update(Sale).where(Sale.id == result.sale.id).values(created_at=datetime.now(UTC) - timedelta(days=1))
        )
    await cashier.send("/sales")
    assert "No sales in this period." in cashier.text
    await cashier.send("/sales yesterday")
    assert "1 sale · $3.00" in cashier.text
    tz = cashier.application.bot_data["services"].settings.tz
    yesterday = (datetime.now(tz) - timedelta(days=1)).date()
    await cashier.send(f"/sales {yesterday - timedelta(days=3)}..{yesterday}")
    assert "1 sale · $3.00" in cashier.text
    assert f"{yesterday:%Y-%m-%d} " in cashier.text  # several days: each line has its date


async def test_malformed_period_lists_the_accepted_forms(cashier):
    for bad in ("fortnight", "2024-13-01", "2024-05-02..2024-05-01", "<b>x</b>"):
        await cashier.send(f"/sales {bad}")
        assert "today, yesterday, week, lastweek, month" in cashier.text or "ends before" in cashier.text, bad
    assert "“<b>x</b>” is not a period" in cashier.text


async def test_refunded_sales_are_marked_and_not_counted(cashier, session_factory):
    tea = await product(session_factory, name="Tea", price_minor=300, stock=50)
    cal = await staff_member(session_factory, CASHIER_ID)
    kept = await sell(session_factory, cashier=cal, items=[(tea, 1)])
    gone = await sell(session_factory, cashier=cal, items=[(tea, 2)])
    async with transaction(session_factory) as session:
        await refund_sale(session, sale_id=gone.sale.id, actor=None)
    await cashier.send("/sales")
    assert "1 sale · $3.00 (1 refunded, not counted)" in cashier.text
    assert f"#{gone.sale.id} · " in cashier.text and "refunded" in cashier.text
    assert f"#{kept.sale.id} · " in cashier.text


async def test_many_sales_are_paged_under_the_limits(manager, session_factory):
    tea = await product(session_factory, name="Tea", price_minor=300, stock=1000)
    cal = await staff_member(session_factory, CASHIER_ID)
    for _ in range(95):
        await sell(session_factory, cashier=cal, items=[(tea, 1)])
    await manager.send("/sales")
    screen = manager.last_reply
    assert "95 sales · $285.00" in manager.text and "Page 1 of 3" in manager.text
    numbers = [line.split(" · ")[0] for line in manager.text.splitlines() if line.startswith("#")]
    await manager.tap("›")
    await manager.tap("›")
    assert "Page 3 of 3" in manager.text and manager.last_reply.message_id == screen.message_id
    numbers += [line.split(" · ")[0] for line in manager.text.splitlines() if line.startswith("#")]
    await manager.tap("‹")
    numbers += [line.split(" · ")[0] for line in manager.text.splitlines() if line.startswith("#")]
    assert len(set(numbers)) == 95
    assert len(await sales(session_factory)) == 95


async def test_forged_sales_pager(cashier):
    await cashier.send("/sales")
    for data in ("sales:pg", "sales:pg:1:2", "sales:pg:0:0:1", "sales:pg:999999999:999999999:1", "sales:pg:739000:1:1"):
        answer = await cashier.press(data)
        assert answer["show_alert"] is True, data
