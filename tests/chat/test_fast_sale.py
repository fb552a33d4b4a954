"""The quickest sales, counted: every message typed and every tap is a round trip to Telegram.

Goals (issue 16): three items by code, exact cash, confirmed, in 6 interactions; by name with one
match each in 8; twelve units of a product at most 3 more than one unit. Each conversation is played
exactly: if the bot needed one more step, the next tap would not find its button and the test fails.
The cash screen's quick amounts and its bad input are here too.
"""

from __future__ import annotations

import os

import pytest

from db.models import PaymentMethod
from tests.chat.barcode_images import barcode_photo
from tests.chat.conftest import CASHIER_ID
from tests.chat.counter_helpers import Transcript, cart_of, customer, fill, product, sale_lines, sales, stock

TRANSCRIPT_ENV = "POS_WRITE_TRANSCRIPT"  # set to a path to save the six-interaction sale there


async def shelf(session_factory):
    """Milk $1.50, rye bread $3.20, apples $1.50: $6.20 for one of each."""
    milk = await product(
        session_factory,
        name="Whole milk",
        price_minor=150,
        stock=20,
        category="Dairy",
        sku="MILK1",
        barcode="4006381333931",
    )
    rye = await product(
        session_factory, name="Rye bread", price_minor=320, stock=5, category="Bakery", barcode="96385074"
    )
    apple = await product(session_factory, name="Apples", price_minor=150, stock=30, category="Fruit", sku="APL")
    return milk, rye, apple


async def assert_one_sale(session_factory, *, total: int, tendered: int | None, items: int) -> None:
    (sale,) = await sales(session_factory)
    assert (sale.total_minor, sale.tendered_minor) == (total, tendered)
    assert (await cart_of(session_factory, CASHIER_ID)).is_empty
    assert sale.chat_id == CASHIER_ID
    assert sum(line.quantity for line in await sale_lines(session_factory, sale.id)) == items


async def test_three_items_by_code_with_exact_cash_in_six_interactions(cashier, session_factory):
    milk, rye, apple = await shelf(session_factory)
    chat = Transcript(cashier)
    await chat.send("4006381333931")  # a keyboard scanner types the barcode and Enter
    await chat.send("96385074")
    await chat.send("APL")  # a SKU typed
    assert "3. Apples ← +1" in cashier.text and "Total: $6.20 (3 items)" in cashier.text
    await chat.tap("Checkout")
    assert "How does the customer pay?" in cashier.text
    assert cashier.buttons == [
        "💵 Exact $6.20",
        "$10.00",
        "$20.00",
        "$50.00",
        "Card",
        "Mobile money",
        "👤 Customer",
        "Cancel checkout",
    ]
    await chat.tap("💵 Exact $6.20")
    assert "Payment: Cash · tendered $6.20 · change $0.00" in cashier.text
    await chat.tap("✅ Confirm sale")
    assert "Total: $6.20" in cashier.text and "Tendered: $6.20 · Change: $0.00" in cashier.text
    assert chat.interactions == 6
    await assert_one_sale(session_factory, total=620, tendered=620, items=3)
    assert [await stock(session_factory, p.id) for p in (milk, rye, apple)] == [19, 4, 29]

    target = os.environ.get(TRANSCRIPT_ENV)
    if target:
        chat.save(
            target,
            header="# The quickest sale at the counter: three items by code, exact cash, confirmed, in six\n"
            '# interactions (fake Telegram, real Application). "> " is what the cashier typed (a keyboard\n'
            "# scanner types a barcode and Enter) or [tapped]; then the bot's reply and its buttons.\n"
            f"# Regenerate: {TRANSCRIPT_ENV}=<path> pytest tests/chat/test_fast_sale.py -k 'six and sqlite'\n\n",
        )


