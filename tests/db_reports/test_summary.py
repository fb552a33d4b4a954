"""sales_summary against a day of hand-computed sales."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest

from db.models import PaymentMethod, Product, Staff
from db.periods import period_for_days
from db.reports import CashierStat, DayStat, PaymentStat, ProductStat, sales_summary

from .builders import Shop, local

ZONE = "America/New_York"
TZ = ZoneInfo(ZONE)
DAY = date(2024, 5, 15)
PERIOD = period_for_days(DAY, DAY, TZ)


def at(hour: int, day: int = 15) -> datetime:
    return local(ZONE, 2024, 5, day, hour, 0)


@dataclass
class Day:
    products: dict[str, Product]
    alice: Staff
    bob: Staff


@pytest.fixture
async def day(session) -> Day:
    """Five completed sales on 2024-05-15, refunds around them, sales the day before and after.

    sale  time   cashier  payment  lines                                total
    S1    09:00  Alice    cash     Apple x2 (300), Bread x1 (300)        600
    S2    10:00  Alice    card     Apple x1 (150), Cheese x1 (1250)     1400
    S3    11:00  Bob      card     Apple x3, Bread x2, Dates x1         1550
    S4    12:00  Bob      mobile   Bread x1 (300), Eggs x1 (275)         575
    S5    13:00  Alice    cash     Figs x1 (999), Ink x1 (100, archived) 1099
    """
    shop = Shop(session)
    alice, bob = await shop.staff("Alice"), await shop.staff("Bob")
    carol = await shop.customer("Carol")
    p = {
        name: await shop.product(name, price, sku=name[:3].upper(), archived=archived)
        for name, price, archived in [
            ("Apple", 150, False),
            ("Bread", 300, False),
            ("Cheese", 1250, False),
            ("Dates", 500, False),
            ("Eggs", 275, False),
            ("Figs", 999, False),
            ("Grapes", 400, False),  # never sold
            ("Honey", 800, True),  # archived, never sold: not "unsold"
            ("Ink", 100, True),  # archived but sold today: still in the figures
            ("Jam", 600, False),  # sold today, refunded today: unsold
            ("Kiwi", 50, False),  # sold only yesterday: unsold
        ]
    }
    await shop.sale(at(9), alice, [(p["Apple"], 2), (p["Bread"], 1)], customer=carol)
    await shop.sale(at(10), alice, [(p["Apple"], 1), (p["Cheese"], 1)], payment=PaymentMethod.CARD)
    await shop.sale(at(11), bob, [(p["Apple"], 3), (p["Bread"], 2), (p["Dates"], 1)], payment=PaymentMethod.CARD)
    await shop.sale(at(12), bob, [(p["Bread"], 1), (p["Eggs"], 1)], payment=PaymentMethod.MOBILE)
    await shop.sale(at(13), alice, [(p["Figs"], 1), (p["Ink"], 1)])
    # Refunded today: S6 made today (600), S7 made yesterday (50).
    await shop.sale(at(14), bob, [(p["Jam"], 1)], refunded_at=at(15))
    await shop.sale(at(16, day=14), bob, [(p["Kiwi"], 1)], refunded_at=at(10))
    # Made today, refunded tomorrow: not revenue, not a refund of today.
    await shop.sale(at(17), bob, [(p["Cheese"], 4)], refunded_at=at(9, day=16))
    # Completed the day before and the day after.
    await shop.sale(at(15, day=14), alice, [(p["Kiwi"], 2), (p["Apple"], 9)])
    await shop.sale(at(0, day=16), alice, [(p["Grapes"], 1)])
    await session.commit()
    return Day(products=p, alice=alice, bob=bob)


def stat(day: Day, name: str, sales_count: int, quantity: int, revenue: int) -> ProductStat:
    return ProductStat(day.products[name].id, name, name[:3].upper(), sales_count, quantity, revenue)


async def test_totals_and_refunds(session, day: Day) -> None:
    summary = await sales_summary(session, period=PERIOD, tz=TZ, top_n=3)
    assert summary.period == PERIOD
    assert summary.sales_count == 5
    assert summary.revenue_minor == 600 + 1400 + 1550 + 575 + 1099 == 5224
    assert summary.average_basket_minor == 1045  # 1044.8
    assert summary.units_sold == 3 + 2 + 6 + 2 + 2
    assert (summary.refunded_count, summary.refunded_minor) == (2, 650)
    assert summary.unsold_active_count == 3  # Grapes, Jam, Kiwi
    assert summary.by_day == [DayStat(DAY, 5, 5224)]


async def test_best_and_worst_products(session, day: Day) -> None:
    summary = await sales_summary(session, period=PERIOD, tz=TZ, top_n=3)
    # Bread and Apple are in three sales each; Bread earned more. Then Cheese, the top single seller.
    assert summary.best == [
        stat(day, "Bread", 3, 4, 1200),
        stat(day, "Apple", 3, 6, 900),
        stat(day, "Cheese", 1, 1, 1250),
    ]
    assert summary.worst == [
        stat(day, "Ink", 1, 1, 100),
        stat(day, "Eggs", 1, 1, 275),
        stat(day, "Dates", 1, 1, 500),
    ]


async def test_worst_never_repeats_best(session, day: Day) -> None:
    summary = await sales_summary(session, period=PERIOD, tz=TZ, top_n=5)
    assert [p.name for p in summary.best] == ["Bread", "Apple", "Cheese", "Figs", "Dates"]
    assert [p.name for p in summary.worst] == ["Ink", "Eggs"]
    summary = await sales_summary(session, period=PERIOD, tz=TZ, top_n=10)
    assert len(summary.best) == 7 and summary.worst == []
    summary = await sales_summary(session, period=PERIOD, tz=TZ, top_n=0)
    assert summary.best == summary.worst == []


async def test_by_payment_and_by_cashier(session, day: Day) -> None:
    summary = await sales_summary(session, period=PERIOD, tz=TZ)
    assert summary.by_payment == [
        PaymentStat(PaymentMethod.CARD, 2, 2950),
        PaymentStat(PaymentMethod.CASH, 2, 1699),
        PaymentStat(PaymentMethod.MOBILE, 1, 575),
    ]
    assert summary.by_cashier == [
        CashierStat(day.alice.id, "Alice", 3, 3099),
        CashierStat(day.bob.id, "Bob", 2, 2125),
    ]


async def test_figures_add_up_over_two_days(session, day: Day) -> None:
    period = period_for_days(date(2024, 5, 14), date(2024, 5, 15), TZ)
    summary = await sales_summary(session, period=period, tz=TZ)
    yesterday = 100 + 9 * 150
    assert summary.by_day == [DayStat(date(2024, 5, 14), 1, yesterday), DayStat(DAY, 5, 5224)]
    assert summary.revenue_minor == 5224 + yesterday
    assert sum(p.revenue_minor for p in summary.by_payment) == summary.revenue_minor
    assert sum(c.count for c in summary.by_cashier) == summary.sales_count == 6
    # Kiwi sold on the 14th; Jam and Grapes never within the period.
    assert summary.unsold_active_count == 2
    assert (summary.refunded_count, summary.refunded_minor) == (2, 650)
    assert summary.best[0] == stat(day, "Apple", 4, 15, 2250)


async def test_ties_fall_back_to_revenue_then_name(session) -> None:
    shop = Shop(session)
    alice = await shop.staff("Alice")
    zeta, alpha, mid = (
        await shop.product("Zeta", 100, sku="Z"),
        await shop.product("Alpha", 100, sku="A"),
        await shop.product("Mid", 200, sku="M"),
    )
    await shop.sale(at(9), alice, [(zeta, 1), (alpha, 1), (mid, 1)])
    summary = await sales_summary(session, period=PERIOD, tz=TZ, top_n=1)
    assert [p.name for p in summary.best] == ["Mid"]
    assert [p.name for p in summary.worst] == ["Alpha"]
    summary = await sales_summary(session, period=PERIOD, tz=TZ, top_n=3)
    assert [p.name for p in summary.best] == ["Mid", "Alpha", "Zeta"]


async def test_a_period_without_sales(session) -> None:
    shop = Shop(session)
    await shop.product("Apple", 150)
    await shop.product("Old", 150, archived=True)
    await session.commit()
    week = period_for_days(date(2024, 5, 13), date(2024, 5, 19), TZ)
    summary = await sales_summary(session, period=week, tz=TZ)
    assert (summary.sales_count, summary.revenue_minor, summary.average_basket_minor, summary.units_sold) == (
        0,
        0,
        0,
        0,
    )
    assert summary.best == summary.worst == summary.by_payment == summary.by_cashier == []
    assert summary.by_day == [DayStat(d, 0, 0) for d in week.days()]
    assert (summary.unsold_active_count, summary.refunded_count, summary.refunded_minor) == (1, 0, 0)


@pytest.mark.parametrize(
    ("totals", "average"),
    [
        ([1000, 1000, 1001], 1000),  # 1000.33
        ([1, 2], 2),  # 1.5 rounds up
        ([100, 101], 101),  # 100.5
        ([333, 333, 334], 333),
        ([0, 1, 1], 1),  # 0.67
        ([0, 0, 1], 0),  # 0.33
        ([5, 6, 6], 6),  # 5.67
        ([10**12, 10**12 + 1], 10**12 + 1),
    ],
)
async def test_average_basket_rounds_half_up(session, totals: list[int], average: int) -> None:
    shop = Shop(session)
    alice = await shop.staff("Alice")
    for hour, total in enumerate(totals, start=8):
        await shop.bare_sale(at(hour), alice, total)
    summary = await sales_summary(session, period=PERIOD, tz=TZ)
    assert summary.revenue_minor == sum(totals)
    assert summary.average_basket_minor == average
