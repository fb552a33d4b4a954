"""Finding products: /search, plain text, /browse, paging, the product card and its stepper."""

from __future__ import annotations

from sqlalchemy import insert

from bot.testing.chat import FakeShop
from db import catalog
from db.engine import transaction
from db.models import Product
from tests.chat.conftest import CASHIER_ID, MANAGER_ID
from tests.chat.counter_helpers import cart_of, data_of, fill, product


async def test_search_shows_name_price_stock_buttons(cashier, session_factory):
    await product(session_factory, name="Oat milk", price_minor=249, stock=7, category="Dairy")
    await product(session_factory, name="Milk chocolate", price_minor=199, stock=0)
    await product(session_factory, name="Bread", price_minor=300, stock=3)
    await cashier.send("/search milk")
    assert "“milk”: 2 products" in cashier.text
    assert cashier.buttons == ["Milk chocolate · $1.99 · out", "Oat milk · $2.49 · 7"]


async def test_plain_text_searches_by_category_and_sku_too(cashier, session_factory):
    await product(session_factory, name="Gouda", price_minor=500, stock=2, category="Cheese", sku="GOU-1")
    await product(session_factory, name="Brie", price_minor=400, stock=2, category="Cheese")
    await cashier.send("cheese")
    assert cashier.buttons == ["Brie · $4.00 · 2", "Gouda · $5.00 · 2"]
    await cashier.send("gou")  # one match: its card at once
    assert cashier.text.startswith("📦 Gouda\n") and "Add 1 to cart" in cashier.buttons


async def test_no_match_says_so_and_suggests_browse(cashier, session_factory):
    await product(session_factory, name="Bread")
    await cashier.send("/search caviar")
    assert "Nothing matches “caviar”" in cashier.text and "/browse" in cashier.text
    assert cashier.last_reply.buttons == []


async def test_search_alone_asks_what_to_look_for(cashier):
    await cashier.send("/search")
    assert "What are you looking for?" in cashier.text and "/browse" in cashier.text


async def test_exact_sku_or_barcode_adds_one_at_once(cashier, session_factory):
    await product(session_factory, name="Gouda", price_minor=500, stock=2, sku="GOU-1", barcode="4006381333931")
    await product(session_factory, name="Gouda light (GOU-1 style)", price_minor=450, stock=2)
    await cashier.send("gou-1")
    assert "1. Gouda ← +1" in cashier.text and "Gouda light" not in cashier.text
    await cashier.send("/search 4006381333931")
    assert "1. Gouda ← +1" in cashier.text and "2 × $5.00 = $10.00" in cashier.text


async def test_paging_over_thirty_results(cashier, session_factory):
    for n in range(35):
        await product(session_factory, name=f"Apple {n:02d}", price_minor=100 + n, stock=n % 4)
    await cashier.send("apple")
    results = cashier.last_reply
    assert "35 products" in cashier.text and "Page 1 of 5" in cashier.text
    assert cashier.buttons[:8] == [f"Apple {n:02d} · ${1 + n / 100:.2f} · {n % 4 or 'out'}" for n in range(8)]
    assert cashier.buttons[8:] == ["1/5", "›"]
    seen = list(cashier.buttons[:8])
    for page in range(2, 6):
        await cashier.tap("›")
        assert f"Page {page} of 5" in cashier.text
        assert cashier.last_reply.message_id == results.message_id  # edited in place
        seen += [b for b in cashier.buttons if "·" in b]
    assert len(seen) == 35 and len(set(seen)) == 35
    assert cashier.buttons == ["Apple 32 · $1.32 · out", "Apple 33 · $1.33 · 1", "Apple 34 · $1.34 · 2", "‹", "5/5"]
    await cashier.tap("‹")
    assert "Page 4 of 5" in cashier.text
    await cashier.tap("4/5")  # the page number does nothing, but is answered
    assert "Page 4 of 5" in cashier.text


