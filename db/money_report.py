"""The money figures of a period, by DESIGN.md's rules, each labelled with what it is.

- Gross sales: shelf prices × quantities (tax as on the shelf) of the sales made in the period.
- Discounts: line and cart discounts of those sales.
- Net sales = gross − discounts.
- Tax collected, by rate: the sums of the sale lines' tax (so they add up to the cent).
- Refunds: what was paid back, on the day the refund happened (whenever the sale was), by method.
- Net revenue = gross − discounts − refunds.
- Money in by payment method: from the payments, not from the sale.
Aggregation runs in SQL; local days use db.reports' day index (the store's time zone).
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import date
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, literal, select, union_all
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import Payment, PaymentMethod, PointsEntry, PointsKind, Refund, RefundLine, Sale, SaleLine, Staff
from db.money import format_money
from db.periods import Period
from db.reports import _local_day_index, of_sales
from db.taxes import format_rate
from db.text import counted


@dataclass(frozen=True)
class TaxLine:
    name: str
    rate_bp: int
    tax_minor: int
    net_minor: int  # what the lines came to without their tax


@dataclass(frozen=True)
class MethodLine:
    method: PaymentMethod
    count: int
    amount_minor: int


@dataclass(frozen=True)
class CashierLine:
    name: str
    count: int
    gross_minor: int
    discounts_minor: int
    total_minor: int


@dataclass(frozen=True)
class DayLine:
    day: date
    count: int
    gross_minor: int
    discounts_minor: int
    refunds_minor: int

    @property
    def net_revenue_minor(self) -> int:
        return self.gross_minor - self.discounts_minor - self.refunds_minor


@dataclass(frozen=True)
class ProductLine:
    name: str
    sku: str
    sales_count: int
    quantity: int
    net_revenue_minor: int  # what was paid for it, less what was paid back for it


@dataclass(frozen=True)
class SalesFigures:
    """The money figures of some sales and refunds (a period's, a shift's)."""

    sales_count: int
    gross_minor: int
    discounts_minor: int
    tax_minor: int
    total_minor: int  # what the customers paid (tax included)
    refunds_minor: int
    taxes: list[TaxLine]
    payments: list[MethodLine]  # money in, per method
    refunds: list[MethodLine]  # money out, per method

    @property
    def net_sales_minor(self) -> int:
        return self.gross_minor - self.discounts_minor

    @property
    def net_revenue_minor(self) -> int:
        return self.gross_minor - self.discounts_minor - self.refunds_minor


@dataclass(frozen=True)
class MoneySummary(SalesFigures):
    """A period's figures, and who and what made them."""

    period: Period
    by_cashier: list[CashierLine]
    by_day: list[DayLine]
    best_by_revenue: list[ProductLine]
    worst_by_revenue: list[ProductLine]
    best_by_frequency: list[ProductLine]
    worst_by_frequency: list[ProductLine]
    points_issued: int = 0  # loyalty points earned on the period's sales (1 point = 1 minor unit)
    points_redeemed: int = 0  # points spent as payment in the period


def _total(column):
    return func.coalesce(func.sum(column), 0)


