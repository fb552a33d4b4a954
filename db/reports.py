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

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    String,
    and_,
    case,
    cast,
    distinct,
    func,
    literal,
    or_,
    select,
    union_all,
)
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
    """Revenue, basket, products, payment methods, cashiers, days and refunds of the period.

    One statement. The period's completed sales are read once, through ix_sales_created_at, into
    ``period_sales`` (id, local day, cashier, total); days, cashiers, payments and products all
    start from it, and reach the payments and lines of those sales by sale id only. So a report
    costs what its period holds, however long the shop's history, and each row is read once.
    Python only sorts the rows into their figures, fills in the days without sales and rounds the
    average basket.
    """
    top_n = max(top_n, 0)
    sales = _period_sales(period, tz)
    query = union_all(*_sales_rows(sales), *_product_rows(sales, top_n), _refund_row(period)).order_by(
        "kind", "position"
    )
    days: dict[int, tuple[int, int]] = {}
    by_payment: list[PaymentStat] = []
    by_cashier: list[CashierStat] = []
    best: list[ProductStat] = []
    worst: list[ProductStat] = []
    unsold_count = units_sold = refunded_count = refunded_minor = 0
    for kind, _position, key, name, sku, count, quantity, revenue in await session.execute(query):
        if kind == _DAY:
            days[key] = (count, revenue)
        elif kind == _PAYMENT:
            by_payment.append(PaymentStat(method=PaymentMethod(name), count=count, revenue_minor=revenue))
        elif kind == _CASHIER:
            by_cashier.append(CashierStat(staff_id=key, name=name, count=count, revenue_minor=revenue))
        elif kind in (_BEST, _WORST):
            (best if kind == _BEST else worst).append(ProductStat(key, name, sku, count, quantity, revenue))
        elif kind == _TOTALS:
            unsold_count, units_sold = key, count
        else:
            refunded_count, refunded_minor = count, revenue
    by_day = [DayStat(day, *days.get(i, (0, 0))) for i, day in enumerate(period.days())]
    sales_count = sum(day.count for day in by_day)
    revenue_minor = sum(day.revenue_minor for day in by_day)
    return SalesSummary(
        period=period,
        sales_count=sales_count,
        revenue_minor=revenue_minor,
        average_basket_minor=_divide_half_up(revenue_minor, sales_count),
        units_sold=units_sold,
        best=best,
        worst=worst,
        unsold_active_count=unsold_count,
        by_payment=by_payment,
        by_cashier=by_cashier,
        by_day=by_day,
        refunded_count=refunded_count,
        refunded_minor=refunded_minor,
    )


