"""/cart: lines, −/+/✕, Clear, edited in place; kept in the database; stale and forged taps."""

from __future__ import annotations

from bot.testing.chat import FakeShop
from db.models import CartLine
from tests.chat.conftest import CASHIER2_ID, CASHIER_ID
from tests.chat.counter_helpers import cart_of, count, data_of, fill, product


async def test_empty_cart_says_how_to_add_something(cashier):
    await cashier.send("/cart")
    assert "The cart is empty" in cashier.text and "Add to cart" in cashier.text
    assert cashier.last_reply.buttons == []


async def test_cart_lines_totals_and_buttons(cashier, session_factory):
    milk = await product(session_factory, name="Milk", price_minor=150, stock=9)
    jam = await product(session_factory, name="Jam", price_minor=425, stock=9)
    await fill(session_factory, CASHIER_ID, (milk, 2), (jam, 1))
    await cashier.send("/cart")
    assert cashier.text.splitlines() == [
        "🛒 Cart",
        "1. Milk",
        "   2 × $1.50 = $3.00",
        "2. Jam",
        "   1 × $4.25 = $4.25",
        "Total: $7.25 (3 items)",
    ]
    assert cashier.buttons == [
        *("−", "Milk ×2", "+", "％", "✕"),
        *("−", "Jam ×1", "+", "％", "✕"),
        *("Discount…", "Clear cart", "Checkout"),
    ]


async def test_every_tap_edits_the_same_message(cashier, session_factory, fake):
    milk = await product(session_factory, name="Milk", price_minor=150, stock=9)
    jam = await product(session_factory, name="Jam", price_minor=425, stock=9)
    await fill(session_factory, CASHIER_ID, (milk, 2), (jam, 1))
    await cashier.send("/cart")
    screen = cashier.last_reply
    sent_before = len(fake.calls_to("sendMessage"))

    await cashier.tap("+")  # milk 2 → 3
    assert "3 × $1.50 = $4.50" in cashier.text
    await cashier.tap("−")  # milk 3 → 2
    await cashier.tap("−")  # milk 2 → 1
    assert "1 × $1.50 = $1.50" in cashier.text
    await cashier.tap("−")  # milk 1 → removed
    assert "Milk" not in cashier.text and "Total: $4.25" in cashier.text
    await cashier.tap("✕")  # jam removed
    assert "The cart is empty" in cashier.text

    assert len(fake.calls_to("sendMessage")) == sent_before
    assert cashier.last_reply.message_id == screen.message_id and screen.edits == 5
    assert (await cart_of(session_factory, CASHIER_ID)).is_empty


async def test_plus_beyond_stock_is_refused_with_the_stock(cashier, session_factory):
    milk = await product(session_factory, name="Milk", price_minor=150, stock=2)
    before = await fill(session_factory, CASHIER_ID, (milk, 2))
    await cashier.send("/cart")
    answer = await cashier.tap("+")
    assert answer["show_alert"] is True and "Only 2" in answer["text"]
    after = await cart_of(session_factory, CASHIER_ID)
    assert (after.version, after.item_count) == (before.version, 2)


async def test_clear_empties_the_cart(cashier, session_factory):
    milk = await product(session_factory, name="Milk", stock=9)
    await fill(session_factory, CASHIER_ID, (milk, 4))
    await cashier.send("/cart")
    await cashier.tap("Clear cart")
    assert "The cart is empty" in cashier.text
    assert (await cart_of(session_factory, CASHIER_ID)).is_empty


async def test_stale_line_taps_act_on_the_current_line(cashier, session_factory):
    milk = await product(session_factory, name="Milk", price_minor=150, stock=9)
    jam = await product(session_factory, name="Jam", price_minor=425, stock=9)
    await fill(session_factory, CASHIER_ID, (milk, 1))
    await cashier.send("/cart")
    old = cashier.last_reply
    plus, minus, remove = (data_of(old, label) for label in ("+", "−", "✕"))  # the screen edits itself
    await fill(session_factory, CASHIER_ID, (milk, 2), (jam, 1))  # changed elsewhere: milk 3, jam 1

    await cashier.press(plus, message=old)  # acts on milk as it is now: 3 → 4
    assert "changed" in cashier.last_answer["text"]
    view = await cart_of(session_factory, CASHIER_ID)
    assert {li.name: li.quantity for li in view.lines} == {"Milk": 4, "Jam": 1}
    assert "4 × $1.50" in cashier.text and "Jam" in cashier.text

    await cashier.press(remove, message=old)  # remove milk, whatever its quantity
    await cashier.press(minus, message=old)  # milk is gone: nothing happens
    assert "no longer in the cart" in cashier.last_answer["text"]
    view = await cart_of(session_factory, CASHIER_ID)
    assert {li.name: li.quantity for li in view.lines} == {"Jam": 1}