async def sales_figures(session: AsyncSession, *, made: list, refunded: list) -> SalesFigures:
    """The figures of the sales matching ``made`` and the refunds matching ``refunded`` (SQL filters)."""
    count, gross, discounts, tax, total = (
        await session.execute(
            select(
                func.count(Sale.id),
                _total(Sale.gross_minor),
                _total(Sale.discount_minor),
                _total(Sale.tax_minor),
                _total(Sale.total_minor),
            ).where(*made)
        )
    ).one()
    refunds_minor = await session.scalar(select(_total(Refund.amount_minor)).where(*refunded))
    # Their lines and payments are reached by sale id only (see db.reports.of_sales).
    sales = select(Sale.id).where(*made).cte("made_sales").prefix_with("MATERIALIZED")

    taxes = [
        TaxLine(name, rate_bp, tax_minor, paid - tax_minor)
        for name, rate_bp, tax_minor, paid in await session.execute(
            select(
                SaleLine.tax_name, SaleLine.tax_rate_bp, _total(SaleLine.tax_minor), _total(SaleLine.line_total_minor)
            )
            .join(sales, sales.c.id == SaleLine.sale_id)
            .where(of_sales(SaleLine.sale_id, sales.c.id))
            .group_by(SaleLine.tax_name, SaleLine.tax_rate_bp)
            .order_by(SaleLine.tax_rate_bp, SaleLine.tax_name)
        )
    ]
    paid = _total(Payment.amount_minor).label("amount")
    payments = [
        MethodLine(PaymentMethod(method), n, amount)
        for method, n, amount in await session.execute(
            select(Payment.method, func.count(Payment.id), paid)
            .join(sales, sales.c.id == Payment.sale_id)
            .where(of_sales(Payment.sale_id, sales.c.id))
            .group_by(Payment.method)
            .order_by(paid.desc(), Payment.method)
        )
    ]
    # What went out by each refund's method, less the points it gave back (those are their own line).
    back = _total(Refund.amount_minor - Refund.points_minor).label("amount")
    refunds = [
        MethodLine(PaymentMethod(method), n, amount)
        for method, n, amount in await session.execute(
            select(Refund.method, func.count(Refund.id), back)
            .where(*refunded)
            .group_by(Refund.method)
            .order_by(back.desc(), Refund.method)
        )
        if amount or method != PaymentMethod.POINTS.value
    ]
    points_back, points_refunds = (
        await session.execute(
            select(_total(Refund.points_minor), func.count(Refund.id)).where(*refunded, Refund.points_minor > 0)
        )
    ).one()
    if points_back:
        refunds.append(MethodLine(PaymentMethod.POINTS, points_refunds, int(points_back)))
    return SalesFigures(
        sales_count=count,
        gross_minor=gross,
        discounts_minor=discounts,
        tax_minor=tax,
        total_minor=total,
        refunds_minor=refunds_minor or 0,
        taxes=taxes,
        payments=payments,
        refunds=refunds,
    )


async def shift_figures(session: AsyncSession, *, shift_id: int) -> SalesFigures:
    """The figures of one till shift: its sales, and the refunds paid back during it."""
    return await sales_figures(session, made=[Sale.shift_id == shift_id], refunded=[Refund.shift_id == shift_id])


async def money_summary(session: AsyncSession, *, period: Period, tz: ZoneInfo, top_n: int = 5) -> MoneySummary:
    made = [Sale.created_at >= period.start, Sale.created_at < period.end]
    figures = await sales_figures(
        session, made=made, refunded=[Refund.created_at >= period.start, Refund.created_at < period.end]
    )
    by_cashier = [
        CashierLine(name or f"staff #{staff_id}", n, g, d, t)
        for staff_id, name, n, g, d, t in await session.execute(
            select(
                Staff.id,
                Staff.name,
                func.count(Sale.id),
                _total(Sale.gross_minor),
                _total(Sale.discount_minor),
                _total(Sale.total_minor),
            )
            .join(Sale, Sale.cashier_id == Staff.id)
            .where(*made)
            .group_by(Staff.id, Staff.name)
            .order_by(_total(Sale.total_minor).desc(), Staff.name)
        )
    ]
    return MoneySummary(
        **{f.name: getattr(figures, f.name) for f in fields(figures)},
        period=period,
        by_cashier=by_cashier,
        by_day=await _by_day(session, period=period, tz=tz),
        **await _products(session, period=period, top_n=max(top_n, 0)),
        **await _points(session, period=period),
    )


