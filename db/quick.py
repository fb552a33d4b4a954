"""The /quick grid: up to twelve favourite products, one tap each at the counter.

A manager pins products (in pin order, first); the rest of the grid fills with the last 30 days'
best sellers (by units sold in sales not refunded), so a shop that never pins still gets a grid.
Only products on sale appear.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from db import audit
from db.catalog import get_or_add, get_product, label, lowered
from db.errors import Conflict, InvalidInput
from db.models import Product, QuickPin, Sale, SaleLine, SaleStatus, Staff, utcnow

GRID_SIZE = 12
BEST_SELLER_DAYS = 30


async def pin(session: AsyncSession, *, product_id: int, actor: Staff | None = None) -> tuple[Product, bool]:
    """Pin a product on sale to the grid; (product, newly pinned). Pinning twice is not an error."""
    product = await get_product(session, product_id=product_id)
    if product.archived:
        raise InvalidInput(f"{label(product)} is archived: /unarchive it before pinning it.")
    query = select(QuickPin).where(QuickPin.product_id == product.id)
    if await session.scalar(query) is not None:
        return product, False
    pinned = await session.scalar(select(func.count()).select_from(QuickPin)) or 0
    if pinned >= GRID_SIZE:
        raise Conflict(f"{GRID_SIZE} products are pinned already, a full grid: /unpin one first.")
    _, created = await get_or_add(
        session, query, lambda: QuickPin(product_id=product.id, pinned_by_id=actor.id if actor else None)
    )
    if created:
        await audit.record(session, actor=actor, action="pin", details=label(product))
    return product, created


async def unpin(session: AsyncSession, *, product_id: int, actor: Staff | None = None) -> tuple[Product, bool]:
    """Take a product off the grid's pins; (product, was pinned)."""
    product = await get_product(session, product_id=product_id)
    removed = await session.execute(delete(QuickPin).where(QuickPin.product_id == product.id))
    if removed.rowcount:
        await audit.record(session, actor=actor, action="unpin", details=label(product))
    return product, bool(removed.rowcount)


async def pinned_ids(session: AsyncSession) -> list[int]:
    """The pinned products' ids, in pin order (archived ones too)."""
    return list((await session.scalars(select(QuickPin.product_id).order_by(QuickPin.id))).all())


async def favourites(session: AsyncSession, *, now: datetime | None = None) -> list[Product]:
    """The grid: pinned products on sale in pin order, then the best sellers since 30 days ago."""
    since = (now or utcnow()) - timedelta(days=BEST_SELLER_DAYS)
    pinned = list(
        (
            await session.scalars(
                select(Product)
                .join(QuickPin, QuickPin.product_id == Product.id)
                .where(Product.archived.is_(False))
                .order_by(QuickPin.id)
                .limit(GRID_SIZE)
                .options(selectinload(Product.category))
                .execution_options(populate_existing=True)
            )
        ).all()
    )
    room = GRID_SIZE - len(pinned)
    if room <= 0:
        return pinned
    units = func.sum(SaleLine.quantity)
    best = (
        select(Product)
        .join(SaleLine, SaleLine.product_id == Product.id)
        .join(Sale, Sale.id == SaleLine.sale_id)
        .where(
            Sale.created_at >= since,
            Sale.status != SaleStatus.REFUNDED,
            Product.archived.is_(False),
            Product.id.not_in(select(QuickPin.product_id)),
        )
        .group_by(Product.id)
        .order_by(units.desc(), lowered(Product.name), Product.id)
        .limit(room)
        .options(selectinload(Product.category))
        .execution_options(populate_existing=True)
    )
    return pinned + list((await session.scalars(best)).all())
