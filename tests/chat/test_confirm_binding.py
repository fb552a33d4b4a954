"""Confirm records what the screen showed: its total, payment, cash and customer; nothing else.

The conversations (cashier Cal at the counter, manager Mia in her own chat):

    Cal: [Cash] 5 → "Total $2.10 … tendered $5.00 · change $2.90 … Confirm the sale?"
    Mia: /price TEA 99 → "Price of Tea: $2.10 → $99.00"
    Cal: [✅ Confirm sale] → alert "Prices changed: nothing was recorded."
         "⚠️ Prices changed since that screen: the total was $2.10, it is now $99.00. Nothing was
          recorded." and the cash step again ($5.00 no longer covers it).

    Cal: cash screen (tendered $10), then /checkout again, [No customer] [Card] → card screen.
    Cal: [✅ Confirm sale] on the cash screen → "That Confirm screen was out of date, so nothing
         was recorded. • Payment is now Card (that screen said Cash). This is the checkout now:"
         and the card screen; only its Confirm records (card).

    Mia: /archive SOAP while soap sits in Cal's cart.
    Cal: /checkout → "⚠️ No longer on sale: “Soap”. Remove it from the cart to check out?"
         [Remove and continue] → "Who is the customer?" without the soap.
"""

from __future__ import annotations

from db.models import PaymentMethod, Sale
from tests.chat.conftest import CASHIER_ID
from tests.chat.counter_helpers import cart_of, count, customer, data_of, fill, product, sales, stock
from tests.chat.test_checkout import checkout_to_confirm


async def test_a_price_changed_after_the_confirm_screen_records_nothing(cashier, manager, session_factory):
    tea = await product(session_factory, name="Tea", sku="TEA", price_minor=210, stock=10)
    await fill(session_factory, CASHIER_ID, (tea, 1))
    await checkout_to_confirm(cashier, method="Cash", tendered="5")
    assert "change $2.90" in cashier.text
    screen = cashier.last_reply

    await manager.send("/price TEA 99")
    assert "$2.10 → $99.00" in manager.text
    await cashier.press(data_of(screen, "✅ Confirm sale"), message=screen)

    assert cashier.last_answer["show_alert"] and "nothing was recorded" in cashier.last_answer["text"]
    assert "the total was $2.10, it is now $99.00" in cashier.text and "Nothing was recorded" in cashier.text
    assert "Type the cash tendered" in cashier.text  # $5 no longer covers the total
    assert await count(session_factory, Sale) == 0 and await stock(session_factory, tea.id) == 10

    await cashier.send("100")
    assert "change $1.00" in cashier.text
    await cashier.tap("✅ Confirm sale")
    (sale,) = await sales(session_factory)
    assert (sale.total_minor, sale.tendered_minor, sale.change_minor) == (9900, 10000, 100)


async def test_a_price_change_still_covered_by_the_cash_shows_the_new_change(cashier, manager, session_factory):
    tea = await product(session_factory, name="Tea", sku="TEA", price_minor=210, stock=10)
    await fill(session_factory, CASHIER_ID, (tea, 1))
    await checkout_to_confirm(cashier, method="Cash", tendered="5")
    screen = cashier.last_reply
    await manager.send("/price TEA 1.50")
    await cashier.press(data_of(screen, "✅ Confirm sale"), message=screen)
    assert "the total was $2.10, it is now $1.50" in cashier.text and "change $3.50" in cashier.text
    assert await count(session_factory, Sale) == 0
    await cashier.tap("✅ Confirm sale")
    (sale,) = await sales(session_factory)
    assert (sale.total_minor, sale.change_minor) == (150, 350)


async def test_an_older_cash_screen_tapped_after_switching_to_card_records_nothing(cashier, session_factory):
    tea = await product(session_factory, name="Tea", price_minor=300, stock=10)
    await fill(session_factory, CASHIER_ID, (tea, 1))
    await checkout_to_confirm(cashier, method="Cash", tendered="10")
    cash_screen = cashier.last_reply
    await checkout_to_confirm(cashier, method="Card")
    card_screen = cashier.last_reply
    assert card_screen.message_id != cash_screen.message_id

    await cashier.press(data_of(cash_screen, "✅ Confirm sale"), message=cash_screen)
    assert "out of date" in cashier.last_answer["text"] and cashier.last_answer["show_alert"]
    text = cash_screen.text  # edited in place
    assert "nothing was recorded" in text and "Payment is now Card (that screen said Cash)" in text
    assert "Payment: Card" in text and "Confirm the sale?" in text
    assert await count(session_factory, Sale) == 0

    await cashier.press(data_of(card_screen, "✅ Confirm sale"), message=card_screen)
    (sale,) = await sales(session_factory)
    assert sale.payment_method is PaymentMethod.CARD and sale.tendered_minor is None