async def _by_day(session: AsyncSession, *, period: Period, tz: ZoneInfo) -> list[DayLine]:
    sales = (
        select(
            _local_day_index(Sale.created_at, period=period, tz=tz).label("day"),
            Sale.gross_minor,
            Sale.discount_minor,
        )
        .where(Sale.created_at >= period.start, Sale.created_at < period.end)
        .subquery()
    )
    made = {
        day: (n, g, d)
        for day, n, g, d in await session.execute(
            select(sales.c.day, func.count(), _total(sales.c.gross_minor), _total(sales.c.discount_minor)).group_by(
                sales.c.day
            )
        )
    }
    backs = (
        select(_local_day_index(Refund.created_at, period=period, tz=tz).label("day"), Refund.amount_minor)
        .where(Refund.created_at >= period.start, Refund.created_at < period.end)
        .subquery()
    )
    paid_back = {
        day: amount
        for day, amount in await session.execute(
            select(backs.c.day, _total(backs.c.amount_minor)).group_by(backs.c.day)
        )
    }
    return [DayLine(day, *made.get(i, (0, 0, 0)), paid_back.get(i, 0)) for i, day in enumerate(period.days())]


async def _products(session: AsyncSession, *, period: Period, top_n: int) -> dict[str, list[ProductLine]]:
    """Products sold in the period: by net revenue (paid less paid back) and by how often sold.

    One statement: the period's lines are grouped per product once (``sold``), reached through
    the period's sales by sale id, with what was paid back for them from the refunds of those
    sales (a refund's lines are lines of its sale); the four rankings read that one result.
    """
    sales = (
        select(Sale.id)
        .where(Sale.created_at >= period.start, Sale.created_at < period.end)
        .cte("period_sales")
        .prefix_with("MATERIALIZED")
    )
    back = (
        select(RefundLine.sale_line_id, _total(RefundLine.amount_minor).label("back"))
        .join(Refund, Refund.id == RefundLine.refund_id)
        .join(sales, sales.c.id == Refund.sale_id)
        .where(of_sales(Refund.sale_id, sales.c.id))
        .group_by(RefundLine.sale_line_id)
        .subquery()
    )
    sold = (
        select(
            SaleLine.product_id,
            func.max(SaleLine.product_name).label("name"),
            func.max(SaleLine.sku).label("sku"),
            func.count(func.distinct(SaleLine.sale_id)).label("sales_count"),
            _total(SaleLine.quantity).label("quantity"),
            (_total(SaleLine.line_total_minor) - _total(func.coalesce(back.c.back, 0))).label("revenue"),
        )
        .join(sales, sales.c.id == SaleLine.sale_id)
        .outerjoin(back, back.c.sale_line_id == SaleLine.id)
        .where(of_sales(SaleLine.sale_id, sales.c.id))
        .group_by(SaleLine.product_id)
        .cte("sold")
        .prefix_with("MATERIALIZED")  # read four times below: compute it once (SQLite and PostgreSQL)
    )
    rankings = {
        "best_by_revenue": (sold.c.revenue.desc(), sold.c.name),
        "worst_by_revenue": (sold.c.revenue, sold.c.name),
        "best_by_frequency": (sold.c.sales_count.desc(), sold.c.revenue.desc(), sold.c.name),
        "worst_by_frequency": (sold.c.sales_count, sold.c.revenue, sold.c.name),
    }

    def ranked(kind: int, order: tuple) -> Any:
        rows = select(
            literal(kind).label("kind"),
            func.row_number().over(order_by=order).label("position"),
            *(sold.c[name] for name in ("name", "sku", "sales_count", "quantity", "revenue")),
        ).subquery()
        return select(rows).where(rows.c.position <= top_n)

    found: dict[str, list[ProductLine]] = {name: [] for name in rankings}
    names = list(rankings)
    query = union_all(*(ranked(kind, order) for kind, order in enumerate(rankings.values())))
    for kind, _position, *figures in await session.execute(query.order_by("kind", "position")):
        found[names[kind]].append(ProductLine(*figures))
    return found


