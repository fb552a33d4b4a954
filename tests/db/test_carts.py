"""Carts: one per chat, versioned, refusing what checkout would refuse."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from db import carts, catalog
from db import stock as stock_db
from db.catalog import MAX_QTY
from db.errors import InvalidInput, NotFound
from db.models import Cart
from tests.factories import make_customer, make_product, run

CHAT = 4242


async def test_new_cart_is_empty_at_version_1(session_factory):
    view = await run(session_factory, carts.get_cart_view, chat_id=CHAT)
    assert (view.chat_id, view.version, view.lines, view.total_minor, view.item_count) == (CHAT, 1, [], 0, 0)
    assert view.is_empty and view.customer_id is None
    again = await run(session_factory, carts.get_cart_view, chat_id=CHAT)
    assert again.cart_id == view.cart_id
    other = await run(session_factory, carts.get_cart_view, chat_id=-100123)  # a group chat
    assert other.cart_id != view.cart_id


async def test_add_item_adds_to_the_line_and_bumps_version(session_factory):
    tea = await run(session_factory, make_product, name="Tea", price_minor=199, stock=10, sku="TEA")
    bun = await run(session_factory, make_product, name="Bun", price_minor=75, stock=10)
    view = await run(session_factory, carts.add_item, chat_id=CHAT, product_id=tea.id)
    assert view.version == 2
    view = await run(session_factory, carts.add_item, chat_id=CHAT, product_id=tea.id, qty=2)
    view = await run(session_factory, carts.add_item, chat_id=CHAT, product_id=bun.id, qty=4)
    assert view.version == 4
    [tea_line, bun_line] = view.lines
    assert (tea_line.name, tea_line.sku, tea_line.unit_price_minor, tea_line.quantity) == ("Tea", "TEA", 199, 3)
    assert (tea_line.line_total_minor, tea_line.stock, tea_line.archived, tea_line.sellable) == (597, 10, False, True)
    assert bun_line.line_total_minor == 300
    assert (view.total_minor, view.item_count) == (897, 7)


@pytest.mark.parametrize("qty", [0, -1, 1.5, True, "2", None, MAX_QTY + 1])
async def test_add_item_refuses_bad_quantity(session_factory, qty):
    tea = await run(session_factory, make_product, stock=10)
    with pytest.raises(InvalidInput):
        await run(session_factory, carts.add_item, chat_id=CHAT, product_id=tea.id, qty=qty)
    assert (await run(session_factory, carts.get_cart_view, chat_id=CHAT)).version == 1


async def test_add_item_refuses_more_than_in_stock(session_factory):
    tea = await run(session_factory, make_product, name="Tea", stock=2)
    await run(session_factory, carts.add_item, chat_id=CHAT, product_id=tea.id, qty=2)
    with pytest.raises(InvalidInput, match="Only 2 of “Tea” in stock"):
        await run(session_factory, carts.add_item, chat_id=CHAT, product_id=tea.id)
    empty = await run(session_factory, make_product, name="Air", stock=0)
    with pytest.raises(InvalidInput, match="out of stock"):
        await run(session_factory, carts.add_item, chat_id=CHAT, product_id=empty.id)
    view = await run(session_factory, carts.get_cart_view, chat_id=CHAT)
    assert (view.version, view.item_count) == (2, 2)


async def test_add_item_refuses_more_than_max_qty_in_total(session_factory):
    crate = await run(session_factory, make_product, stock=20_000)
    await run(session_factory, carts.add_item, chat_id=CHAT, product_id=crate.id, qty=MAX_QTY)
    with pytest.raises(InvalidInput, match=f"At most {MAX_QTY}"):
        await run(session_factory, carts.add_item, chat_id=CHAT, product_id=crate.id)


async def test_add_item_refuses_archived_and_unknown_products(session_factory):
    old = await run(session_factory, make_product, name="Old", stock=5)
    await run(session_factory, catalog.archive_product, product_id=old.id)
    with pytest.raises(InvalidInput, match="archived"):
        await run(session_factory, carts.add_item, chat_id=CHAT, product_id=old.id)
    with pytest.raises(NotFound):
        await run(session_factory, carts.add_item, chat_id=CHAT, product_id=old.id + 1)


async def test_set_quantity(session_factory):
    tea = await run(session_factory, make_product, name="Tea", price_minor=100, stock=5)
    view = await run(session_factory, carts.set_quantity, chat_id=CHAT, product_id=tea.id, qty=3)
    assert [(line.quantity, view.total_minor) for line in view.lines] == [(3, 300)]
    view = await run(session_factory, carts.set_quantity, chat_id=CHAT, product_id=tea.id, qty=1)
    assert view.lines[0].quantity == 1 and view.version == 3
    same = await run(session_factory, carts.set_quantity, chat_id=CHAT, product_id=tea.id, qty=1)
    assert same.version == 3  # nothing changed
    with pytest.raises(InvalidInput, match="Only 5"):
        await run(session_factory, carts.set_quantity, chat_id=CHAT, product_id=tea.id, qty=6)
    with pytest.raises(InvalidInput):
        await run(session_factory, carts.set_quantity, chat_id=CHAT, product_id=tea.id, qty=-1)
    view = await run(session_factory, carts.set_quantity, chat_id=CHAT, product_id=tea.id, qty=0)
    assert view.lines == [] and view.version == 4


async def test_cart_view_shows_lines_checkout_would_refuse(session_factory):
    tea = await run(session_factory, make_product, stock=5)
    await run(session_factory, carts.add_item, chat_id=CHAT, product_id=tea.id, qty=4)
    await run(session_factory, stock_db.adjust, product_id=tea.id, delta=-3, reason="spilt")
    [line] = (await run(session_factory, carts.get_cart_view, chat_id=CHAT)).lines
    assert (line.quantity, line.stock, line.sellable) == (4, 2, False)
    await run(session_factory, catalog.archive_product, product_id=tea.id)
    [line] = (await run(session_factory, carts.get_cart_view, chat_id=CHAT)).lines
    assert line.archived and not line.sellable


async def test_remove_line_twice_is_harmless(session_factory):
    tea = await run(session_factory, make_product)
    bun = await run(session_factory, make_product)
    await run(session_factory, carts.add_item, chat_id=CHAT, product_id=tea.id)
    await run(session_factory, carts.add_item, chat_id=CHAT, product_id=bun.id)
    view = await run(session_factory, carts.remove_line, chat_id=CHAT, product_id=tea.id)
    assert [line.product_id for line in view.lines] == [bun.id] and view.version == 4
    again = await run(session_factory, carts.remove_line, chat_id=CHAT, product_id=tea.id)
    assert again.version == 4 and again.lines == view.lines


async def test_clear_cart_and_set_customer(session_factory):
    tea = await run(session_factory, make_product)
    alice = await run(session_factory, make_customer, name="Alice")
    await run(session_factory, carts.add_item, chat_id=CHAT, product_id=tea.id, qty=2)
    view = await run(session_factory, carts.set_customer, chat_id=CHAT, customer_id=alice.id)
    assert view.customer_id == alice.id and view.version == 3
    assert (await run(session_factory, carts.set_customer, chat_id=CHAT, customer_id=alice.id)).version == 3
    with pytest.raises(NotFound):
        await run(session_factory, carts.set_customer, chat_id=CHAT, customer_id=alice.id + 50)
    view = await run(session_factory, carts.clear_cart, chat_id=CHAT)
    assert (view.lines, view.customer_id, view.version) == ([], None, 4)
    assert (await run(session_factory, carts.clear_cart, chat_id=CHAT)).version == 4
    view = await run(session_factory, carts.set_customer, chat_id=CHAT, customer_id=alice.id)
    view = await run(session_factory, carts.set_customer, chat_id=CHAT, customer_id=None)
    assert view.customer_id is None and view.version == 6


async def test_carts_of_different_chats_are_separate(session_factory):
    tea = await run(session_factory, make_product)
    await run(session_factory, carts.add_item, chat_id=1, product_id=tea.id)
    assert (await run(session_factory, carts.get_cart_view, chat_id=2)).is_empty


async def test_bad_chat_id(session_factory):
    with pytest.raises(InvalidInput):
        await run(session_factory, carts.get_cart_view, chat_id="12")


async def test_quantity_in_cart_only_reads(session_factory):
    tea = await run(session_factory, make_product, stock=10)
    async with session_factory() as session:
        assert await carts.quantity_in_cart(session, chat_id=CHAT, product_id=tea.id) == 0
        assert await session.scalar(select(func.count(Cart.id))) == 0  # no cart was created for the asking
    await run(session_factory, carts.add_item, chat_id=CHAT, product_id=tea.id, qty=3)
    async with session_factory() as session:
        assert await carts.quantity_in_cart(session, chat_id=CHAT, product_id=tea.id) == 3
        assert await carts.quantity_in_cart(session, chat_id=CHAT + 1, product_id=tea.id) == 0  # another chat
        assert await carts.quantity_in_cart(session, chat_id=CHAT, product_id=tea.id + 1) == 0
        assert await carts.quantity_in_cart(session, chat_id=CHAT, product_id=2**40) == 0  # no id: nothing, no error