async def test_stale_clear_is_refused_and_shows_the_cart(cashier, session_factory):
    milk = await product(session_factory, name="Milk", stock=9)
    jam = await product(session_factory, name="Jam", stock=9)
    await fill(session_factory, CASHIER_ID, (milk, 1))
    await cashier.send("/cart")
    old = cashier.last_reply
    changed = await fill(session_factory, CASHIER_ID, (jam, 2))
    answer = await cashier.press(data_of(old, "Clear cart"), message=old)
    assert answer["show_alert"] is True and "changed" in answer["text"]
    assert "Jam" in cashier.text
    after = await cart_of(session_factory, CASHIER_ID)
    assert (after.version, after.item_count) == (changed.version, 3)


async def test_cart_survives_an_application_restart(settings, session_factory, shop):
    milk = await product(session_factory, name="Milk", price_minor=150, stock=9)
    cal = shop.client(CASHIER_ID, "Cal")
    await cal.send("milk")  # the one match opens its card
    await cal.tap("+")
    await cal.tap("Add 2 to cart")
    await cal.send("/cart")
    old_screen = cal.last_reply

    async with FakeShop(settings, session_factory) as restarted:
        again = restarted.client(CASHIER_ID, "Cal")
        await again.send("/cart")
        assert "2 × $1.50 = $3.00" in again.text
        # A button from the screen drawn before the restart still works.
        await again.press(data_of(old_screen, "+"), message=old_screen)
        view = await cart_of(session_factory, CASHIER_ID)
        assert [(li.product_id, li.quantity) for li in view.lines] == [(milk.id, 3)]


async def test_a_payload_naming_another_chats_cart_is_refused(cashier, session_factory):
    milk = await product(session_factory, name="Milk", stock=9)
    await fill(session_factory, CASHIER_ID, (milk, 1))
    theirs = await fill(session_factory, CASHIER2_ID, (milk, 3))
    await cashier.send("/cart")
    ids = f"{theirs.cart_id}:{milk.id}:{theirs.version}"
    for data in (
        f"cart:inc:{ids}",
        f"cart:dec:{ids}",
        f"cart:rm:{ids}",
        f"cart:clear:{theirs.cart_id}:{theirs.version}",
    ):
        answer = await cashier.press(data)
        assert answer["show_alert"] is True and "another chat's cart" in answer["text"], data
    after = await cart_of(session_factory, CASHIER2_ID)
    assert (after.version, after.item_count) == (theirs.version, 3)
    assert (await cart_of(session_factory, CASHIER_ID)).item_count == 1


async def test_a_strangers_press_of_cart_buttons_changes_nothing(cashier, stranger, former, session_factory):
    milk = await product(session_factory, name="Milk", stock=9)
    before = await fill(session_factory, CASHIER_ID, (milk, 2))
    await cashier.send("/cart")
    screen = cashier.last_reply
    for intruder in (stranger, former):
        intruder.chat_id = CASHIER_ID
        for n, label in enumerate(("+", "−", "✕", "Clear cart", "Checkout")):
            answer = await intruder.press(data_of(screen, label), message=screen)
            if n == 0:
                assert answer["show_alert"] is True and "staff list" in answer["text"]
            else:  # refused a moment ago: every press is answered, silently (refusals are rate-limited)
                assert answer is not None and not answer.get("text")
    after = await cart_of(session_factory, CASHIER_ID)
    assert (after.version, after.item_count) == (before.version, 2)
    assert screen.text == cashier.last_reply.text


async def test_forged_cart_payloads_are_refused(cashier, session_factory):
    milk = await product(session_factory, name="Milk", stock=9)
    before = await fill(session_factory, CASHIER_ID, (milk, 2))
    await cashier.send("/cart")
    for data in ("cart:inc", "cart:inc:1:2", "cart:rm:a:b:c", "cart:clear:1", "cart:dec:1:2:3:4", "cart:zap:1"):
        answer = await cashier.press(data)
        assert answer["show_alert"] is True, data
    after = await cart_of(session_factory, CASHIER_ID)
    assert (after.version, after.item_count) == (before.version, 2)


async def test_carts_belong_to_chats(cashier, cashier2, session_factory):
    milk = await product(session_factory, name="Milk", stock=9)
    await fill(session_factory, CASHIER_ID, (milk, 1))
    await cashier2.send("/cart")
    assert "The cart is empty" in cashier2.text
    assert await count(session_factory, CartLine) == 1