async def sale_lines_for_export(session: AsyncSession, *, period: Period) -> list[ExportRow]:
    """One row per line of each completed sale of the period, by sale number then line; its
    payment is every method the sale was paid by ("card + cash" for a split)."""
    methods: dict[int, list[str]] = {}
    sales = select(Sale.id).where(*_completed_in(period)).cte("period_sales").prefix_with("MATERIALIZED")
    for sale_id, method in await session.execute(
        select(Payment.sale_id, Payment.method)
        .join(sales, sales.c.id == Payment.sale_id)
        .where(of_sales(Payment.sale_id, sales.c.id))
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


def of_sales(sale_id: Any, ids: Any) -> ColumnElement[bool]:
    """``sale_id`` between the lowest and the highest of ``ids`` (a column of a CTE of sales).

    Join payments or sale lines to a CTE of sales with this too. It changes no result (the join
    implies it), but it tells PostgreSQL where in the history those rows lie: without it, the
    planner may hash the sales and scan every payment or line of two years, cheaper by its
    estimate than a lookup per sale. With it, it reads the range of sale ids from the index, which
    is about the sales' own rows since ids follow time (SQLite looks each sale up either way).
    """
    return sale_id.between(select(func.min(ids)).scalar_subquery(), select(func.max(ids)).scalar_subquery())


def _sum(column: Any) -> ColumnElement[int]:
    # PostgreSQL's sum(bigint) is numeric, which asyncpg hands back as Decimal: cast it back.
    return func.coalesce(cast(func.sum(column), BigInteger), 0)


def _divide_half_up(total: int, count: int) -> int:
    if count == 0:
        return 0
    return (2 * total + count) // (2 * count)


# The kinds of row sales_summary reads back, in the order it returns them. Every row has the same
# columns: kind, position, key (day, staff or product id), name, sku, count, quantity, revenue.
_DAY, _PAYMENT, _CASHIER, _BEST, _WORST, _TOTALS, _REFUNDS = range(7)


def _period_sales(period: Period, tz: ZoneInfo) -> Any:
    """The period's completed sales with their local day: read once, used by every figure."""
    return (
        select(
            Sale.id,
            _local_day_index(Sale.created_at, period=period, tz=tz).label("day"),
            Sale.cashier_id,
            Sale.total_minor,
        )
        .where(*_completed_in(period))
        .cte("period_sales")
        .prefix_with("MATERIALIZED")  # read by every figure: compute it once (SQLite and PostgreSQL)
    )


def _sales_rows(sales: Any) -> list[Any]:
    """Count and revenue per local day and per cashier, from one grouping by both (``groups``, a
    few hundred rows at most) summed up both ways; and per payment method from the payments (a
    split sale counts for each method it was paid by, with what that method paid)."""
    # Grouping on the CTE's column, not on the expression: PostgreSQL would see the expression's
    # bound parameters twice, numbered differently, and refuse the GROUP BY.
    groups = (
        select(sales.c.day, sales.c.cashier_id, func.count().label("count"), _sum(sales.c.total_minor).label("revenue"))
        .group_by(sales.c.day, sales.c.cashier_id)
        .cte("groups")
        .prefix_with("MATERIALIZED")  # read twice below: compute it once (SQLite and PostgreSQL)
    )
    count, revenue = _sum(groups.c.count), _sum(groups.c.revenue)
    per_day = select(
        literal(_DAY).label("kind"),
        literal(0).label("position"),
        groups.c.day.label("key"),
        literal("").label("name"),
        literal("").label("sku"),
        count.label("count"),
        literal(0).label("quantity"),
        revenue.label("revenue"),
    ).group_by(groups.c.day)
    per_cashier = (
        select(
            literal(_CASHIER),
            func.row_number().over(order_by=(revenue.desc(), Staff.name, Staff.id)),
            Staff.id,
            Staff.name,
            literal(""),
            count,
            literal(0),
            revenue,
        )
        .join(Staff, Staff.id == groups.c.cashier_id)
        .group_by(Staff.id, Staff.name)
    )
    paid = _sum(Payment.amount_minor)
    per_payment = (
        select(
            literal(_PAYMENT),
            func.row_number().over(order_by=(paid.desc(), Payment.method)),
            literal(0),
            cast(Payment.method, String),
            literal(""),
            func.count(distinct(Payment.sale_id)),
            literal(0),
            paid,
        )
        .join(sales, sales.c.id == Payment.sale_id)
        .where(of_sales(Payment.sale_id, sales.c.id))
        .group_by(Payment.method)
    )
    return [per_day, per_payment, per_cashier]


def _product_rows(sales: Any, top_n: int) -> list[Any]:
    """Best, worst, products not sold and units sold: one aggregation of the period's lines.

    The period's lines are grouped per product once (``sold``, reached through the sales of the
    period, so the work follows the period and not the history); ranking, the count of active
    products missing from it and the units all read that one result, in at most 2 × top_n + 1
    rows.
    """
    sold = (
        select(
            SaleLine.product_id.label("product_id"),
            func.count(distinct(SaleLine.sale_id)).label("sales_count"),
            _sum(SaleLine.quantity).label("quantity"),
            _sum(SaleLine.line_total_minor).label("revenue"),
        )
        .join(sales, sales.c.id == SaleLine.sale_id)
        .where(of_sales(SaleLine.sale_id, sales.c.id))
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
            literal(kind),
            *(source.c[name] for name in ("position", "id", "name", "sku", "sales_count", "quantity", "revenue")),
        ).where(source.c.position <= top_n)

    unsold = (
        select(func.count(Product.id))
        .where(Product.archived.is_(False), Product.id.not_in(select(sold.c.product_id)))
        .scalar_subquery()
    )
    units = select(_sum(sold.c.quantity)).scalar_subquery()
    totals = select(literal(_TOTALS), literal(0), unsold, literal(""), literal(""), units, literal(0), literal(0))
    return [stats(_BEST, ranked), stats(_WORST, rest_ranked), totals]


def _refund_row(period: Period) -> Any:
    """Sales refunded during the period, whenever they were made: their count and total.

    A refund recorded without its time (data older than refunded_at) counts on the sale's day.
    Two ranges rather than coalesce(refunded_at, created_at), so each is served by an index.
    """
    return select(
        literal(_REFUNDS),
        literal(0),
        literal(0),
        literal(""),
        literal(""),
        func.count(Sale.id),
        literal(0),
        _sum(Sale.total_minor),
    ).where(
        Sale.status == SaleStatus.REFUNDED,
        or_(
            and_(Sale.refunded_at >= period.start, Sale.refunded_at < period.end),
            and_(Sale.refunded_at.is_(None), Sale.created_at >= period.start, Sale.created_at < period.end),
        ),
    )


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
