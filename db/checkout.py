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
from typing import Any

from sqlalchemy import Select, delete, func, insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload
from sqlalchemy.orm.attributes import set_committed_value

from db import audit, loyalty, money, pricing
from db.carts import check_chat_id
from db.catalog import MAX_QTY, get_by_sku, get_product, is_row_id, label, require_int
from db.customers import get_customer
from db.discounts import DiscountAsk, allowance, check_fits
from db.discounts import checked as checked_discount
from db.errors import (
    Forbidden,
    InvalidInput,
    NotFound,
    OutOfStock,
    PosError,
    Shortage,
    StaleCart,
    TotalChanged,
)
from db.models import (
    Cart,
    CartLine,
    Counter,
    Customer,
    Discount,
    MovementReason,
    Payment,
    PaymentMethod,
    Product,
    Refund,
    Role,
    Sale,
    SaleLine,
    SaleStatus,
    Staff,
    StockMovement,
    utcnow,
)
from db.pagination import CursorPage, keyset_page
from db.quote import Quote, QuoteItem, quote_cart, quote_items
from db.stock import take_stock, threshold_or_default
from db.taxes import format_rate

MAX_TENDERED_MINOR = 10**15
RECEIPT_COUNTER = "receipt"


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
        .options(
            selectinload(Sale.lines),
            selectinload(Sale.cashier),
            selectinload(Sale.customer),
            selectinload(Sale.payments),
            selectinload(Sale.discounts),
            selectinload(Sale.refunds).selectinload(Refund.lines),
        )
        .execution_options(populate_existing=True)
    )


async def _sale_by_key(session: AsyncSession, key: str) -> Sale | None:
    return await session.scalar(_sale_query().where(Sale.idempotency_key == key))


def _check_payments(
    payments: Sequence[pricing.PaymentIn], total_minor: int, currency: str, *, mismatch: type[PosError] = StaleCart
) -> list[pricing.PaymentIn]:
    """The payments as recorded: they add up to the total exactly; change comes only from cash.

    Payments that do not add up raise ``mismatch``: StaleCart at the counter (the cart changed
    under the payment screen), InvalidInput for a sale asked for in one go (the API).
    """
    if not payments:
        raise InvalidInput("Choose how the customer pays.")
    checked = []
    for part in payments:
        try:
            method = PaymentMethod(part.method)
        except ValueError:
            raise InvalidInput(f"Unknown payment method “{str(part.method)[:16]}”.") from None
        amount = require_int(part.amount_minor, "A payment", lo=0, hi=MAX_TENDERED_MINOR)
        tendered = None
        if method is PaymentMethod.CASH:
            if part.tendered_minor is None:
                raise InvalidInput("Enter the cash tendered.")
            tendered = require_int(part.tendered_minor, "The cash tendered", lo=0, hi=MAX_TENDERED_MINOR)
            if tendered < amount:
                short = money.format_money(amount - tendered, currency)
                raise InvalidInput(
                    f"Cash tendered is {short} short of the total {money.format_money(amount, currency)}."
                )
        checked.append(pricing.PaymentIn(method=method.value, amount_minor=amount, tendered_minor=tendered))
    paid = sum(p.amount_minor for p in checked)
    if len(checked) > 1 and any(p.amount_minor == 0 for p in checked):
        says = "Each part of a split payment is more than zero."
    elif paid != total_minor:
        says = (
            f"The payments add up to {money.format_money(paid, currency)}, not the total "
            f"{money.format_money(total_minor, currency)}."
        )
    else:
        return checked
    raise mismatch(says + (" Check the cart and try again." if mismatch is StaleCart else ""))
    return checked


async def claim_receipt_number(session: AsyncSession) -> int:
    """The next receipt number, claimed in the caller's transaction.

    An UPDATE of one counter row: it holds the row lock until the transaction ends, so numbers are
    handed out in commit order, and a rollback gives the number back (no gap, no reuse). Call it
    as late as possible in the transaction: it serialises checkouts from here to the commit.
    """
    return await claim_counter(session, name=RECEIPT_COUNTER, highest=select(func.max(Sale.number)))


