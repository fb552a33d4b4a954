"""Data helpers for the manager's office tests: products, sales at chosen times, lookups."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select, update

from db import catalog, checkout, staff
from db.engine import SessionFactory, transaction
from db.models import AuditEntry, Base, PaymentMethod, Product, Sale, Staff, StockMovement
from tests.chat.conftest import CASHIER2_ID, CASHIER_ID
from tests.factories import do_checkout, fill_cart, make_customer, make_product, next_id, run


async def product(session_factory: SessionFactory, **fields: Any) -> Product:
    return await run(session_factory, make_product, **fields)


async def fetch(session_factory: SessionFactory, sku: str) -> Product:
    return await run(session_factory, catalog.get_by_sku, sku=sku)


async def staff_member(session_factory: SessionFactory, telegram_id: int) -> Staff:
    async with session_factory() as session:
        member = await staff.get_active_staff(session, telegram_id=telegram_id)
    assert member is not None
    return member


async def sale_at(
    session_factory: SessionFactory,
    at: datetime,
    *,
    cashier_id: int,
    items: list[tuple[Product, int]],
    method: PaymentMethod = PaymentMethod.CARD,
    tendered_minor: int | None = None,
    customer_id: int | None = None,
) -> Sale:
    """A real checkout (stock, lines, movements) whose time is then moved to `at` (aware)."""
    cashier = await staff_member(session_factory, cashier_id)
    chat_id = 700_000 + next_id()
    await run(session_factory, fill_cart, chat_id=chat_id, items=items)
    result = await do_checkout(
        session_factory,
        chat_id=chat_id,
        cashier=cashier,
        method=method,
        tendered_minor=tendered_minor,
        customer_id=customer_id,
    )
    async with transaction(session_factory) as session:
        await session.execute(update(Sale).where(Sale.id == result.sale.id).values(created_at=at))
    return result.sale


async def movements(session_factory: SessionFactory, product_id: int) -> list[StockMovement]:
    async with session_factory() as session:
        rows = await session.scalars(
            select(StockMovement).where(StockMovement.product_id == product_id).order_by(StockMovement.id)
        )
        return list(rows.all())


async def audit_actions(session_factory: SessionFactory) -> list[AuditEntry]:
    async with session_factory() as session:
        return list((await session.scalars(select(AuditEntry).order_by(AuditEntry.id))).all())


async def count_products(session_factory: SessionFactory) -> int:
    async with session_factory() as session:
        return len((await session.scalars(select(Product.id))).all())


async def snapshot(session_factory: SessionFactory) -> dict[str, list[tuple]]:
    """Every row of every table: equal before and after means nothing changed."""
    async with session_factory() as session:
        return {
            table.name: [
                tuple(row) for row in await session.execute(select(table).order_by(*table.primary_key.columns))
            ]
            for table in Base.metadata.sorted_tables
        }


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


@dataclass
class Week:
    s1: Sale  # Mon 00:30 local, Sun 23:30 UTC: inside
    s2: Sale  # Wed 12:00, with a customer
    s3: Sale  # Sun 23:30 local: inside
    before: Sale  # Sun 15th 23:59 local (22:59 UTC): outside
    after: Sale  # Mon 23rd 00:10 local (Sun 23:10 UTC): outside
    refunded: Sale  # Thu, refunded the same day: no revenue, one refund


async def build_week(session_factory: SessionFactory) -> Week:
    """The week of 2026-11-16 (Mon) to 2026-11-22 (Sun) in Europe/Berlin, with sales at its edges."""
    apple = await product(session_factory, name="Apple juice", sku="APL", price_minor=250, stock=50)
    bread = await product(session_factory, name="Bread", sku="BRD", price_minor=1000, stock=50)
    cocoa = await product(session_factory, name="Cocoa", sku="COC", price_minor=100, stock=50)
    await product(session_factory, name="Dates", sku="DTS", price_minor=400, stock=50)  # never sold
    eggnog = await product(session_factory, name="Eggnog", sku="EGN", price_minor=500, stock=50)
    await run(session_factory, catalog.archive_product, product_id=eggnog.id)  # never sold, archived
    ann = await run(session_factory, make_customer, name="Ann Lee", phone="+4915112345678")

    s1 = await sale_at(
        session_factory,
        utc(2026, 11, 15, 23, 30),
        cashier_id=CASHIER_ID,
        items=[(apple, 2), (bread, 1)],
        method=PaymentMethod.CASH,
        tendered_minor=2000,
    )
    s2 = await sale_at(
        session_factory, utc(2026, 11, 18, 11, 0), cashier_id=CASHIER_ID, items=[(apple, 1)], customer_id=ann.id
    )
    s3 = await sale_at(
        session_factory,
        utc(2026, 11, 22, 22, 30),
        cashier_id=CASHIER2_ID,
        items=[(apple, 1), (cocoa, 3)],
        method=PaymentMethod.MOBILE,
    )
    before = await sale_at(session_factory, utc(2026, 11, 15, 22, 59), cashier_id=CASHIER_ID, items=[(bread, 1)])
    after = await sale_at(session_factory, utc(2026, 11, 22, 23, 10), cashier_id=CASHIER2_ID, items=[(cocoa, 1)])
    refunded = await sale_at(session_factory, utc(2026, 11, 19, 9, 0), cashier_id=CASHIER_ID, items=[(bread, 2)])
    await run(session_factory, checkout.refund_sale, sale_id=refunded.id, actor=None)
    async with transaction(session_factory) as session:
        await session.execute(update(Sale).where(Sale.id == refunded.id).values(refunded_at=utc(2026, 11, 19, 10, 0)))
    return Week(s1, s2, s3, before, after, refunded)
