"""The sales summary of a period (the figures behind /report)."""

from __future__ import annotations

from datetime import date

from pydantic import Field

from api.schemas.common import Model, Money
from db.money_report import SalesFigures
from db.reports import SalesSummary
from db.taxes import format_rate


class ProductFigure(Model):
    product_id: int
    sku: str
    name: str
    sales_count: int
    quantity: int
    revenue: Money


class PaymentFigure(Model):
    method: str
    count: int
    revenue: Money


class CashierFigure(Model):
    staff_id: int
    name: str
    count: int
    revenue: Money


class DayFigure(Model):
    day: date
    count: int
    revenue: Money


class RefundFigure(Model):
    count: int
    amount: Money


class TaxFigure(Model):
    name: str
    rate: str = Field(description='The rate as a percentage, e.g. "16" or "7.25"')
    tax: Money
    net: Money = Field(description="What the lines at this rate came to without their tax")


class MethodFigure(Model):
    method: str
    count: int
    amount: Money


class MoneyFigures(Model):
    """The figures of /report and the Z report: gross − discounts − refunds = net revenue."""

    sales_count: int
    gross: Money = Field(description="Shelf prices × quantities (tax as on the shelf)")
    discounts: Money
    net_sales: Money = Field(description="gross − discounts")
    refunds: Money = Field(description="What was paid back")
    net_revenue: Money = Field(description="gross − discounts − refunds")
    tax: Money = Field(description="Tax collected on the sales")
    taxes: list[TaxFigure] = Field(description="Tax by rate: the sums of the sale lines'")
    payments: list[MethodFigure] = Field(description="Money in, per payment method")
    refunds_by_method: list[MethodFigure] = Field(description="Money paid back, per method")

    @classmethod
    def of(cls, figures: SalesFigures, currency: str) -> MoneyFigures:
        def m(minor: int) -> Money:
            return Money.of(minor, currency)

        def by_method(lines) -> list[MethodFigure]:
            return [MethodFigure(method=x.method.value, count=x.count, amount=m(x.amount_minor)) for x in lines]

        return cls(
            sales_count=figures.sales_count,
            gross=m(figures.gross_minor),
            discounts=m(figures.discounts_minor),
            net_sales=m(figures.net_sales_minor),
            refunds=m(figures.refunds_minor),
            net_revenue=m(figures.net_revenue_minor),
            tax=m(figures.tax_minor),
            taxes=[
                TaxFigure(
                    name=t.name, rate=format_rate(t.rate_bp).removesuffix("%"), tax=m(t.tax_minor), net=m(t.net_minor)
                )
                for t in figures.taxes
            ],
            payments=by_method(figures.payments),
            refunds_by_method=by_method(figures.refunds),
        )


class SummaryOut(Model):
    from_: date = Field(alias="from")
    to: date
    sales_count: int = Field(description="Completed sales made in the period")
    revenue: Money = Field(description="Total of the completed sales made in the period")
    average_basket: Money
    units_sold: int
    refunds: RefundFigure = Field(description="Sales refunded during the period, whenever they were made")
    by_payment: list[PaymentFigure]
    by_cashier: list[CashierFigure]
    by_day: list[DayFigure]
    best_sellers: list[ProductFigure]
    slowest_sellers: list[ProductFigure]
    unsold_active_count: int
    money: MoneyFigures = Field(description="Gross, discounts, refunds, net revenue, tax by rate, money per method")

    @classmethod
    def of(cls, s: SalesSummary, currency: str, figures: SalesFigures) -> SummaryOut:
        def m(minor: int) -> Money:
            return Money.of(minor, currency)

        def products(stats) -> list[ProductFigure]:
            return [
                ProductFigure(
                    product_id=p.product_id,
                    sku=p.sku,
                    name=p.name,
                    sales_count=p.sales_count,
                    quantity=p.quantity,
                    revenue=m(p.revenue_minor),
                )
                for p in stats
            ]

        return cls.model_validate(
            {
                "from": s.period.first_day,
                "to": s.period.last_day,
                "sales_count": s.sales_count,
                "revenue": m(s.revenue_minor),
                "average_basket": m(s.average_basket_minor),
                "units_sold": s.units_sold,
                "refunds": RefundFigure(count=s.refunded_count, amount=m(s.refunded_minor)),
                "by_payment": [
                    PaymentFigure(method=p.method.value, count=p.count, revenue=m(p.revenue_minor))
                    for p in s.by_payment
                ],
                "by_cashier": [
                    CashierFigure(staff_id=c.staff_id, name=c.name, count=c.count, revenue=m(c.revenue_minor))
                    for c in s.by_cashier
                ],
                "by_day": [DayFigure(day=d.day, count=d.count, revenue=m(d.revenue_minor)) for d in s.by_day],
                "best_sellers": products(s.best),
                "slowest_sellers": products(s.worst),
                "unsold_active_count": s.unsold_active_count,
                "money": MoneyFigures.of(figures, currency),
            }
        )
