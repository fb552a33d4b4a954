"""Data helpers for the manager's office tests: products, sales at chosen times, lookups."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select, update

from db import catalog, staff
from db.engine import SessionFactory, transaction
from db.models import AuditEntry, PaymentMethod, Product, Sale, Staff, StockMovement
from tests.factories import make_product, run, sell


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
) -> Sale:
    """A real checkout (stock, lines, movements) whose time is then moved to `at` (aware)."""
    cashier = await staff_member(session_factory, cashier_id)
    result = await sell(session_factory, cashier=cashier, items=items, method=method, tendered_minor=tendered_minor)
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
