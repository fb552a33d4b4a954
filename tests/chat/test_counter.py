"""The fast counter: codes add at once with Undo, quantities in text, a number right after a card
or a cart line, digits-only search, ‹ Back to results, barcode photos."""

from __future__ import annotations

import pytest

from tests.chat.barcode_images import barcode_photo
from tests.chat.conftest import CASHIER_ID
from tests.chat.counter_helpers import cart_of, fill, product


def quantities(view) -> dict[str, int]:
    return {line.name: line.quantity for line in view.lines}


# --- a code adds at once ---------------------------------------------------------------------------
async def test_an_exact_code_adds_one_at_once_with_the_line_marked_and_undo(cashier, session_factory):
    await product(session_factory, name="Whole milk", price_minor=150, stock=10, sku="MILK1", barcode="4006381333931")
    await cashier.send("4006381333931")
    assert "1. Whole milk ← +1" in cashier.text and "Total: $1.50 (1 item)" in cashier.text
    assert cashier.buttons[0] == "↩ Undo +1 Whole milk" and "Checkout" in cashier.buttons
    await cashier.send("milk1")  # the SKU, in another case: the same product, one more
    assert "1 × " not in cashier.text and "2 × $1.50 = $3.00" in cashier.text
    assert quantities(await cart_of(session_factory, CASHIER_ID)) == {"Whole milk": 2}


async def test_undo_takes_the_add_back_and_an_older_undo_changes_nothing(cashier, session_factory):
    await product(session_factory, name="Whole milk", price_minor=150, stock=10, sku="MILK1")
    await product(session_factory, name="Rye bread", price_minor=320, stock=5, sku="RYE")
    await cashier.send("MILK1")
    first = cashier.last_reply
    await cashier.send("RYE")
    answer = await cashier.tap("↩ Undo", message=first)  # the cart changed since that screen
    assert answer["show_alert"] and "changed" in answer["text"]
    assert quantities(await cart_of(session_factory, CASHIER_ID)) == {"Whole milk": 1, "Rye bread": 1}
    answer = await cashier.tap("↩ Undo")
    assert answer["text"] == "Undone: −1 × Rye bread."
    assert "Rye bread" not in cashier.text
    assert quantities(await cart_of(session_factory, CASHIER_ID)) == {"Whole milk": 1}


async def test_forged_undo_payloads_change_nothing(cashier, session_factory):
    await product(session_factory, name="Whole milk", price_minor=150, stock=10, sku="MILK1")
    await cashier.send("MILK1")
    view = await cart_of(session_factory, CASHIER_ID)
    line = view.lines[0]
    for data in (
        f"cart:undo:{view.cart_id}:{line.product_id}:5:{view.version}",  # more than is there
        f"cart:undo:{view.cart_id}:{line.product_id}:0:{view.version}",
        f"cart:undo:{view.cart_id + 1}:{line.product_id}:1:{view.version}",  # another chat's cart
        "cart:undo:x:1:1:1",
    ):
        answer = await cashier.press(data)
        assert answer["show_alert"], data
    assert quantities(await cart_of(session_factory, CASHIER_ID)) == {"Whole milk": 1}


async def test_a_code_out_of_stock_or_archived_is_refused_and_nothing_added(cashier, manager, session_factory):
    await product(session_factory, name="Empty", price_minor=150, stock=0, sku="EMPTY")
    await product(session_factory, name="Old", price_minor=150, stock=4, sku="OLD")
    await manager.send("/archive OLD")
    await cashier.send("EMPTY")
    assert "out of stock" in cashier.text
    await cashier.send("OLD")
    assert "no longer for sale" in cashier.text
    assert (await cart_of(session_factory, CASHIER_ID)).is_empty


