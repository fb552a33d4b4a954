"""Concurrent checkouts on separate sessions: stock never goes negative, a sale is made once.

Each test runs on file SQLite and, when configured, PostgreSQL. The "held" tests force the
interleaving: the first checkout keeps its transaction open while the second one starts, so the
second must wait for it (SQLite: BEGIN IMMEDIATE; PostgreSQL: row locks) and then see its result.
"""

from __future__ import annotations

import asyncio

import pytest

from db import carts, checkout
from db.engine import transaction
from db.errors import OutOfStock
from db.models import PaymentMethod, Role
from tests.factories import (
    CURRENCY,
    THRESHOLD,
    count_sales,
    do_checkout,
    fill_cart,
    ledger_problems,
    make_product,
    make_staff,
    run,
    stock_of,
)

HOLD_SECONDS = 0.3


@pytest.fixture
async def cashier(session_factory):
    return await run(session_factory, make_staff, role=Role.CASHIER)


def _checkout_kwargs(chat_id: int, version: int, cashier) -> dict:
    return {
        "chat_id": chat_id,
        "expected_version": version,
        "cashier": cashier,
        "payment_method": PaymentMethod.CARD,
        "tendered_minor": None,
        "currency": CURRENCY,
        "default_low_stock_threshold": THRESHOLD,
    }


async def _outcomes(results: list) -> tuple[list, list]:
    sales = [r for r in results if isinstance(r, checkout.CheckoutResult)]
    refused = [r for r in results if isinstance(r, OutOfStock)]
    unexpected = [r for r in results if r not in sales and r not in refused]
    assert unexpected == []
    return sales, refused


@pytest.mark.parametrize("round_", range(3))
async def test_two_carts_race_for_the_last_units(session_factory, cashier, round_):
    last = await run(session_factory, make_product, name="Last one", stock=3)
    a = await run(session_factory, fill_cart, chat_id=1, items=[(last, 2)])
    b = await run(session_factory, fill_cart, chat_id=2, items=[(last, 2)])

    results = await asyncio.gather(
        do_checkout(session_factory, chat_id=1, cashier=cashier, version=a.version),
        do_checkout(session_factory, chat_id=2, cashier=cashier, version=b.version),
        return_exceptions=True,
    )

    sales, refused = await _outcomes(results)
    assert len(sales) == 1 and len(refused) == 1
    assert [(s.requested, s.available) for s in refused[0].shortages] == [(2, 1)]
    assert await stock_of(session_factory, last.id) == 1
    assert await count_sales(session_factory) == 1
    assert await ledger_problems(session_factory) == []


async def test_many_carts_race_for_few_units(session_factory, cashier):
    scarce = await run(session_factory, make_product, stock=3)
    plenty = await run(session_factory, make_product, stock=100)
    versions = {}
    for chat_id in range(1, 9):
        # Products in different orders in different carts: locks are still taken in id order.
        items = [(scarce, 1), (plenty, 1)] if chat_id % 2 else [(plenty, 1), (scarce, 1)]
        versions[chat_id] = (await run(session_factory, fill_cart, chat_id=chat_id, items=items)).version

    results = await asyncio.gather(
        *(do_checkout(session_factory, chat_id=c, cashier=cashier, version=v) for c, v in versions.items()),
        return_exceptions=True,
    )

    sales, refused = await _outcomes(results)
    assert (len(sales), len(refused)) == (3, 5)
    assert await stock_of(session_factory, scarce.id) == 0
    assert await stock_of(session_factory, plenty.id) == 97  # losers' other lines rolled back
    assert await count_sales(session_factory) == 3
    assert await ledger_problems(session_factory) == []


async def test_held_checkout_makes_the_racing_one_run_out(session_factory, cashier):
    last = await run(session_factory, make_product, stock=1)
    a = await run(session_factory, fill_cart, chat_id=1, items=[(last, 1)])
    b = await run(session_factory, fill_cart, chat_id=2, items=[(last, 1)])

    async with transaction(session_factory) as session:
        won = await checkout.checkout(session, **_checkout_kwargs(1, a.version, cashier))
        racing = asyncio.create_task(do_checkout(session_factory, chat_id=2, cashier=cashier, version=b.version))
        await asyncio.sleep(HOLD_SECONDS)
        assert not racing.done()  # waiting for our transaction
    with pytest.raises(OutOfStock):
        await racing

    assert not won.already_recorded
    assert await stock_of(session_factory, last.id) == 0
    assert await count_sales(session_factory) == 1
    assert await ledger_problems(session_factory) == []


@pytest.mark.parametrize("taps", [2, 4])
async def test_concurrent_double_tap_makes_one_sale(session_factory, cashier, taps):
    tea = await run(session_factory, make_product, stock=10)
    view = await run(session_factory, fill_cart, chat_id=1, items=[(tea, 3)])

    results = await asyncio.gather(
        *(do_checkout(session_factory, chat_id=1, cashier=cashier, version=view.version) for _ in range(taps))
    )

    assert sorted(r.already_recorded for r in results) == [False] + [True] * (taps - 1)
    assert len({r.sale.id for r in results}) == 1
    assert await count_sales(session_factory) == 1
    assert await stock_of(session_factory, tea.id) == 7
    assert await ledger_problems(session_factory) == []


async def test_held_double_tap_finds_the_sale_recorded(session_factory, cashier):
    tea = await run(session_factory, make_product, stock=10)
    view = await run(session_factory, fill_cart, chat_id=1, items=[(tea, 3)])

    async with transaction(session_factory) as session:
        first = await checkout.checkout(session, **_checkout_kwargs(1, view.version, cashier))
        twin = asyncio.create_task(do_checkout(session_factory, chat_id=1, cashier=cashier, version=view.version))
        await asyncio.sleep(HOLD_SECONDS)
        assert not twin.done()
    second = await twin

    assert (first.already_recorded, second.already_recorded) == (False, True)
    assert second.sale.id == first.sale.id
    assert await count_sales(session_factory) == 1
    assert await stock_of(session_factory, tea.id) == 7


async def test_twin_proceeds_when_the_first_checkout_rolls_back(session_factory, cashier):
    tea = await run(session_factory, make_product, stock=10)
    view = await run(session_factory, fill_cart, chat_id=1, items=[(tea, 3)])

    class Crash(Exception):
        pass

    with pytest.raises(Crash):
        async with transaction(session_factory) as session:
            await checkout.checkout(session, **_checkout_kwargs(1, view.version, cashier))
            twin = asyncio.create_task(do_checkout(session_factory, chat_id=1, cashier=cashier, version=view.version))
            await asyncio.sleep(HOLD_SECONDS)
            raise Crash  # e.g. the process failed before commit
    result = await twin

    assert not result.already_recorded
    assert await count_sales(session_factory) == 1
    assert await stock_of(session_factory, tea.id) == 7
    assert (await run(session_factory, carts.get_cart_view, chat_id=1)).is_empty
    assert await ledger_problems(session_factory) == []
