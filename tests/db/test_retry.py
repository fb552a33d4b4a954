"""A transaction PostgreSQL rolls back for a deadlock or serialization failure runs once more
(db.engine.run_transaction), so the user sees the result, not an error."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import select, update
from sqlalchemy.exc import DBAPIError, IntegrityError

from db.engine import run_transaction
from db.models import Product
from tests.factories import make_product, run


class _Orig(Exception):
    def __init__(self, sqlstate: str) -> None:
        super().__init__(f"sqlstate {sqlstate}")
        self.sqlstate = sqlstate


def rolled_back_by_the_database(sqlstate: str = "40P01") -> DBAPIError:
    """What SQLAlchemy raises for asyncpg's DeadlockDetectedError (40P01) or SerializationError."""
    return DBAPIError("UPDATE products ...", {}, _Orig(sqlstate))


async def _stock(factory, product_id: int) -> int:
    async with factory() as session:
        return await session.scalar(select(Product.stock).where(Product.id == product_id))


async def test_a_real_deadlock_is_retried_and_both_transactions_count_once(session_factory):
    if session_factory.kw["bind"].dialect.name == "sqlite":
        pytest.skip("SQLite serialises writers (BEGIN IMMEDIATE): they cannot deadlock")
    a = await run(session_factory, make_product, stock=0)
    b = await run(session_factory, make_product, stock=0)
    first_has_a, second_has_b = asyncio.Event(), asyncio.Event()
    attempts = {"one": 0, "two": 0}

    def bump(product_id: int):
        return update(Product).where(Product.id == product_id).values(stock=Product.stock + 1)

    async def one(session):  # a then b
        attempts["one"] += 1
        await session.execute(bump(a.id))
        first_has_a.set()
        await second_has_b.wait()
        await session.execute(bump(b.id))

    async def two(session):  # b then a: the opposite order, a deadlock
        attempts["two"] += 1
        await first_has_a.wait()
        await session.execute(bump(b.id))
        second_has_b.set()
        await session.execute(bump(a.id))

    await asyncio.gather(run_transaction(session_factory, one), run_transaction(session_factory, two))
    assert sorted(attempts.values()) == [1, 2]  # PostgreSQL chose one victim; it ran once more
    assert (await _stock(session_factory, a.id), await _stock(session_factory, b.id)) == (2, 2)


async def test_the_failed_attempt_leaves_nothing_and_a_second_failure_is_raised(session_factory):
    item = await run(session_factory, make_product, stock=0)
    calls = []

    async def flaky(session):
        calls.append(1)
        await session.execute(update(Product).where(Product.id == item.id).values(stock=Product.stock + 5))
        if len(calls) == 1:
            raise rolled_back_by_the_database("40001")
        return "done"

    assert await run_transaction(session_factory, flaky) == "done"
    assert (len(calls), await _stock(session_factory, item.id)) == (2, 5)  # the first +5 rolled back

    async def always(session):
        calls.append(1)
        raise rolled_back_by_the_database()

    calls.clear()
    with pytest.raises(DBAPIError):
        await run_transaction(session_factory, always)
    assert len(calls) == 2


async def test_other_database_errors_are_not_retried(session_factory):
    calls = []

    async def broken(session):
        calls.append(1)
        raise IntegrityError("INSERT ...", {}, _Orig("23505"))

    with pytest.raises(IntegrityError):
        await run_transaction(session_factory, broken)
    assert len(calls) == 1
