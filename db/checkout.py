"""Checkout and refunds: a sale is created exactly once.

The idempotency key is the cart and the version the cashier confirmed, and the sale is recorded
only at the total the confirm screen showed (a price changed in between refuses it, nothing
written). Checkout claims that version with a conditional UPDATE before touching anything else:
of two concurrent checkouts of the same screen (a double tap, a replayed update) exactly one gets
the claim; the other finds the sale the winner recorded, or a StaleCart when the winner failed and
rolled back. Stock is taken with conditional UPDATEs in product-id order (no deadlock between two
carts sharing products), so stock can never go below zero whatever races with it.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import Select, delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from db import audit, money
from db.carts import check_chat_id
from db.catalog import MAX_QTY, clean_text, get_by_sku, get_product, is_row_id, label, require_int
from db.customers import get_customer
from db.errors import Conflict, Forbidden, InvalidInput, NotFound, OutOfStock, Shortage, StaleCart, TotalChanged
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
from db.pagination import CursorPage, keyset_page
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
    expected_total_minor: int | None = None,
) -> CheckoutResult:
    """Ring up the chat's cart as it was at ``expected_version``; see the module docstring.

    ``expected_total_minor`` is the total the cashier was shown: a cart whose prices changed since
    (a manager's /price between the screen and the tap) raises TotalChanged and records nothing.
    """
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
    if expected_total_minor is not None:
        expected_total_minor = require_int(expected_total_minor, "The total shown", lo=0, hi=2**63 - 1)

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

    # (3) What is being sold, at today's prices, in the order the cashier added it.
    rows = (
        await session.execute(
            select(CartLine.product_id, CartLine.quantity, Product.name, Product.sku, Product.price_minor)
            .join(Product, Product.id == CartLine.product_id)
            .where(CartLine.cart_id == cart.id)
            .order_by(CartLine.id)
        )
    ).all()
    if not rows:
        raise InvalidInput("The cart is empty.")
    total_minor = sum(row.price_minor * row.quantity for row in rows)
    if expected_total_minor is not None and total_minor != expected_total_minor:
        shown, now = (money.format_money(v, currency) for v in (expected_total_minor, total_minor))
        raise TotalChanged(
            shown_minor=expected_total_minor,
            now_minor=total_minor,
            message=f"Prices changed since that screen: the total was {shown}, it is now {now}.",
        )
    if customer_id is None:
        customer_id = cart.customer_id
    elif await session.get(Customer, require_int(customer_id, "The customer id", lo=1, hi=2**63 - 1)) is None:
        raise NotFound(f"No customer #{customer_id}.")

    crossed = await _record_sale(
        session,
        items=rows,
        cashier=cashier,
        chat_id=chat_id,
        method=method,
        tendered_minor=tendered_minor,
        currency=currency,
        customer_id=customer_id,
        key=key,
        default_low_stock_threshold=default_low_stock_threshold,
    )
    await session.execute(delete(CartLine).where(CartLine.cart_id == cart.id))
    cart.customer_id = None
    await session.flush()

    recorded = await _sale_by_key(session, key)
    assert recorded is not None
    return CheckoutResult(sale=recorded, already_recorded=False, low_stock_crossed=crossed)


class _Item(NamedTuple):
    """One product being sold, at today's price (a cart line or an API sale line)."""

    product_id: int
    quantity: int
    name: str
    sku: str
    price_minor: int


async def _record_sale(
    session: AsyncSession,
    *,
    items: Sequence[Any],
    cashier: Staff,
    chat_id: int,
    method: PaymentMethod,
    tendered_minor: int | None,
    currency: str,
    customer_id: int | None,
    key: str,
    default_low_stock_threshold: int,
) -> list[Product]:
    """Take the stock, check the payment and write the sale; the low-stock crossings it caused.

    ``items`` are one per product, in the order the receipt lists them (the order they were added);
    stock is taken in product-id order whatever that order is (see the module docstring).
    """
    # (4) Take the stock; report every shortage at once. The caller's rollback undoes the rest.
    shortages = []
    for row in sorted(items, key=lambda item: item.product_id):
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
                    archived=archived,
                )
            )
    if shortages:
        raise OutOfStock(shortages)

    # (5) Payment.
    total_minor = sum(row.price_minor * row.quantity for row in items)
    tendered, change = _check_payment(method, tendered_minor, total_minor, currency)

    # (6) The sale, its lines and stock movements.
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
    for row in items:
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

    # (7) Low-stock crossings. Our stock UPDATE holds each product's row lock, so a concurrent
    # sale of the same product sees our flag and does not alert twice.
    crossed = []
    for row in items:
        product = await get_product(session, product_id=row.product_id)
        if not product.low_stock_alerted and product.stock <= effective_threshold(product, default_low_stock_threshold):
            product.low_stock_alerted = True
            crossed.append(product)
    await session.flush()
    return crossed


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
    session: AsyncSession,
    *,
    sale_id: int,
    actor: Staff | None,
    default_threshold: int | None = None,
    reason: str = "",
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
        details=f"sale #{sale.id}: {money.format_money(sale.total_minor, sale.currency)}"
        + (f" ({reason})" if reason else ""),
    )
    return await get_sale(session, sale_id=sale.id)


