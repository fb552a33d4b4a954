"""The catalog and stock commands of the manager: /add, /edit, /price, /restock, /adjust,
/archive, /unarchive, /stock and /lowstock."""

from __future__ import annotations

import pytest

from db import catalog as catalog_db
from db.errors import NotFound
from db.models import MovementReason
from tests.chat.conftest import MANAGER_ID
from tests.chat.office_helpers import audit_actions, count_products, fetch, movements, product, snapshot


# --- /add in one line ----------------------------------------------------------------------------
async def test_add_in_one_line_shows_the_card_and_records_initial_stock(manager, session_factory):
    await manager.send("/add Oat milk 1l | 1,50 | 24 | Dairy | OAT-1")
    assert "Added." in manager.text
    assert "Oat milk 1l" in manager.text and "OAT-1" in manager.text
    assert "$1.50" in manager.text and "Stock: 24" in manager.text and "Category: Dairy" in manager.text
    assert manager.buttons == ["Name", "Price", "Category", "SKU", "Low-stock threshold", "Barcode"]

    saved = await fetch(session_factory, "OAT-1")
    assert (saved.name, saved.price_minor, saved.stock, saved.category.name) == ("Oat milk 1l", 150, 24, "Dairy")
    [initial] = await movements(session_factory, saved.id)
    assert initial.quantity == 24 and initial.reason is MovementReason.INITIAL
    assert (await audit_actions(session_factory))[-1].action == "product_add"
    assert (await audit_actions(session_factory))[-1].actor_telegram_id == MANAGER_ID


async def test_add_without_category_and_sku_gets_an_automatic_sku(manager, session_factory):
    await manager.send("/add Bread | 12 | 0")
    assert "Added." in manager.text and "$12.00" in manager.text and "Category: —" in manager.text
    assert await count_products(session_factory) == 1


@pytest.mark.parametrize("price", ["1.505", "-1", "1,500", "abc", "1.5.0"])
async def test_add_refuses_a_bad_price_with_the_accepted_forms(manager, session_factory, price):
    await manager.send(f"/add Tea | {price} | 5")
    assert "is not an amount" in manager.text or "too large" in manager.text
    assert "1.55 or 1,55" in manager.text  # the accepted forms for USD
    assert "Usage: /add" in manager.text
    assert await count_products(session_factory) == 0


async def test_add_with_too_few_parts_shows_the_usage(manager, session_factory):
    await manager.send("/add Tea 1.50 5")
    assert "Usage: /add <name> | <price> | <stock> [| <category> [| <sku> [| <barcode>]]]" in manager.text
    await manager.send("/add Tea | 1.50 | -2")
    assert "not the stock" in manager.text
    assert await count_products(session_factory) == 0


async def test_add_refuses_a_duplicate_sku(manager, session_factory):
    await product(session_factory, name="Green tea", sku="TEA-1")
    await manager.send("/add Black tea | 2 | 5 | Tea | tea-1")
    assert "already used" in manager.text and "Green tea" in manager.text
    assert await count_products(session_factory) == 1


async def test_cashier_cannot_add_and_nothing_changes(cashier, session_factory):
    before = await snapshot(session_factory)
    await cashier.send("/add Tea | 1.50 | 5")
    assert "needs the manager role" in cashier.text
    await cashier.send("/add")
    assert "needs the manager role" in cashier.text
    await cashier.send("Tea")  # not swallowed by a dialog: nothing was started
    assert await snapshot(session_factory) == before


# --- /add step by step ---------------------------------------------------------------------------
async def test_add_dialog_step_by_step_with_bad_input_at_each_step(manager, session_factory):
    await product(session_factory, name="Yoghurt", category="Dairy")
    await manager.send("/add")
    assert "name" in manager.text
    await manager.send("Goat cheese")
    assert "Price" in manager.text
    await manager.send("1,505")
    assert "is not an amount" in manager.text and "price" in manager.text  # same step again
    await manager.send("4,20")
    assert "stock" in manager.text
    await manager.send("lots")
    assert "whole number" in manager.text
    await manager.send("8")
    assert "Category" in manager.text
    assert manager.buttons == ["Dairy", "Skip (no category)"]
    await manager.tap("Dairy")
    assert "SKU" in manager.text
    await manager.send("bad sku!")
    assert "is not a SKU" in manager.text
    await manager.send("GOAT-1")
    assert "Add this product?" in manager.text
    assert "Goat cheese" in manager.text and "$4.20" in manager.text and "Category: Dairy" in manager.text
    await manager.send("yes")
    assert "Tap Add product" in manager.text
    await manager.tap("✅ Add product")
    assert "Goat cheese" in manager.text and "Stock: 8" in manager.text
    saved = await fetch(session_factory, "GOAT-1")
    assert (saved.price_minor, saved.stock, saved.category.name) == (420, 8, "Dairy")


