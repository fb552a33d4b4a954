"""Small helpers that build test data through the real db operations.

Each helper takes a session and flushes; ``run`` wraps one operation in its own transaction,
as the bot does for every update.
"""

from __future__ import annotations

import itertools
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from db import carts, catalog, checkout, customers, ledger, staff
from db.carts import CartView
from db.checkout import CheckoutResult
from db.engine import SessionFactory, transaction
from db.models import Customer, PaymentMethod, Product, Role, Sale, Staff, StockMovement

CURRENCY = "USD"
THRESHOLD = 3  # the store's default low-stock threshold in these tests

_seq = itertools.count(1)
R = TypeVar("R")


def next_id() -> int:
    return next(_seq)


async def run(factory: SessionFactory, operation: Callable[..., Awaitable[R]], /, **kwargs: Any) -> R:
    """One operation in one transaction (commit on success, rollback on error)."""
    async with transaction(factory) as session:
        return await operation(session, **kwargs)


async def make_staff(
    session: AsyncSession, *, role: Role = Role.CASHIER, name: str | None = None, telegram_id: int | None = None
) -> Staff:
    n = next_id()
    return await staff.add_staff(
        session, telegram_id=telegram_id or 100_000 + n, role=role, name=name or f"Staff {n}", actor=None
    )


async def make_product(
    session: AsyncSession,
    *,
    name: str | None = None,
    price_minor: int = 250,
    stock: int = 10,
    category: str | None = None,
    sku: str | None = None,
    barcode: str | None = None,
    low_stock_threshold: int | None = None,
    actor: Staff | None = None,
) -> Product:
    return await catalog.add_product(
        session,
        name=name or f"Product {next_id()}",
        price_minor=price_minor,
        stock=stock,
        category=category,
        sku=sku,
        barcode=barcode,
        low_stock_threshold=low_stock_threshold,
        actor=actor,
    )


async def make_customer(
    session: AsyncSession, *, name: str | None = None, phone: str | None = None, email: str | None = None
) -> Customer:
    return await customers.register_customer(session, name=name or f"Customer {next_id()}", phone=phone, email=email)


async def fill_cart(session: AsyncSession, *, chat_id: int, items: list[tuple[Product, int]]) -> CartView:
    view = await carts.get_cart_view(session, chat_id=chat_id)
    for product, qty in items:
        view = await carts.add_item(session, chat_id=chat_id, product_id=product.id, qty=qty)
    return view


async def do_checkout(
    factory: SessionFactory,
    *,
    chat_id: int,
    cashier: Staff,
    version: int | None = None,
    method: PaymentMethod = PaymentMethod.CARD,
    tendered_minor: int | None = None,
    customer_id: int | None = None,
) -> CheckoutResult:
    """Check out the chat's cart at ``version`` (default: its current version) in one transaction."""
    if version is None:
        version = (await run(factory, carts.get_cart_view, chat_id=chat_id)).version
    return await run(
        factory,
        checkout.checkout,
        chat_id=chat_id,
        expected_version=version,
        cashier=cashier,
        payment_method=method,
        tendered_minor=tendered_minor,
        currency=CURRENCY,
        customer_id=customer_id,
        default_low_stock_threshold=THRESHOLD,
    )


async def sell(
    factory: SessionFactory,
    *,
    cashier: Staff,
    items: list[tuple[Product, int]],
    chat_id: int | None = None,
    method: PaymentMethod = PaymentMethod.CARD,
    tendered_minor: int | None = None,
) -> CheckoutResult:
    """Fill a cart and check it out, each in its own transaction like the bot does."""
    chat_id = chat_id or 500_000 + next_id()
    await run(factory, fill_cart, chat_id=chat_id, items=items)
    return await do_checkout(factory, chat_id=chat_id, cashier=cashier, method=method, tendered_minor=tendered_minor)


async def stock_of(factory: SessionFactory, product_id: int) -> int:
    return (await run(factory, catalog.get_product, product_id=product_id)).stock


async def count_sales(factory: SessionFactory) -> int:
    async with factory() as session:
        return await session.scalar(select(func.count(Sale.id))) or 0


async def movements_of(factory: SessionFactory, product_id: int) -> list[StockMovement]:
    async with factory() as session:
        rows = await session.scalars(
            select(StockMovement).where(StockMovement.product_id == product_id).order_by(StockMovement.id)
        )
        return list(rows.all())


async def ledger_problems(factory: SessionFactory) -> list[ledger.LedgerMismatch]:
    async with factory() as session:
        return await ledger.check_ledger(session)