# --- sales from other systems (the REST API) ----------------------------------------------------

MAX_SALE_LINES = 100
NO_CHAT = 0  # Sale.chat_id of a sale rung up outside any chat


@dataclass(frozen=True)
class LineRequest:
    """A line to sell: a product by id or by SKU (or barcode), and how many."""

    quantity: int
    product_id: int | None = None
    sku: str | None = None


@dataclass(frozen=True)
class PaymentRequest:
    method: PaymentMethod | str
    amount_minor: int
    tendered_minor: int | None = None  # cash only: what the customer handed over (default: the amount)


async def sell(
    session: AsyncSession,
    *,
    lines: Sequence[LineRequest],
    payment: PaymentRequest,
    cashier: Staff,
    currency: str,
    default_low_stock_threshold: int,
    customer_id: int | None = None,
) -> CheckoutResult:
    """Ring up ``lines`` at today's prices, by the same rules as a cart's checkout.

    The payment must be exactly the total; cash may be tendered above it (the sale records the
    change). Lines naming one product twice are added together.
    """
    if not isinstance(cashier, Staff) or not cashier.active:
        raise Forbidden("Only active staff can sell.")
    if not lines:
        raise InvalidInput("A sale needs at least one line.")
    if len(lines) > MAX_SALE_LINES:
        raise InvalidInput(f"A sale has at most {MAX_SALE_LINES} lines.")
    if not isinstance(currency, str) or not money.is_known_currency(currency):
        raise InvalidInput(f"Unknown currency “{currency}”.")
    try:
        method = PaymentMethod(payment.method)
    except ValueError:
        raise InvalidInput(f"Unknown payment method “{payment.method}”.") from None

    quantities: dict[int, int] = {}
    products: dict[int, Product] = {}
    for number, line in enumerate(lines, start=1):
        quantity = require_int(line.quantity, f"The quantity of line {number}", lo=1, hi=MAX_QTY)
        if (line.product_id is None) == (line.sku is None):
            raise InvalidInput(f"Line {number} must name its product by product_id or by sku, not both.")
        if line.product_id is not None:
            product = await get_product(session, product_id=line.product_id)
        else:
            product = await get_by_sku(session, sku=line.sku or "")
        products[product.id] = product
        quantities[product.id] = quantities.get(product.id, 0) + quantity
        if quantities[product.id] > MAX_QTY:
            raise InvalidInput(f"At most {MAX_QTY} of one product per sale ({label(product)}).")
    if customer_id is not None:
        customer_id = (await get_customer(session, customer_id=customer_id)).id

    items = [
        _Item(pid, quantities[pid], products[pid].name, products[pid].sku, products[pid].price_minor)
        for pid in sorted(quantities)
    ]
    total_minor = sum(item.price_minor * item.quantity for item in items)
    amount = require_int(payment.amount_minor, "The payment amount", lo=0, hi=MAX_TENDERED_MINOR)
    if amount != total_minor:
        raise InvalidInput(
            f"The payment of {money.format_money(amount, currency)} does not match the total "
            f"{money.format_money(total_minor, currency)}."
        )
    tendered = None
    if method is PaymentMethod.CASH:
        tendered = payment.tendered_minor if payment.tendered_minor is not None else amount
    elif payment.tendered_minor is not None:
        raise InvalidInput("Only a cash payment has a tendered amount.")

    key = f"api:{uuid.uuid4().hex}"
    crossed = await _record_sale(
        session,
        items=items,
        cashier=cashier,
        chat_id=NO_CHAT,
        method=method,
        tendered_minor=tendered,
        currency=currency,
        customer_id=customer_id,
        key=key,
        default_low_stock_threshold=default_low_stock_threshold,
    )
    recorded = await _sale_by_key(session, key)
    assert recorded is not None
    return CheckoutResult(sale=recorded, already_recorded=False, low_stock_crossed=crossed)


