"""A big CSV import writes in short transactions: the counter keeps selling while it runs."""

from __future__ import annotations

import asyncio
import io

import pytest
from sqlalchemy import func, select

from db import carts, catalog_io
from db.models import Product
from tests.factories import make_product, run


class _Enough(Exception):
    pass


async def test_a_cashier_adds_to_cart_during_a_6000_row_import(session_factory):
    if session_factory.kw["bind"].dialect.name != "sqlite":
        pytest.skip("the lock that a long import held is SQLite's single write lock")
    milk = await run(session_factory, make_product, name="Milk", sku="MILK-1", stock=5)
    text = "name,price,stock,category,sku\n" + "".join(
        f"Item {i},1.{i % 100:02d},{i % 9},Bulk,BULK-{i:05d}\n" for i in range(6000)
    )
    rows, errors = catalog_io.read_rows(io.StringIO(text), currency="USD")
    assert (len(rows), errors) == (6000, [])

    written, started, sold = 0, asyncio.Event(), asyncio.Event()

    def on_row() -> None:
        nonlocal written
        written += 1
        if written == 2 * catalog_io.BATCH_ROWS:
            started.set()
        if sold.is_set():
            raise _Enough  # the point is made: stop the import here rather than wait for 6,000 rows

    importing = asyncio.create_task(catalog_io.import_rows(session_factory, rows=rows, on_row=on_row))
    await started.wait()
    view = await run(session_factory, carts.add_item, chat_id=1, product_id=milk.id, qty=2)
    assert not importing.done()  # the cart was served in the middle of the import
    sold.set()
    with pytest.raises(_Enough):
        await importing

    assert [(line.product_id, line.quantity) for line in view.lines] == [(milk.id, 2)]
    async with session_factory() as session:
        imported = await session.scalar(select(func.count()).select_from(Product)) - 1
    assert 0 < imported < 6000 and imported % catalog_io.BATCH_ROWS == 0  # whole batches only


async def test_rows_are_checked_against_the_catalog_before_anything_is_written(session_factory):
    await run(session_factory, make_product, name="Loaf", sku="BAK-1", barcode="2000000000015")
    await run(session_factory, make_product, name="Old", sku="OLD-1", barcode="777000")
    text = (
        "name,price,stock,sku,barcode\n"
        "New thing,1.00,5,NEW-1,\n"
        "Stolen barcode,1.00,5,NEW-2,2000000000015\n"  # BAK-1's barcode
        "Uses a barcode as SKU,1.00,5,777000,\n"  # OLD-1's barcode
        "Fine,1.00,5,NEW-3,ABC\n"
    )
    rows, errors = catalog_io.read_rows(io.StringIO(text), currency="USD")
    assert errors == []
    result = await catalog_io.import_rows(session_factory, rows=rows)
    assert [str(e) for e in result.errors] == [
        "line 3: The barcode “2000000000015” is already used by BAK-1 “Loaf”",
        "line 4: The SKU “777000” is already used by OLD-1 “Old”",
    ]
    async with session_factory() as session:
        assert sorted(await session.scalars(select(Product.sku))) == ["BAK-1", "OLD-1"]


async def test_a_barcode_can_move_to_another_product_in_one_file(session_factory):
    await run(session_factory, make_product, name="Loaf", sku="BAK-1", barcode="2000000000015")
    text = (
        "name,price,stock,sku,barcode\n"
        "Takes it,1.00,5,NEW-4,2000000000015\n"
        "Loaf,2.50,10,BAK-1,\n"  # gives it up: an existing product, so written first
    )
    rows, _ = catalog_io.read_rows(io.StringIO(text), currency="USD")
    result = await catalog_io.import_rows(session_factory, rows=rows)
    assert (result.errors, result.added, result.updated) == ([], 1, 1)
    async with session_factory() as session:
        got = (await session.execute(select(Product.sku, Product.barcode).order_by(Product.id))).all()
    assert [tuple(r) for r in got] == [("BAK-1", None), ("NEW-4", "2000000000015")]
