"""A payment split over several methods at the counter (DESIGN "Money": `<amount> <method>` typed at
the payment step pays that part; the buttons pay the rest; what is left is always shown).

    Cashier: /checkout                      (Tea ×2 and Jam: $6.20)
    Bot:     How does the customer pay? … To split it, type a part and its method
    Cashier: 2.00 card
    Bot:     Paid so far: Card $2.00 · Left to pay: $4.20   [💵 Exact $4.20] [$5.00] [$10.00] …
    Cashier: [$10.00]
    Bot:     Payments: Card $2.00; Cash $4.20 · tendered $10.00 · change $5.80   [✅ Confirm sale]
"""

from __future__ import annotations

from sqlalchemy import select

from db.models import Payment
from tests.chat.conftest import CASHIER_ID
from tests.chat.counter_helpers import cart_of, data_of, fill, product, sales, stock


async def payments_of(factory, sale_id: int) -> list[tuple[str, int, int | None]]:
    async with factory() as session:
        rows = await session.scalars(select(Payment).where(Payment.sale_id == sale_id).order_by(Payment.id))
        return [(row.method, row.amount_minor, row.tendered_minor) for row in rows]


async def a_cart(factory) -> tuple:
    tea = await product(factory, name="Tea", sku="TEA", price_minor=210, stock=10)
    jam = await product(factory, name="Jam", sku="JAM", price_minor=200, stock=10)
    await fill(factory, CASHIER_ID, (tea, 2), (jam, 1))
    return tea, jam


async def test_cash_and_card_with_change_on_the_cash_part(cashier, session_factory):
    tea, _ = await a_cart(session_factory)
    await cashier.send("/checkout")
    assert "Total: $6.20" in cashier.text and "To split it, type a part and its method" in cashier.text
    await cashier.send("2.00 card")
    assert "Paid so far: Card $2.00" in cashier.text and "Left to pay: <b>$4.20</b>" in cashier.last_reply.html
    assert cashier.buttons[:4] == ["💵 Exact $4.20", "$5.00", "$10.00", "$20.00"]
    assert "Card $4.20" in cashier.buttons and "Mobile money $4.20" in cashier.buttons
    await cashier.tap("$10.00")
    assert "Payments: Card $2.00; Cash $4.20 · tendered $10.00 · change $5.80" in cashier.text
    assert await sales(session_factory) == []  # nothing recorded before Confirm
    await cashier.tap("✅ Confirm sale")
    (sale,) = await sales(session_factory)
    assert sale.total_minor == 620
    assert await payments_of(session_factory, sale.id) == [("card", 200, None), ("cash", 420, 1000)]
    assert "Card" in cashier.text and "$2.00" in cashier.text and "$5.80" in cashier.text
    assert await stock(session_factory, tea.id) == 8


async def test_three_parts_typed_and_the_rest_by_a_button(cashier, session_factory):
    await a_cart(session_factory)
    await cashier.send("/checkout")
    await cashier.send("1 mobile money")
    await cashier.send("1.50 cash")  # cash as a part: tendered exactly, no change
    assert "Paid so far: Mobile money $1.00; Cash $1.50" in cashier.text and "Left to pay: $3.70" in cashier.text
    await cashier.tap("Card $3.70")
    assert "Payments: Mobile money $1.00; Cash $1.50; Card $3.70" in cashier.text
    await cashier.tap("✅ Confirm sale")
    (sale,) = await sales(session_factory)
    assert await payments_of(session_factory, sale.id) == [
        ("mobile", 100, None),
        ("cash", 150, 150),
        ("card", 370, None),
    ]


