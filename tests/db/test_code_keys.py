"""SKU and barcode are unique ignoring case in the database itself, under concurrency too, and
exact look-ups read the unique indexes of the normalised keys."""

from __future__ import annotations

import pytest
from sqlalchemy import event, insert
from sqlalchemy.exc import IntegrityError

from db import catalog
from db.models import Product
from tests.factories import make_product, run


def _row(sku: str, barcode: str | None = None) -> dict:
    return {"sku": sku, "barcode": barcode, "name": f"Thing {sku}", "price_minor": 1, "stock": 0, "archived": False}


@pytest.mark.parametrize(
    ("first", "second"),
    [(_row("abc"), _row("ABC")), (_row("p1", "ean-13a"), _row("p2", "EAN-13A"))],
    ids=["sku", "barcode"],
)
async def test_the_database_refuses_codes_that_differ_only_by_case(session_factory, first, second):
    """What no check in Python can promise under concurrency: the unique indexes refuse the twin."""
    await run(session_factory, lambda session: session.execute(insert(Product), [first]))
    with pytest.raises(IntegrityError):
        await run(session_factory, lambda session: session.execute(insert(Product), [second]))


async def test_keys_follow_edits(session_factory):
    product = await run(session_factory, make_product, sku="Tea-1", barcode="AbC123")
    await run(session_factory, catalog.edit_product, product_id=product.id, sku="TEA-2", barcode=None)
    async with session_factory() as session:
        again = await catalog.get_product(session, product_id=product.id)
        assert (again.sku_key, again.barcode_key) == ("tea-2", None)
        assert (await catalog.get_by_sku(session, sku="tea-2")).id == product.id
        with pytest.raises(catalog.NotFound):
            await catalog.get_by_sku(session, sku="abc123")
    # The old barcode is free again; the new SKU is taken in any case.
    await run(session_factory, make_product, sku="OTHER", barcode="abc123")
    with pytest.raises(catalog.Conflict):
        await run(session_factory, make_product, sku="tea-2")


async def test_get_by_sku_in_another_case_reads_the_key_indexes(session_factory):
    await run(session_factory, make_product, sku="GOU-1", barcode="4006381333931")
    captured: list[tuple[str, object]] = []
    engine = session_factory.kw["bind"]

    def capture(_conn, _cursor, statement, parameters, _context, _many) -> None:
        if "FROM products" in statement and not captured:
            captured.append((statement, parameters))

    event.listen(engine.sync_engine, "before_cursor_execute", capture)
    try:
        async with session_factory() as session:
            assert (await catalog.get_by_sku(session, sku="gou-1")).sku == "GOU-1"
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", capture)
    statement, parameters = captured[0]
    async with engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            plan = " ".join(
                str(r[-1]) for r in await conn.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, parameters)
            )
        else:
            await conn.exec_driver_sql("SET LOCAL enable_seqscan = off")  # a tiny table: make the choice visible
            plan = " ".join(str(r[0]) for r in await conn.exec_driver_sql("EXPLAIN " + statement, parameters))
    assert "ix_products_sku_key" in plan and "ix_products_barcode_key" in plan, plan