async def test_a_pager_from_before_a_restart_says_search_again(settings, session_factory, shop):
    for n in range(10):
        await product(session_factory, name=f"Pear {n}")
    cal = shop.client(CASHIER_ID, "Cal")
    await cal.send("pear")
    results = cal.last_reply
    async with FakeShop(settings, session_factory) as restarted:
        again = restarted.client(CASHIER_ID, "Cal")
        answer = await again.press(data_of(results, "›"), message=results)
        assert "search again" in answer["text"]


async def test_plain_text_in_a_group_is_not_a_search(shop, session_factory, fake):
    await product(session_factory, name="Bread")
    group = shop.client(CASHIER_ID, "Cal", chat_id=-100777)
    await group.send("bread")
    assert fake.chat_messages(-100777) == []
    await group.send("/search bread")
    assert group.text.startswith("📦 Bread")


async def test_browse_categories_then_products_in_stock_first(cashier, session_factory):
    await product(session_factory, name="Apple", category="Fruit", stock=0)
    await product(session_factory, name="Banana", category="Fruit", stock=4)
    await product(session_factory, name="Cherry", category="Fruit", stock=9)
    await product(session_factory, name="Carrot", category="Vegetables", stock=1)
    await product(session_factory, name="Unsorted thing")
    await cashier.send("/browse")
    assert cashier.buttons == ["Fruit (3)", "Vegetables (1)"]
    await cashier.tap("Fruit (3)")
    assert "Fruit: 3 products on sale." in cashier.text
    assert cashier.buttons == ["Banana · $2.50 · 4", "Cherry · $2.50 · 9", "Apple · $2.50 · out", "‹ Categories"]
    await cashier.tap("‹ Categories")
    assert cashier.buttons == ["Fruit (3)", "Vegetables (1)"]


async def test_browse_paginates_a_big_category(cashier, session_factory):
    for n in range(20):
        await product(session_factory, name=f"Tea {n:02d}", category="Tea")
    await cashier.send("/browse")
    await cashier.tap("Tea (20)")
    assert "Page 1 of 3" in cashier.text and len([b for b in cashier.buttons if "·" in b]) == 8
    await cashier.tap("›")
    await cashier.tap("›")
    assert "Page 3 of 3" in cashier.text and len([b for b in cashier.buttons if "·" in b]) == 4


async def test_browse_with_no_categories(cashier):
    await cashier.send("/browse")
    assert "No categories" in cashier.text


async def test_card_stepper_and_add_to_cart(cashier, session_factory):
    milk = await product(session_factory, name="Milk", price_minor=150, stock=3, category="Dairy")
    await cashier.send("milk")  # one match: its card at once
    card = cashier.last_reply
    assert card.text.splitlines() == [
        "📦 Milk",
        "Category: Dairy",
        "Price: $1.50",
        "In stock: 3",
        "SKU: P00001",
        "",
        "Type a number to set the quantity.",
    ]
    assert cashier.buttons == ["−", "1", "+", "Add 1 to cart", "Add 1 · check out", "🛒 Cart"]
    await cashier.tap("−")
    assert cashier.last_answer["text"] == "At least 1." and "Add 1 to cart" in cashier.buttons
    await cashier.tap("+")
    await cashier.tap("+")
    assert "Add 3 to cart" in cashier.buttons and cashier.last_reply.message_id == card.message_id
    await cashier.tap("+")  # 4 > 3 in stock
    assert (cashier.last_answer["text"], cashier.last_answer["show_alert"]) == ("Only 3 in stock.", True)
    assert "Add 3 to cart" in cashier.buttons
    await cashier.tap("Add 3 to cart")  # the cart, with the line marked
    view = await cart_of(session_factory, CASHIER_ID)
    assert [(li.product_id, li.quantity) for li in view.lines] == [(milk.id, 3)]
    assert "1. Milk ← +3" in cashier.text
    await cashier.send("milk")
    assert "In the cart: 3" in cashier.text
    # Nothing more fits: the add is refused with the stock shown, the cart unchanged.
    await cashier.tap("Add 1 to cart")
    assert "Only 3" in cashier.last_answer["text"] and cashier.last_answer["show_alert"]
    assert (await cart_of(session_factory, CASHIER_ID)).version == view.version
    await cashier.tap("🛒 Cart")
    assert "3 × $1.50 = $4.50" in cashier.text