async def claim_counter(session: AsyncSession, *, name: str, highest: Select[Any]) -> int:
    """The next value of counter ``name`` (see claim_receipt_number); ``highest`` selects the
    highest number already used, where a database created without migrations starts after."""
    claim = update(Counter).where(Counter.name == name).values(value=Counter.value + 1).returning(Counter.value)
    number = await session.scalar(claim)
    if number is None:  # a database created without migrations (tests): start after the highest
        start = select(func.coalesce(highest.scalar_subquery(), 0)).scalar_subquery()
        insert = pg_insert if session.bind.dialect.name == "postgresql" else sqlite_insert
        await session.execute(
            insert(Counter).values(name=name, value=start).on_conflict_do_nothing(index_elements=["name"])
        )
        number = await session.scalar(claim)
    assert number is not None
    return number


async def checkout(
    session: AsyncSession,
    *,
    chat_id: int,
    expected_version: int,
    cashier: Staff,
    currency: str,
    default_low_stock_threshold: int,
    payment_method: PaymentMethod | None = None,
    tendered_minor: int | None = None,
    payments: Sequence[pricing.PaymentIn] | None = None,
    prices_include_tax: bool = True,
    expected_total_minor: int | None = None,
    customer_id: int | None = None,
    require_shift: bool = False,
    loyalty_earn_bp: int = 0,
) -> CheckoutResult:
    """Ring up the chat's cart as it was at ``expected_version``; see the module docstring.

    The sale goes into the till's open shift (its cash into the drawer); with ``require_shift``
    a till without one raises db.shifts.ShiftRequired and records nothing.

    Paid by ``payments`` (a split), or by one ``payment_method`` for the whole total.
    ``expected_total_minor`` is the total the cashier was shown: a cart whose total changed since
    (a price, a tax rate or a discount between the screen and the tap) raises TotalChanged and
    records nothing.
    """
    chat_id = check_chat_id(chat_id)
    expected_version = require_int(expected_version, "The cart version", lo=1, hi=2**31 - 1)
    if not isinstance(cashier, Staff) or not cashier.active:
        raise Forbidden("Only active staff can check out.")
    if payments is None:
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

    cart = (
        await session.execute(select(Cart.id, Cart.customer_id).where(Cart.chat_id == chat_id))
    ).one_or_none()
    if cart is None:
        raise InvalidInput("The cart is empty.")
    key = idempotency_key(cart.id, expected_version)

    # (1) Claim the version, and take the customer off the cart with it (the sale keeps them).
    # A repeat of a recorded checkout finds the version gone and then its sale; on PostgreSQL a
    # concurrent twin blocks here until the winner ends, then does the same. Every change to a
    # cart bumps its version, so the customer read above is the one of the version claimed.
    claim = await session.execute(
        update(Cart)
        .where(Cart.id == cart.id, Cart.version == expected_version)
        .values(version=Cart.version + 1, customer_id=None, updated_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    if claim.rowcount != 1:
        existing = await _sale_by_key(session, key)
        if existing is not None:
            return CheckoutResult(sale=existing, already_recorded=True)
        raise StaleCart("The cart changed since this screen was shown. Check it and try again.")

    # (2) What is being sold, at today's prices, rates and discounts.
    quote = await quote_cart(session, cart_id=cart.id, prices_include_tax=bool(prices_include_tax))
    rows = quote.lines
    if not rows:
        raise InvalidInput("The cart is empty.")
    total_minor = quote.total_minor
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

    if payments is None:
        tendered = tendered_minor if method is PaymentMethod.CASH else None
        payments = [pricing.PaymentIn(method=method.value, amount_minor=quote.total_minor, tendered_minor=tendered)]
    sale, crossed = await _record_sale(
        session,
        quote=quote,
        cashier=cashier,
        chat_id=chat_id,
        payments=payments,
        currency=currency,
        customer_id=customer_id,
        key=key,
        default_low_stock_threshold=default_low_stock_threshold,
        require_shift=bool(require_shift),
        loyalty_earn_bp=loyalty_earn_bp,
    )
    await session.execute(delete(CartLine).where(CartLine.cart_id == cart.id))
    return CheckoutResult(sale=sale, already_recorded=False, low_stock_crossed=crossed)


async def _record_sale(
    session: AsyncSession,
    *,
    quote: Quote,
    cashier: Staff,
    chat_id: int,
    payments: Sequence[pricing.PaymentIn],
    currency: str,
    customer_id: int | None,
    key: str,
    default_low_stock_threshold: int,
    require_shift: bool = False,
    loyalty_earn_bp: int = 0,
) -> tuple[Sale, list[Product]]:
    """Take the stock, check the payments, claim the receipt number and write the sale (its cash
    into the till's open shift); the sale as get_sale loads it, and the low-stock crossings it caused.

    ``items`` are one per product, in the order the receipt lists them (the order they were added);
    stock is taken in product-id order whatever that order is (see the module docstring).
    """
    from db import shifts  # db.shifts builds on this module

    # The till's shift the sale and its cash go into (none for a sale outside any chat).
    shift = None if chat_id == NO_CHAT else await shifts.shift_for_sale(session, chat_id=chat_id, require=require_shift)
    items = quote.lines
    # (4) Take the stock; report every shortage at once. The caller's rollback undoes the rest.
    shortages, left = [], {}
    for row in sorted(items, key=lambda item: item.product_id):
        taken = await take_stock(session, product_id=row.product_id, quantity=row.quantity)
        if taken is not None:
            left[row.product_id] = taken
            continue
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
    total_minor = quote.total_minor
    parts = _check_payments(payments, total_minor, currency)
    first = parts[0]

    # (6) The receipt number: last, so its row lock is held only from here to the commit.
    number = await claim_receipt_number(session)

    # (7) The sale, its lines, payments and stock movements.
    sale = Sale(
        number=number,
        cashier_id=cashier.id,
        customer_id=customer_id,
        chat_id=chat_id,
        payment_method=PaymentMethod(first.method),
        currency=currency,
        total_minor=total_minor,
        gross_minor=quote.cart.gross_minor,
        discount_minor=quote.cart.discount_minor,
        tax_minor=quote.cart.tax_minor,
        prices_include_tax=quote.cart.prices_include_tax,
        tendered_minor=first.tendered_minor,
        change_minor=first.change_minor,
        status=SaleStatus.COMPLETED,
        idempotency_key=key,
        shift_id=shift.id if shift is not None else None,
    )
    session.add(sale)
    await session.flush()
    if shift is not None:
        await shifts.record_sale_cash(session, shift=shift, sale=sale, payments=parts, staff=cashier)
    recorded_payments = [
        Payment(
            sale_id=sale.id,
            method=PaymentMethod(part.method),
            amount_minor=part.amount_minor,
            tendered_minor=part.tendered_minor,
            change_minor=part.change_minor,
        )
        for part in parts
    ]
    session.add_all(recorded_payments)
    # The lines and their stock movements each in one statement (a multi-row INSERT). The lines
    # come back in any order; one per product, they are put back in the receipt's by product.
    written = {
        line.product_id: line
        for line in (
            await session.scalars(
                insert(SaleLine).returning(SaleLine),
                [
                    {
                        "sale_id": sale.id,
                        "product_id": row.product_id,
                        "product_name": row.name,
                        "sku": row.sku,
                        "unit_price_minor": row.unit_price_minor,
                        "quantity": row.quantity,
                        "line_total_minor": row.priced.total_minor,
                        "line_discount_minor": row.priced.line_discount_minor,
                        "cart_discount_minor": row.priced.cart_discount_minor,
                        "tax_name": row.tax_name,
                        "tax_rate_bp": row.priced.rate_bp,
                        "tax_minor": row.priced.tax_minor,
                    }
                    for row in items
                ],
            )
        ).all()
    }
    assert len(written) == len(items), "a sale has one line per product"
    lines = [written[row.product_id] for row in items]
    await session.execute(
        insert(StockMovement),
        [
            {
                "product_id": row.product_id,
                "quantity": -row.quantity,
                "reason": MovementReason.SALE,
                "sale_id": sale.id,
                "staff_id": cashier.id,
                "note": f"sale #{number}",
            }
            for row in items
        ],
    )
    discounts = []
    for row, line in zip(items, lines, strict=True):
        discount = quote.line_discounts.get(row.product_id)
        if discount is not None:
            discount.sale_id, discount.sale_line_id = sale.id, line.id
            discount.cart_id, discount.cart_line_id = None, None
            discount.applied_minor = row.priced.line_discount_minor
            session.add(discount)  # new when the sale was asked for in one go (sell)
            discounts.append(discount)
    if quote.cart_discount is not None:
        quote.cart_discount.sale_id, quote.cart_discount.cart_id = sale.id, None
        quote.cart_discount.applied_minor = quote.cart.cart_discount_minor
        session.add(quote.cart_discount)
        discounts.append(quote.cart_discount)
    await session.flush()
    # Loyalty points: those it was paid with are spent (only one of two sales spending the same
    # points gets them), then the customer earns on the money part.
    await loyalty.record_sale_points(session, sale=sale, payments=parts, staff_id=cashier.id, earn_bp=loyalty_earn_bp)

    # (8) Low-stock crossings, from what each stock UPDATE returned (see step 4): alert once.
    crossed = []
    for row in items:
        stock, threshold, alerted = left[row.product_id]
        if not alerted and stock <= threshold_or_default(threshold, default_low_stock_threshold):
            product = await get_product(session, product_id=row.product_id)
            product.low_stock_alerted = True
            crossed.append(product)
    await session.flush()

    # The sale as get_sale loads it, from what was just written: no statement to read it back.
    customer = await session.get(Customer, customer_id) if customer_id is not None else None
    for name, value in (
        ("lines", lines),
        ("payments", recorded_payments),
        ("discounts", sorted(discounts, key=lambda d: d.id)),
        ("refunds", []),
        ("cashier", cashier),
        ("customer", customer),
    ):
        set_committed_value(sale, name, value)
    return sale, crossed


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


async def get_sale_by_number(session: AsyncSession, *, number: int) -> Sale:
    """The sale with this receipt number (the number people see and type)."""
    if not is_row_id(number):
        raise NotFound(f"No sale #{number}.")
    sale = await session.scalar(_sale_query().where(Sale.number == number))
    if sale is None:
        raise NotFound(f"No sale #{number}.")
    return sale


async def refund_sale(
    session: AsyncSession,
    *,
    sale_id: int,
    actor: Staff | None,
    default_threshold: int | None = None,
    reason: str = "",
    chat_id: int | None = None,
    require_shift: bool = False,
) -> Sale:
    """Refund all that is left of a sale, back to stock, the way it was paid (one tap), at the
    till ``chat_id`` (its shift's drawer pays cash back; see db.refunds.refund)."""
    from db.refunds import refund  # db.refunds builds on this module

    await refund(
        session,
        sale_id=sale_id,
        lines=None,
        actor=actor,
        reason=reason,
        default_threshold=default_threshold,
        chat_id=chat_id,
        require_shift=require_shift,
    )
    return await get_sale(session, sale_id=sale_id)


# --- sales from other systems (the REST API) ----------------------------------------------------

MAX_SALE_LINES = 100
MAX_PAYMENTS = 10
NO_CHAT = 0  # Sale.chat_id of a sale rung up outside any chat


@dataclass(frozen=True)
class LineRequest:
    """A line to sell: a product by id or by SKU (or barcode), how many, and its discount if any
    (the discount's ``product_id`` is ignored: it is this line's product)."""

    quantity: int
    product_id: int | None = None
    sku: str | None = None
    discount: DiscountAsk | None = None


@dataclass(frozen=True)
class PaymentRequest:
    method: PaymentMethod | str
    amount_minor: int
    tendered_minor: int | None = None  # cash only: what the customer handed over (default: the amount)


def _payment_parts(payments: Sequence[PaymentRequest]) -> list[pricing.PaymentIn]:
    """The requested payments, each checked on its own (the total is checked once it is known)."""
    if not payments:
        raise InvalidInput("Choose how the customer pays.")
    if len(payments) > MAX_PAYMENTS:
        raise InvalidInput(f"A sale is paid in at most {MAX_PAYMENTS} parts.")
    parts = []
    for number, payment in enumerate(payments, start=1):
        which = f"Payment {number}" if len(payments) > 1 else "The payment"
        try:
            method = PaymentMethod(payment.method)
        except ValueError:
            raise InvalidInput(f"Unknown payment method “{str(payment.method)[:16]}”.") from None
        amount = require_int(payment.amount_minor, f"{which} amount", lo=0, hi=MAX_TENDERED_MINOR)
        tendered = None
        if method is PaymentMethod.CASH:
            tendered = payment.tendered_minor if payment.tendered_minor is not None else amount
        elif payment.tendered_minor is not None:
            raise InvalidInput(f"Only a cash payment has a tendered amount ({which.lower()} is {method.value}).")
        parts.append(pricing.PaymentIn(method=method.value, amount_minor=amount, tendered_minor=tendered))
    return parts


async def sell(
    session: AsyncSession,
    *,
    lines: Sequence[LineRequest],
    payments: Sequence[PaymentRequest] | None = None,
    payment: PaymentRequest | None = None,
    cashier: Staff,
    currency: str,
    default_low_stock_threshold: int,
    customer_id: int | None = None,
    prices_include_tax: bool = True,
    discount: DiscountAsk | None = None,
    role: Role | None = None,
    discount_limit_bp: int = 0,
    loyalty_earn_bp: int = 0,
) -> CheckoutResult:
    """Ring up ``lines`` at today's prices, by the same rules as a cart's checkout.

    ``payments`` (or one ``payment``) must add up to the total exactly; cash may be tendered above
    its part (the sale records the change). Lines naming one product twice are added together,
    unless one of them has a discount (refused: a product with a discount is on one line).

    Discounts: each line's ``discount`` and the cart's ``discount``, priced by db.pricing as the
    chat's are (a cart discount spread over the lines by largest remainder). ``role`` (default:
    the cashier's) decides the limit: a cashier may give up to ``discount_limit_bp`` of the gross
    (CASHIER_MAX_DISCOUNT_PERCENT), beyond it Forbidden and nothing written; a manager or an
    admin any discount. An amount larger than what it comes off is refused, not cut down.
    """
    if not isinstance(cashier, Staff) or not cashier.active:
        raise Forbidden("Only active staff can sell.")
    if not lines:
        raise InvalidInput("A sale needs at least one line.")
    if len(lines) > MAX_SALE_LINES:
        raise InvalidInput(f"A sale has at most {MAX_SALE_LINES} lines.")
    if not isinstance(currency, str) or not money.is_known_currency(currency):
        raise InvalidInput(f"Unknown currency “{currency}”.")
    if (payment is None) == (payments is None):
        raise InvalidInput("Give the payment or the payments (one of them).")
    parts = _payment_parts([payment] if payment is not None else list(payments or ()))
    role = cashier.role if role is None else Role(role)
    discount_limit_bp = require_int(discount_limit_bp, "The discount limit", lo=0, hi=pricing.FULL_BP)

    quantities: dict[int, int] = {}
    products: dict[int, Product] = {}
    asks: dict[int, DiscountAsk] = {}
    for number, line in enumerate(lines, start=1):
        quantity = require_int(line.quantity, f"The quantity of line {number}", lo=1, hi=MAX_QTY)
        if (line.product_id is None) == (line.sku is None):
            raise InvalidInput(f"Line {number} must name its product by product_id or by sku, not both.")
        if line.product_id is not None:
            product = await get_product(session, product_id=line.product_id)
        else:
            product = await get_by_sku(session, sku=line.sku or "")
        if (line.discount is not None or product.id in asks) and product.id in quantities:
            raise InvalidInput(f"{label(product)} is on more than one line: put it on one line to discount it.")
        if line.discount is not None:
            asks[product.id] = checked_discount(
                line.discount, missing_reason=f"Give a reason for the discount on line {number}."
            )
        products[product.id] = product
        quantities[product.id] = quantities.get(product.id, 0) + quantity
        if quantities[product.id] > MAX_QTY:
            raise InvalidInput(f"At most {MAX_QTY} of one product per sale ({label(product)}).")
    cart_ask = None
    if discount is not None:
        cart_ask = checked_discount(discount, missing_reason="Give a reason for the cart discount.")
    if customer_id is not None:
        customer_id = (await get_customer(session, customer_id=customer_id)).id

    def recorded_as(ask: DiscountAsk) -> Discount:
        return Discount(
            percent_bp=ask.percent_bp, amount_minor=ask.amount_minor, reason=ask.reason, staff_id=cashier.id
        )

    items = [
        QuoteItem(pid, quantities[pid], products[pid].name, products[pid].sku, products[pid].price_minor)
        for pid in sorted(quantities)
    ]
    quote = await quote_items(
        session,
        items,
        prices_include_tax=prices_include_tax,
        line_discounts={pid: recorded_as(ask) for pid, ask in asks.items()},
        cart_discount=recorded_as(cart_ask) if cart_ask is not None else None,
    )
    for row in quote.lines:
        if row.product_id in asks:
            check_fits(asks[row.product_id], row.priced.gross_minor, what=row.name, currency=currency)
    if cart_ask is not None:
        after_lines = quote.cart.gross_minor - sum(row.priced.line_discount_minor for row in quote.lines)
        check_fits(cart_ask, after_lines, what="the cart (after its line discounts)", currency=currency)
    allowed = allowance(quote.cart, role=role, limit_bp=discount_limit_bp)
    if not allowed.allowed:
        given, limit, gross = (
            money.format_money(v, currency) for v in (allowed.given_minor, allowed.limit_minor, allowed.gross_minor)
        )
        raise Forbidden(
            f"Discounts of {given} are more than a {role.value} may give on this sale: at most {limit} "
            f"({format_rate(discount_limit_bp)} of the gross {gross}). A manager or an admin key may give more."
        )
    total_minor = quote.total_minor
    parts = _check_payments(parts, total_minor, currency, mismatch=InvalidInput)

    key = f"api:{uuid.uuid4().hex}"
    recorded, crossed = await _record_sale(
        session,
        quote=quote,
        cashier=cashier,
        chat_id=NO_CHAT,
        payments=parts,
        currency=currency,
        customer_id=customer_id,
        key=key,
        default_low_stock_threshold=default_low_stock_threshold,
        loyalty_earn_bp=loyalty_earn_bp,
    )
    for discount_row in recorded.discounts:
        what = "the cart" if discount_row.sale_line_id is None else f"line #{discount_row.sale_line_id}"
        how = (
            format_rate(discount_row.percent_bp)
            if discount_row.percent_bp is not None
            else money.format_money(discount_row.amount_minor or 0, currency)
        )
        await audit.record(
            session,
            actor=cashier,
            action="discount",
            details=(
                f"{how} off {what} ({discount_row.reason}) on sale #{recorded.number}: "
                f"{money.format_money(discount_row.applied_minor, currency)}"
            ),
        )
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
    """A refund asked for line by line (some units of some lines, each restocked or not)."""
    from db.refunds import ReturnLine, refund  # db.refunds builds on this module

    asked: dict[int, ReturnLine] = {}
    for request in lines:
        if request.sale_line_id in asked:
            raise InvalidInput(f"Line #{request.sale_line_id} is listed twice.")
        asked[request.sale_line_id] = ReturnLine(request.quantity, bool(request.restock))
    await refund(
        session,
        sale_id=sale_id,
        lines=asked,
        method=method,
        reason=reason,
        actor=actor,
        default_threshold=default_threshold,
    )
    return await get_sale(session, sale_id=sale_id)


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