async def _points(session: AsyncSession, *, period: Period) -> dict[str, int]:
    """Points earned and points spent in the period, from the points ledger."""
    when = [PointsEntry.created_at >= period.start, PointsEntry.created_at < period.end]
    rows = dict(
        (
            await session.execute(
                select(PointsEntry.kind, _total(PointsEntry.points))
                .where(*when, PointsEntry.kind.in_([PointsKind.EARN, PointsKind.REDEEM]))
                .group_by(PointsEntry.kind)
            )
        ).all()
    )
    return {
        "points_issued": int(rows.get(PointsKind.EARN, 0) or 0),
        "points_redeemed": -int(rows.get(PointsKind.REDEEM, 0) or 0),
    }


def figure_lines(summary: SalesFigures, *, currency: str, span: str = "in the period") -> list[str]:
    """Sales, discounts, refunds, tax by rate and money per method as plain text lines; ``span``
    says when the refunds were paid back."""

    def m(minor: int) -> str:
        return format_money(minor, currency)

    out = [
        f"Gross sales (shelf prices × quantities): {m(summary.gross_minor)}",
        f"Discounts: −{m(summary.discounts_minor)}",
        f"Net sales (gross − discounts): {m(summary.net_sales_minor)}",
        f"Refunds (paid back {span}): −{m(summary.refunds_minor)}",
        f"Net revenue (gross − discounts − refunds): {m(summary.net_revenue_minor)}",
        f"Tax collected: {m(summary.tax_minor)} · paid by customers (tax included): {m(summary.total_minor)}",
    ]
    out += [
        f"  {t.name or 'No tax'} {format_rate(t.rate_bp)}: tax {m(t.tax_minor)} on {m(t.net_minor)} net of tax"
        for t in summary.taxes
    ]
    if summary.payments:
        out.append("Money in by method (payments):")
        out += [f"  {p.method.value}: {m(p.amount_minor)} ({p.count})" for p in summary.payments]
    if summary.refunds:
        out.append("Refunds by method:")
        out += [f"  {r.method.value}: {m(r.amount_minor)} ({r.count})" for r in summary.refunds]
    return out


def summary_lines(summary: MoneySummary, *, currency: str) -> list[str]:
    """The money figures as plain text lines, each label saying which figure it is (the chat
    escapes and the CLI prints them as they are)."""

    def m(minor: int) -> str:
        return format_money(minor, currency)

    out = figure_lines(summary, currency=currency)
    if summary.points_issued or summary.points_redeemed:
        out.append(
            f"Loyalty points: {summary.points_issued:,} issued ({m(summary.points_issued)}), "
            f"{summary.points_redeemed:,} redeemed ({m(summary.points_redeemed)})"
        )
    days = [d for d in summary.by_day if d.count or d.refunds_minor]
    if days:
        out.append("By day (gross / discounts / refunds / net revenue):")
        out += [
            f"  {d.day.isoformat()}: {m(d.gross_minor)} / {m(d.discounts_minor)} / {m(d.refunds_minor)} / "
            f"{m(d.net_revenue_minor)}"
            for d in days[:62]
        ]
    if summary.by_cashier:
        out.append("By cashier (gross / discounts / paid):")
        out += [
            f"  {c.name[:40]}: {m(c.gross_minor)} / {m(c.discounts_minor)} / {m(c.total_minor)} ({c.count})"
            for c in summary.by_cashier
        ]
    for title, products in (
        ("Best by net revenue", summary.best_by_revenue),
        ("Worst by net revenue", summary.worst_by_revenue),
        ("Best by frequency", summary.best_by_frequency),
        ("Worst by frequency", summary.worst_by_frequency),
    ):
        if products:
            out.append(f"{title}:")
            out += [
                f"  {p.name[:40]} ({p.sku[:20]}): {m(p.net_revenue_minor)}, "
                f"in {counted(p.sales_count, 'sale')}, {counted(p.quantity, 'unit')}"
                for p in products
            ]
    return out
