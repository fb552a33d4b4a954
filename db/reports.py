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

from sqlalchemy import BigInteger, ColumnElement, and_, case, cast, distinct, func, literal, or_, select, union_all
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement

from db.models import Customer, Payment, PaymentMethod, Product, Sale, SaleLine, SaleStatus, Staff
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
    """Revenue, basket, products, payment methods, cashiers and days of the period.

    Three statements, each reading only the period's rows through an index (sales by time,
    their lines by sale, refunds by time), so a report costs what its period holds, however
    long the shop's history: the period's sales once (per day, method and cashier), their lines
    once (per product), and the refunds of the period.
    """
    top_n = max(top_n, 0)
    completed = _completed_in(period)
    sales = await _sales_figures(session, period=period, tz=tz, completed=completed)
    products = await _products(session, completed=completed, top_n=top_n)

    # A refund recorded without its time (data older than refunded_at) counts on the sale's day.
    # Two ranges rather than coalesce(refunded_at, created_at), so each is served by an index.
    refunded_count, refunded_minor = (
        await session.execute(
            select(func.count(Sale.id), _sum(Sale.total_minor)).where(
                Sale.status == SaleStatus.REFUNDED,
                or_(
                    and_(Sale.refunded_at >= period.start, Sale.refunded_at < period.end),
                    and_(Sale.refunded_at.is_(None), Sale.created_at >= period.start, Sale.created_at < period.end),
                ),
            )
        )
    ).one()

    sales_count = sum(day.count for day in sales.by_day)
    revenue = sum(day.revenue_minor for day in sales.by_day)
    return SalesSummary(
        period=period,
        sales_count=sales_count,
        revenue_minor=revenue,
        average_basket_minor=_divide_half_up(revenue, sales_count),
        units_sold=products.units_sold,
        best=products.best,
        worst=products.worst,
        unsold_active_count=products.unsold_active_count,
        by_payment=sales.by_payment,
        by_cashier=sales.by_cashier,
        by_day=sales.by_day,
        refunded_count=refunded_count,
        refunded_minor=refunded_minor,
    )


async def sale_lines_for_export(session: AsyncSession, *, period: Period) -> list[ExportRow]:
    """One row per line of each completed sale of the period, by sale number then line; its
    payment is every method the sale was paid by ("card + cash" for a split)."""
    methods: dict[int, list[str]] = {}
    for sale_id, method in await session.execute(
        select(Payment.sale_id, Payment.method)
        .join(Sale, Sale.id == Payment.sale_id)
        .where(*_completed_in(period))
        .order_by(Payment.sale_id, Payment.id)
    ):
        methods.setdefault(sale_id, []).append(PaymentMethod(method).value)
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
            payment_method=" + ".join(methods.get(sale_id) or [PaymentMethod(payment_method).value]),
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
        Sale.status != SaleStatus.REFUNDED,  # a partly refunded sale still counts
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


@dataclass(frozen=True)
class _ProductFigures:
    best: list[ProductStat]
    worst: list[ProductStat]
    unsold_active_count: int
    units_sold: int


_BEST, _WORST, _TOTALS = 0, 1, 2  # the kinds of row _products reads back


async def _products(session: AsyncSession, *, completed: list[ColumnElement[bool]], top_n: int) -> _ProductFigures:
    """Best, worst, products not sold and units sold: one aggregation of the period's lines.

    The period's lines are grouped per product once (``sold``, reached through the sales of the
    period, so the work follows the period and not the history); ranking, the count of active
    products missing from it and the units all read that one result, in one statement that
    returns at most 2 × top_n + 1 rows.
    """
    sold = (
        select(
            SaleLine.product_id.label("product_id"),
            func.count(distinct(SaleLine.sale_id)).label("sales_count"),
            _sum(SaleLine.quantity).label("quantity"),
            _sum(SaleLine.line_total_minor).label("revenue"),
        )
        .join(Sale, Sale.id == SaleLine.sale_id)
        .where(*completed)
        .group_by(SaleLine.product_id)
        .cte("sold")
        .prefix_with("MATERIALIZED")  # read three times below: compute it once (SQLite and PostgreSQL)
    )
    best_order = (sold.c.sales_count.desc(), sold.c.revenue.desc(), Product.name, Product.id)
    ranked = (
        select(
            Product.id,
            Product.name,
            Product.sku,
            sold.c.sales_count,
            sold.c.quantity,
            sold.c.revenue,
            func.row_number().over(order_by=best_order).label("position"),
        )
        .join(sold, sold.c.product_id == Product.id)
        .cte("ranked")
    )
    # The worst are the least sold of those not already among the best.
    rest = select(
        *(ranked.c[name] for name in ("id", "name", "sku", "sales_count", "quantity", "revenue")),
        func.row_number()
        .over(order_by=(ranked.c.sales_count, ranked.c.revenue, ranked.c.name, ranked.c.id))
        .label("position"),
    ).where(ranked.c.position > top_n)
    rest_ranked = rest.subquery("rest")

    def stats(kind: int, source: Any) -> Any:
        return select(
            literal(kind).label("kind"),
            *(source.c[name] for name in ("position", "id", "name", "sku", "sales_count", "quantity", "revenue")),
        ).where(source.c.position <= top_n)

    unsold = (
        select(func.count(Product.id))
        .where(Product.archived.is_(False), Product.id.not_in(select(sold.c.product_id)))
        .scalar_subquery()
    )
    units = select(_sum(sold.c.quantity)).scalar_subquery()
    totals = select(
        literal(_TOTALS).label("kind"),
        literal(0).label("position"),
        unsold.label("id"),
        literal("").label("name"),
        literal("").label("sku"),
        units.label("sales_count"),
        literal(0).label("quantity"),
        literal(0).label("revenue"),
    )
    query = union_all(stats(_BEST, ranked), stats(_WORST, rest_ranked), totals).order_by("kind", "position")

    best: list[ProductStat] = []
    worst: list[ProductStat] = []
    unsold_count = units_sold = 0
    for kind, _position, *figures in await session.execute(query):
        if kind == _TOTALS:
            unsold_count, units_sold = figures[0], figures[3]
        else:
            (best if kind == _BEST else worst).append(ProductStat(*figures))
    return _ProductFigures(best, worst, unsold_count, units_sold)


