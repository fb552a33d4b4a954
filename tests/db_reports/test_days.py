"""Sales bucketed into the store's local days: midnight, week boundaries, DST, odd offsets."""

from __future__ import annotations

import random
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from db.models import PaymentMethod, Role, Sale
from db.periods import parse_period, period_for_days
from db.reports import DayStat, _utc_offset_changes, sales_summary

from .builders import Shop, local

ZONES = ["America/New_York", "Asia/Kathmandu"]


@pytest.mark.parametrize("zone", ZONES)
async def test_23_59_and_00_01_are_different_days(session, zone: str) -> None:
    tz = ZoneInfo(zone)
    shop = Shop(session)
    alice = await shop.staff("Alice")
    await shop.bare_sale(local(zone, 2024, 3, 4, 23, 59, 59, 999999), alice, 1000)  # day before
    await shop.bare_sale(local(zone, 2024, 3, 5, 0, 0), alice, 10)  # first instant: in
    await shop.bare_sale(local(zone, 2024, 3, 5, 23, 59), alice, 100)
    await shop.bare_sale(local(zone, 2024, 3, 5, 23, 59, 59, 999900), alice, 1)
    await shop.bare_sale(local(zone, 2024, 3, 6, 0, 1), alice, 200)
    await shop.bare_sale(local(zone, 2024, 3, 7, 0, 0), alice, 5000)  # first instant after: out
    await session.commit()

    two_days = await sales_summary(session, period=period_for_days(date(2024, 3, 5), date(2024, 3, 6), tz), tz=tz)
    assert two_days.by_day == [DayStat(date(2024, 3, 5), 3, 111), DayStat(date(2024, 3, 6), 1, 200)]
    assert (two_days.sales_count, two_days.revenue_minor) == (4, 311)

    one_day = await sales_summary(session, period=period_for_days(date(2024, 3, 5), date(2024, 3, 5), tz), tz=tz)
    assert one_day.by_day == [DayStat(date(2024, 3, 5), 3, 111)]
    assert (one_day.sales_count, one_day.revenue_minor) == (3, 111)


@pytest.mark.parametrize("zone", ZONES)
async def test_week_starts_monday_midnight_local(session, zone: str) -> None:
    tz = ZoneInfo(zone)
    shop = Shop(session)
    alice = await shop.staff("Alice")
    await shop.bare_sale(local(zone, 2024, 2, 25, 23, 59, 59), alice, 1)  # Sunday before
    await shop.bare_sale(local(zone, 2024, 2, 26, 0, 0), alice, 10)  # Monday 00:00
    await shop.bare_sale(local(zone, 2024, 2, 28, 12, 0), alice, 20)
    await shop.bare_sale(local(zone, 2024, 3, 3, 23, 59, 59), alice, 30)  # Sunday 23:59:59
    await shop.bare_sale(local(zone, 2024, 3, 4, 0, 0), alice, 1000)  # next Monday 00:00
    await session.commit()

    week = parse_period("week", tz, now=local(zone, 2024, 2, 29, 9, 0))
    summary = await sales_summary(session, period=week, tz=tz)
    assert [(d.day.isoformat(), d.count, d.revenue_minor) for d in summary.by_day] == [
        ("2024-02-26", 1, 10),
        ("2024-02-27", 0, 0),
        ("2024-02-28", 1, 20),
        ("2024-02-29", 0, 0),
        ("2024-03-01", 0, 0),
        ("2024-03-02", 0, 0),
        ("2024-03-03", 1, 30),
    ]
    assert summary.revenue_minor == 60


async def test_week_where_clocks_spring_forward(session) -> None:
    zone = "America/New_York"
    tz = ZoneInfo(zone)
    shop = Shop(session)
    alice = await shop.staff("Alice")
    await shop.bare_sale(local(zone, 2024, 3, 4, 0, 0), alice, 1)  # 05:00 UTC
    await shop.bare_sale(local(zone, 2024, 3, 9, 23, 30), alice, 2)  # 04:30 UTC on the 10th
    await shop.bare_sale(local(zone, 2024, 3, 10, 1, 59, 59), alice, 4)  # last EST second
    await shop.bare_sale(local(zone, 2024, 3, 10, 3, 0), alice, 8)  # first EDT second
    await shop.bare_sale(local(zone, 2024, 3, 10, 23, 59, 59), alice, 16)  # 03:59:59 UTC on the 11th
    await shop.bare_sale(local(zone, 2024, 3, 11, 0, 0), alice, 1000)  # next week
    await session.commit()

    week = parse_period("week", tz, now=local(zone, 2024, 3, 6, 12, 0))
    summary = await sales_summary(session, period=week, tz=tz)
    assert [(d.day.day, d.count, d.revenue_minor) for d in summary.by_day] == [
        (4, 1, 1),
        (5, 0, 0),
        (6, 0, 0),
        (7, 0, 0),
        (8, 0, 0),
        (9, 1, 2),
        (10, 3, 28),
    ]


