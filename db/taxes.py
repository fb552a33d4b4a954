"""Tax rates: named rates, the store default, a rate per category and per product (product wins).

A sale line keeps a snapshot of its rate's name and value, so changing a rate never changes a
recorded sale.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from db import audit
from db.catalog import get_by_sku
from db.errors import Conflict, InvalidInput, NotFound
from db.models import Category, Product, Sale, Staff, TaxRate

MAX_NAME = 32


@dataclass(frozen=True)
class RateSnapshot:
    name: str
    rate_bp: int


NO_TAX = RateSnapshot(name="", rate_bp=0)


def parse_rate(text: str) -> int:
    """'16', '16%', '7.25%' -> hundredths of a percent (1600, 725); 0 to 100 with two decimals."""
    raw = (text or "").strip().removesuffix("%").strip()
    match = re.fullmatch(r"(\d{1,3})(?:[.,](\d{1,2}))?", raw)
    if not match:
        raise InvalidInput(f"“{text[:20]}” is not a rate: use a percentage such as 16, 0 or 7.25%.")
    value = int(match.group(1)) * 100 + int((match.group(2) or "").ljust(2, "0"))
    if value > 10_000:
        raise InvalidInput("A tax rate is at most 100%.")
    return value


def format_rate(rate_bp: int) -> str:
    """1600 -> '16%', 725 -> '7.25%', 50 -> '0.5%'."""
    whole, frac = divmod(rate_bp, 100)
    return f"{whole}.{frac:02d}".rstrip("0").rstrip(".") + "%"


def _clean_name(name: str) -> str:
    name = " ".join((name or "").split())
    if not name:
        raise InvalidInput("Give the rate a name, e.g. VAT.")
    if len(name) > MAX_NAME:
        raise InvalidInput(f"A rate's name is at most {MAX_NAME} characters.")
    return name


async def list_rates(session: AsyncSession) -> list[TaxRate]:
    return list((await session.scalars(select(TaxRate).order_by(TaxRate.rate_bp, TaxRate.name))).all())


async def find_rate(session: AsyncSession, name: str) -> TaxRate:
    clean = " ".join((name or "").split())
    rate = await session.scalar(select(TaxRate).where(func.lower(TaxRate.name) == clean.lower()))
    if rate is None:
        raise NotFound(f"No tax rate “{clean[:MAX_NAME]}”. /tax lists them; /tax add creates one.")
    return rate


async def add_rate(session: AsyncSession, *, name: str, rate_bp: int, actor: Staff | None) -> TaxRate:
    name = _clean_name(name)
    if await session.scalar(select(TaxRate.id).where(func.lower(TaxRate.name) == name.lower())) is not None:
        raise Conflict(f"A tax rate named “{name}” already exists.")
    # The first rate becomes the default: a shop with one rate means it for everything.
    first = await session.scalar(select(func.count()).select_from(TaxRate)) == 0
    rate = TaxRate(name=name, rate_bp=rate_bp, is_default=first)
    session.add(rate)
    await session.flush()
    await audit.record(session, actor=actor, action="tax_add", details=f"{name} {format_rate(rate_bp)}")
    return rate


async def set_default(session: AsyncSession, *, name: str, actor: Staff | None) -> TaxRate:
    rate = await find_rate(session, name)
    await session.execute(update(TaxRate).values(is_default=TaxRate.id == rate.id))
    await session.refresh(rate)
    await audit.record(session, actor=actor, action="tax_default", details=rate.name)
    return rate


async def assign(session: AsyncSession, *, target: str, name: str, actor: Staff | None) -> str:
    """Give a product (by SKU) or a category (by name) a rate; says which it was."""
    rate = await find_rate(session, name)
    category = await session.scalar(select(Category).where(func.lower(Category.name) == target.strip().lower()))
    if category is not None:
        category.tax_rate_id = rate.id
        what = f"category {category.name}"
    else:
        try:
            product = await get_by_sku(session, sku=target)
        except NotFound:
            raise NotFound(f"No product or category “{target.strip()[:64]}”.") from None
        await set_product_rate(session, product=product, name=rate.name, actor=actor)
        return f"{product.name} ({product.sku})"
    await session.flush()
    await audit.record(session, actor=actor, action="tax_set", details=f"{what}: {rate.name}")
    return what


async def set_product_rate(session: AsyncSession, *, product: Product, name: str | None, actor: Staff | None) -> None:
    """Give ``product`` its own rate (by name), or with None take it away: its category's rate or
    the store default applies again."""
    rate = None if name is None else await find_rate(session, name)
    product.tax_rate_id = rate.id if rate else None
    await session.flush()
    details = f"{product.name} ({product.sku}): {rate.name if rate else 'its own rate removed'}"
    await audit.record(session, actor=actor, action="tax_set", details=details)


async def rates_for(session: AsyncSession, product_ids: Iterable[int]) -> dict[int, RateSnapshot]:
    """Each product's rate now: its own, else its category's, else the store default, else none."""
    ids = list(product_ids)
    if not ids:
        return {}
    rows = (
        await session.execute(
            select(Product.id, Product.tax_rate_id, Category.tax_rate_id)
            .outerjoin(Category, Category.id == Product.category_id)
            .where(Product.id.in_(ids))
        )
    ).all()
    pick = await rate_picker(session)
    return {product_id: pick(own, of_category) for product_id, own, of_category in rows}


async def rate_picker(session: AsyncSession) -> Callable[[int | None, int | None], RateSnapshot]:
    """The rule of rates_for for rows that already carry the product's and its category's rate
    ids (a cart read with them joined in): one read of the rates, then no statement per product."""
    rates = {r.id: r for r in await list_rates(session)}
    default = next((r for r in rates.values() if r.is_default), None)

    def pick(own: int | None, of_category: int | None) -> RateSnapshot:
        rate = rates.get(own) or rates.get(of_category) or default
        return RateSnapshot(rate.name, rate.rate_bp) if rate else NO_TAX

    return pick


def tax_breakdown(lines: Iterable[tuple[str, int, int, int]]) -> list[tuple[str, int, int, int]]:
    """(name, rate_bp, tax, paid) per line -> (name, rate_bp, tax, net of tax) per rate, lowest
    rate first: the sums of the lines, so the receipt adds up to the cent."""
    out: dict[tuple[str, int], list[int]] = {}
    for name, rate_bp, tax, paid in lines:
        entry = out.setdefault((name, rate_bp), [0, 0])
        entry[0] += tax
        entry[1] += paid - tax
    return [(name, bp, tax, net) for (name, bp), (tax, net) in sorted(out.items(), key=lambda kv: (kv[0][1], kv[0][0]))]


def sale_taxes(sale: Sale) -> list[tuple[str, int, int, int]]:
    """A recorded sale's tax by rate, from its lines' snapshots."""
    return tax_breakdown(
        (line.tax_name, line.tax_rate_bp, line.tax_minor, line.line_total_minor) for line in sale.lines
    )
