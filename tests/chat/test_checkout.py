"""/checkout: the whole sale, exactly-once Confirm, stale and short carts, every step's bad input."""

from __future__ import annotations

import pytest

from bot.testing.chat import FakeShop
from db import subscriptions
from db.engine import transaction
from db.models import Customer, MovementReason, PaymentMethod, Sale
from tests.chat.conftest import CASHIER2_ID, CASHIER_ID, MANAGER_ID
from tests.chat.counter_helpers import (
    Transcript,
    cart_of,
    count,
    customer,
    data_of,
    fill,
    movements,
    product,
    replay_press,
    sale_lines,
    sales,
    stock,
)


async def checkout_to_confirm(client, *, method: str = "Card", tendered: str | None = None) -> None:
    """From a filled cart: /checkout (straight to the payment), the method or the cash typed, up to Confirm."""
    await client.send("/checkout")
    if tendered is not None:
        await client.send(tendered)
    else:
        await client.tap(method)
    assert "Confirm the sale?" in client.text, client.text


# --- the whole sale ------------------------------------------------------------------------------
async def test_whole_sale_from_search_to_receipt(cashier, session_factory):
    milk = await product(session_factory, name="Whole milk", price_minor=150, stock=10, category="Dairy", sku="MILK1")
    bread = await product(session_factory, name="Rye bread", price_minor=320, stock=5, category="Bakery")
    chat = Transcript(cashier)

    await chat.send("/search milk")  # one match: its card at once
    assert "Category: Dairy" in cashier.text and "SKU: MILK1" in cashier.text and "In stock: 10" in cashier.text
    await chat.tap("+")
    await chat.tap("+")
    assert "Add 3 to cart" in cashier.buttons
    await chat.tap("Add 3 to cart")
    assert cashier.last_answer["text"].startswith("Added 3 × Whole milk")
    await chat.send("rye")
    await chat.tap("Add 1 to cart")

    await chat.send("/cart")
    cart_message = cashier.last_reply
    assert "3 × $1.50 = $4.50" in cashier.text and "1 × $3.20 = $3.20" in cashier.text
    assert "Total: $7.70" in cashier.text
    await chat.tap("−")  # milk 3 → 2, edited in place
    assert cashier.last_reply.message_id == cart_message.message_id
    assert "2 × $1.50 = $3.00" in cashier.text and "Total: $6.20" in cashier.text
    await chat.tap("Checkout")
    assert "How does the customer pay?" in cashier.text and "Customer: none" in cashier.text
    assert cashier.last_reply.message_id == cart_message.message_id
    await chat.tap("👤 Customer")
    assert "Who is the customer?" in cashier.text

    await chat.tap("New customer")
    await chat.send("Ann Example")
    await chat.send("+44 20 7946 0958")
    await chat.send("ann@example.com")
    assert "How does the customer pay?" in cashier.text and "Ann Example (+442079460958)" in cashier.text
    assert cashier.buttons[:4] == ["💵 Exact $6.20", "$10.00", "$20.00", "$50.00"]
    await chat.tap("$10.00")
    assert "change $3.80" in cashier.text
    await chat.tap("✅ Confirm sale")

    text = cashier.text
    assert "Corner Shop" in text and "Sale #" in text
    assert "Whole milk" in text and "2 × $1.50 = $3.00" in text and "1 × $3.20 = $3.20" in text
    assert "Total: $6.20" in text and "Payment: Cash" in text
    assert "Tendered: $10.00 · Change: $3.80" in text
    assert "Customer: Ann Example (+442079460958)" in text and "Cashier: Cal Cashier" in text

    (sale,) = await sales(session_factory)
    assert (sale.total_minor, sale.tendered_minor, sale.change_minor) == (620, 1000, 380)
    assert sale.payment_method is PaymentMethod.CASH and sale.chat_id == CASHIER_ID
    async with session_factory() as session:
        ann = await session.get(Customer, sale.customer_id)
    assert (ann.name, ann.phone, ann.email) == ("Ann Example", "+442079460958", "ann@example.com")
    lines = await sale_lines(session_factory, sale.id)
    assert [(li.product_name, li.quantity, li.unit_price_minor) for li in lines] == [
        ("Whole milk", 2, 150),
        ("Rye bread", 1, 320),
    ]
    assert await stock(session_factory, milk.id) == 8 and await stock(session_factory, bread.id) == 4
    sold = [m for m in await movements(session_factory, milk.id) if m.reason is MovementReason.SALE]
    assert [(m.quantity, m.sale_id) for m in sold] == [(-2, sale.id)]
    assert (await cart_of(session_factory, CASHIER_ID)).is_empty
    # A local time in the store's zone (Berlin), not UTC.
    assert (
        sale.created_at.astimezone(cashier.application.bot_data["services"].settings.tz).strftime("%Y-%m-%d %H:%M")
        in text
    )

    assert "> [✅ Confirm sale]" in chat.text()


