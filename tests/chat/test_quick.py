"""/quick (the favourites grid), /pin and /unpin; inline mode for staff; manager commands by name."""

from __future__ import annotations

from db.models import PaymentMethod
from tests.chat.conftest import CASHIER_ID
from tests.chat.counter_helpers import cart_of, product
from tests.factories import make_staff, sell


def quantities(view) -> dict[str, int]:
    return {line.name: line.quantity for line in view.lines}


# --- /quick ----------------------------------------------------------------------------------------
async def test_quick_with_no_pins_and_no_sales_says_how_it_fills(cashier):
    await cashier.send("/quick")
    assert "No favourites yet" in cashier.text and "/pin" in cashier.text


async def test_quick_shows_the_last_30_days_best_sellers_and_a_tap_adds_one(cashier, session_factory):
    milk = await product(session_factory, name="Milk", price_minor=150, stock=50)
    jam = await product(session_factory, name="Jam", price_minor=425, stock=50)
    await product(session_factory, name="Never sold", price_minor=100, stock=50)
    async with session_factory() as session, session.begin():
        seller = await make_staff(session)
    await sell(session_factory, cashier=seller, items=[(jam, 1)], chat_id=1, method=PaymentMethod.CARD)
    await sell(session_factory, cashier=seller, items=[(milk, 5)], chat_id=1, method=PaymentMethod.CARD)
    await cashier.send("/quick")
    assert cashier.buttons == ["Milk $1.50", "Jam $4.25"]  # most units first; unsold products not shown
    assert "Cart: empty." in cashier.text
    grid = cashier.last_reply
    answer = await cashier.tap("Milk $1.50")
    assert answer["text"] == "+1 Milk (now 1)."
    await cashier.tap("Milk $1.50")
    await cashier.tap("Jam $4.25")
    assert cashier.last_reply.message_id == grid.message_id  # edited in place
    assert "Cart: 3 items · $7.25" in cashier.text
    assert cashier.buttons[-2:] == ["🛒 Cart", "Checkout"]
    assert quantities(await cart_of(session_factory, CASHIER_ID)) == {"Milk": 2, "Jam": 1}


async def test_pins_come_first_in_pin_order_then_best_sellers_fill_the_grid(manager, cashier, session_factory):
    for n in range(14):
        await product(session_factory, name=f"P{n:02d}", price_minor=100, stock=5, sku=f"S{n:02d}")
    await manager.send("/pin S05")
    assert manager.text == "📌 P05 (S05) is pinned to /quick (1 of 12 pinned)."
    await manager.send("/pin P03")  # by exact name
    await manager.send("/pin S05")
    assert manager.text == "P05 (S05) was pinned already."
    await cashier.send("/quick")
    assert cashier.buttons == ["P05 $1.00", "P03 $1.00"]
    await manager.send("/unpin S05")
    assert manager.text == "P05 (S05) is off /quick (1 of 12 pinned)."
    await manager.send("/unpin S05")
    assert manager.text == "P05 (S05) was not pinned."
    await manager.send("/pin")
    assert "Usage: /pin" in manager.text and "📌 P03 (S03)" in manager.text


async def test_a_full_grid_refuses_a_thirteenth_pin_and_archived_pins_are_hidden(manager, cashier, session_factory):
    for n in range(13):
        await product(session_factory, name=f"P{n:02d}", price_minor=100, stock=5, sku=f"S{n:02d}")
    for n in range(12):
        await manager.send(f"/pin S{n:02d}")
    await manager.send("/pin S12")
    assert manager.text == "12 products are pinned already, a full grid: /unpin one first."
    await manager.send("/archive S00")
    await cashier.send("/quick")
    assert len(cashier.buttons) == 11 and "P00 $1.00" not in cashier.buttons
    await manager.send("/pin S00")
    assert manager.text == "S00 “P00” is archived: /unarchive it before pinning it."


async def test_pin_is_for_managers_and_a_bad_product_is_named(cashier, manager, session_factory):
    await product(session_factory, name="Milk", price_minor=150, stock=5, sku="MILK1")
    await cashier.send("/pin MILK1")
    assert cashier.text == "That needs the manager role; yours is cashier."
    await manager.send("/pin NOPE")
    assert manager.text == "No product with SKU, barcode, id or name “NOPE”."
    await manager.send("/pin " + "x" * 300)
    assert "No product has so long a name" in manager.text