async def test_three_items_from_barcode_photos_in_six_interactions(cashier, session_factory):
    await shelf(session_factory)
    await product(session_factory, name="Jam", price_minor=300, stock=5, barcode="036000291452")
    chat = Transcript(cashier)
    await chat.send_photo(barcode_photo("4006381333931", "EAN-13", turn=90), "an EAN-13, turned")
    await chat.send_photo(barcode_photo("96385074", "EAN-8", shrink=0.5), "an EAN-8, small")
    await chat.send_photo(barcode_photo("036000291452", "UPC-A"), "a UPC-A")
    await chat.tap("Checkout")
    await chat.tap("Card")
    await chat.tap("✅ Confirm sale")
    assert chat.interactions == 6
    (sale,) = await sales(session_factory)
    assert sale.total_minor == 150 + 320 + 300 and sale.payment_method is PaymentMethod.CARD


async def test_three_items_by_name_one_match_each_in_eight_interactions(cashier, session_factory):
    await shelf(session_factory)
    chat = Transcript(cashier)
    await chat.send("milk")  # one match: its card at once
    await chat.tap("Add 1 to cart")
    await chat.send("rye")
    await chat.tap("Add 1 to cart")
    await chat.send("apples")
    await chat.tap("Add 1 · check out")  # the last item goes straight to the payment
    assert "How does the customer pay?" in cashier.text and "Total: $6.20 (3 items)" in cashier.text
    await chat.tap("💵 Exact $6.20")
    await chat.tap("✅ Confirm sale")
    assert chat.interactions == 8
    await assert_one_sale(session_factory, total=620, tendered=620, items=3)


async def test_three_items_by_name_with_quantities_in_the_text(cashier, session_factory):
    await shelf(session_factory)
    chat = Transcript(cashier)
    await chat.send("3 milk")
    await chat.send("2x rye")
    await chat.send("apples x2")
    assert "Total: $13.90 (7 items)" in cashier.text
    await chat.tap("Checkout")
    await chat.tap("$20.00")
    assert "change $6.10" in cashier.text
    await chat.tap("✅ Confirm sale")
    assert chat.interactions == 6
    await assert_one_sale(session_factory, total=1390, tendered=2000, items=7)


async def play(cashier, moves: list[str]) -> int:
    """Play a sale (text to type, [label] to tap) to its receipt; the number of interactions."""
    chat = Transcript(cashier)
    for move in moves:
        if move.startswith("[") and move.endswith("]"):
            await chat.tap(move[1:-1])
        else:
            await chat.send(move)
    assert "Sale #" in cashier.text, cashier.text
    return chat.interactions


TWELVE = {
    "by code": (
        ["4006381333931", "[Checkout]", "[💵 Exact $1.50]", "[✅ Confirm sale]"],
        ["4006381333931", "12", "[Checkout]", "[💵 Exact $18.00]", "[✅ Confirm sale]"],
    ),
    "by name": (
        ["milk", "[Add 1 · check out]", "[💵 Exact $1.50]", "[✅ Confirm sale]"],
        ["milk", "12", "[Add 12 · check out]", "[💵 Exact $18.00]", "[✅ Confirm sale]"],
    ),
    "quantity in the text": (
        ["milk", "[Add 1 · check out]", "[💵 Exact $1.50]", "[✅ Confirm sale]"],
        ["12 milk", "[Checkout]", "[💵 Exact $18.00]", "[✅ Confirm sale]"],
    ),
}


@pytest.mark.parametrize("way", list(TWELVE))
async def test_twelve_units_take_at_most_three_interactions_more_than_one(cashier, session_factory, way):
    await shelf(session_factory)
    one, twelve = TWELVE[way]
    one_unit = await play(cashier, one)
    twelve_units = await play(cashier, twelve)
    assert (one_unit, twelve_units) == (len(one), len(twelve))
    assert twelve_units - one_unit <= 3
    first, second = await sales(session_factory)
    assert (first.total_minor, second.total_minor) == (150, 1800)


# --- the payment screen ----------------------------------------------------------------------------
async def test_a_round_note_pays_and_the_change_is_shown(cashier, session_factory):
    milk, rye, apple = await shelf(session_factory)
    await fill(session_factory, CASHIER_ID, (milk, 1), (rye, 1), (apple, 1))
    await cashier.send("/checkout")
    await cashier.tap("$50.00")
    assert "tendered $50.00 · change $43.80" in cashier.text
    await cashier.tap("✅ Confirm sale")
    await assert_one_sale(session_factory, total=620, tendered=5000, items=3)