async def test_existing_customer_found_by_name_and_card_payment(cashier, session_factory):
    soap = await product(session_factory, name="Soap", price_minor=200, stock=4)
    bob = await customer(session_factory, name="Bob Builder", phone="+4930123456")
    await fill(session_factory, CASHIER_ID, (soap, 1))
    await cashier.send("/checkout")
    await cashier.tap("👤 Customer")
    await cashier.tap("Find customer")
    await cashier.send("nobody-like-this")
    assert "No customer matches" in cashier.text
    await cashier.send("bob")
    await cashier.tap("Bob Builder")
    await cashier.tap("Mobile money")
    assert "Payment: Mobile money" in cashier.text
    await cashier.tap("✅ Confirm sale")
    assert "Customer: Bob Builder" in cashier.text
    (sale,) = await sales(session_factory)
    assert sale.customer_id == bob.id and sale.payment_method is PaymentMethod.MOBILE
    assert sale.tendered_minor is None


async def test_checkout_of_an_empty_cart(cashier, session_factory):
    await cashier.send("/checkout")
    assert "The cart is empty" in cashier.text
    await cashier.send("hello")  # no dialog is open: plain text is a search again
    assert "Nothing matches" in cashier.text


# --- exactly once --------------------------------------------------------------------------------
async def test_double_tapped_confirm_records_one_sale(cashier, session_factory):
    tea = await product(session_factory, name="Tea", price_minor=300, stock=10)
    await fill(session_factory, CASHIER_ID, (tea, 2))
    await checkout_to_confirm(cashier)
    confirm_screen = cashier.last_reply
    data = data_of(confirm_screen, "✅ Confirm sale")
    await cashier.press(data, message=confirm_screen)
    (sale,) = await sales(session_factory)
    await cashier.press(data, message=confirm_screen)
    assert cashier.last_answer["text"] == f"Already recorded: sale #{sale.id}"
    assert cashier.last_answer["show_alert"] is True
    assert f"Sale #{sale.id}" in cashier.text
    assert await count(session_factory, Sale) == 1
    assert await stock(session_factory, tea.id) == 8


async def test_the_same_confirm_update_delivered_twice_records_one_sale(cashier, session_factory, fake):
    tea = await product(session_factory, name="Tea", price_minor=300, stock=10)
    await fill(session_factory, CASHIER_ID, (tea, 3))
    await checkout_to_confirm(cashier, method="Cash", tendered="9")
    confirm_screen = cashier.last_reply
    await replay_press(cashier, data_of(confirm_screen, "✅ Confirm sale"), confirm_screen, times=2)
    (sale,) = await sales(session_factory)
    assert await stock(session_factory, tea.id) == 7
    assert f"Sale #{sale.id}" in cashier.text and "Change: $0.00" in cashier.text


async def test_confirm_after_a_restart_finds_the_sale_already_recorded(settings, session_factory, shop):
    tea = await product(session_factory, name="Tea", price_minor=300, stock=10)
    await fill(session_factory, CASHIER_ID, (tea, 1))
    cal = shop.client(CASHIER_ID, "Cal")
    await checkout_to_confirm(cal)
    confirm_screen = cal.last_reply
    data = data_of(confirm_screen, "✅ Confirm sale")
    await cal.press(data, message=confirm_screen)
    (sale,) = await sales(session_factory)

    async with FakeShop(settings, session_factory) as restarted:
        again = restarted.client(CASHIER_ID, "Cal")
        answer = await again.press(data, message=confirm_screen)
        assert answer["text"] == f"Already recorded: sale #{sale.id}"
    assert await count(session_factory, Sale) == 1