@dataclass(frozen=True)
class _SalesFigures:
    by_day: list[DayStat]
    by_payment: list[PaymentStat]
    by_cashier: list[CashierStat]


_DAY, _CASHIER = 0, 2  # the kinds of row _sales_figures reads back


async def _sales_figures(
    session: AsyncSession, *, period: Period, tz: ZoneInfo, completed: list[ColumnElement[bool]]
) -> _SalesFigures:
    """Count and revenue per local day and per cashier: one pass over the period's completed
    sales, grouped by both at once (``groups``, a few hundred rows at most), then summed up both
    ways in the same statement; and per payment method from the payments (a split sale counts for
    each method it was paid by, with what that method paid)."""
    day_of_sale = (
        select(
            _local_day_index(Sale.created_at, period=period, tz=tz).label("day"),
            Sale.cashier_id,
            Sale.total_minor,
        )
        .where(*completed)
        .subquery()
    )
    # Grouping on the subquery's column, not on the expression: PostgreSQL would see the
    # expression's bound parameters twice, numbered differently, and refuse the GROUP BY.
    groups = (
        select(
            day_of_sale.c.day,
            day_of_sale.c.cashier_id,
            func.count().label("count"),
            _sum(day_of_sale.c.total_minor).label("revenue"),
        )
        .group_by(day_of_sale.c.day, day_of_sale.c.cashier_id)
        .cte("groups")
        .prefix_with("MATERIALIZED")  # read twice below: compute it once (SQLite and PostgreSQL)
    )
    count, revenue = _sum(groups.c.count), _sum(groups.c.revenue)
    per_day = select(
        literal(_DAY).label("kind"),
        literal(0).label("position"),
        groups.c.day.label("key"),
        literal("").label("name"),
        count.label("count"),
        revenue.label("revenue"),
    ).group_by(groups.c.day)
    per_cashier = (
        select(
            literal(_CASHIER),
            func.row_number().over(order_by=(revenue.desc(), Staff.name, Staff.id)),
            Staff.id,
            Staff.name,
            count,
            revenue,
        )
        .join(Staff, Staff.id == groups.c.cashier_id)
        .group_by(Staff.id, Staff.name)
    )
    days: dict[int, tuple[int, int]] = {}
    by_cashier: list[CashierStat] = []
    query = union_all(per_day, per_cashier).order_by("kind", "position")
    for kind, _position, key, name, n, total in await session.execute(query):
        if kind == _DAY:
            days[key] = (n, total)
        else:
            by_cashier.append(CashierStat(staff_id=key, name=name, count=n, revenue_minor=total))
    by_day = [DayStat(day, *days.get(i, (0, 0))) for i, day in enumerate(period.days())]
    paid = _sum(Payment.amount_minor)
    by_payment = [
        PaymentStat(method=PaymentMethod(method), count=n, revenue_minor=total)
        for method, n, total in await session.execute(
            _payments_of(session, completed)
            .with_only_columns(Payment.method, func.count(func.distinct(Payment.sale_id)), paid)
            .group_by(Payment.method)
            .order_by(paid.desc(), Payment.method)
        )
    ]
    return _SalesFigures(by_day, by_payment, by_cashier)


def _payments_of(session: AsyncSession, completed: list[ColumnElement[bool]]) -> Any:
    """The payments of the sales matching ``completed``, read by sale through ix_payments_sale_id.

    SQLite looks each sale's payments up by its id. PostgreSQL would rather hash the period's
    sales and scan every payment of the history (cheaper by its estimate than a lookup per sale,
    but it grows with the history: 30 ms for a week of a two-year shop that takes 3 ms). Telling
    it the range of the period's sale ids, which the join implies anyway, lets it read only the
    payments in that range from the index: about the period's own, since ids follow time.
    """
    if session.bind.dialect.name != "postgresql":
        return select(Payment).join(Sale, Sale.id == Payment.sale_id).where(*completed)
    sales = select(Sale.id).where(*completed).cte("period_sales").prefix_with("MATERIALIZED")
    first, last = (select(edge(sales.c.id)).scalar_subquery() for edge in (func.min, func.max))
    return select(Payment).join(sales, sales.c.id == Payment.sale_id).where(Payment.sale_id.between(first, last))


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
