"""Catalog: products, categories, search, restock, adjustments, low stock."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from db import catalog
from db import stock as stock_db
from db.errors import Conflict, InvalidInput, NotFound
from db.models import AuditEntry, MovementReason, Role
from db.money import MAX_PRICE_MINOR
from tests.factories import ledger_problems, make_product, make_staff, movements_of, run


async def _audit_actions(factory) -> list[str]:
    async with factory() as session:
        return list((await session.scalars(select(AuditEntry.action).order_by(AuditEntry.id))).all())


# --- add_product ---------------------------------------------------------------------------------


async def test_add_product_writes_initial_movement_category_and_audit(session_factory):
    manager = await run(session_factory, make_staff, role=Role.MANAGER)
    product = await run(
        session_factory,
        catalog.add_product,
        name="  Green Tea  ",
        price_minor=450,
        stock=12,
        category="Drinks",
        sku="TEA-1",
        barcode="4006381333931",
        actor=manager,
    )
    assert (product.name, product.sku, product.barcode, product.price_minor, product.stock) == (
        "Green Tea",
        "TEA-1",
        "4006381333931",
        450,
        12,
    )
    assert product.category is not None and product.category.name == "Drinks"
    assert not product.archived and not product.low_stock_alerted
    [movement] = await movements_of(session_factory, product.id)
    assert (movement.quantity, movement.reason, movement.staff_id) == (12, MovementReason.INITIAL, manager.id)
    assert "product_add" in await _audit_actions(session_factory)
    assert await ledger_problems(session_factory) == []


async def test_add_product_without_stock_writes_no_movement(session_factory):
    product = await run(session_factory, catalog.add_product, name="Empty", price_minor=0)
    assert product.stock == 0
    assert product.category is None
    assert await movements_of(session_factory, product.id) == []


async def test_auto_sku_is_unique(session_factory):
    first = await run(session_factory, catalog.add_product, name="One", price_minor=1)
    assert re.fullmatch(r"P\d{5}", first.sku)
    assert first.sku == f"P{first.id:05d}"
    # Someone already typed the SKU the next product would get.
    await run(session_factory, catalog.add_product, name="Two", price_minor=1, sku=f"p{first.id + 2:05d}")
    third = await run(session_factory, catalog.add_product, name="Three", price_minor=1)
    assert third.sku == f"P{third.id:05d}-2"


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("name", ""),
        ("name", "   "),
        ("name", "x" * 129),
        ("name", None),
        ("price_minor", -1),
        ("price_minor", MAX_PRICE_MINOR + 1),
        ("price_minor", 1.5),
        ("price_minor", True),
        ("price_minor", "100"),
        ("stock", -1),
        ("stock", 1_000_001),
        ("stock", 2.0),
        ("sku", ""),
        ("sku", "has space"),
        ("sku", "ü"),
        ("sku", "x" * 65),
        ("barcode", "12 34"),
        ("barcode", 1234),
        ("category", 7),
        ("low_stock_threshold", -1),
        ("category", "c" * 65),
    ],
)
async def test_add_product_refuses_bad_input(session_factory, field, value):
    kwargs = {"name": "Tea", "price_minor": 100, "stock": 1, field: value}
    with pytest.raises(InvalidInput):
        await run(session_factory, catalog.add_product, **kwargs)
    async with session_factory() as session:
        assert (await catalog.search_products(session, text="")).total == 0


async def test_add_product_accepts_the_bounds(session_factory):
    product = await run(
        session_factory,
        catalog.add_product,
        name="x" * 128,
        price_minor=MAX_PRICE_MINOR,
        stock=1_000_000,
        sku="a" * 64,
    )
    assert product.price_minor == MAX_PRICE_MINOR and product.stock == 1_000_000


async def test_duplicate_sku_or_barcode_conflicts_ignoring_case(session_factory):
    await run(session_factory, make_product, sku="ABC-1", barcode="0001")
    with pytest.raises(Conflict, match="ABC-1"):
        await run(session_factory, make_product, sku="abc-1")
    with pytest.raises(Conflict):
        await run(session_factory, make_product, barcode="0001")
    # A SKU may not equal another product's barcode either: lookups would be ambiguous.
    with pytest.raises(Conflict):
        await run(session_factory, make_product, sku="0001")


async def test_categories_match_ignoring_case_and_count_active_products(session_factory):
    a = await run(session_factory, make_product, category="Drinks")
    await run(session_factory, make_product, category="  drinks ")
    await run(session_factory, make_product, category="Snacks")
    await run(session_factory, catalog.archive_product, product_id=a.id)
    async with session_factory() as session:
        listed = [(c.name, n) for c, n in await catalog.list_categories(session)]
    assert listed == [("Drinks", 1), ("Snacks", 1)]


# --- lookups -------------------------------------------------------------------------------------


async def test_get_product_and_get_by_sku(session_factory):
    product = await run(session_factory, make_product, sku="Tea-9", barcode="5012345678900")
    async with session_factory() as session:
        assert (await catalog.get_product(session, product_id=product.id)).id == product.id
        assert (await catalog.get_by_sku(session, sku=" tea-9 ")).id == product.id
        assert (await catalog.get_by_sku(session, sku="5012345678900")).id == product.id
        with pytest.raises(NotFound, match="No product with SKU “TEA”"):
            await catalog.get_by_sku(session, sku="TEA")  # exact, not a prefix
        with pytest.raises(NotFound):
            await catalog.get_product(session, product_id=product.id + 100)
        with pytest.raises(InvalidInput):
            await catalog.get_by_sku(session, sku="  ")


# --- editing -------------------------------------------------------------------------------------


async def test_edit_product_changes_only_given_fields(session_factory):
    product = await run(
        session_factory, make_product, name="Tea", price_minor=100, category="Drinks", sku="T1", barcode="111"
    )
    edited = await run(session_factory, catalog.edit_product, product_id=product.id, name="Black Tea")
    assert (edited.name, edited.price_minor, edited.sku, edited.barcode) == ("Black Tea", 100, "T1", "111")
    assert edited.category is not None and edited.category.name == "Drinks"

    edited = await run(
        session_factory,
        catalog.edit_product,
        product_id=product.id,
        price_minor=120,
        category=None,
        barcode=None,
        sku="T2",
        low_stock_threshold=5,
    )
    assert (edited.price_minor, edited.category, edited.barcode, edited.sku, edited.low_stock_threshold) == (
        120,
        None,
        None,
        "T2",
        5,
    )
    edited = await run(session_factory, catalog.edit_product, product_id=product.id, category="Hot drinks")
    assert edited.category is not None and edited.category.name == "Hot drinks"
    assert (await _audit_actions(session_factory)).count("product_edit") == 3


async def test_edit_product_without_changes_is_not_audited(session_factory):
    product = await run(session_factory, make_product, name="Tea")
    await run(session_factory, catalog.edit_product, product_id=product.id, name="Tea")
    assert "product_edit" not in await _audit_actions(session_factory)


async def test_edit_product_refuses_conflicts_and_bad_input(session_factory):
    await run(session_factory, make_product, sku="TAKEN", barcode="999")
    product = await run(session_factory, make_product, sku="MINE")
    for kwargs in ({"sku": "taken"}, {"barcode": "999"}, {"barcode": "TAKEN"}):
        with pytest.raises(Conflict):
            await run(session_factory, catalog.edit_product, product_id=product.id, **kwargs)
    for kwargs in ({"name": ""}, {"price_minor": -5}, {"sku": None}, {"sku": "a b"}, {"low_stock_threshold": 1.5}):
        with pytest.raises(InvalidInput):
            await run(session_factory, catalog.edit_product, product_id=product.id, **kwargs)
    with pytest.raises(NotFound):
        await run(session_factory, catalog.edit_product, product_id=product.id + 99, name="X")
    # Changing only the case of its own SKU is fine.
    assert (await run(session_factory, catalog.edit_product, product_id=product.id, sku="mine")).sku == "mine"


async def test_set_price_is_audited(session_factory):
    manager = await run(session_factory, make_staff, role=Role.MANAGER, name="Mia")
    product = await run(session_factory, make_product, price_minor=100)
    updated = await run(session_factory, catalog.set_price, product_id=product.id, price_minor=175, actor=manager)
    assert updated.price_minor == 175
    async with session_factory() as session:
        entry = await session.scalar(select(AuditEntry).where(AuditEntry.action == "price"))
    assert entry is not None and entry.actor_name == "Mia" and "100 → 175" in entry.details
    with pytest.raises(InvalidInput):
        await run(session_factory, catalog.set_price, product_id=product.id, price_minor=-1)
    with pytest.raises(NotFound):
        await run(session_factory, catalog.set_price, product_id=product.id + 1, price_minor=1)


async def test_archive_hides_from_search_but_keeps_lookup(session_factory):
    product = await run(session_factory, make_product, name="Old Cola", sku="COLA")
    await run(session_factory, catalog.archive_product, product_id=product.id)
    async with session_factory() as session:
        assert (await catalog.search_products(session, text="cola")).total == 0
        assert (await catalog.get_by_sku(session, sku="COLA")).archived
    with pytest.raises(Conflict, match="already archived"):
        await run(session_factory, catalog.archive_product, product_id=product.id)
    await run(session_factory, catalog.unarchive_product, product_id=product.id)
    with pytest.raises(Conflict):
        await run(session_factory, catalog.unarchive_product, product_id=product.id)
    async with session_factory() as session:
        assert (await catalog.search_products(session, text="cola")).total == 1
    actions = await _audit_actions(session_factory)
    assert "archive" in actions and "unarchive" in actions


# --- search and browse ---------------------------------------------------------------------------


async def test_search_matches_name_category_sku_barcode_ignoring_case(session_factory):
    await run(session_factory, make_product, name="Apple Juice", category="Drinks", sku="AJ-1")
    await run(session_factory, make_product, name="Pineapple", category="Fruit", sku="PA-1", barcode="77001")
    await run(session_factory, make_product, name="Crisps", category="Snacks", sku="CR-1")
    async with session_factory() as session:

        async def names(text: str) -> list[str]:
            return [p.name for p in (await catalog.search_products(session, text=text)).items]

        assert await names("APPLE") == ["Apple Juice", "Pineapple"]
        assert await names("drink") == ["Apple Juice"]
        assert await names("cr-") == ["Crisps"]
        assert await names("7700") == ["Pineapple"]  # a barcode's first digits
        assert await names("0001") == []  # not from the middle of a barcode
        with pytest.raises(InvalidInput, match="at least 4 digits"):  # not from two digits: every code would match
            await names("77")
        assert await names("77001") == ["Pineapple"]
        assert await names("nothing like it") == []
        assert await names("") == ["Apple Juice", "Crisps", "Pineapple"]
        # LIKE wildcards are taken literally.
        assert await names("%") == []
        assert await names("_") == []


async def test_search_puts_exact_sku_first(session_factory):
    await run(session_factory, make_product, name="Aardvark plush (AB)", sku="AB-2")
    await run(session_factory, make_product, name="Zebra plush", sku="AB")
    async with session_factory() as session:
        page = await catalog.search_products(session, text="ab")
    assert [p.sku for p in page.items] == ["AB", "AB-2"]


async def test_search_paginates(session_factory):
    for i in range(11):
        await run(session_factory, make_product, name=f"Soap {i:02d}")
    async with session_factory() as session:
        first = await catalog.search_products(session, text="soap", page=1, per_page=4)
        last = await catalog.search_products(session, text="soap", page=3, per_page=4)
        beyond = await catalog.search_products(session, text="soap", page=99, per_page=4)
        empty = await catalog.search_products(session, text="nope")
        with pytest.raises(InvalidInput):
            await catalog.search_products(session, text="soap", page=0)
        with pytest.raises(InvalidInput):
            await catalog.search_products(session, text="soap", per_page=51)
        with pytest.raises(InvalidInput):
            await catalog.search_products(session, text="x" * 129)
    assert (first.total, first.pages, first.page, len(first.items)) == (11, 3, 1, 4)
    assert first.items[0].name == "Soap 00" and first.has_next and not first.has_prev
    assert [p.name for p in last.items] == ["Soap 08", "Soap 09", "Soap 10"] and not last.has_next
    assert beyond.page == 3
    assert (empty.total, empty.pages, empty.items) == (0, 1, [])


async def test_products_in_category_in_stock_first(session_factory):
    a = await run(session_factory, make_product, name="Apple", category="Fruit", stock=0)
    await run(session_factory, make_product, name="Banana", category="Fruit", stock=3)
    await run(session_factory, make_product, name="Cherry", category="Fruit", stock=1)
    gone = await run(session_factory, make_product, name="Date", category="Fruit", stock=1)
    await run(session_factory, make_product, name="Crisps", category="Snacks")
    await run(session_factory, catalog.archive_product, product_id=gone.id)
    async with session_factory() as session:
        page = await catalog.products_in_category(session, category_id=a.category_id, per_page=2)
        page2 = await catalog.products_in_category(session, category_id=a.category_id, page=2, per_page=2)
        with pytest.raises(NotFound):
            await catalog.products_in_category(session, category_id=a.category_id + 100)
    assert [p.name for p in page.items + page2.items] == ["Banana", "Cherry", "Apple"]
    assert page.total == 3


# --- stock ---------------------------------------------------------------------------------------


async def test_restock_writes_movement_and_audit(session_factory):
    manager = await run(session_factory, make_staff, role=Role.MANAGER)
    product = await run(session_factory, make_product, stock=2)
    updated = await run(
        session_factory, stock_db.restock, product_id=product.id, qty=10, note="delivery 42", actor=manager
    )
    assert updated.stock == 12
    movement = (await movements_of(session_factory, product.id))[-1]
    assert (movement.quantity, movement.reason, movement.note, movement.staff_id) == (
        10,
        MovementReason.RESTOCK,
        "delivery 42",
        manager.id,
    )
    assert "restock" in await _audit_actions(session_factory)
    for qty in (0, -3, 1.5, True, 1_000_000):
        with pytest.raises(InvalidInput):
            await run(session_factory, stock_db.restock, product_id=product.id, qty=qty)
    with pytest.raises(NotFound):
        await run(session_factory, stock_db.restock, product_id=product.id + 1, qty=1)
    assert await ledger_problems(session_factory) == []


async def test_adjust_up_and_down_with_reason(session_factory):
    product = await run(session_factory, make_product, name="Mugs", stock=5)
    assert (await run(session_factory, stock_db.adjust, product_id=product.id, delta=-2, reason="broken")).stock == 3
    assert (await run(session_factory, stock_db.adjust, product_id=product.id, delta=4, reason="found")).stock == 7
    movements = await movements_of(session_factory, product.id)
    assert [(m.quantity, m.reason, m.note) for m in movements[1:]] == [
        (-2, MovementReason.ADJUSTMENT, "broken"),
        (4, MovementReason.ADJUSTMENT, "found"),
    ]
    assert (await _audit_actions(session_factory)).count("adjust") == 2


async def test_adjust_refuses_below_zero_zero_and_no_reason(session_factory):
    product = await run(session_factory, make_product, name="Mugs", stock=3)
    with pytest.raises(InvalidInput, match=r"Only 3 of .*Mugs.* cannot take away 4"):
        await run(session_factory, stock_db.adjust, product_id=product.id, delta=-4, reason="count")
    with pytest.raises(InvalidInput):
        await run(session_factory, stock_db.adjust, product_id=product.id, delta=0, reason="count")
    with pytest.raises(InvalidInput):
        await run(session_factory, stock_db.adjust, product_id=product.id, delta=-1, reason="  ")
    assert (await run(session_factory, catalog.get_product, product_id=product.id)).stock == 3
    assert len(await movements_of(session_factory, product.id)) == 1
    # Down to exactly zero is fine.
    assert (await run(session_factory, stock_db.adjust, product_id=product.id, delta=-3, reason="count")).stock == 0


async def test_restock_rearms_low_stock_alert_only_above_threshold(session_factory):
    product = await run(session_factory, make_product, stock=1, low_stock_threshold=5)
    async with session_factory.begin() as session:
        (await catalog.get_product(session, product_id=product.id)).low_stock_alerted = True
    still_low = await run(session_factory, stock_db.restock, product_id=product.id, qty=3, default_threshold=2)
    assert still_low.stock == 4 and still_low.low_stock_alerted
    recovered = await run(session_factory, stock_db.adjust, product_id=product.id, delta=2, reason="found")
    assert recovered.stock == 6 and not recovered.low_stock_alerted


async def test_effective_threshold_list_stock_and_low_stock(session_factory):
    a = await run(session_factory, make_product, name="A", stock=2)  # default 3: low
    b = await run(session_factory, make_product, name="B", stock=4)  # default 3: fine
    c = await run(session_factory, make_product, name="C", stock=8, low_stock_threshold=10)  # own: low
    d = await run(session_factory, make_product, name="D", stock=0, low_stock_threshold=0)  # own 0: low
    old = await run(session_factory, make_product, name="E", stock=0)
    await run(session_factory, catalog.archive_product, product_id=old.id)
    assert stock_db.effective_threshold(a, 3) == 3 and stock_db.effective_threshold(c, 3) == 10
    async with session_factory() as session:
        low = await stock_db.low_stock(session, default_threshold=3)
        stock = await stock_db.list_stock(session, default_threshold=3, per_page=3)
        with pytest.raises(InvalidInput):
            await stock_db.low_stock(session, default_threshold=-1)
    assert [p.id for p in low] == [d.id, a.id, c.id]
    assert (stock.total, stock.pages) == (4, 2)
    assert [(r.product.id, r.threshold, r.is_low) for r in stock.items] == [
        (a.id, 3, True),
        (b.id, 3, False),
        (c.id, 10, True),
    ]