async def test_a_confirm_screen_shown_before_a_restart_still_records_the_sale(settings, session_factory, shop):
    """The dialog is stored (issue 15): the restarted bot knows the confirm step and its draft."""
    tea = await product(session_factory, name="Tea", price_minor=300, stock=10)
    await fill(session_factory, CASHIER_ID, (tea, 1))
    cal = shop.client(CASHIER_ID, "Cal")
    await checkout_to_confirm(cal)
    confirm_screen = cal.last_reply
    async with FakeShop(settings, session_factory) as restarted:
        again = restarted.client(CASHIER_ID, "Cal")
        await again.press(data_of(confirm_screen, "✅ Confirm sale"), message=confirm_screen)
        assert "Sale #1" in again.text
    assert await count(session_factory, Sale) == 1
    assert (await cart_of(session_factory, CASHIER_ID)).item_count == 0


# --- stale and short -----------------------------------------------------------------------------
async def test_confirm_from_an_older_cart_version_is_refused_and_the_cart_shown(cashier, session_factory):
    tea = await product(session_factory, name="Tea", price_minor=300, stock=10)
    await fill(session_factory, CASHIER_ID, (tea, 1))
    await checkout_to_confirm(cashier)
    confirm_screen = cashier.last_reply
    await fill(session_factory, CASHIER_ID, (tea, 1))  # a + from another screen: now 2
    await cashier.press(data_of(confirm_screen, "✅ Confirm sale"), message=confirm_screen)
    assert "cart changed" in cashier.last_answer["text"] and cashier.last_answer["show_alert"]
    assert "2 × $3.00 = $6.00" in cashier.text and "Checkout" in cashier.buttons
    assert await count(session_factory, Sale) == 0
    assert await stock(session_factory, tea.id) == 10
    # Checking out again from the cart shown works.
    await cashier.tap("Checkout")
    await cashier.tap("Card")
    await cashier.tap("✅ Confirm sale")
    (sale,) = await sales(session_factory)
    assert sale.total_minor == 600


async def test_an_older_confirm_does_not_disturb_a_newer_checkout(cashier, session_factory):
    tea = await product(session_factory, name="Tea", price_minor=300, stock=10)
    await fill(session_factory, CASHIER_ID, (tea, 1))
    await checkout_to_confirm(cashier)
    old_screen = cashier.last_reply
    await fill(session_factory, CASHIER_ID, (tea, 1))
    await checkout_to_confirm(cashier)
    new_screen = cashier.last_reply
    await cashier.press(data_of(old_screen, "✅ Confirm sale"), message=old_screen)
    assert "cart changed" in cashier.last_answer["text"]
    assert await count(session_factory, Sale) == 0
    await cashier.press(data_of(new_screen, "✅ Confirm sale"), message=new_screen)
    (sale,) = await sales(session_factory)
    assert sale.total_minor == 600


async def test_stale_checkout_button_shows_the_current_cart(cashier, session_factory):
    tea = await product(session_factory, name="Tea", price_minor=300, stock=10)
    await fill(session_factory, CASHIER_ID, (tea, 1))
    await cashier.send("/cart")
    old_cart = cashier.last_reply
    await fill(session_factory, CASHIER_ID, (tea, 2))
    await cashier.press(data_of(old_cart, "Checkout"), message=old_cart)
    assert "cart changed" in cashier.last_answer["text"]
    assert "3 × $3.00" in cashier.text
    await cashier.send("some text")  # no dialog was opened
    assert "Nothing matches" in cashier.text


async def test_shortage_at_confirm_lists_it_and_leaves_the_cart(cashier, cashier2, session_factory):
    jam = await product(session_factory, name="Jam", price_minor=400, stock=3)
    honey = await product(session_factory, name="Honey", price_minor=900, stock=5)
    await fill(session_factory, CASHIER_ID, (jam, 2), (honey, 1))
    await checkout_to_confirm(cashier)
    confirm_screen = cashier.last_reply

    # Another cashier sells two of the three jars first.
    await fill(session_factory, CASHIER2_ID, (jam, 2))
    await checkout_to_confirm(cashier2)
    await cashier2.tap("✅ Confirm sale")
    assert len(await sales(session_factory)) == 1

    before = await cart_of(session_factory, CASHIER_ID)
    await cashier.press(data_of(confirm_screen, "✅ Confirm sale"), message=confirm_screen)
    assert "Not enough stock" in cashier.text and "nothing was recorded" in cashier.text
    assert "Jam: 1 short (wanted 2, 1 left)" in cashier.text
    assert "Honey" in cashier.text and "Checkout" in cashier.buttons  # the cart, ready to fix
    after = await cart_of(session_factory, CASHIER_ID)
    assert (after.version, after.lines) == (before.version, before.lines)
    assert len(await sales(session_factory)) == 1
    assert await stock(session_factory, jam.id) == 1 and await stock(session_factory, honey.id) == 5

    # Fix the cart (jam −1) and the sale goes through.
    await cashier.tap("−")
    await cashier.tap("Checkout")
    await cashier.tap("Card")
    await cashier.tap("✅ Confirm sale")
    assert len(await sales(session_factory)) == 2
    assert await stock(session_factory, jam.id) == 0