async def test_a_quick_tap_on_a_product_gone_out_of_stock_is_refused(cashier, manager, session_factory):
    await product(session_factory, name="Milk", price_minor=150, stock=1, sku="MILK1")
    await manager.send("/pin MILK1")
    await cashier.send("/quick")
    await cashier.tap("Milk $1.50")
    answer = await cashier.tap("Milk $1.50")
    assert answer["show_alert"] and "Only 1 of “Milk” in stock." == answer["text"]
    assert quantities(await cart_of(session_factory, CASHIER_ID)) == {"Milk": 1}
    answer = await cashier.press("quick:add:999999")
    assert answer["show_alert"] and "No product #999999" in answer["text"]


# --- inline mode -----------------------------------------------------------------------------------
async def test_inline_query_from_staff_lists_products_with_price_and_stock(cashier, session_factory):
    await product(session_factory, name="Whole milk", price_minor=150, stock=9, sku="MILK1")
    await product(session_factory, name="Oat milk", price_minor=290, stock=0, sku="OAT")
    answer = await cashier.inline("milk")
    assert answer["cache_time"] == 0 and answer["is_personal"] is True
    titles = [r["title"] for r in answer["results"]]
    assert titles == ["Oat milk — $2.90", "Whole milk — $1.50"]
    assert [r["description"] for r in answer["results"]] == ["out of stock · SKU OAT", "9 in stock · SKU MILK1"]
    assert answer["results"][1]["input_message_content"]["message_text"] == "<b>Whole milk</b>: $1.50 (9 in stock)"


async def test_inline_query_from_a_stranger_gets_nothing(stranger, session_factory):
    await product(session_factory, name="Whole milk", price_minor=150, stock=9)
    answer = await stranger.inline("milk")
    assert answer["results"] == [] and answer["cache_time"] == 0


async def test_inline_query_bad_values_answer_an_empty_list(cashier, session_factory):
    await product(session_factory, name="Whole milk", price_minor=150, stock=9)
    for query in ("", "   ", "0", "x" * 256, "<b>"):
        answer = await cashier.inline(query)
        assert answer["results"] == [], query


# --- manager commands by name ----------------------------------------------------------------------
async def test_price_restock_adjust_archive_take_a_name_with_spaces(manager, session_factory):
    milk = await product(session_factory, name="Whole milk", price_minor=150, stock=5, sku="MILK1")
    await product(session_factory, name="Baguette", price_minor=200, stock=5, barcode="4006381333931")
    await manager.send("/price Baguette 2.30")
    assert "$2.00 → $2.30" in manager.text
    await manager.send("/price whole MILK 1.90")
    assert "Whole milk (MILK1): $1.50 → $1.90" in manager.text
    await manager.send("/price 4006381333931 2.40")
    assert "$2.30 → $2.40" in manager.text
    await manager.send(f"/price #{milk.id} 1.95")
    assert "$1.90 → $1.95" in manager.text
    await manager.send("/restock Whole milk 5 weekly delivery")
    assert "+5 → stock 10" in manager.text
    await manager.send("/adjust Whole milk -2 broken bottles")
    assert "by -2 (broken bottles) → stock 8" in manager.text
    await manager.send("/archive Whole milk")
    assert "is archived" in manager.text
    await manager.send("/unarchive whole milk")
    assert "is back on sale" in manager.text


async def test_a_name_two_products_share_or_no_product_is_refused(manager, session_factory):
    await product(session_factory, name="Cola", price_minor=150, stock=5, sku="COLA1")
    await product(session_factory, name="cola", price_minor=150, stock=5, sku="COLA2")
    await manager.send("/price Cola 2.00")
    assert manager.text == "Several products are named “Cola” (COLA1, COLA2…): give the SKU instead."
    await manager.send("/price Colaa 2.00")
    assert manager.text == "No product with SKU, barcode, id or name “Colaa”."
    await manager.send("/price COLA1 abc")
    assert "is not an amount" in manager.text
    await manager.send("/restock Cola")
    assert "Usage: /restock" in manager.text