async def test_the_last_part_typed_with_its_method_and_cash_typed_for_the_rest(cashier, session_factory):
    await a_cart(session_factory)
    await cashier.send("/checkout")
    await cashier.send("6 card")
    await cashier.send("0.20 card")  # exactly what is left: the last part
    assert "Payments: Card $6.00; Card $0.20" in cashier.text
    await cashier.send("/checkout")  # a new checkout starts the payment from nothing
    await cashier.send("5 card")
    await cashier.send("2")  # plain: the cash tendered for the $1.20 left
    assert "Payments: Card $5.00; Cash $1.20 · tendered $2.00 · change $0.80" in cashier.text
    await cashier.tap("✅ Confirm sale")
    (sale,) = await sales(session_factory)
    assert await payments_of(session_factory, sale.id) == [("card", 500, None), ("cash", 120, 200)]


async def test_bad_parts_are_refused_and_change_nothing(cashier, session_factory):
    await a_cart(session_factory)
    await cashier.send("/checkout")
    await cashier.send("2.00 bitcoin")
    assert "“bitcoin” is not one of: cash, card, mobile, points" in cashier.text
    await cashier.send("7.00 card")
    assert "Card $7.00 is more than the $6.20 left to pay" in cashier.text
    await cashier.send("0 card")
    assert "A payment is more than zero" in cashier.text
    await cashier.send("2")
    assert "$2.00 is $4.20 short of the total $6.20" in cashier.text and "2.00 cash" in cashier.text
    await cashier.send("card 2")
    assert "is not an amount" in cashier.text
    await cashier.send("2 card")
    assert "Paid so far: Card $2.00" in cashier.text
    await cashier.send("5 card")
    assert "Card $5.00 is more than the $4.20 left to pay" in cashier.text
    await cashier.tap("↩ Start the payment again")
    assert "Paid so far" not in cashier.text and "💵 Exact $6.20" in cashier.buttons
    assert await sales(session_factory) == []
    assert (await cart_of(session_factory, CASHIER_ID)).total_minor == 620


async def test_an_older_confirm_of_another_split_records_nothing_and_says_what_changed(cashier, session_factory):
    await a_cart(session_factory)
    await cashier.send("/checkout")
    await cashier.send("2 card")
    await cashier.tap("Card $4.20")
    assert "Payments: Card $2.00; Card $4.20" in cashier.text
    first_confirm = data_of(cashier.last_reply, "✅ Confirm sale")  # that screen's button, kept
    await cashier.tap("Cancel checkout")
    await cashier.send("/checkout")
    await cashier.send("3 mobile")
    await cashier.tap("Card $3.20")
    await cashier.press(first_confirm)
    assert await sales(session_factory) == []
    assert "Payment is now Mobile money $3.00; Card $3.20 (that screen said Card $2.00; Card $4.20)" in cashier.text
    await cashier.tap("✅ Confirm sale")
    (sale,) = await sales(session_factory)
    assert await payments_of(session_factory, sale.id) == [("mobile", 300, None), ("card", 320, None)]


async def test_a_price_cut_below_what_was_paid_clears_the_parts(cashier, manager, session_factory):
    await a_cart(session_factory)
    await cashier.send("/checkout")
    await cashier.send("5 card")
    await manager.send("/price TEA 0.50")
    await cashier.send("1 card")  # the total is now $3.00: the $5.00 paid is more than it
    assert "The total changed, so the payments so far were cleared" in cashier.text
    assert "Paid so far" not in cashier.text and "💵 Exact $3.00" in cashier.buttons
    assert await sales(session_factory) == []


async def test_the_report_counts_each_method_of_a_split_sale_with_what_it_paid(cashier, manager, session_factory):
    await a_cart(session_factory)
    await cashier.send("/checkout")
    await cashier.send("2.00 card")
    await cashier.tap("💵 Exact $4.20")
    await cashier.tap("✅ Confirm sale")
    await manager.send("/report today")
    report = next(m.text for m in reversed(manager.messages) if "By payment" in m.text)
    assert "Cash: 1 sale, $4.20" in report and "Card: 1 sale, $2.00" in report
    assert "cash: $4.20 (1)" in report and "card: $2.00 (1)" in report  # the money figures agree
    await manager.tap("CSV")
    exported = manager.documents[-1].file.decode("utf-8-sig")
    assert exported.count(",card + cash,") == 2  # each line of the sale names both its methods