async def test_week_where_clocks_fall_back(session) -> None:
    zone = "America/New_York"
    tz = ZoneInfo(zone)
    shop = Shop(session)
    alice = await shop.staff("Alice")
    await shop.bare_sale(local(zone, 2024, 10, 28, 0, 0), alice, 1)  # 04:00 UTC
    await shop.bare_sale(local(zone, 2024, 11, 2, 23, 59), alice, 2)
    await shop.bare_sale(local(zone, 2024, 11, 3, 1, 30, fold=0), alice, 4)  # 05:30 UTC, EDT
    await shop.bare_sale(local(zone, 2024, 11, 3, 1, 30, fold=1), alice, 8)  # 06:30 UTC, EST
    await shop.bare_sale(local(zone, 2024, 11, 3, 23, 30), alice, 16)  # 04:30 UTC on the 4th
    await shop.bare_sale(local(zone, 2024, 11, 4, 0, 0), alice, 1000)  # next week, 05:00 UTC
    await session.commit()

    week = parse_period("week", tz, now=local(zone, 2024, 10, 30, 12, 0))
    summary = await sales_summary(session, period=week, tz=tz)
    assert [(d.day.day, d.count, d.revenue_minor) for d in summary.by_day] == [
        (28, 1, 1),
        (29, 0, 0),
        (30, 0, 0),
        (31, 0, 0),
        (1, 0, 0),
        (2, 1, 2),
        (3, 3, 28),
    ]


def test_offset_changes_are_found_to_the_second() -> None:
    tz = ZoneInfo("America/New_York")
    year = period_for_days(date(2024, 1, 1), date(2024, 12, 31), tz)
    assert _utc_offset_changes(year.start, year.end, tz) == [
        (datetime(2024, 1, 1, 5, tzinfo=UTC), -5 * 3600),
        (datetime(2024, 3, 10, 7, tzinfo=UTC), -4 * 3600),
        (datetime(2024, 11, 3, 6, tzinfo=UTC), -5 * 3600),
    ]
    kathmandu = ZoneInfo("Asia/Kathmandu")
    assert _utc_offset_changes(year.start, year.end, kathmandu) == [(year.start, 5 * 3600 + 45 * 60)]


@pytest.mark.parametrize(
    "zone",
    [
        "America/New_York",
        "Asia/Kathmandu",  # +05:45
        "Australia/Lord_Howe",  # DST moves the clock by 30 minutes
        "Pacific/Chatham",  # +12:45 / +13:45
        "America/Santiago",  # changes at midnight: some days start at 01:00, one has two 23:00s
        "America/St_Johns",  # -03:30 / -02:30
        "Europe/London",
        "UTC",
    ],
)
async def test_a_year_of_random_sales_matches_python(session, zone: str) -> None:
    tz = ZoneInfo(zone)
    year = period_for_days(date(2024, 1, 1), date(2024, 12, 31), tz)
    alice = await Shop(session).staff("Alice")
    rng = random.Random(zone)
    span = int((year.end - year.start).total_seconds() * 1_000_000)
    instants = [year.start + timedelta(microseconds=rng.randrange(span)) for _ in range(400)]
    # Around every offset change and the period's edges, to the microsecond.
    for at, _ in _utc_offset_changes(year.start, year.end, tz):
        instants += [at - timedelta(microseconds=1), at, at + timedelta(microseconds=1)]
    instants += [year.end - timedelta(microseconds=1), year.end, year.start - timedelta(microseconds=1)]
    session.add_all(
        Sale(
            number=1_000_000 + i,
            created_at=at,
            cashier_id=alice.id,
            chat_id=1,
            payment_method=PaymentMethod.CASH,
            currency="EUR",
            total_minor=i + 1,
            idempotency_key=f"random-{i}",
        )
        for i, at in enumerate(instants)
    )
    await session.commit()

    counts: Counter[date] = Counter()
    revenue: Counter[date] = Counter()
    for i, at in enumerate(instants):
        if year.start <= at < year.end:
            counts[at.astimezone(tz).date()] += 1
            revenue[at.astimezone(tz).date()] += i + 1

    summary = await sales_summary(session, period=year, tz=tz)
    assert len(summary.by_day) == 366
    assert summary.by_day == [DayStat(day, counts[day], revenue[day]) for day in year.days()]
    assert summary.sales_count == sum(counts.values()) == len(instants) - 3  # start-1µs twice, end
    assert summary.revenue_minor == sum(revenue.values())


async def test_cashier_role_is_irrelevant_to_the_days(session) -> None:
    # A manager ringing up a sale counts like a cashier.
    tz = ZoneInfo("UTC")
    shop = Shop(session)
    boss = await shop.staff("Boss", Role.MANAGER)
    await shop.bare_sale(datetime(2024, 1, 1, 12, tzinfo=UTC), boss, 5)
    summary = await sales_summary(session, period=period_for_days(date(2024, 1, 1), date(2024, 1, 1), tz), tz=tz)
    assert summary.by_day == [DayStat(date(2024, 1, 1), 1, 5)]