async def test_low_stock_crossing_alerts_subscribed_chats(cashier, manager, session_factory):
    async with transaction(session_factory) as session:
        await subscriptions.subscribe(session, chat_id=MANAGER_ID)
    jam = await product(session_factory, name="Jam", price_minor=400, stock=5)
    await fill(session_factory, CASHIER_ID, (jam, 2))  # 5 → 3: at the store threshold
    await checkout_to_confirm(cashier)
    await cashier.tap("✅ Confirm sale")
    assert "Running low" in manager.text and "Jam" in manager.text


# --- leaving, and bad input at every step --------------------------------------------------------
STEPS = {
    "payment": [],
    "customer": ["tap:👤 Customer"],
    "find": ["tap:👤 Customer", "tap:Find customer"],
    "new name": ["tap:👤 Customer", "tap:New customer"],
    "new phone": ["tap:👤 Customer", "tap:New customer", "Zoe"],
    "new email": ["tap:👤 Customer", "tap:New customer", "Zoe", "+44 20 7946 0001"],
    "tendered": ["2"],
    "confirm": ["tap:Card"],
}


async def walk(client, steps: list[str]) -> None:
    await client.send("/checkout")
    for step in steps:
        if step.startswith("tap:"):
            await client.tap(step[4:])
        else:
            await client.send(step)


@pytest.mark.parametrize("step", list(STEPS))
async def test_cancel_at_any_step_keeps_the_cart(cashier, session_factory, step):
    tea = await product(session_factory, name="Tea", price_minor=300, stock=10)
    before = await fill(session_factory, CASHIER_ID, (tea, 2))
    await walk(cashier, STEPS[step])
    await cashier.send("/cancel")
    assert "Checkout cancelled" in cashier.text and "cart is kept" in cashier.text
    after = await cart_of(session_factory, CASHIER_ID)
    assert (after.version, after.item_count) == (before.version, 2)
    assert await count(session_factory, Sale) == 0
    assert await count(session_factory, Customer) == 0
    await cashier.send("tea")  # the dialog is closed: text searches again
    assert cashier.text.startswith("📦 Tea")


async def test_cancel_button(cashier, session_factory):
    tea = await product(session_factory, name="Tea", price_minor=300, stock=10)
    await fill(session_factory, CASHIER_ID, (tea, 1))
    await walk(cashier, STEPS["confirm"])
    await cashier.tap("Cancel checkout")
    assert "Checkout cancelled" in cashier.text and cashier.buttons == [
        "−",
        "Tea ×1",
        "+",
        "％",
        "✕",
        "Discount…",
        "Clear cart",
        "Checkout",
    ]
    assert await count(session_factory, Sale) == 0


