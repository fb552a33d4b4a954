"""Shifts and the cash drawer in the chat: a whole day at one till, its Z report, and the refusals."""

from __future__ import annotations

from sqlalchemy import func, select

from bot.testing.chat import FakeShop
from db import ledger, subscriptions, taxes
from db.engine import transaction
from db.models import AuditEntry, DrawerEntry, DrawerEntryKind, Sale, Shift
from db.settings import Settings
from tests.chat.conftest import CASHIER2_ID, CASHIER_ID, MANAGER_ID
from tests.chat.counter_helpers import product

TILL = CASHIER_ID  # a private chat's id is its user's id: the cashier's chat is the till


def services_settings(shop: FakeShop) -> Settings:
    return shop.application.bot_data["services"].settings


async def _shifts(factory) -> list[Shift]:
    async with factory() as session:
        return list((await session.scalars(select(Shift).order_by(Shift.id))).all())


async def _entries(factory) -> list[tuple[DrawerEntryKind, int]]:
    async with factory() as session:
        rows = await session.execute(select(DrawerEntry.kind, DrawerEntry.amount_minor).order_by(DrawerEntry.id))
        return [tuple(r) for r in rows]


async def _cash_sale(cashier, text: str, tendered: str) -> None:
    await cashier.send(text)
    await cashier.send("/checkout")
    await cashier.send(tendered)
    assert "Confirm the sale?" in cashier.text, cashier.text
    await cashier.tap("✅ Confirm sale")
    assert "Sale #" in cashier.text


async def _stock_the_shop(session_factory):
    """Coffee 2.90 with VAT 16% inside, bread 3.20 zero-rated."""
    coffee = await product(session_factory, name="Coffee", sku="COF", price_minor=290, stock=50)
    bread = await product(session_factory, name="Bread", sku="BRD", price_minor=320, stock=50)
    async with transaction(session_factory) as session:
        await taxes.add_rate(session, name="VAT", rate_bp=1600, actor=None)
        await taxes.add_rate(session, name="Zero-rated", rate_bp=0, actor=None)
        await taxes.assign(session, target="BRD", name="Zero-rated", actor=None)
    return coffee, bread