# --- names and quantities --------------------------------------------------------------------------
async def test_one_name_match_opens_its_card_and_a_number_typed_next_sets_its_quantity(cashier, session_factory):
    await product(session_factory, name="Whole milk", price_minor=150, stock=20)
    await cashier.send("whole")
    assert cashier.text.startswith("📦 Whole milk") and "Add 1 to cart" in cashier.buttons
    await cashier.send("12")
    assert cashier.text.startswith("📦 Whole milk") and "Add 12 to cart" in cashier.buttons
    await cashier.tap("Add 12 to cart")
    assert "12 × $1.50 = $18.00" in cashier.text and "Whole milk ← +12" in cashier.text
    assert quantities(await cart_of(session_factory, CASHIER_ID)) == {"Whole milk": 12}


@pytest.mark.parametrize("typed", ["3 milk", "3x milk", "3 x milk", "milk x3", "milk x 3", "milk*3", "3*milk"])
async def test_a_quantity_with_a_single_match_adds_that_many_at_once(cashier, session_factory, typed):
    await product(session_factory, name="Whole milk", price_minor=150, stock=20)
    await cashier.send(typed)
    assert "Whole milk ← +3" in cashier.text and "3 × $1.50 = $4.50" in cashier.text
    assert cashier.buttons[0] == "↩ Undo +3 Whole milk"
    assert quantities(await cart_of(session_factory, CASHIER_ID)) == {"Whole milk": 3}


async def test_a_quantity_with_several_matches_lists_them_and_a_tap_adds_that_many(cashier, session_factory):
    await product(session_factory, name="Rye bread", price_minor=320, stock=5)
    await product(session_factory, name="White bread", price_minor=250, stock=5)
    await cashier.send("2 bread")
    assert "“bread”: 2 products. Tap one to add 2." in cashier.text
    await cashier.tap("^\\+2 White bread")
    assert "White bread ← +2" in cashier.text
    assert quantities(await cart_of(session_factory, CASHIER_ID)) == {"White bread": 2}


async def test_a_name_that_starts_with_a_number_is_still_found(cashier, session_factory):
    await product(session_factory, name="7 Up", price_minor=120, stock=5)
    await product(session_factory, name="Box3 crackers", price_minor=120, stock=5)
    await cashier.send("7 Up")  # no product "Up": the whole text is the name
    assert cashier.text.startswith("📦 7 Up")
    await cashier.send("box3")  # no quantity in "box3"
    assert cashier.text.startswith("📦 Box3 crackers")


@pytest.mark.parametrize("typed", ["0 milk", "milk x0", "0x milk"])
async def test_a_zero_quantity_is_refused(cashier, session_factory, typed):
    await product(session_factory, name="Whole milk", price_minor=150, stock=20)
    await cashier.send(typed)
    assert "a quantity is a whole number from 1 to 9999" in cashier.text
    assert (await cart_of(session_factory, CASHIER_ID)).is_empty


async def test_more_than_the_stock_in_text_is_refused(cashier, session_factory):
    await product(session_factory, name="Whole milk", price_minor=150, stock=4)
    await cashier.send("5 milk")
    assert "Only 4 of “Whole milk” in stock." in cashier.text
    assert (await cart_of(session_factory, CASHIER_ID)).is_empty


@pytest.mark.parametrize("typed", ["0", "-2", "1.5", "2,0", "+3"])
async def test_a_bad_number_after_a_card_is_refused_and_the_card_still_waits(cashier, session_factory, typed):
    await product(session_factory, name="Whole milk", price_minor=150, stock=20)
    await cashier.send("milk")
    await cashier.send(typed)
    assert "is not a quantity: type a whole number from 1 to 9999" in cashier.text
    await cashier.send("4")
    assert "Add 4 to cart" in cashier.buttons
    assert (await cart_of(session_factory, CASHIER_ID)).is_empty


async def test_a_number_beyond_the_stock_after_a_card_is_refused(cashier, session_factory):
    await product(session_factory, name="Whole milk", price_minor=150, stock=5)
    await cashier.send("milk")
    await cashier.send("6")
    assert cashier.text == "Only 5 in stock."
    await cashier.send("5")
    assert "Add 5 to cart" in cashier.buttons


