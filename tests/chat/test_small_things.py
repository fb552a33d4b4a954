"""Smaller things a cashier or manager tripped over (issue #10).

Cal, registering a new customer at checkout: "Zoe" → "Phone number of Zoe? … or type skip." →
skip → "E-mail address?" → skip → "✅ Zoe is registered." → the payment.
Mia: /add Zero\u200bwidth… with only invisible characters, or a name over two lines → refused.
Mia: /restock TEA 1234567890 → "The quantity must be a whole number between 1 and 1,000,000."
Mia: /restock TEA +5 → "Restocked Tea: +5 → stock 15".
"""

from __future__ import annotations

import pytest

from db.models import Customer, Product, Sale
from tests.chat.conftest import CASHIER_ID
from tests.chat.counter_helpers import count, fill, product, sale_lines, sales, stock
from tests.chat.test_checkout import checkout_to_confirm


async def test_a_new_customer_at_checkout_may_skip_the_phone(cashier, session_factory):
    tea = await product(session_factory, name="Tea", price_minor=300, stock=10)
    await fill(session_factory, CASHIER_ID, (tea, 1))
    await cashier.send("/checkout")
    await cashier.tap("👤 Customer")
    await cashier.tap("New customer")
    await cashier.send("Zoe Zed")
    assert "or type skip" in cashier.text
    await cashier.send("skip")
    assert "E-mail address?" in cashier.text
    await cashier.send("skip")
    assert "How does the customer pay?" in cashier.text and "Customer: Zoe Zed" in cashier.text
    await cashier.tap("Card")
    await cashier.tap("✅ Confirm sale")
    (sale,) = await sales(session_factory)
    async with session_factory() as session:
        zoe = await session.get(Customer, sale.customer_id)
    assert (zoe.name, zoe.phone, zoe.email) == ("Zoe Zed", None, None)


@pytest.mark.parametrize(
    "name",
    ["\u200b\u200b", "\u3164", "\u2800 \u200d", "Two\nlines", "Tab\there"],
    ids=["zero-width", "hangul-filler", "braille-blank", "line-break", "tab"],
)
async def test_names_that_show_nothing_or_break_lines_are_refused(manager, cashier, session_factory, name):
    await manager.send(f"/add {name} | 1.50 | 5")
    assert (
        "must be on one line" in manager.text
        or "no visible characters" in manager.text
        or ("control characters" in manager.text)
    )
    assert await count(session_factory, Product) == 0
    await cashier.send("/newcustomer")
    await cashier.send(name)
    assert (
        "must be on one line" in cashier.text
        or "no visible characters" in cashier.text
        or ("control characters" in cashier.text)
    )
    await cashier.send("/cancel")
    assert await count(session_factory, Customer) == 0


async def test_number_refusals_state_the_allowed_range(manager, session_factory):
    tea = await product(session_factory, name="Tea", sku="TEA", price_minor=300, stock=10)
    for bad in ("1234567890", "0", "lots"):
        await manager.send(f"/restock TEA {bad}")
        assert "between 1 and 1,000,000" in manager.text, bad
        assert "use a whole number such as" not in manager.text
    await manager.send("/adjust TEA 99999999999 count")
    assert "between -1,000,000 and 1,000,000" in manager.text
    assert await stock(session_factory, tea.id) == 10


async def test_restock_with_a_plus_sign(manager, session_factory):
    tea = await product(session_factory, name="Tea", sku="TEA", price_minor=300, stock=10)
    await manager.send("/restock TEA +5")
    assert "+5 → stock 15" in manager.text
    assert await stock(session_factory, tea.id) == 15


async def test_receipt_lines_keep_the_order_they_were_added(cashier, session_factory):
    zucchini = await product(session_factory, name="Zucchini", price_minor=100, stock=10)
    apple = await product(session_factory, name="Apple", price_minor=50, stock=10)
    await fill(session_factory, CASHIER_ID, (apple, 1))  # added first, though its id is higher
    await fill(session_factory, CASHIER_ID, (zucchini, 2))
    assert zucchini.id < apple.id
    await checkout_to_confirm(cashier)
    await cashier.tap("✅ Confirm sale")
    receipt = cashier.text
    assert receipt.index("Apple") < receipt.index("Zucchini")
    (sale,) = await sales(session_factory)
    assert [line.product_name for line in await sale_lines(session_factory, sale.id)] == ["Apple", "Zucchini"]
    assert await count(session_factory, Sale) == 1


async def test_add_and_edit_set_a_barcode(manager, session_factory):
    await manager.send("/add Oat milk | 1.50 | 24 | Dairy | OAT-1 | 4006381333931")
    assert "✅ Added." in manager.text and "4006381333931" in manager.text
    await manager.send("/search 4006381333931")
    assert "Oat milk" in manager.text
    await manager.send("/edit OAT-1")
    await manager.tap("Barcode")
    assert "Send the barcode of Oat milk" in manager.text
    await manager.send("5012345678900")
    assert "✅ Saved." in manager.text and "5012345678900" in manager.text
    await manager.tap("Barcode")
    await manager.send("-")
    assert "✅ Saved." in manager.text and "5012345678900" not in manager.text