# --- the whole day ---------------------------------------------------------------------------------
async def test_a_whole_day_at_the_till_and_its_z_report(shop, cashier, manager, session_factory):
    await _stock_the_shop(session_factory)
    services_settings(shop).cashier_can_refund = True
    async with transaction(session_factory) as session:
        await subscriptions.subscribe(session, chat_id=MANAGER_ID)

    await cashier.send("/shift open 100.00")
    assert "Shift #1 is open" in cashier.text and "$100.00" in cashier.text

    # Three cash sales with change.
    await _cash_sale(cashier, "2 coffee", "10.00")  # 5.80, change 4.20, VAT 0.80
    await _cash_sale(cashier, "1 bread", "5.00")  # 3.20, change 1.80
    await cashier.send("1 coffee")
    await _cash_sale(cashier, "1 bread", "20.00")  # 6.10, change 13.90, VAT 0.40
    # A card sale.
    await cashier.send("3 coffee")  # 8.70, VAT 1.20
    await cashier.send("/checkout")
    await cashier.tap("Card")
    await cashier.tap("✅ Confirm sale")
    assert "Payment: Card" in cashier.text
    # A split sale: 6.40 as 4.00 card and the 2.40 left in cash from 3.00, change 0.60.
    await cashier.send("2 bread")
    await cashier.send("/checkout")
    await cashier.send("4.00 card")
    assert "Left to pay: $2.40" in cashier.text
    await cashier.send("3.00")
    assert "Payments: Card $4.00; Cash $2.40 · tendered $3.00 · change $0.60" in cashier.text
    await cashier.tap("✅ Confirm sale")
    async with session_factory() as session:
        numbers = list((await session.scalars(select(Sale.number).order_by(Sale.id))).all())
    assert len(numbers) == 5

    # A cash refund: the bread of the second sale, back the way it was paid.
    await cashier.send(f"/refund {numbers[1]} stale")
    await cashier.tap("All")
    assert "Back by: Cash" in cashier.text
    await cashier.tap("✅ Refund \\$3.20")
    assert "Refunded $3.20" in cashier.text

    # Money in and out of the drawer.
    await cashier.send("/cashin 10.00 change from the bank")
    assert "$10.00 put into the drawer of shift #1" in cashier.text
    await cashier.send("/cashout 12.50 window cleaner")
    assert "$12.50 taken out of the drawer of shift #1: window cleaner" in cashier.text
    assert "should now hold $111.80" in cashier.text

    # The running X report.
    await cashier.send("/shift")
    assert "X report · shift #1 (open)" in cashier.text and "Expected in the drawer: $111.80" in cashier.text

    # Close: the count is typed, then confirmed; 0.50 short.
    await cashier.send("/shift close")
    assert "Count the cash in the drawer" in cashier.text
    await cashier.send("111.30")
    assert "Close shift #1 with $111.30 counted in the drawer?" in cashier.text
    await cashier.tap("✅ Close shift #1")
    z = cashier.text
    expected_lines = [
        "Z report · shift #1",
        "Opening float: $100.00",
        "+ Cash received for sales: $38.00",  # 10.00 + 5.00 + 20.00 + 3.00
        "− Change given: $20.50",  # 4.20 + 1.80 + 13.90 + 0.60
        "− Cash refunds: $3.20",
        "+ Pay-ins: $10.00",
        "− Pay-outs: $12.50",
        "= Expected in the drawer: $111.80",  # 100 + 38 − 20.50 − 3.20 + 10 − 12.50
        "Counted: $111.30",
        "Difference: $0.50 short",
        "Sales: 5",
        "Gross sales (shelf prices × quantities): $30.20",  # 5.80 + 3.20 + 6.10 + 8.70 + 6.40
        "Discounts: −$0.00",
        "Refunds (paid back during the shift): −$3.20",
        "Net revenue (gross − discounts − refunds): $27.00",
        "Tax collected: $2.40 · paid by customers (tax included): $30.20",  # 0.80 + 0.40 + 1.20
        "Zero-rated 0%: tax $0.00 on $12.80 net of tax",  # bread: 3.20 + 3.20 + 6.40
        "VAT 16%: tax $2.40 on $15.00 net of tax",  # coffee: 17.40 paid, 15.00 without VAT
        "cash: $17.50 (4)",  # 5.80 + 3.20 + 6.10 + 2.40
        "card: $12.70 (2)",  # 8.70 + 4.00
        "Refunds by method:",
        "cash: $3.20 (1)",
    ]
    for line in expected_lines:
        assert line in z, f"{line!r} not in\n{z}"
    # The same report went to the subscribed manager's chat.
    assert "Z report · shift #1" in manager.text and "Difference: $0.50 short" in manager.text

    (shift,) = await _shifts(session_factory)
    assert (shift.float_minor, shift.expected_minor, shift.counted_minor, shift.difference_minor) == (
        10_000,
        11_180,
        11_130,
        -50,
    )
    assert shift.closed_at is not None
    entries = await _entries(session_factory)
    assert sum(amount for _, amount in entries) == shift.expected_minor
    assert [k for k, _ in entries].count(DrawerEntryKind.SALE) == 4
    async with session_factory() as session:
        assert await ledger.check_drawers(session) == []
        assert await ledger.check_ledger(session) == []
        actions = list((await session.scalars(select(AuditEntry.action))).all())
    for action in ("shift open", "cash in", "cash out", "shift close", "shift difference"):
        assert action in actions

    # Shown again later.
    await cashier.send("/shift 1")
    assert "Z report · shift #1" in cashier.text and "Difference: $0.50 short" in cashier.text


async def test_a_double_tapped_close_closes_once(cashier, session_factory):
    await cashier.send("/shift open 50")
    await cashier.send("/shift close 49.00")
    screen = cashier.last_reply
    close = next(data for label, data in screen.buttons if label == "✅ Close shift #1")
    await cashier.press(close, message=screen)
    assert "Z report · shift #1" in cashier.text and "$1.00 short" in cashier.text
    await cashier.press(close, message=screen)  # the second tap of a double tap
    assert "already closed" in cashier.last_answer["text"]
    async with session_factory() as session:
        assert await session.scalar(select(func.count(AuditEntry.id)).where(AuditEntry.action == "shift close")) == 1
    (shift,) = await _shifts(session_factory)
    assert (shift.counted_minor, shift.difference_minor) == (4_900, -100)


async def test_a_second_open_says_which_is_open(cashier, cashier2, session_factory):
    await cashier.send("/shift open 100")
    await cashier.send("/shift open 20")
    assert "Shift #1 is already open at this till" in cashier.text and "Cal Cashier" in cashier.text
    await cashier2.send("/shift open 20")  # another chat is another till
    assert "Shift #2 is open" in cashier2.text
    assert [(s.chat_id, s.float_minor) for s in await _shifts(session_factory)] == [
        (CASHIER_ID, 10_000),
        (CASHIER2_ID, 2_000),
    ]