async def test_any_amount_typed_at_the_payment_is_cash(cashier, session_factory):
    milk, rye, apple = await shelf(session_factory)
    await fill(session_factory, CASHIER_ID, (milk, 1), (rye, 1), (apple, 1))
    await cashier.send("/checkout")
    await cashier.send("6")
    assert "$6.00 is $0.20 short of the total $6.20" in cashier.text
    await cashier.send("7,5")
    assert "tendered $7.50 · change $1.30" in cashier.text
    await cashier.tap("✅ Confirm sale")
    await assert_one_sale(session_factory, total=620, tendered=750, items=3)


@pytest.mark.parametrize("bad", ["lots", "-5", "6.205", "1,000.00", "0x10", "9" * 20, "x" * 4000])
async def test_a_bad_amount_at_the_payment_is_refused_and_nothing_changes(cashier, session_factory, bad):
    milk, _, _ = await shelf(session_factory)
    await fill(session_factory, CASHIER_ID, (milk, 1))
    await cashier.send("/checkout")
    await cashier.send(bad)
    assert "is not an amount" in cashier.text and "Type the cash tendered, or /cancel." in cashier.text
    assert len(cashier.text) < 4096
    await cashier.tap("💵 Exact $1.50")  # the payment screen is still there
    assert cashier.buttons[0] == "✅ Confirm sale"
    assert await sales(session_factory) == []


async def test_a_cash_button_below_a_total_that_grew_asks_for_the_amount(cashier, session_factory):
    milk, rye, _ = await shelf(session_factory)
    await fill(session_factory, CASHIER_ID, (milk, 1))
    await cashier.send("/checkout")
    await fill(session_factory, CASHIER_ID, (rye, 1))  # another tap elsewhere: the total is now $4.70
    await cashier.tap("💵 Exact $1.50")
    assert "Total $4.70. Type the cash tendered" in cashier.text
    await cashier.send("5")
    assert "change $0.30" in cashier.text
    await cashier.tap("✅ Confirm sale")
    await assert_one_sale(session_factory, total=470, tendered=500, items=2)


async def test_forged_cash_payloads_are_refused(cashier, session_factory):
    milk, _, _ = await shelf(session_factory)
    await fill(session_factory, CASHIER_ID, (milk, 1))
    await cashier.send("/checkout")
    for data in ("co:cash:-150", "co:cash:abc", f"co:cash:{2**40}", "co:cash:1:2"):
        answer = await cashier.press(data)
        assert answer["show_alert"] and "no longer valid" in answer["text"], data
    assert await sales(session_factory) == []


async def test_the_customer_is_a_button_on_the_payment_screen(cashier, session_factory):
    milk, _, _ = await shelf(session_factory)
    bob = await customer(session_factory, name="Bob Builder", phone="+4930123456")
    await fill(session_factory, CASHIER_ID, (milk, 2))
    await cashier.send("/checkout")
    assert "Customer: none" in cashier.text
    await cashier.tap("👤 Customer")
    await cashier.tap("Find customer")
    await cashier.send("bob")
    await cashier.tap("Bob Builder")
    assert "How does the customer pay?" in cashier.text and "Customer: Bob Builder" in cashier.text
    await cashier.tap("💵 Exact $3.00")
    await cashier.tap("✅ Confirm sale")
    (sale,) = await sales(session_factory)
    assert sale.customer_id == bob.id


async def test_add_and_check_out_refuses_what_cannot_be_sold(cashier, session_factory):
    milk = await product(session_factory, name="Whole milk", price_minor=150, stock=2)
    await cashier.send("milk")
    await cashier.send("2")
    await cashier.tap("Add 2 · check out")
    assert "How does the customer pay?" in cashier.text
    await cashier.send("/cancel")
    answer = await cashier.press(f"co:add:{milk.id}:1")  # a third one: only 2 in stock
    assert answer["show_alert"] and "Only 2 of “Whole milk” in stock." == answer["text"]
    answer = await cashier.press("co:add:999999:1")
    assert answer["show_alert"] and "No product #999999" in answer["text"]
    assert (await cart_of(session_factory, CASHIER_ID)).item_count == 2
