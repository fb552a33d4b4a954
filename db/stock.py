"""Stock and its ledger: every change of a product's stock is a StockMovement (who, why, when).

Stock changes only through one SQL expression (``stock = stock + :delta``, never
read-modify-write, so a concurrent sale is never overwritten), run by ``change_stock`` or, for a
sale, ``take_stock``; the caller writes the matching StockMovement in the same transaction
(``move_stock`` does both). db/ledger.py checks
that every product's stock is the sum of its movements.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import NamedTuple

from sqlalchemy import Update, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from db import audit
from db.catalog import MAX_STOCK, Page, clean_text, get_product, label, lowered, paginate, require_int
from db.errors import InvalidInput
from db.models import MovementReason, Product, Staff, StockMovement
from db.pagination import CursorPage, keyset_page


@dataclass(frozen=True)
class StockRow:
    product: Product
    threshold: int
    is_low: bool


def effective_threshold(product: Product, default: int) -> int:
    """The product's own low-stock threshold, or the store's default."""
    return threshold_or_default(product.low_stock_threshold, default)


def threshold_or_default(own: int | None, default: int) -> int:
    return own if own is not None else default


def _stock_change(product_id: int, delta: int, *, only_active: bool) -> Update:
    """``stock += delta`` unless it would go below zero (or, with only_active, if archived)."""
    if delta == 0:
        raise ValueError("a stock change of zero")
    statement = update(Product).where(Product.id == product_id)
    if delta < 0:
        statement = statement.where(Product.stock >= -delta)
    if only_active:
        statement = statement.where(Product.archived.is_(False))
    return statement.values(stock=Product.stock + delta).execution_options(synchronize_session=False)


async def change_stock(session: AsyncSession, *, product_id: int, delta: int, only_active: bool = False) -> bool:
    """``stock += delta`` in SQL unless it would go below zero (or, with only_active, if archived).

    Returns whether the row changed. The caller must write the StockMovement for it.
    """
    result = await session.execute(_stock_change(product_id, delta, only_active=only_active))
    return result.rowcount == 1


class StockLeft(NamedTuple):
    stock: int
    low_stock_threshold: int | None
    low_stock_alerted: bool


async def take_stock(session: AsyncSession, *, product_id: int, quantity: int) -> StockLeft | None:
    """Sell ``quantity`` of an active product as change_stock does, in the same statement reading
    back what the low-stock check needs (the stock left, the threshold, the alert flag); None,
    nothing changed, when there is not enough or it is archived. The row stays locked until the
    commit, so a concurrent sale of the product sees the alert flag this transaction sets."""
    statement = _stock_change(product_id, -quantity, only_active=True).returning(
        Product.stock, Product.low_stock_threshold, Product.low_stock_alerted
    )
    row = (await session.execute(statement)).one_or_none()
    return StockLeft(*row) if row is not None else None


async def move_stock(
    session: AsyncSession,
    *,
    product_id: int,
    delta: int,
    reason: MovementReason,
    staff_id: int | None,
    note: str = "",
    sale_id: int | None = None,
    request_key: str | None = None,
) -> bool:
    """Change stock and write its movement; False (nothing written) if stock would go negative."""
    if not await change_stock(session, product_id=product_id, delta=delta):
        return False
    session.add(
        StockMovement(
            product_id=product_id,
            quantity=delta,
            reason=reason,
            sale_id=sale_id,
            staff_id=staff_id,
            note=note,
            request_key=request_key,
        )
    )
    await session.flush()
    return True


async def already_moved(session: AsyncSession, request_key: str | None) -> bool:
    """Whether the request with this key already moved stock (a replayed update)."""
    if request_key is None:
        return False
    found = await session.scalar(select(StockMovement.id).where(StockMovement.request_key == request_key))
    return found is not None


def clear_alert_if_recovered(product: Product, default_threshold: int | None) -> None:
    """Re-arm the low-stock alert once stock is back above the threshold.

    Without the store default, a product that has no threshold of its own is re-armed on any
    increase: a repeated alert is better than a missed one.
    """
    if not product.low_stock_alerted:
        return
    if product.low_stock_threshold is None and default_threshold is None:
        product.low_stock_alerted = False
    elif product.stock > effective_threshold(product, default_threshold or 0):
        product.low_stock_alerted = False


async def restock(
    session: AsyncSession,
    *,
    product_id: int,
    qty: int,
    note: str = "",
    actor: Staff | None = None,
    default_threshold: int | None = None,
    request_key: str | None = None,
) -> Product:
    """Goods received: add ``qty`` to stock. A `request_key` already recorded changes nothing."""
    qty = require_int(qty, "The quantity", lo=1, hi=MAX_STOCK)
    note = clean_text(note, "The note", max_len=255, required=False)
    product = await get_product(session, product_id=product_id)
    if await already_moved(session, request_key):
        return product
    if product.stock + qty > MAX_STOCK:
        raise InvalidInput(f"Stock of {label(product)} would exceed {MAX_STOCK}.")
    await move_stock(
        session,
        product_id=product.id,
        delta=qty,
        reason=MovementReason.RESTOCK,
        staff_id=actor.id if actor else None,
        note=note,
        request_key=request_key,
    )
    product = await get_product(session, product_id=product.id)
    clear_alert_if_recovered(product, default_threshold)
    await audit.record(
        session,
        actor=actor,
        action="restock",
        details=f"{label(product)}: +{qty} → {product.stock}" + (f" ({note})" if note else ""),
    )
    return product


async def adjust(
    session: AsyncSession,
    *,
    product_id: int,
    delta: int,
    reason: str,
    actor: Staff | None = None,
    default_threshold: int | None = None,
    request_key: str | None = None,
) -> Product:
    """Correct stock by ``delta`` (count, breakage, theft...) with a reason; never below zero.

    A `request_key` already recorded changes nothing (a replayed update)."""
    delta = require_int(delta, "The change", lo=-MAX_STOCK, hi=MAX_STOCK)
    if delta == 0:
        raise InvalidInput("The change must not be zero.")
    reason = clean_text(reason, "A reason", max_len=255)
    product = await get_product(session, product_id=product_id)
    if product.stock + delta > MAX_STOCK:
        raise InvalidInput(f"Stock of {label(product)} would exceed {MAX_STOCK}.")
    if await already_moved(session, request_key):
        return product
    staff_id = actor.id if actor else None
    moved = await move_stock(
        session,
        product_id=product.id,
        delta=delta,
        reason=MovementReason.ADJUSTMENT,
        staff_id=staff_id,
        note=reason,
        request_key=request_key,
    )
    product = await get_product(session, product_id=product.id)
    if not moved:
        raise InvalidInput(f"Only {product.stock} of {label(product)} in stock: cannot take away {-delta}.")
    clear_alert_if_recovered(product, default_threshold)
    await audit.record(
        session, actor=actor, action="adjust", details=f"{label(product)}: {delta:+d} → {product.stock} ({reason})"
    )
    return product


async def list_stock(
    session: AsyncSession, *, page: int = 1, per_page: int = 8, default_threshold: int
) -> Page[StockRow]:
    """Active products by name, each with its effective threshold and whether it is low."""
    default_threshold = require_int(default_threshold, "The default threshold", lo=0, hi=MAX_STOCK)
    query = select(Product).where(Product.archived.is_(False))
    products = await paginate(
        session, query, page=page, per_page=per_page, order_by=[lowered(Product.name), Product.id]
    )
    rows = []
    for product in products.items:
        threshold = effective_threshold(product, default_threshold)
        rows.append(StockRow(product=product, threshold=threshold, is_low=product.stock <= threshold))
    return Page(items=rows, total=products.total, page=products.page, pages=products.pages)


async def low_stock(session: AsyncSession, *, default_threshold: int) -> list[Product]:
    """Active products at or below their effective threshold, emptiest first."""
    default_threshold = require_int(default_threshold, "The default threshold", lo=0, hi=MAX_STOCK)
    query = (
        select(Product)
        .where(
            Product.archived.is_(False),
            Product.stock <= func.coalesce(Product.low_stock_threshold, default_threshold),
        )
        .order_by(Product.stock, lowered(Product.name), Product.id)
        .options(selectinload(Product.category))
        .execution_options(populate_existing=True)
    )
    return list((await session.scalars(query)).all())


async def movements_page(
    session: AsyncSession,
    *,
    product_id: int | None = None,
    start: datetime | None = None,
    end: datetime | None = None,
    cursor: str | None = None,
    limit: int = 50,
) -> CursorPage[StockMovement]:
    """Stock movements, newest first, of one product or all, with ``start <= created_at < end``."""
    query = select(StockMovement)
    if product_id is not None:
        product = await get_product(session, product_id=product_id)
        query = query.where(StockMovement.product_id == product.id)
    if start is not None:
        query = query.where(StockMovement.created_at >= start)
    if end is not None:
        query = query.where(StockMovement.created_at < end)
    return await keyset_page(session, query, id_column=StockMovement.id, cursor=cursor, limit=limit, newest_first=True)
