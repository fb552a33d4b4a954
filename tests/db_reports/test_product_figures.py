"""Best, worst, 'not sold' and units of sales_summary against the same figures counted in Python.

A generated shop (ties on purpose, archived products sold and not, a product twice in one sale,
refunds, sales either side of the period) and the rules written out the plain way: every
product figure of the report must be exactly what they give, for any number of top products.
"""

from __future__ import annotations

import random
from collections import defaultdict
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from db.models import Product, SaleStatus
from db.periods import period_for_days
from db.reports import ProductStat, sales_summary

from .builders import Shop, local

ZONE = "Europe/Berlin"
TZ = ZoneInfo(ZONE)
PERIOD = period_for_days(date(2024, 3, 30), date(2024, 3, 31), TZ)  # a DST change inside
NAMES = "Alpha Bravo Charlie Delta Echo Foxtrot Golf Hotel India Juliett Kilo Lima Mike November".split()


def expected(products: list[Product], sales: list[tuple[datetime, SaleStatus, list[tuple[Product, int]]]], top_n: int):
    """(best, worst, unsold active count, units) by the definitions in db/reports.py."""
    in_sales: dict[int, set[int]] = defaultdict(set)
    quantity: dict[int, int] = defaultdict(int)
    revenue: dict[int, int] = defaultdict(int)
    for number, (when, status, lines) in enumerate(sales):
        if status is not SaleStatus.COMPLETED or not PERIOD.start <= when < PERIOD.end:
            continue
        for product, qty in lines:
            in_sales[product.id].add(number)
            quantity[product.id] += qty
            revenue[product.id] += product.price_minor * qty
    sold = [p for p in products if p.id in in_sales]

    def stat(p: Product) -> ProductStat:
        return ProductStat(p.id, p.name, p.sku, len(in_sales[p.id]), quantity[p.id], revenue[p.id])

    best = sorted(sold, key=lambda p: (-len(in_sales[p.id]), -revenue[p.id], p.name, p.id))[:top_n]
    rest = [p for p in sold if p not in best]
    worst = sorted(rest, key=lambda p: (len(in_sales[p.id]), revenue[p.id], p.name, p.id))[:top_n]
    unsold = sum(1 for p in products if not p.archived and p.id not in in_sales)
    return [stat(p) for p in best], [stat(p) for p in worst], unsold, sum(quantity.values())


@pytest.mark.parametrize("seed", [1, 2, 3])
async def test_product_figures_match_a_plain_count(session, seed: int) -> None:
    rng = random.Random(seed)
    shop = Shop(session)
    cashier = await shop.staff("Cal")
    # Few prices, so sales counts and revenues tie and the name decides.
    products = [
        await shop.product(name, rng.choice([100, 100, 250]), sku=f"S{i:02d}", archived=i % 5 == 4)
        for i, name in enumerate(NAMES)
    ]
    popular = products[: rng.randint(6, len(products) - 2)]  # the others never sell at all
    sales = []
    start = PERIOD.start - timedelta(hours=30)
    for _ in range(40):
        when = start + timedelta(minutes=rng.randrange(0, 60 * 24 * 4))
        lines = [(p, rng.randint(1, 3)) for p in rng.sample(popular, rng.randint(1, 3))]
        if rng.random() < 0.1:
            lines.append((lines[0][0], 1))  # the same product on two lines: still one sale
        refunded = rng.random() < 0.15
        status = SaleStatus.REFUNDED if refunded else SaleStatus.COMPLETED
        await shop.sale(when, cashier, lines, refunded_at=when + timedelta(hours=1) if refunded else None)
        sales.append((when, status, lines))
    await session.commit()

    for top_n in (0, 1, 3, 6, len(products)):
        summary = await sales_summary(session, period=PERIOD, tz=TZ, top_n=top_n)
        best, worst, unsold, units = expected(products, sales, top_n)
        assert summary.best == best, top_n
        assert summary.worst == worst, top_n
        assert summary.unsold_active_count == unsold, top_n
        assert summary.units_sold == units


async def test_not_sold_counts_every_active_product_when_nothing_sold(session) -> None:
    shop = Shop(session)
    cashier = await shop.staff("Cal")
    apple, _pear = await shop.product("Apple", 100), await shop.product("Pear", 100)
    await shop.product("Old", 100, archived=True)
    # Sold before the period only, and one refunded inside it.
    await shop.sale(local(ZONE, 2024, 3, 29, 12, 0), cashier, [(apple, 1)])
    await shop.sale(local(ZONE, 2024, 3, 30, 12, 0), cashier, [(apple, 1)], refunded_at=local(ZONE, 2024, 3, 30, 13, 0))
    await session.commit()
    summary = await sales_summary(session, period=PERIOD, tz=TZ)
    assert (summary.best, summary.worst, summary.units_sold) == ([], [], 0)
    assert summary.unsold_active_count == 2