async def test_an_older_screen_with_another_customer_says_so(cashier, session_factory):
    tea = await product(session_factory, name="Tea", price_minor=300, stock=10)
    await customer(session_factory, name="Bob Builder", phone="+4930123456")
    await fill(session_factory, CASHIER_ID, (tea, 1))
    await checkout_to_confirm(cashier, method="Card")
    anonymous = cashier.last_reply
    await cashier.send("/checkout")
    await cashier.tap("👤 Customer")
    await cashier.tap("Find customer")
    await cashier.send("bob")
    await cashier.tap("Bob Builder")
    await cashier.tap("Card")
    await cashier.press(data_of(anonymous, "✅ Confirm sale"), message=anonymous)
    assert "Customer is now Bob Builder (+4930123456) (that screen said none)" in anonymous.text
    assert await count(session_factory, Sale) == 0


async def test_an_older_screen_while_the_new_checkout_is_still_at_the_customer(cashier, session_factory):
    tea = await product(session_factory, name="Tea", price_minor=300, stock=10)
    await fill(session_factory, CASHIER_ID, (tea, 1))
    await checkout_to_confirm(cashier, method="Card")
    old = cashier.last_reply
    await cashier.send("/checkout")
    review = cashier.last_reply
    await cashier.press(data_of(old, "✅ Confirm sale"), message=old)
    assert "out of date" in cashier.last_answer["text"]
    assert await count(session_factory, Sale) == 0
    await cashier.tap("Mobile money", message=review)  # the open checkout carries on
    await cashier.tap("✅ Confirm sale")
    (sale,) = await sales(session_factory)
    assert sale.payment_method is PaymentMethod.MOBILE


async def test_a_product_archived_in_the_cart_is_named_at_the_first_step(cashier, manager, session_factory):
    tea = await product(session_factory, name="Tea", price_minor=300, stock=10)
    soap = await product(session_factory, name="Soap", sku="SOAP", price_minor=200, stock=5)
    await fill(session_factory, CASHIER_ID, (tea, 1), (soap, 2))
    await manager.send("/archive SOAP")

    await cashier.send("/checkout")
    assert "No longer on sale: “Soap”. Remove it from the cart to check out?" in cashier.text
    assert cashier.buttons == ["Remove and continue", "Cancel checkout"]
    await cashier.tap("Remove and continue")
    assert "How does the customer pay?" in cashier.text and "Soap" not in cashier.text
    assert [line.name for line in (await cart_of(session_factory, CASHIER_ID)).lines] == ["Tea"]
    await cashier.tap("Card")
    await cashier.tap("✅ Confirm sale")
    (sale,) = await sales(session_factory)
    assert sale.total_minor == 300 and await stock(session_factory, soap.id) == 5


async def test_only_archived_products_leave_an_empty_cart(cashier, manager, session_factory):
    soap = await product(session_factory, name="Soap", sku="SOAP", price_minor=200, stock=5)
    await fill(session_factory, CASHIER_ID, (soap, 1))
    await manager.send("/archive SOAP")
    await cashier.send("/checkout")
    await cashier.tap("Remove and continue")
    assert "The cart is empty" in cashier.text


async def test_a_product_archived_during_the_checkout_is_named_at_confirm(cashier, manager, session_factory):
    soap = await product(session_factory, name="Soap", sku="SOAP", price_minor=200, stock=5)
    await fill(session_factory, CASHIER_ID, (soap, 1))
    await checkout_to_confirm(cashier)
    await manager.send("/archive SOAP")
    await cashier.tap("✅ Confirm sale")
    assert "Soap: no longer on sale" in cashier.text
    assert await count(session_factory, Sale) == 0
