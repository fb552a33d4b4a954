"""Telegram hygiene at the counter: escaping, and the 4096 / 1024 / 64-byte / 100-button limits.

The fake Telegram refuses what Telegram refuses (over-long text, bad HTML, callback data over 64
bytes, too many buttons), and the strict chat client fails on an unanswered press, so walking
the screens with hostile data is the test.
"""

from __future__ import annotations

import json

from db.models import Sale
from tests.chat.conftest import CASHIER_ID
from tests.chat.counter_helpers import cart_of, count, fill, product, sale_lines, sales

HOSTILE = "<b>Tom & Jerry</b>"
# 128 characters (the longest name the catalog takes), full of what HTML would eat.
LONG = ("<i>&amp; " * 16)[:120] + "</b> end"
assert len(LONG) == 128


async def test_hostile_name_shows_literally_everywhere(cashier, session_factory, fake):
    await product(session_factory, name=HOSTILE, price_minor=999, stock=5, category="<Toys & Games>")
    await cashier.send("tom & jerry")  # one match: its card
    assert f"📦 {HOSTILE}" in cashier.text and "Category: <Toys & Games>" in cashier.text
    await cashier.tap("Add 1 to cart")
    assert HOSTILE in cashier.last_answer["text"]
    await cashier.send("/browse")
    assert cashier.buttons == ["<Toys & Games> (1)"]
    await cashier.send("/cart")
    assert f"1. {HOSTILE}" in cashier.text
    await cashier.tap("Checkout")
    assert HOSTILE in cashier.text
    await cashier.tap("👤 Customer")
    await cashier.tap("New customer")
    await cashier.send("<u>Ann</u> & <s>Bob</s>")
    await cashier.send("+44 20 7946 0958")
    await cashier.send("skip")
    await cashier.tap("Card")
    assert "Customer: <u>Ann</u> & <s>Bob</s> (+442079460958)" in cashier.text
    await cashier.tap("✅ Confirm sale")
    assert HOSTILE in cashier.text and "Customer: <u>Ann</u> & <s>Bob</s>" in cashier.text
    # What was sent is escaped HTML: Telegram would show the tags as text.
    assert "&lt;b&gt;Tom &amp; Jerry&lt;/b&gt;" in cashier.last_reply.html
    await cashier.send("/search <script>")
    assert "Nothing matches “<script>”" in cashier.text


async def test_longest_names_keep_every_limit(cashier, session_factory, fake):
    for n in range(12):
        await product(session_factory, name=f"{n:02d}{LONG[2:]}", price_minor=123_456_789, stock=9999)
    await cashier.send("/search end")
    labels = [b for b in cashier.buttons if "·" in b]
    assert len(labels) == 8
    for label in labels:
        assert len(label) <= 40 and label.endswith(" · $1,234,567.89 · 9999")
    await cashier.tap("›")
    await cashier.tap("^11")
    assert LONG[2:] in cashier.text
    await cashier.tap("Add 1 to cart")
    await cashier.send("/cart")
    assert "1 × $1,234,567.89 = $1,234,567.89" in cashier.text
    await cashier.tap("Checkout")
    await cashier.tap("👤 Customer")
    await cashier.tap("New customer")
    await cashier.send("C" * 128)
    await cashier.send("+44 20 7946 0958")
    await cashier.send("skip")
    await cashier.send("9999999999.99")
    await cashier.tap("✅ Confirm sale")
    assert "Change: $9,998,765,432.10" in cashier.text
    await cashier.send("/customer CCCC")
    await cashier.tap("^CCCC")
    assert "Purchases: 1" in cashier.text
    for call in fake.calls:
        data = [b.get("callback_data", "") for row in _rows(call.params) for b in row]
        assert all(len(d.encode()) <= 64 for d in data)


def _rows(params: dict) -> list:
    markup = params.get("reply_markup")
    if isinstance(markup, str):
        markup = json.loads(markup)
    return (markup or {}).get("inline_keyboard", [])


async def test_a_huge_cart_stays_under_every_limit_and_the_receipt_is_split(cashier, session_factory, fake):
    items = []
    for n in range(60):
        items.append((await product(session_factory, name=f"{n:02d} {LONG[3:]}", price_minor=100 + n, stock=5), 1))
    await fill(session_factory, CASHIER_ID, *items)
    await cashier.send("/cart")
    assert "… and 30 more lines (in the total)." in cashier.text
    assert len(cashier.buttons) <= 100
    total = sum(100 + n for n in range(60))
    assert f"Total: ${total / 100:,.2f} (60 items)" in cashier.text
    await cashier.tap("+")  # the first line's +, still routed
    await cashier.tap("Checkout")
    await cashier.tap("Card")
    before = len(cashier.messages)
    await cashier.tap("✅ Confirm sale")
    (sale,) = await sales(session_factory)
    assert len(await sale_lines(session_factory, sale.id)) == 60
    receipt_parts = cashier.messages[before - 1 :]
    assert len(receipt_parts) >= 2  # the receipt did not fit one message: it was split
    assert f"Sale #{sale.id}" in receipt_parts[0].text and "Cashier: Cal Cashier" in receipt_parts[-1].text
    assert all(len(m.text) <= 4096 for m in cashier.messages)
    assert (await cart_of(session_factory, CASHIER_ID)).is_empty


async def test_over_long_search_text_is_refused_politely(cashier, session_factory):
    await cashier.send("x" * 3000)
    assert "too long" in cashier.text
    assert len(cashier.text) < 4096


async def test_every_button_press_is_answered(cashier, session_factory, fake):
    tea = await product(session_factory, name="Tea", price_minor=300, stock=3)
    await fill(session_factory, CASHIER_ID, (tea, 1))
    presses = 0
    await cashier.send("/cart")
    await cashier.send("tea")  # the card
    for label in ("+", "−", "Add 1 to cart", "↩ Undo", "+", "+", "−", "Tea ×", "+", "−"):
        await cashier.tap(label)
        presses += 1
    for label in ("Checkout", "👤 Customer", "No customer", "Card"):
        await cashier.tap(label)
        presses += 1
    for data in ("cart:bogus", "co:ok:1:1", "cat:p:1:0", "nav:noop", "zzz"):
        await cashier.press(data)
        presses += 1
    assert len(fake.calls_to("answerCallbackQuery")) == presses
    assert await count(session_factory, Sale) == 0
