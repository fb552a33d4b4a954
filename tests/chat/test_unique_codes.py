"""Two managers adding "abc" and "ABC" at the same moment: one product, and a polite refusal."""

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