async def test_require_shift_on_and_off(shop, cashier, manager, session_factory):
    await _stock_the_shop(session_factory)
    # Off (the default): a sale outside a shift is still a sale.
    await _cash_sale(cashier, "1 bread", "5.00")
    services_settings(shop).require_shift = True
    await cashier.send("1 coffee")
    await cashier.send("/checkout")
    assert "No shift is open at this till" in cashier.text and "/shift open" in cashier.text
    async with session_factory() as session:
        (sold,) = (await session.scalars(select(Sale))).all()
    # A cash refund without a shift is refused too, nothing changed.
    await manager.send(f"/refund {sold.number}")
    await manager.tap("Refund \\$3.20")
    assert "Open a shift before paying cash back" in manager.last_answer["text"]
    async with session_factory() as session:
        assert (await session.get(Sale, sold.id)).refunded_minor == 0
    # With a shift open the sale goes through, into the drawer.
    await cashier.send("/shift open 10")
    await cashier.send("/checkout")
    await cashier.send("5")
    await cashier.tap("✅ Confirm sale")
    assert "Sale #2" in cashier.text
    assert await _entries(session_factory) == [
        (DrawerEntryKind.FLOAT, 1_000),
        (DrawerEntryKind.SALE, 500),
        (DrawerEntryKind.CHANGE, -210),
    ]
    assert sold.shift_id is None


async def test_bad_amounts_missing_reasons_and_no_shift_change_nothing(cashier, session_factory):
    await cashier.send("/cashout 5.00 lunch")
    assert "No shift is open at this till" in cashier.text
    await cashier.send("/shift close")
    assert "No shift is open at this till" in cashier.text
    for text in ("/shift open", "/shift open lots", "/shift open -5", "/shift open 1.234"):
        await cashier.send(text)
        assert "Shift #" not in cashier.text, text
    assert await _shifts(session_factory) == []
    await cashier.send("/shift open 20")
    for text in ("/cashin 5", "/cashin five lunch", "/cashout 0 nothing", "/cashout 25.00 more than there is"):
        await cashier.send(text)
        assert "✅" not in cashier.text, text
    await cashier.send("/shift close")
    await cashier.send("about twenty")
    assert "is not the cash counted" in cashier.text
    await cashier.send("/cancel")
    assert "The shift stays open" in cashier.text
    assert await _entries(session_factory) == [(DrawerEntryKind.FLOAT, 2_000)]
    (shift,) = await _shifts(session_factory)
    assert shift.closed_at is None


async def test_roles_a_manager_closes_another_till_and_a_cashier_cannot(
    cashier, cashier2, manager, stranger, session_factory
):
    await stranger.send("/shift open 10")
    assert "not on its staff list" in stranger.text
    await cashier.send("/shift open 30")
    await cashier2.send("/shift 1")
    assert "belongs to another till" in cashier2.text
    await cashier2.send("/shift close #1 30")
    assert "belongs to another till" in cashier2.text
    await manager.send("/shift close #1 30.00")
    await manager.tap("✅ Close shift #1")
    assert "Z report · shift #1" in manager.text and "Difference: none" in manager.text
    (shift,) = await _shifts(session_factory)
    assert shift.closed_at is not None and shift.chat_id == CASHIER_ID
    async with session_factory() as session:
        closer = await session.scalar(select(AuditEntry.actor_name).where(AuditEntry.action == "shift close"))
    assert closer == "Mia Manager"


async def test_a_restart_mid_shift_loses_nothing(settings, session_factory, cashier):
    await cashier.send("/shift open 40")
    await cashier.send("/cashin 5 coins")
    async with FakeShop(settings, session_factory) as again:
        client = again.client(CASHIER_ID, "Cal")
        await client.send("/shift")
        assert "X report · shift #1 (open)" in client.text and "Expected in the drawer: $45.00" in client.text


async def test_an_approved_cash_refund_leaves_the_cashiers_drawer(cashier, manager, session_factory):
    """CASHIER_CAN_REFUND is off: the manager approves from their chat, the cash goes out of the
    till where the cashier stands."""
    await _stock_the_shop(session_factory)
    await cashier.send("/shift open 20.00")
    await _cash_sale(cashier, "1 bread", "5.00")
    async with session_factory() as session:
        (sold,) = (await session.scalars(select(Sale))).all()
    await cashier.send(f"/refund {sold.number} stale")
    await cashier.tap("All")
    await cashier.tap("✅ Refund \\$3.20")
    assert "Waiting for a manager" in cashier.text
    await manager.tap("✅ Approve")
    assert await _entries(session_factory) == [
        (DrawerEntryKind.FLOAT, 2_000),
        (DrawerEntryKind.SALE, 500),
        (DrawerEntryKind.CHANGE, -180),
        (DrawerEntryKind.REFUND, -320),
    ]
    await cashier.send("/shift")
    assert "Cash refunds: $3.20" in cashier.text and "Expected in the drawer: $20.00" in cashier.text


async def test_an_older_confirm_screen_closes_nothing(cashier, session_factory):
    await cashier.send("/shift open 30")
    await cashier.send("/shift close 10.00")
    older = cashier.last_reply
    await cashier.send("/shift close 29.00")
    await cashier.tap("✅ Close shift #1", message=older)
    assert "out of date" in cashier.last_answer["text"]
    (shift,) = await _shifts(session_factory)
    assert shift.closed_at is None
    await cashier.tap("✅ Close shift #1")
    assert "Counted: $29.00" in cashier.text and "Difference: $1.00 short" in cashier.text
