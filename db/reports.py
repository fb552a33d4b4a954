"""Sales reports over a period: the figures behind /report, its chart and its exports.

Only completed sales count as revenue. A refunded sale drops out of revenue and is reported as a
refund in the period it was refunded in. Aggregation runs in SQL; Python only fills in the days
without sales and rounds the average basket.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from itertools import pairwise
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import BigInteger, ColumnElement, case, cast, distinct, exists, func, literal, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement

from db.models import Customer, PaymentMethod, Product, Sale, SaleLine, SaleStatus, Staff
from db.periods import Period

SECONDS_PER_DAY = 86_400


@dataclass(frozen=True)
class ProductStat:
    product_id: int
    name: str
    sku: str
    sales_count: int  # sales containing the product, however many units each
    quantity: int
    revenue_minor: int


@dataclass(frozen=True)
class PaymentStat:
    method: PaymentMethod
    count: int
    revenue_minor: int


@dataclass(frozen=True)
class CashierStat:
    staff_id: int
    name: str
    count: int
    revenue_minor: int


@dataclass(frozen=True)
class DayStat:
    day: date  # a local day of the store
    count: int
    revenue_minor: int


@dataclass(frozen=True)
class SalesSummary:
    period: Period
    sales_count: int
    revenue_minor: int
    average_basket_minor: int  # rounded half up; 0 without sales
    units_sold: int
    best: list[ProductStat]  # most frequently sold first
    worst: list[ProductStat]  # least frequently sold first, none of them in best
    unsold_active_count: int  # products on sale (not archived) that sold nothing in the period
    by_payment: list[PaymentStat]  # methods used, highest revenue first
    by_cashier: list[CashierStat]  # highest revenue first
    by_day: list[DayStat]  # every day of the period, in order, days without sales as zeros
    refunded_count: int  # sales refunded during the period, whenever they were made
    refunded_minor: int


@dataclass(frozen=True)
class ExportRow:
    sale_id: int
    created_at: datetime  # UTC
    cashier_name: str
    customer_name: str  # "" for a sale without a customer
    payment_method: str
    sku: str  # sku, name and unit price as they were at the moment of sale
    product_name: str
    quantity: int
    unit_price_minor: int
    line_total_minor: int


async def sales_summary(session: AsyncSession, *, period: Period, tz: ZoneInfo, top_n: int = 5) -> SalesSummary:
    """Revenue, basket, products, payment methods, cashiers and days of the period."""
    top_n = max(top_n, 0)
    completed = _completed_in(period)

    sales_count, revenue = (
        await session.execute(select(func.count(Sale.id), _sum(Sale.total_minor)).where(*completed))
    ).one()
    units_sold = await session.scalar(
        select(_sum(SaleLine.quantity)).join(Sale, Sale.id == SaleLine.sale_id).where(*completed)
    )

    # A refund recorded without its time (data older than refunded_at) counts on the sale's day.
    refunded_at = func.coalesce(Sale.refunded_at, Sale.created_at)
    refunded_count, refunded_minor = (
        await session.execute(
            select(func.count(Sale.id), _sum(Sale.total_minor)).where(
                Sale.status == SaleStatus.REFUNDED, refunded_at >= period.start, refunded_at < period.end
            )
        )
    ).one()

    best, worst = await _best_and_worst(session, completed=completed, top_n=top_n)

    sold_in_period = exists(
        select(SaleLine.id).join(Sale, Sale.id == SaleLine.sale_id).where(SaleLine.product_id == Product.id, *completed)
    )
    unsold_active_count = await session.scalar(
        select(func.count(Product.id)).where(Product.archived.is_(False), ~sold_in_period)
    )

    payment_revenue = _sum(Sale.total_minor).label("revenue")
    by_payment = [
        PaymentStat(method=PaymentMethod(method), count=count, revenue_minor=revenue_minor)
        for method, count, revenue_minor in await session.execute(
            select(Sale.payment_method, func.count(Sale.id), payment_revenue)
            .where(*completed)
            .group_by(Sale.payment_method)
            .order_by(payment_revenue.desc(), Sale.payment_method)
        )
    ]

    cashier_revenue = _sum(Sale.total_minor).label("revenue")
    by_cashier = [
        CashierStat(staff_id=staff_id, name=name, count=count, revenue_minor=revenue_minor)
        for staff_id, name, count, revenue_minor in await session.execute(
            select(Staff.id, Staff.name, func.count(Sale.id), cashier_revenue)
            .join(Sale, Sale.cashier_id == Staff.id)
            .where(*completed)
            .group_by(Staff.id, Staff.name)
            .order_by(cashier_revenue.desc(), Staff.name, Staff.id)
        )
    ]

    return SalesSummary(
        period=period,
        sales_count=sales_count,
        revenue_minor=revenue,
        average_basket_minor=_divide_half_up(revenue, sales_count),
        units_sold=units_sold or 0,
        best=best,
        worst=worst,
        unsold_active_count=unsold_active_count or 0,
        by_payment=by_payment,
        by_cashier=by_cashier,
        by_day=await _by_day(session, period=period, tz=tz),
        refunded_count=refunded_count,
        refunded_minor=refunded_minor,
    )


async def sale_lines_for_export(session: AsyncSession, *, period: Period) -> list[ExportRow]:
    """One row per line of each completed sale of the period, by sale number then line."""
    rows = await session.execute(
        select(
            Sale.id,
            Sale.created_at,
            Staff.name,
            func.coalesce(Customer.name, ""),
            Sale.payment_method,
            SaleLine.sku,
            SaleLine.product_name,
            SaleLine.quantity,
            SaleLine.unit_price_minor,
            SaleLine.line_total_minor,
        )
        .join(SaleLine, SaleLine.sale_id == Sale.id)
        .join(Staff, Staff.id == Sale.cashier_id)
        .outerjoin(Customer, Customer.id == Sale.customer_id)
        .where(*_completed_in(period))
        .order_by(Sale.id, SaleLine.id)
    )
    return [
        ExportRow(
            sale_id=sale_id,
            created_at=created_at,
            cashier_name=cashier_name,
            customer_name=customer_name,
            payment_method=PaymentMethod(payment_method).value,
            sku=sku,
            product_name=product_name,
            quantity=quantity,
            unit_price_minor=unit_price_minor,
            line_total_minor=line_total_minor,
        )
        for (
            sale_id,
            created_at,
            cashier_name,
            customer_name,
            payment_method,
            sku,
            product_name,
            quantity,
            unit_price_minor,
            line_total_minor,
        ) in rows
    ]


def _completed_in(period: Period) -> list[ColumnElement[bool]]:
    return [
        Sale.status == SaleStatus.COMPLETED,
        Sale.created_at >= period.start,
        Sale.created_at < period.end,
    ]


def _sum(column: Any) -> ColumnElement[int]:
    # PostgreSQL's sum(bigint) is numeric, which asyncpg hands back as Decimal: cast it back.
    return func.coalesce(cast(func.sum(column), BigInteger), 0)


def _divide_half_up(total: int, count: int) -> int:
    if count == 0:
        return 0
    return (2 * total + count) // (2 * count)


async def _best_and_worst(
    session: AsyncSession, *, completed: list[ColumnElement[bool]], top_n: int
) -> tuple[list[ProductStat], list[ProductStat]]:
    sold = (
        select(
            SaleLine.product_id,
            func.count(distinct(SaleLine.sale_id)).label("sales_count"),
            _sum(SaleLine.quantity).label("quantity"),
            _sum(SaleLine.line_total_minor).label("revenue"),
        )
        .join(Sale, Sale.id == SaleLine.sale_id)
        .where(*completed)
        .group_by(SaleLine.product_id)
        .subquery()
    )
    stats = select(Product.id, Product.name, Product.sku, sold.c.sales_count, sold.c.quantity, sold.c.revenue).join(
        sold, sold.c.product_id == Product.id
    )

    best = [
        ProductStat(*row)
        for row in await session.execute(
            stats.order_by(sold.c.sales_count.desc(), sold.c.revenue.desc(), Product.name, Product.id).limit(top_n)
        )
    ]
    worst = [
        ProductStat(*row)
        for row in await session.execute(
            stats.where(Product.id.not_in([p.product_id for p in best]))
            .order_by(sold.c.sales_count, sold.c.revenue, Product.name, Product.id)
            .limit(top_n)
        )
    ]
    return best, worst


async def _by_day(session: AsyncSession, *, period: Period, tz: ZoneInfo) -> list[DayStat]:
    day_of_sale = (
        select(_local_day_index(Sale.created_at, period=period, tz=tz).label("day"), Sale.total_minor)
        .where(*_completed_in(period))
        .subquery()
    )
    # Grouping on the subquery's column, not on the expression: PostgreSQL would see the
    # expression's bound parameters twice, numbered differently, and refuse the GROUP BY.
    totals = {
        day: (count, revenue)
        for day, count, revenue in await session.execute(
            select(day_of_sale.c.day, func.count(), _sum(day_of_sale.c.total_minor)).group_by(day_of_sale.c.day)
        )
    }
    return [DayStat(day, *totals.get(i, (0, 0))) for i, day in enumerate(period.days())]


# --- Local days in SQL -------------------------------------------------------------------------
#
# A sale's local day is the date of (UTC time + the store's UTC offset at that instant). The
# offset is constant between two DST (or legislative) changes, so across a period it is a short
# CASE over those change instants; with it, "days since the first day" is integer arithmetic on
# epoch seconds, which both SQLite and PostgreSQL do exactly, for any offset (Kathmandu's +05:45
# included), without a round trip per sale.


class _epoch_seconds(FunctionElement[int]):
    """Whole seconds since 1970-01-01 UTC of a UTC datetime column, rounded down."""

    type = BigInteger()
    inherit_cache = True


@compiles(_epoch_seconds)
def _epoch_seconds_default(element: _epoch_seconds, compiler: Any, **kw: Any) -> str:
    return f"CAST(FLOOR(EXTRACT(EPOCH FROM {compiler.process(element.clauses, **kw)})) AS BIGINT)"


@compiles(_epoch_seconds, "sqlite")
def _epoch_seconds_sqlite(element: _epoch_seconds, compiler: Any, **kw: Any) -> str:
    # Values are stored as 'YYYY-MM-DD HH:MM:SS.ffffff' UTC. SQLite keeps milliseconds and rounds,
    # so 23:59:59.9996 would become the next day: cut the fraction off first.
    return f"CAST(STRFTIME('%s', SUBSTR({compiler.process(element.clauses, **kw)}, 1, 19)) AS INTEGER)"


def _utc_offset_changes(start: datetime, end: datetime, tz: ZoneInfo) -> list[tuple[datetime, int]]:
    """The store's UTC offset in seconds over [start, end): [(from, offset)], the first from start."""

    def offset(at: datetime) -> int:
        return int(at.astimezone(tz).utcoffset().total_seconds())  # type: ignore[union-attr]

    changes = [(start, offset(start))]
    step = timedelta(hours=6)  # offsets change months apart; never twice within six hours
    probe = start
    while probe < end:
        nxt = min(probe + step, end)
        if offset(nxt) != offset(probe):
            low, high = probe, nxt  # offset(low) is the old one, offset(high) the new one
            while high - low > timedelta(seconds=1):
                mid = low + (high - low) / 2
                low, high = (mid, high) if offset(mid) == offset(probe) else (low, mid)
            high = high.replace(microsecond=0)  # tz rules change on whole seconds
            if high < end:
                changes.append((high, offset(high)))
        probe = nxt
    return changes


def _local_day_index(column: Any, *, period: Period, tz: ZoneInfo) -> ColumnElement[int]:
    """0 for a time on the period's first local day, 1 on the second, ... (times within the period)."""
    changes = _utc_offset_changes(period.start, period.end, tz)
    if len(changes) == 1:
        offset: ColumnElement[int] = literal(changes[0][1])
    else:
        offset = case(
            *((column < until, off) for (_, off), (until, _) in pairwise(changes)),
            else_=changes[-1][1],
        )
    first_midnight = int(datetime.combine(period.first_day, time(0), tzinfo=UTC).timestamp())
    # Never negative within the period, so integer division is floor division on every backend.
    return (_epoch_seconds(column) + offset - first_midnight) // SECONDS_PER_DAY