async def test_add_dialog_skips_and_refuses_a_taken_sku_in_place(manager, session_factory):
    await product(session_factory, name="Green tea", sku="TEA-1")
    await manager.send("/add")
    await manager.send("Honey")
    await manager.send("6")
    await manager.send("3")
    await manager.tap("Skip (no category)")
    await manager.send("tea-1")
    assert "already used by Green tea" in manager.text
    await manager.tap("Skip (automatic SKU)")
    assert "SKU: automatic" in manager.text
    await manager.tap("✅ Add product")
    assert "Honey" in manager.text and "Category: —" in manager.text
    assert await count_products(session_factory) == 2


async def test_add_dialog_cancel_adds_nothing(manager, session_factory):
    await manager.send("/add")
    await manager.send("Honey")
    await manager.send("/cancel")
    assert "no product was added" in manager.text
    await manager.send("/cancel")
    assert "nothing to cancel" in manager.text.lower()
    assert await count_products(session_factory) == 0


async def test_stale_add_button_after_the_dialog_is_refused(manager, session_factory):
    await manager.send("/add")
    await manager.send("Honey")
    await manager.send("6")
    await manager.send("3")
    await manager.tap("Skip (no category)")
    await manager.tap("Skip (automatic SKU)")
    confirm = manager.last_reply
    await manager.tap("✅ Add product")
    answer = await manager.press("add:save", message=confirm)
    assert answer["show_alert"] is True
    assert await count_products(session_factory) == 1


# --- /edit ---------------------------------------------------------------------------------------
async def test_edit_each_field_by_button_then_typed_value(manager, session_factory):
    item = await product(session_factory, name="Milk", sku="MILK-1", price_minor=100, stock=10)
    await manager.send("/edit milk-1")
    assert "Milk" in manager.text and "What to change?" in manager.text
    await manager.tap("Price")
    assert "new price of Milk" in manager.text
    await manager.send("1.2.3")
    assert "is not an amount" in manager.text  # stays in the step
    await manager.send("1.25")
    assert "Saved." in manager.text and "$1.25" in manager.text
    await manager.tap("Category")
    await manager.send("Dairy")
    assert "Category: Dairy" in manager.text
    await manager.tap("Low-stock threshold")
    await manager.send("7")
    assert "Low-stock threshold: 7" in manager.text
    await manager.tap("Name")
    await manager.send("Whole milk")
    await manager.tap("SKU")
    await manager.send("MILK-2")
    assert "MILK-2" in manager.text
    saved = await fetch(session_factory, "MILK-2")
    assert saved.id == item.id
    assert (saved.name, saved.price_minor, saved.category.name, saved.low_stock_threshold) == (
        "Whole milk",
        125,
        "Dairy",
        7,
    )
    await manager.send(f"/edit {item.id}")  # by id too
    await manager.tap("Low-stock threshold")
    await manager.send("-")
    assert "(store default)" in manager.text
    assert (await fetch(session_factory, "MILK-2")).low_stock_threshold is None
    assert [e.action for e in await audit_actions(session_factory)].count("product_edit") == 6


async def test_edit_refuses_a_taken_sku_and_cancel_keeps_the_product(manager, session_factory):
    await product(session_factory, name="Milk", sku="MILK-1")
    await product(session_factory, name="Cream", sku="CREAM-1")
    await manager.send("/edit CREAM-1")
    await manager.tap("SKU")
    await manager.send("milk-1")
    assert "already used" in manager.text and "Send another value" in manager.text
    await manager.send("/cancel")
    assert "Nothing changed." in manager.text
    assert (await fetch(session_factory, "CREAM-1")).name == "Cream"


async def test_another_command_while_a_dialog_waits_does_not_feed_it(manager, session_factory):
    """A command in the middle of /edit or /add holds the dialog (as the checkout does): the next
    text is still the answer it waits for, never a search typed after a command that ran."""
    await product(session_factory, name="Milk", sku="MILK-1", stock=10)
    await manager.send("/edit MILK-1")
    await manager.tap("Name")
    before = await snapshot(session_factory)
    await manager.send("/stock")
    assert "You are changing a product" in manager.text and "/cancel" in manager.text
    assert await snapshot(session_factory) == before
    await manager.send("/cancel")
    assert "Nothing changed." in manager.text
    await manager.send("Yoghurt")  # a search now, not the name of Milk
    assert (await fetch(session_factory, "MILK-1")).name == "Milk"

    await manager.send("/add")
    await manager.send("Honey")
    await manager.send("/lowstock")
    assert "You are adding a product" in manager.text and "/cancel" in manager.text
    await manager.send("6")  # still the price step
    assert "stock" in manager.text
    await manager.send("/cancel")
    assert await count_products(session_factory) == 1