async def test_a_number_only_counts_right_after_the_card(cashier, session_factory):
    await product(session_factory, name="Whole milk", price_minor=150, stock=20, sku="1234")
    await cashier.send("milk")
    await cashier.send("/cart")
    await cashier.send("1234")  # not the card's quantity any more: the product's code
    assert "Whole milk ← +1" in cashier.text
    assert quantities(await cart_of(session_factory, CASHIER_ID)) == {"Whole milk": 1}


async def test_a_number_right_after_a_code_sets_that_line(cashier, session_factory):
    await product(session_factory, name="Whole milk", price_minor=150, stock=20, barcode="4006381333931")
    await cashier.send("4006381333931")
    await cashier.send("12")
    assert "12 × $1.50 = $18.00" in cashier.text
    await cashier.send("11")  # still that line
    assert quantities(await cart_of(session_factory, CASHIER_ID)) == {"Whole milk": 11}
    await cashier.send("25")
    assert "Only 20 of “Whole milk” in stock." in cashier.text
    assert quantities(await cart_of(session_factory, CASHIER_ID)) == {"Whole milk": 11}


# --- a line's quantity in the cart -----------------------------------------------------------------
async def test_tapping_a_lines_quantity_asks_for_a_number(cashier, session_factory):
    milk = await product(session_factory, name="Milk", price_minor=150, stock=9)
    jam = await product(session_factory, name="Jam", price_minor=425, stock=9)
    await fill(session_factory, CASHIER_ID, (milk, 2), (jam, 1))
    await cashier.send("/cart")
    await cashier.tap("Milk ×2")
    assert cashier.text == "How many Milk? Now 2. Type a number (0 removes the line)."
    await cashier.send("7")
    assert "7 × $1.50 = $10.50" in cashier.text and "Total: $14.75 (8 items)" in cashier.text
    await cashier.tap("Jam ×1")
    await cashier.send("0")
    assert "Line removed." in cashier.text and "Jam" not in cashier.text
    assert quantities(await cart_of(session_factory, CASHIER_ID)) == {"Milk": 7}


@pytest.mark.parametrize("typed", ["-1", "2.5"])
async def test_a_bad_line_quantity_is_refused(cashier, session_factory, typed):
    milk = await product(session_factory, name="Milk", price_minor=150, stock=9)
    await fill(session_factory, CASHIER_ID, (milk, 2))
    await cashier.send("/cart")
    await cashier.tap("Milk ×2")
    await cashier.send(typed)
    assert "is not a quantity: type a whole number from 0 (remove) to 9999" in cashier.text
    await cashier.send("10")
    assert "Only 9 of “Milk” in stock." in cashier.text
    assert quantities(await cart_of(session_factory, CASHIER_ID)) == {"Milk": 2}


async def test_a_line_removed_meanwhile_is_not_put_back_by_its_number(cashier, session_factory):
    milk = await product(session_factory, name="Milk", price_minor=150, stock=9)
    await fill(session_factory, CASHIER_ID, (milk, 2))
    await cashier.send("/cart")
    await cashier.tap("Milk ×2")
    async with session_factory() as session, session.begin():
        from db import carts

        await carts.clear_cart(session, chat_id=CASHIER_ID)
    await cashier.send("3")
    assert "no longer in the cart" in cashier.text
    assert (await cart_of(session_factory, CASHIER_ID)).is_empty


# --- search ----------------------------------------------------------------------------------------
async def test_digits_only_search_matches_codes_from_their_start_and_needs_four_digits(cashier, session_factory):
    await product(session_factory, name="Milk 2000", price_minor=150, stock=9, barcode="4006381333931")
    await product(session_factory, name="Jam", price_minor=150, stock=9, barcode="4006000000017")
    await product(session_factory, name="Tea", price_minor=150, stock=9, barcode="1400600000000")
    await cashier.send("0")
    assert cashier.text == "Type at least 4 digits to search by code, or a word of the product's name."
    await cashier.send("200")
    assert "at least 4 digits" in cashier.text  # not the name "Milk 2000"
    await cashier.send("4006")
    assert "“4006”: 2 products" in cashier.text and not any("Tea" in b for b in cashier.buttons)
    await cashier.send("2000")  # digits match codes only, never names
    assert "Nothing matches “2000”" in cashier.text


