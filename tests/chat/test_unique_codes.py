"""Races the database decides: two managers adding "abc" and "ABC" at once make one product;
a transaction rolled back for a deadlock runs once more."""

from __future__ import annotations

import asyncio

from sqlalchemy import func, select, text

from db.engine import transaction
from db.models import Product
from tests.factories import make_product


async def _until_waiting_on(session, factory, task: asyncio.Task) -> None:
    """PostgreSQL: until another backend waits for a lock this session holds (or ``task`` ended)."""
    pid = await session.scalar(text("SELECT pg_backend_pid()"))
    query = text("SELECT count(*) FROM pg_stat_activity WHERE :pid = ANY(pg_blocking_pids(pid))")
    while not task.done():
        async with factory() as other:
            if await other.scalar(query, {"pid": pid}):
                return
        await asyncio.sleep(0.02)


async def test_concurrent_adds_differing_only_by_case_make_one_product(manager, session_factory):
    postgres = session_factory.kw["bind"].dialect.name == "postgresql"
    async with transaction(session_factory) as other_manager:
        await make_product(other_manager, name="Apple", sku="abc")
        # Not committed yet, so the /add's own check finds no "abc". On PostgreSQL its INSERT then
        # waits on the unique index of sku_key; on SQLite the whole /add waits for the write lock.
        adding = asyncio.create_task(manager.send("/add Apricot | 1.00 | 1 | | ABC"))
        if postgres:
            await _until_waiting_on(other_manager, session_factory, adding)
        else:
            await asyncio.sleep(0.1)
    await adding
    expected = "That SKU or barcode was just taken by another product." if postgres else "already used by"
    assert expected in manager.text
    async with session_factory() as session:
        assert list(await session.scalars(select(Product.sku))) == ["abc"]
        assert await session.scalar(select(func.count()).select_from(Product)) == 1


async def test_a_command_rolled_back_for_a_deadlock_runs_once_more(manager, session_factory, monkeypatch):
    """The handlers' transaction: PostgreSQL picks this update's transaction as a deadlock
    victim (simulated: the error asyncpg raises); the manager still gets the answer."""
    from db import catalog
    from tests.db.test_retry import rolled_back_by_the_database

    async with transaction(session_factory) as session:
        await make_product(session, name="Milk", sku="MILK-1", price_minor=100)
    real, calls = catalog.set_price, []

    async def deadlocked_once(session, **kwargs):
        calls.append(1)
        product = await real(session, **kwargs)
        if len(calls) == 1:
            raise rolled_back_by_the_database()
        return product

    monkeypatch.setattr(catalog, "set_price", deadlocked_once)
    await manager.send("/price MILK-1 1.10")
    assert "$1.00 → $1.10" in manager.text and len(calls) == 2
    async with session_factory() as session:
        assert await session.scalar(select(Product.price_minor)) == 110