async def test_a_dialog_started_over_edit_or_add_ends_them_instead_of_feeding_them(manager, session_factory):
    """/checkout and /newcustomer can start while /edit or /add waits (they come first in the
    handler order); when they end, the text typed next must not become the product's name."""
    await product(session_factory, name="Milk", sku="MILK-1", stock=10)
    await manager.send("/edit MILK-1")
    await manager.tap("Name")
    await manager.send("/newcustomer")
    assert "New customer" in manager.text
    await manager.send("/cancel")
    await manager.send("Yoghurt")
    assert "interrupted by another dialog" in manager.text
    assert (await fetch(session_factory, "MILK-1")).name == "Milk"

    await manager.send("/add")
    await manager.send("Honey")
    await manager.send("4.50")
    await manager.send("/newcustomer")
    await manager.send("/cancel")
    await manager.send("7")  # the /add dialog's stock step, taken after the other dialog
    await manager.send("skip")  # no category
    await manager.send("skip")  # an automatic SKU
    assert "SKU: automatic" in manager.text and "Category: —" in manager.text
    answer = await manager.tap("Add product")
    assert "interrupted" in answer["text"]
    assert await count_products(session_factory) == 1


async def test_typing_skip_in_the_add_dialog_skips(manager, session_factory):
    await manager.send("/add")
    for text in ("Honey", "4.50", "7", "skip", "SKIP"):
        await manager.send(text)
    assert "SKU: automatic" in manager.text and "Category: —" in manager.text
    await manager.tap("Add product")
    async with session_factory() as session:
        (honey,) = (await catalog_db.search_products(session, text="Honey")).items
    assert honey.category_id is None and honey.sku.startswith("P")


async def test_edit_usage_unknown_and_forged_buttons(manager, cashier, session_factory):
    await manager.send("/edit")
    assert "Usage: /edit <sku, barcode, id or name>" in manager.text
    await manager.send("/edit NOPE")
    assert "No product with SKU" in manager.text
    answer = await manager.press("edit:f:999999:2")
    assert answer["show_alert"] and "No product" in answer["text"]
    answer = await manager.press("edit:f:1:9")
    assert answer["show_alert"] and "no longer valid" in answer["text"]
    item = await product(session_factory, name="Milk", sku="MILK-1")
    await cashier.send("/help")
    answer = await cashier.press(f"edit:f:{item.id}:2")
    assert answer["show_alert"] and "manager role" in answer["text"]
    await cashier.send("9.99")  # no dialog was opened for the cashier
    assert (await fetch(session_factory, "MILK-1")).price_minor == item.price_minor


# --- /price, /restock, /adjust, /archive ---------------------------------------------------------
async def test_price(manager, session_factory):
    await product(session_factory, name="Milk", sku="MILK-1", price_minor=100)
    await manager.send("/price MILK-1 1,10")
    assert "$1.00 → $1.10" in manager.text
    assert (await fetch(session_factory, "MILK-1")).price_minor == 110
    await manager.send("/price MILK-1 1.101")
    assert "is not an amount" in manager.text
    await manager.send("/price NOPE 2")
    assert "No product with SKU" in manager.text
    await manager.send("/price MILK-1")
    assert "Usage: /price <sku, barcode, id or name> <price>" in manager.text
    assert (await fetch(session_factory, "MILK-1")).price_minor == 110
    assert [e.action for e in await audit_actions(session_factory)].count("price") == 1


async def test_restock_records_a_movement_with_who_and_note(manager, session_factory):
    item = await product(session_factory, name="Milk", sku="MILK-1", stock=2)
    await manager.send("/restock MILK-1 10 delivery 4411")
    assert "+10 → stock 12" in manager.text
    last = (await movements(session_factory, item.id))[-1]
    assert (last.quantity, last.reason, last.note) == (10, MovementReason.RESTOCK, "delivery 4411")
    assert last.staff_id is not None
    for bad in ("/restock MILK-1 0", "/restock MILK-1 -3", "/restock MILK-1 ten"):
        await manager.send(bad)
        assert "Usage: /restock <sku, barcode, id or name> <qty> [note]" in manager.text
    await manager.send("/restock MILK-1")
    assert "Usage: /restock" in manager.text
    await manager.send("/restock NOPE 3")
    assert "No product with SKU" in manager.text
    assert (await fetch(session_factory, "MILK-1")).stock == 12
    [restocked] = [e for e in await audit_actions(session_factory) if e.action == "restock"]
    assert restocked.actor_telegram_id == MANAGER_ID and "delivery 4411" in restocked.details