async def test_a_card_from_results_goes_back_to_them(cashier, session_factory):
    for name in ("Rye bread", "White bread", "Corn bread"):
        await product(session_factory, name=name, price_minor=300, stock=5)
    await cashier.send("bread")
    results = cashier.text
    await cashier.tap("^White bread")
    await cashier.tap("+")  # stepping keeps the way back
    assert "Add 2 to cart" in cashier.buttons and "‹ Back to results" in cashier.buttons
    await cashier.tap("‹ Back to results")
    assert cashier.text == results
    answer = await cashier.press("cat:sp:999:1")
    assert "no longer open" in answer["text"]


# --- barcode photos --------------------------------------------------------------------------------
PHOTO_CODES = [
    ("EAN-13", "4006381333931", "4006381333931"),
    ("EAN-8", "96385074", "96385074"),
    ("UPC-A", "036000291452", "036000291452"),
    ("UPC-E", "01234565", "01234565"),
    ("Code 128", "MILK-1", "MILK-1"),
    ("QR", "MILK-1", "MILK-1"),
]


@pytest.mark.parametrize(("kind", "content", "stored"), PHOTO_CODES, ids=[k for k, _, _ in PHOTO_CODES])
async def test_a_photo_of_a_barcode_adds_the_product(cashier, session_factory, kind, content, stored):
    await product(session_factory, name="Whole milk", price_minor=150, stock=10, barcode=stored)
    await cashier.send_photo(barcode_photo(content, kind))
    assert "Whole milk ← +1" in cashier.text
    assert quantities(await cart_of(session_factory, CASHIER_ID)) == {"Whole milk": 1}


@pytest.mark.parametrize(("turn", "shrink"), [(90, 1), (180, 1), (35, 1), (0, 0.5), (15, 0.6)])
async def test_a_turned_or_small_barcode_photo_is_read(cashier, session_factory, turn, shrink):
    await product(session_factory, name="Whole milk", price_minor=150, stock=10, barcode="4006381333931")
    await cashier.send_photo(barcode_photo("4006381333931", "EAN-13", turn=turn, shrink=shrink))
    assert "Whole milk ← +1" in cashier.text


async def test_a_photo_sent_as_a_file_with_a_quantity_caption(cashier, session_factory):
    await product(session_factory, name="Whole milk", price_minor=150, stock=10, barcode="4006381333931")
    await cashier.send_photo(barcode_photo("4006381333931", "EAN-13"), caption="3", as_file=True)
    assert "Whole milk ← +3" in cashier.text


async def test_a_blurry_photo_or_no_code_says_what_to_try(cashier, session_factory):
    await product(session_factory, name="Whole milk", price_minor=150, stock=10, barcode="4006381333931")
    await cashier.send_photo(barcode_photo("4006381333931", "EAN-13", blur=8))
    assert "could not read a barcode" in cashier.text and "type the digits" in cashier.text
    await cashier.send_photo(barcode_photo("4006381333931", "EAN-13", shrink=0.12))
    assert "could not read a barcode" in cashier.text
    assert (await cart_of(session_factory, CASHIER_ID)).is_empty


async def test_a_photo_of_an_unknown_code_or_no_picture_at_all(cashier, session_factory):
    await cashier.send_photo(barcode_photo("96385074", "EAN-8"))
    assert "The photo shows 96385074, but no product has that code." in cashier.text
    await cashier.send_photo(b"GIF89a not really a picture", as_file=True)
    assert "not a picture I can read" in cashier.text
    await cashier.send_photo(barcode_photo("96385074", "EAN-8"), caption="lots")
    assert "caption on a barcode photo is the quantity" in cashier.text
    assert (await cart_of(session_factory, CASHIER_ID)).is_empty


async def test_a_strangers_photo_is_refused(stranger, fake):
    await stranger.send_photo(barcode_photo("96385074", "EAN-8"))
    assert "not on its staff list" in stranger.text
    assert not fake.calls_to("getFile")