async def test_invalid_input_at_every_step_hints_and_stays(cashier, session_factory):
    tea = await product(session_factory, name="Tea", price_minor=300, stock=10)
    await customer(session_factory, name="Old Timer", phone="+44 20 7946 0999")
    await fill(session_factory, CASHIER_ID, (tea, 2))
    await cashier.send("/checkout")

    # The payment takes an amount of cash typed, or a button.
    await cashier.send("cash please")
    assert "“cash please” is not an amount" in cashier.text and "Type the cash tendered" in cashier.text
    await cashier.send("/cart")  # another command: the dialog holds
    assert "middle of a checkout" in cashier.text

    # The customer step wants a button.
    await cashier.tap("👤 Customer")
    await cashier.send("someone")
    assert "Choose one of the buttons" in cashier.text

    # New customer: a name that is too long, a phone that is no phone, one that is taken, a bad e-mail.
    await cashier.tap("New customer")
    await cashier.send("x" * 129)
    assert "too long" in cashier.text and "Type the customer's name" in cashier.text
    await cashier.send("Zoe Zed")
    await cashier.send("call me maybe")
    assert "not a phone number" in cashier.text
    await cashier.send("+1 555")
    assert "phone" in cashier.text and "Type the phone number" in cashier.text
    await cashier.send("+44 20 7946 0999")
    assert "already belongs to Old Timer" in cashier.text and cashier.buttons[0].startswith("Use Old Timer")
    await cashier.send("+44 20 7946 0123")
    await cashier.send("zoe@@example")
    assert "not a valid e-mail address" in cashier.text
    await cashier.send("SKIP")
    assert "How does the customer pay?" in cashier.text and "Zoe Zed (+442079460123)" in cashier.text

    # Cash wants an amount that covers the total.
    for bad in ("lots", "5.999", "-6", "1,000.00", "x" * 4000):
        await cashier.send(bad)
        assert "is not an amount" in cashier.text, bad
    await cashier.send("5.99")
    assert "$0.01 short of the total $6.00" in cashier.text
    await cashier.send("6")
    assert "Confirm the sale?" in cashier.text and "change $0.00" in cashier.text

    # Confirm wants its button.
    await cashier.send("yes")
    assert "Choose one of the buttons" in cashier.text
    await cashier.tap("✅ Confirm sale")
    (sale,) = await sales(session_factory)
    assert (sale.total_minor, sale.tendered_minor, sale.change_minor) == (600, 600, 0)
    assert await count(session_factory, Customer) == 2


async def test_checkout_restarts_with_checkout_again(cashier, session_factory):
    tea = await product(session_factory, name="Tea", price_minor=300, stock=10)
    await fill(session_factory, CASHIER_ID, (tea, 1))
    await walk(cashier, STEPS["tendered"])
    await cashier.send("/checkout")
    assert "How does the customer pay?" in cashier.text
    await cashier.tap("Card")
    await cashier.tap("✅ Confirm sale")
    assert len(await sales(session_factory)) == 1


async def test_buttons_of_an_ended_checkout_are_answered_and_do_nothing(cashier, session_factory):
    tea = await product(session_factory, name="Tea", price_minor=300, stock=10)
    await fill(session_factory, CASHIER_ID, (tea, 1))
    await cashier.send("/checkout")
    review = cashier.last_reply
    await cashier.send("/cancel")
    answer = await cashier.press(data_of(review, "💵 Exact $3.00"), message=review)
    assert answer["show_alert"] is True
    assert await count(session_factory, Sale) == 0


# --- whose cart ----------------------------------------------------------------------------------
async def test_payloads_naming_another_chats_cart_are_refused(cashier, cashier2, session_factory):
    tea = await product(session_factory, name="Tea", price_minor=300, stock=10)
    theirs = await fill(session_factory, CASHIER2_ID, (tea, 2))
    await fill(session_factory, CASHIER_ID, (tea, 1))
    await cashier.send("/cart")
    for data in (f"co:go:{theirs.cart_id}:{theirs.version}", f"co:ok:{theirs.cart_id}:{theirs.version}:1"):
        answer = await cashier.press(data)
        assert "another chat's cart" in answer["text"] and answer["show_alert"]
    after = await cart_of(session_factory, CASHIER2_ID)
    assert (after.version, after.item_count) == (theirs.version, 2)
    assert await count(session_factory, Sale) == 0


async def test_forged_confirm_payloads_are_refused(cashier, session_factory):
    await cashier.send("/cart")
    for data in ("co:ok", "co:ok:x:1:1", "co:ok:1", "co:ok:1:2", "co:go:1:2:3", "co:pay:7"):
        answer = await cashier.press(data)
        assert answer["show_alert"] is True, data
    assert await count(session_factory, Sale) == 0


async def test_stranger_cannot_confirm(cashier, stranger, session_factory):
    tea = await product(session_factory, name="Tea", price_minor=300, stock=10)
    await fill(session_factory, CASHIER_ID, (tea, 1))
    await checkout_to_confirm(cashier)
    data = data_of(cashier.last_reply, "✅ Confirm sale")
    stranger.chat_id = CASHIER_ID  # a stranger pressing the button in the cashier's chat
    answer = await stranger.press(data, message=cashier.last_reply)
    assert "not on this shop's staff list" in answer["text"]
    assert await count(session_factory, Sale) == 0