async def test_adjust_needs_a_reason_and_never_goes_below_zero(manager, session_factory):
    item = await product(session_factory, name="Eggs", sku="EGG-6", stock=5)
    await manager.send("/adjust EGG-6 -2")
    assert (
        "A reason is required" in manager.text
        and "Usage: /adjust <sku, barcode, id or name> <±qty> <reason>" in manager.text
    )
    await manager.send("/adjust EGG-6 -6 broken")
    assert "cannot take away 6" in manager.text
    await manager.send("/adjust EGG-6 0 recount")
    assert "must not be zero" in manager.text
    await manager.send("/adjust EGG-6 -2 dropped a box")
    assert "by -2 (dropped a box) → stock 3" in manager.text
    await manager.send("/adjust EGG-6 +4 found in the back")
    assert "by +4" in manager.text and "stock 7" in manager.text
    moves = await movements(session_factory, item.id)
    assert [(m.quantity, m.reason, m.note) for m in moves[1:]] == [
        (-2, MovementReason.ADJUSTMENT, "dropped a box"),
        (4, MovementReason.ADJUSTMENT, "found in the back"),
    ]
    assert (await fetch(session_factory, "EGG-6")).stock == 7
    adjusted = [e for e in await audit_actions(session_factory) if e.action == "adjust"]
    assert [e.actor_telegram_id for e in adjusted] == [MANAGER_ID, MANAGER_ID]
    assert "dropped a box" in adjusted[0].details


async def test_archive_and_unarchive(manager, session_factory):
    await product(session_factory, name="Milk", sku="MILK-1")
    await manager.send("/archive MILK-1")
    assert "is archived" in manager.text
    assert (await fetch(session_factory, "MILK-1")).archived
    await manager.send("/archive MILK-1")
    assert "already archived" in manager.text
    await manager.send("/unarchive milk-1")
    assert "back on sale" in manager.text
    assert not (await fetch(session_factory, "MILK-1")).archived
    await manager.send("/archive")
    assert "Usage: /archive <sku, barcode, id or name>" in manager.text
    await manager.send("/unarchive NOPE")
    assert "No product with SKU" in manager.text
    assert [e.action for e in await audit_actions(session_factory)][-2:] == ["archive", "unarchive"]


async def test_cashier_cannot_change_stock_or_prices(cashier, session_factory):
    await product(session_factory, name="Milk", sku="MILK-1", stock=5)
    before = await snapshot(session_factory)
    for command in (
        "/price MILK-1 9",
        "/restock MILK-1 5",
        "/adjust MILK-1 -1 x",
        "/archive MILK-1",
        "/edit MILK-1",
        "/stock",
        "/lowstock",
    ):
        await cashier.send(command)
        assert "needs the manager role" in cashier.text, command
    assert await snapshot(session_factory) == before


# --- /stock and /lowstock ------------------------------------------------------------------------
async def test_stock_is_paged_and_marks_low_items(manager, session_factory):
    for i in range(20):
        await product(session_factory, name=f"Item {i:02d}", sku=f"IT-{i:02d}", stock=i)
    await manager.send("/stock")
    assert "20 products on sale" in manager.text
    assert "⚠️ Item 00 (IT-00): 0" in manager.text and "⚠️ Item 03 (IT-03): 3" in manager.text
    assert "⚠️ Item 04" not in manager.text and "Item 04 (IT-04): 4" in manager.text
    assert "Item 16" not in manager.text
    assert manager.buttons == ["1/2", "›"]
    page_one = manager.last_reply
    await manager.tap("›")
    assert manager.last_reply.message_id == page_one.message_id  # edited in place
    assert "Item 16" in manager.text and "Item 00" not in manager.text
    assert manager.buttons == ["‹", "2/2"]
    answer = await manager.press("stock:page:abc")
    assert answer["show_alert"]


async def test_lowstock_lists_items_at_or_below_their_threshold(manager, session_factory):
    await manager.send("/lowstock")
    assert "Nothing is running low" in manager.text
    await product(session_factory, name="Milk", sku="MILK-1", stock=3)  # store default 3
    await product(session_factory, name="Eggs", sku="EGG-1", stock=8, low_stock_threshold=10)
    await product(session_factory, name="Salt", sku="SALT-1", stock=50)
    archived = await product(session_factory, name="Old", sku="OLD-1", stock=0)
    await manager.send(f"/archive {archived.sku}")
    await manager.send("/lowstock")
    assert "Running low: 2" in manager.text
    assert "Milk (MILK-1): 3" in manager.text and "Eggs (EGG-1): 8" in manager.text
    assert "Salt" not in manager.text and "Old" not in manager.text


async def test_unknown_product_lookup_by_number_falls_back_to_id(manager, session_factory):
    item = await product(session_factory, name="Milk", sku="MILK-1", stock=3)
    await manager.send(f"/restock {item.id} 1")
    assert "stock 4" in manager.text
    await manager.send("/restock 424242 1")
    assert "No product with SKU, barcode, id or name" in manager.text
    with pytest.raises(NotFound):
        await fetch(session_factory, "424242")