@dataclass(frozen=True)
class RefundLineRequest:
    sale_line_id: int
    quantity: int
    restock: bool = True


async def refund_lines(
    session: AsyncSession,
    *,
    sale_id: int,
    lines: Sequence[RefundLineRequest],
    method: PaymentMethod | str | None,
    reason: str,
    actor: Staff | None,
    default_threshold: int | None = None,
) -> Sale:
    """A refund asked for line by line. Today a refund is the whole sale, back to stock and back
    the way it was paid: any other request is refused, naming what is possible."""
    sale = await get_sale(session, sale_id=sale_id)
    reason = clean_text(reason, "The reason", max_len=255, required=False)
    by_id = {line.id: line for line in sale.lines}
    asked: dict[int, RefundLineRequest] = {}
    for request in lines:
        line = by_id.get(request.sale_line_id)
        if line is None:
            raise InvalidInput(f"Sale #{sale.id} has no line #{request.sale_line_id}.")
        if request.sale_line_id in asked:
            raise InvalidInput(f"Line #{line.id} is listed twice.")
        if request.quantity != line.quantity:
            raise InvalidInput(
                f"Partial refunds are not available yet: refund all {line.quantity} of “{line.product_name}” "
                f"(line #{line.id}), or nothing."
            )
        if not request.restock:
            raise InvalidInput("Refunds that keep the goods out of stock are not available yet: set restock to true.")
        asked[line.id] = request
    missing = [line for line in sale.lines if line.id not in asked]
    if missing:
        names = ", ".join(f"#{line.id} “{line.product_name}”" for line in missing)
        raise InvalidInput(f"Partial refunds are not available yet: list every line of the sale (also {names}).")
    if method is not None and method != sale.payment_method:
        raise InvalidInput(
            f"Sale #{sale.id} was paid by {sale.payment_method.value}: today a refund goes back the same way."
        )
    return await refund_sale(session, sale_id=sale.id, actor=actor, default_threshold=default_threshold, reason=reason)


async def sales_page(
    session: AsyncSession,
    *,
    start: datetime | None = None,
    end: datetime | None = None,
    cashier_id: int | None = None,
    customer_id: int | None = None,
    cursor: str | None = None,
    limit: int = 50,
) -> CursorPage[Sale]:
    """Sales (newest first) with ``start <= created_at < end``, optionally of one cashier or customer."""
    query = _sale_query()
    if start is not None:
        query = query.where(Sale.created_at >= start)
    if end is not None:
        query = query.where(Sale.created_at < end)
    if cashier_id is not None:
        query = query.where(Sale.cashier_id == cashier_id)
    if customer_id is not None:
        query = query.where(Sale.customer_id == customer_id)
    return await keyset_page(session, query, id_column=Sale.id, cursor=cursor, limit=limit, newest_first=True)