async def test_stepper_counts_what_is_already_in_the_cart(cashier, session_factory):
    milk = await product(session_factory, name="Milk", price_minor=150, stock=3)
    await fill(session_factory, CASHIER_ID, (milk, 2))
    await cashier.send("milk")
    await cashier.tap("+")
    assert cashier.last_answer["text"] == "Only 3 in stock (2 already in the cart)."


async def test_out_of_stock_card_offers_no_add(cashier, session_factory):
    await product(session_factory, name="Rare tea", stock=0)
    await cashier.send("rare")
    assert "Out of stock" in cashier.text
    assert cashier.buttons == ["🛒 Cart"]


async def test_archived_product_is_no_longer_on_sale(cashier, session_factory):
    tea = await product(session_factory, name="Old tea", sku="OLD-1", stock=5)
    await cashier.send("old tea")
    card_button = cashier.last_reply
    async with transaction(session_factory) as session:
        await catalog.archive_product(session, product_id=tea.id)
    await cashier.tap("+")  # a card drawn before the archiving
    assert "no longer on sale" in cashier.text and cashier.buttons == ["🛒 Cart"]
    answer = await cashier.press(f"cat:add:{tea.id}:1", message=card_button)
    assert "no longer for sale" in answer["text"]
    assert (await cart_of(session_factory, CASHIER_ID)).is_empty
    await cashier.send("old tea")  # search hides it
    assert "Nothing matches" in cashier.text
    await cashier.send("OLD-1")  # its SKU still finds it, and says it is not for sale
    assert "no longer for sale" in cashier.text
    assert (await cart_of(session_factory, CASHIER_ID)).is_empty


async def test_forged_catalog_payloads_are_refused(cashier, session_factory):
    await cashier.send("/browse")
    for data in ("cat:p:abc:1", "cat:p:999999:1", "cat:add:1", "cat:c:424242:1", "cat:sp:77:2", "cat:add:999999:1"):
        answer = await cashier.press(data)
        assert answer["show_alert"] is True, data
    assert (await cart_of(session_factory, CASHIER_ID)).is_empty


async def test_a_huge_quantity_is_refused(cashier, session_factory):
    tea = await product(session_factory, name="Tea", stock=5)
    await cashier.send("tea")
    answer = await cashier.press(f"cat:add:{tea.id}:100000")
    assert answer["show_alert"] is True
    assert (await cart_of(session_factory, CASHIER_ID)).is_empty


async def test_managers_use_the_counter_too(manager, session_factory):
    await product(session_factory, name="Tea", stock=5)
    await manager.send("/search tea")
    await manager.tap("Add 1 to cart")
    assert (await cart_of(session_factory, MANAGER_ID)).item_count == 1


async def test_a_search_matching_hundreds_says_more_than_500(cashier, session_factory):
    rows = [
        {"sku": f"W{i:04d}", "name": f"Widget {i:04d}", "price_minor": 100, "stock": 1, "archived": False}
        for i in range(catalog.SEARCH_COUNT_CAP + 1)
    ]
    async with transaction(session_factory) as session:
        await session.execute(insert(Product), rows)
    await cashier.send("widget")
    assert "“widget”: more than 500 products" in cashier.text and "Page 1 of 63" in cashier.text
    assert "type more of the name" in cashier.text
    assert cashier.buttons[0] == "Widget 0000 · $1.00 · 1"
