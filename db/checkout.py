"""Checkout and refunds: a sale is created exactly once.

The idempotency key is the cart and the version the cashier confirmed. Checkout claims that version
with a conditional UPDATE before touching anything else: of two concurrent checkouts of the same
screen (a double tap, a replayed update) exactly one gets the claim; the other finds the sale the
winner recorded, or a StaleCart when the winner failed and rolled back. Stock is taken with
conditional UPDATEs in product-id order (no deadlock between two carts sharing products), so stock
can never go below zero whatever races with it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Select, delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from db import audit, money
from db.carts import check_chat_id
from db.catalog import get_product, is_row_id, require_int
from db.errors import Conflict, Forbidden, InvalidInput, NotFound, OutOfStock, Shortage, StaleCart
from db.models import (
    Cart,
    CartLine,
    Customer,
    MovementReason,
    PaymentMethod,
    Product,
    Sale,
    SaleLine,
    SaleStatus,
    Staff,
    StockMovement,
    utcnow,
)
from db.stock import change_stock, clear_alert_if_recovered, effective_threshold, move_stock

MAX_TENDERED_MINOR = 10**15


@dataclass(frozen=True)
class CheckoutResult:
    sale: Sale  # lines, cashier and customer loaded
    already_recorded: bool  # True: this was a repeat; nothing new was written
    # Products this sale took to or below their low-stock threshold (alert once per crossing).
    low_stock_crossed: list[Product] = field(default_factory=list)


def idempotency_key(cart_id: int, version: int) -> str:
    return f"cart:{cart_id}:v{version}"


def _sale_query() -> Select[Any]:
    return (
        select(Sale)
        .options(selectinload(Sale.lines), selectinload(Sale.cashier), selectinload(Sale.customer))
        .execution_options(populate_existing=True)
    )


async def _sale_by_key(session: AsyncSession, key: str) -> Sale | None:
    return await session.scalar(_sale_query().where(Sale.idempotency_key == key))


def _check_payment(method: Any, tendered_minor: Any, total_minor: int, currency: str) -> tuple[int | None, int | None]:
    """(tendered, change) for the sale row."""
    if method is not PaymentMethod.CASH:
        return None, None
    if tendered_minor is None:
        raise InvalidInput("Enter the cash tendered.")
    tendered = require_int(tendered_minor, "The cash tendered", lo=0, hi=MAX_TENDERED_MINOR)
    if tendered < total_minor:
        short = money.format_money(total_minor - tendered, currency)
        raise InvalidInput(f"Cash tendered is {short} short of the total {money.format_money(total_minor, currency)}.")
    return tendered, tendered - total_minor


async def checkout(
    session: AsyncSession,
    *,
    chat_id: int,
    expected_version: int,
    cashier: Staff,
    payment_method: PaymentMethod,
    tendered_minor: int | None,
    currency: str,
    default_low_stock_threshold: int,
    customer_id: int | None = None,
) -> CheckoutResult:
    """Ring up the chat's cart as it was at ``expected_version``; see the module docstring."""
    chat_id = check_chat_id(chat_id)
    expected_version = require_int(expected_version, "The cart version", lo=1, hi=2**31 - 1)
    if not isinstance(cashier, Staff) or not cashier.active:
        raise Forbidden("Only active staff can check out.")
    try:
        method = PaymentMethod(payment_method)
    except ValueError:
        raise InvalidInput(f"Unknown payment method “{payment_method}”.") from None
    if not isinstance(currency, str) or not money.is_known_currency(currency):
        raise InvalidInput(f"Unknown currency “{currency}”.")
    default_low_stock_threshold = require_int(
        default_low_stock_threshold, "The default low-stock threshold", lo=0, hi=10**9
    )

    cart = await session.scalar(select(Cart).where(Cart.chat_id == chat_id))
    if cart is None:
        raise InvalidInput("The cart is empty.")
    key = idempotency_key(cart.id, expected_version)

    # (1) A repeat of a checkout already recorded.
    existing = await _sale_by_key(session, key)
    if existing is not None:
        return CheckoutResult(sale=existing, already_recorded=True)

    # (2) Claim the version. On PostgreSQL a concurrent twin blocks here until the winner ends.
    claim = await session.execute(
        update(Cart)
        .where(Cart.id == cart.id, Cart.version == expected_version)
        .values(version=Cart.version + 1, updated_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    if claim.rowcount != 1:
        existing = await _sale_by_key(session, key)
        if existing is not None:
            return CheckoutResult(sale=existing, already_recorded=True)
        raise StaleCart("The cart changed since this screen was shown. Check it and try again.")
    cart = await session.scalar(select(Cart).where(Cart.id == cart.id).execution_options(populate_existing=True))
    assert cart is not None

    # (3) What is being sold, at today's prices.
    rows = (
        await session.execute(
            select(CartLine.product_id, CartLine.quantity, Product.name, Product.sku, Product.price_minor)
            .join(Product, Product.id == CartLine.product_id)
            .where(CartLine.cart_id == cart.id)
            .order_by(CartLine.product_id)
        )
    ).all()
    if not rows:
        raise InvalidInput("The cart is empty.")
    if customer_id is None:
        customer_id = cart.customer_id
    elif await session.get(Customer, require_int(customer_id, "The customer id", lo=1, hi=2**63 - 1)) is None:
        raise NotFound(f"No customer #{customer_id}.")

    # (4) Take the stock; report every shortage at once. The caller's rollback undoes the rest.
    shortages = []
    for row in rows:
        if not await change_stock(session, product_id=row.product_id, delta=-row.quantity, only_active=True):
            stock, archived = (
                await session.execute(select(Product.stock, Product.archived).where(Product.id == row.product_id))
            ).one()
            shortages.append(
                Shortage(
                    product_id=row.product_id,
                    name=row.name,
                    requested=row.quantity,
                    available=0 if archived else stock,
                )
            )
    if shortages:
        raise OutOfStock(shortages)

    # (5) Payment.
    total_minor = sum(row.price_minor * row.quantity for row in rows)
    tendered, change = _check_payment(method, tendered_minor, total_minor, currency)

    # (6) The sale, its lines and stock movements; the cart is emptied.
    sale = Sale(
        cashier_id=cashier.id,
        customer_id=customer_id,
        chat_id=chat_id,
        payment_method=method,
        currency=currency,
        total_minor=total_minor,
        tendered_minor=tendered,
        change_minor=change,
        status=SaleStatus.COMPLETED,
        idempotency_key=key,
    )
    session.add(sale)
    await session.flush()
    for row in rows:
        session.add(
            SaleLine(
                sale_id=sale.id,
                product_id=row.product_id,
                product_name=row.name,
                sku=row.sku,
                unit_price_minor=row.price_minor,
                quantity=row.quantity,
                line_total_minor=row.price_minor * row.quantity,
            )
        )
        session.add(
            StockMovement(
                product_id=row.product_id,
                quantity=-row.quantity,
                reason=MovementReason.SALE,
                sale_id=sale.id,
                staff_id=cashier.id,
                note=f"sale #{sale.id}",
            )
        )
    await session.execute(delete(CartLine).where(CartLine.cart_id == cart.id))
    cart.customer_id = None

    # (7) Low-stock crossings. Our stock UPDATE holds each product's row lock, so a concurrent
    # sale of the same product sees our flag and does not alert twice.
    crossed = []
    for row in rows:
        product = await get_product(session, product_id=row.product_id)
        if not product.low_stock_alerted and product.stock <= effective_threshold(product, default_low_stock_threshold):
            product.low_stock_alerted = True
            crossed.append(product)
    await session.flush()

    recorded = await _sale_by_key(session, key)
    assert recorded is not None
    return CheckoutResult(sale=recorded, already_recorded=False, low_stock_crossed=crossed)


async def recorded_sale(session: AsyncSession, *, cart_id: int, version: int) -> Sale | None:
    """The sale already recorded for this cart version, if any (read only).

    For a Confirm pressed again after its dialog ended (or after a restart): it tells "already
    recorded" from "never confirmed" without attempting a checkout.
    """
    if any(isinstance(v, bool) or not isinstance(v, int) for v in (cart_id, version)):
        return None
    return await _sale_by_key(session, idempotency_key(cart_id, version))


async def get_sale(session: AsyncSession, *, sale_id: int) -> Sale:
    """One sale with its lines, cashier and customer."""
    if not is_row_id(sale_id):
        raise NotFound(f"No sale #{sale_id}.")
    sale = await session.scalar(_sale_query().where(Sale.id == sale_id))
    if sale is None:
        raise NotFound(f"No sale #{sale_id}.")
    return sale


async def list_sales(
    session: AsyncSession,
    *,
    start: datetime,
    end: datetime,
    cashier_id: int | None = None,
    limit: int | None = None,
) -> list[Sale]:
    """Sales with ``start <= created_at < end``, newest first, with lines, cashier and customer."""
    query = _sale_query().where(Sale.created_at >= start, Sale.created_at < end)
    if cashier_id is not None:
        query = query.where(Sale.cashier_id == cashier_id)
    query = query.order_by(Sale.created_at.desc(), Sale.id.desc())
    if limit is not None:
        query = query.limit(require_int(limit, "The limit", lo=1, hi=10_000))
    return list((await session.scalars(query)).all())


async def refund_sale(
    session: AsyncSession, *, sale_id: int, actor: Staff | None, default_threshold: int | None = None
) -> Sale:
    """Refund a whole completed sale: its goods go back into stock."""
    sale = await get_sale(session, sale_id=sale_id)
    refunded_at = utcnow()
    # Conditional, so two concurrent refunds of one sale cannot both restock it.
    claim = await session.execute(
        update(Sale)
        .where(Sale.id == sale.id, Sale.status == SaleStatus.COMPLETED)
        .values(status=SaleStatus.REFUNDED, refunded_at=refunded_at, refunded_by_id=actor.id if actor else None)
        .execution_options(synchronize_session=False)
    )
    if claim.rowcount != 1:
        sale = await get_sale(session, sale_id=sale.id)
        when = f" on {sale.refunded_at:%Y-%m-%d %H:%M} UTC" if sale.refunded_at else ""
        raise Conflict(f"Sale #{sale.id} was already refunded{when}.")
    for line in sale.lines:
        await move_stock(
            session,
            product_id=line.product_id,
            delta=line.quantity,
            reason=MovementReason.REFUND,
            staff_id=actor.id if actor else None,
            note=f"refund of sale #{sale.id}",
            sale_id=sale.id,
        )
        clear_alert_if_recovered(await get_product(session, product_id=line.product_id), default_threshold)
    await session.flush()
    await audit.record(
        session,
        actor=actor,
        action="refund",
        details=f"sale #{sale.id}: {money.format_money(sale.total_minor, sale.currency)}",
    )
    return await get_sale(session, sale_id=sale.id)
