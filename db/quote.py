"""A cart (or an API sale's lines) priced as checkout would record it now: today's prices, each
product's tax rate and the discounts on its lines and on the cart (rules: db.pricing)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

from sqlalchemy import Row, select
from sqlalchemy.ext.asyncio import AsyncSession

from db import pricing
from db.models import CartLine, Category, Discount, Product
from db.taxes import RateSnapshot, rate_picker, rates_for, tax_breakdown


@dataclass(frozen=True)
class QuotedLine:
    product_id: int
    name: str
    sku: str
    unit_price_minor: int
    quantity: int
    tax_name: str
    priced: pricing.PricedLine


@dataclass(frozen=True)
class Quote:
    """A cart priced as checkout would record it now: the lines, their tax and discounts."""

    lines: list[QuotedLine]
    cart: pricing.PricedCart
    cart_discount: Discount | None
    line_discounts: dict[int, Discount]  # product id -> its line discount

    @property
    def total_minor(self) -> int:
        return self.cart.total_minor

    def tax_by_name(self) -> list[tuple[str, int, int, int]]:
        """(name, rate_bp, tax, net of tax) per rate, lowest rate first."""
        return tax_breakdown(
            (line.tax_name, line.priced.rate_bp, line.priced.tax_minor, line.priced.total_minor) for line in self.lines
        )


def discount_rule(discount: Discount | None) -> pricing.DiscountRule | None:
    if discount is None:
        return None
    return pricing.DiscountRule(percent_bp=discount.percent_bp, amount_minor=discount.amount_minor)


class QuoteItem(NamedTuple):
    """One product being sold, at today's price (a cart line or an API sale line)."""

    product_id: int
    quantity: int
    name: str
    sku: str
    price_minor: int


async def quote_items(
    session: AsyncSession,
    items: Sequence[QuoteItem],
    *,
    prices_include_tax: bool,
    line_discounts: dict[int, Discount] | None = None,
    cart_discount: Discount | None = None,
    rates: dict[int, RateSnapshot] | None = None,
) -> Quote:
    """Price ``items`` with each product's rate now (``rates`` when the caller read them with the
    items) and the given discounts (by product id)."""
    line_discounts = line_discounts or {}
    if rates is None:
        rates = await rates_for(session, [item.product_id for item in items])
    inputs = [
        pricing.LineIn(
            unit_price_minor=item.price_minor,
            quantity=item.quantity,
            rate_bp=rates[item.product_id].rate_bp,
            discount=discount_rule(line_discounts.get(item.product_id)),
        )
        for item in items
    ]
    priced = pricing.price_cart(
        inputs, cart_discount=discount_rule(cart_discount), prices_include_tax=prices_include_tax
    )
    lines = [
        QuotedLine(
            product_id=item.product_id,
            name=item.name,
            sku=item.sku,
            unit_price_minor=item.price_minor,
            quantity=item.quantity,
            tax_name=rates[item.product_id].name,
            priced=line,
        )
        for item, line in zip(items, priced.lines, strict=True)
    ]
    return Quote(lines=lines, cart=priced, cart_discount=cart_discount, line_discounts=line_discounts)


def cart_row_columns() -> list[Any]:
    """What cart_rows reads of each line: the line, and what pricing and the cart's screen need of
    its product (price, stock, archived, its own and its category's rate ids)."""
    return [
        CartLine.id,
        CartLine.product_id,
        CartLine.quantity,
        Product.name,
        Product.sku,
        Product.price_minor,
        Product.stock,
        Product.archived,
        Product.tax_rate_id,
        Category.tax_rate_id.label("category_rate_id"),
    ]


async def cart_rows(session: AsyncSession, *, cart_id: int) -> Sequence[Row[Any]]:
    """The cart's lines in the order they were added (cart_row_columns), in one statement."""
    return (
        await session.execute(
            select(*cart_row_columns())
            .join(Product, Product.id == CartLine.product_id)
            .outerjoin(Category, Category.id == Product.category_id)
            .where(CartLine.cart_id == cart_id)
            .order_by(CartLine.id)
        )
    ).all()


async def quote_cart(
    session: AsyncSession, *, cart_id: int, prices_include_tax: bool, rows: Sequence[Row[Any]] | None = None
) -> Quote:
    """Price the cart's lines (in the order they were added) with today's prices, rates and
    discounts; ``rows`` are its cart_rows when the caller has read them already."""
    if rows is None:
        rows = await cart_rows(session, cart_id=cart_id)
    discounts = list((await session.scalars(select(Discount).where(Discount.cart_id == cart_id))).all())
    by_line = {d.cart_line_id: d for d in discounts if d.cart_line_id is not None}
    pick = await rate_picker(session) if rows else None
    return await quote_items(
        session,
        [QuoteItem(row.product_id, row.quantity, row.name, row.sku, row.price_minor) for row in rows],
        prices_include_tax=prices_include_tax,
        line_discounts={row.product_id: by_line[row.id] for row in rows if row.id in by_line},
        cart_discount=next((d for d in discounts if d.cart_line_id is None), None),
        rates={row.product_id: pick(row.tax_rate_id, row.category_rate_id) for row in rows} if pick else {},
    )
