"""The engine's SQLite tuning: durability pragmas, Unicode-aware search, BEGIN IMMEDIATE."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import text

from db import catalog
from db import stock as stock_db
from db.engine import make_engine, make_session_factory, transaction
from db.models import Base
from tests.factories import make_product, run


@pytest.fixture
async def sqlite_factory(tmp_path):
    engine = make_engine(f"sqlite+aiosqlite:///{tmp_path / 'pos.db'}")
    async with engine.begin() as conn:
        await conn.run_sync(Base.metadata.create_all)
    yield make_session_factory(engine)
    await engine.dispose()


async def test_sqlite_connections_are_durable_and_enforce_foreign_keys(sqlite_factory):
    async with sqlite_factory() as session:
        assert (await session.execute(text("PRAGMA journal_mode"))).scalar() == "wal"
        assert (await session.execute(text("PRAGMA synchronous"))).scalar() == 2  # FULL
        assert (await session.execute(text("PRAGMA foreign_keys"))).scalar() == 1
        assert (await session.execute(text("PRAGMA busy_timeout"))).scalar() >= 5000


async def test_search_folds_non_ascii_case(session_factory):
    async with transaction(session_factory) as session:
        await make_product(session, name="Äpfel aus Österreich", sku="APF-1")
        await make_product(session, name="Crème brûlée", sku="CRB-1")
    page = await run(session_factory, catalog.search_products, text="äpfel")
    assert [p.sku for p in page.items] == ["APF-1"]
    page = await run(session_factory, catalog.search_products, text="CRÈME")
    assert [p.sku for p in page.items] == ["CRB-1"]


async def test_write_transactions_wait_for_each_other_instead_of_failing(sqlite_factory):
    """BEGIN IMMEDIATE: a second writer waits for the first instead of 'database is locked'."""
    async with transaction(sqlite_factory) as session:
        product = await make_product(session, stock=0)

    async def restock_slowly():
        async with transaction(sqlite_factory) as session:
            await stock_db.restock(session, product_id=product.id, qty=1, note="slow")
            await asyncio.sleep(0.2)  # hold the write lock a while

    await asyncio.gather(*(restock_slowly() for _ in range(4)))
    async with sqlite_factory() as session:
        assert (await catalog.get_product(session, product_id=product.id)).stock == 4


async def test_a_reader_does_not_hold_up_a_writer_on_sqlite(sqlite_factory):
    """Reports read in plain BEGIN transactions: a checkout can commit while a report is open."""
    from db.engine import make_read_session_factory

    async with transaction(sqlite_factory) as session:
        product = await make_product(session, stock=0)
    read_factory = make_read_session_factory(sqlite_factory.kw["bind"])
    async with read_factory() as reader:
        assert (await catalog.get_product(reader, product_id=product.id)).stock == 0  # snapshot taken
        # With BEGIN IMMEDIATE for the reader this would wait out the busy timeout and fail.
        async with transaction(sqlite_factory) as writer:
            await stock_db.restock(writer, product_id=product.id, qty=5, note="delivery")
        # The reader keeps its consistent snapshot until it ends.
        assert (await reader.scalar(text("SELECT stock FROM products"))) == 0
    async with read_factory() as later:
        assert (await catalog.get_product(later, product_id=product.id)).stock == 5


async def test_read_only_sessions_cannot_write_on_postgresql(engine, session_factory):
    from sqlalchemy.exc import DBAPIError

    from db.engine import make_read_session_factory

    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite read sessions are plain BEGIN transactions")
    async with transaction(session_factory) as session:
        product = await make_product(session, stock=1)
    async with make_read_session_factory(engine)() as reader:
        with pytest.raises(DBAPIError, match="read-only"):
            await stock_db.restock(reader, product_id=product.id, qty=1, note="x")
            await reader.flush()


async def test_exact_and_differently_cased_codes_are_found(session_factory):
    async with transaction(session_factory) as session:
        await make_product(session, name="Tea", sku="TEA-1", barcode="4006381333931")
    for code in ("TEA-1", "tea-1", "4006381333931"):
        assert (await run(session_factory, catalog.get_by_sku, sku=code)).name == "Tea"
