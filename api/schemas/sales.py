"""Sales and refunds, in DESIGN.md's shapes.

A sale lists its payments, discounts and tax by rate as recorded; a refund is some units of some
lines, each back to stock or not. A sale create takes line and cart discounts (a percentage or an
amount, always with a reason) and one or more payments that add up to the total.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Literal
from zoneinfo import ZoneInfo

from pydantic import ConfigDict, Field, StringConstraints, WithJsonSchema, field_validator, model_validator

from api.schemas.common import Code, Id, Model, Money, Text, local
from db.models import Sale, SaleLine, SaleStatus
from db.taxes import format_rate
from db.taxes import sale_taxes as tax_breakdown

Method = Literal["cash", "card", "mobile"]
Reason = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=128, pattern=r"^[^\x00]*$"),
    Field(description="Why the discount is given (required): it shows on the receipt and in the audit log"),
]
PERCENT_DOC = 'Percent off, more than 0 and at most 100, at most two decimals: `"10"`, `"7.5"` or `7.5`'
Percent = Annotated[
    Decimal,
    Field(gt=0, le=100, max_digits=5, decimal_places=2),
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "number", "exclusiveMinimum": 0, "maximum": 100},
                {"type": "string", "pattern": r"^[0-9]{1,3}([.][0-9]{1,2})?$"},
            ],
            "description": PERCENT_DOC,
            "examples": ["10", "7.5"],
        },
        mode="validation",
    ),
]
# What a recorded sale or refund may show: loyalty points are paid at the counter, not over the API.
PaidBy = Literal["cash", "card", "mobile", "points"]


class DiscountIn(Model):
    """A discount: `percent` or `amount` (one of them), always with a `reason`.

    A percentage is of the gross it comes off (rounded half away from zero to the cent); an amount
    is never more than what it comes off (a discount never takes a line below zero: more is 422).
    A cart discount comes off the lines after their own discounts and is spread over them in
    proportion (largest remainder). A cashier key may give up to CASHIER_MAX_DISCOUNT_PERCENT of
    the sale's gross in all (line and cart discounts together): more is 403. A manager or admin
    key may give any discount.
    """

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"percent": "10", "reason": "loyal customer"},
                {"amount": {"amount": 250, "currency": "USD"}, "reason": "dented tin"},
            ]
        }
    )

    percent: Percent | None = None
    amount: Money | None = Field(default=None, description="An amount off, in the store's currency")
    reason: Reason

    @field_validator("amount")
    @classmethod
    def _more_than_zero(cls, amount: Money | None) -> Money | None:
        if amount is not None and amount.amount <= 0:
            raise ValueError("a discount is more than zero")
        return amount

    @model_validator(mode="after")
    def _percent_or_amount(self) -> DiscountIn:
        if (self.percent is None) == (self.amount is None):
            raise ValueError("give the discount as percent or as amount (one of them)")
        return self

    @property
    def percent_bp(self) -> int | None:
        """The percentage in hundredths of a percent (7.5 -> 750)."""
        return None if self.percent is None else int(self.percent * 100)


class SaleLineIn(Model):
    """A product by `product_id` or by `sku` (a barcode works too), how many, and a discount if any."""

    product_id: Id | None = None
    sku: Code | None = None
    quantity: Annotated[int, Field(ge=1, le=9999)]
    discount: DiscountIn | None = Field(
        default=None, description="This line's discount (a product with a discount is on one line only)"
    )

    @model_validator(mode="after")
    def _one_product(self) -> SaleLineIn:
        if (self.product_id is None) == (self.sku is None):
            raise ValueError("give the product by product_id or by sku (one of them)")
        return self


class PaymentIn(Model):
    method: Method
    amount: Money = Field(description="This part of the total: the parts add up to the total exactly")
    tendered: Money | None = Field(
        default=None,
        description="Cash only: what was handed over for this part (default: the amount; change = tendered − amount)",
    )


class SaleCreate(Model):
    """A sale: lines, an optional cart discount and customer, and the payments.

    The payments add up to the total (after discounts, with tax as the store prices it) exactly;
    more than one is a split (each part more than zero); only a cash part gets change.
    """

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "lines": [
                        {
                            "sku": "TEA",
                            "quantity": 2,
                            "discount": {"percent": "5", "reason": "dented box"},
                        },
                        {"sku": "BUN", "quantity": 1},
                    ],
                    "discount": {"amount": {"amount": 25, "currency": "USD"}, "reason": "regular"},
                    "payments": [
                        {"method": "card", "amount": {"amount": 1000, "currency": "USD"}},
                        {
                            "method": "cash",
                            "amount": {"amount": 225, "currency": "USD"},
                            "tendered": {"amount": 500, "currency": "USD"},
                        },
                    ],
                }
            ]
        }
    )

    lines: Annotated[list[SaleLineIn], Field(min_length=1, max_length=100)]
    discount: DiscountIn | None = Field(default=None, description="A discount on the whole sale")
    customer_id: Id | None = None
    payments: Annotated[
        list[PaymentIn],
        Field(min_length=1, max_length=10, description="One payment, or a split in up to 10 parts"),
    ]


class SaleLineOut(Model):
    id: int
    product_id: int
    sku: str = Field(description="As it was when sold")
    name: str = Field(description="As it was when sold")
    quantity: int
    unit_price: Money
    gross: Money = Field(description="unit_price × quantity")
    discount: Money | None = Field(
        default=None, description="What discounts took off: the line's own and its share of the cart's (null: none)"
    )
    tax_rate: str | None = Field(default=None, description="The rate it was taxed at, e.g. `16%` (null: none)")
    tax: Money = Field(description="The tax in (or, when prices exclude tax, on top of) the line's total")
    total: Money = Field(description="What the customer paid for the line")

    @classmethod
    def of(cls, line: SaleLine, currency: str) -> SaleLineOut:
        off = line.line_discount_minor + line.cart_discount_minor
        return cls(
            id=line.id,
            product_id=line.product_id,
            sku=line.sku,
            name=line.product_name,
            quantity=line.quantity,
            unit_price=Money.of(line.unit_price_minor, currency),
            gross=Money.of(line.unit_price_minor * line.quantity, currency),
            discount=Money.of(off, currency) if off else None,
            tax_rate=format_rate(line.tax_rate_bp) if line.tax_name else None,
            tax=Money.of(line.tax_minor, currency),
            total=Money.of(line.line_total_minor, currency),
        )


class PaymentOut(Model):
    method: PaidBy
    amount: Money
    tendered: Money | None
    change: Money | None


class TaxOut(Model):
    name: str
    rate: str
    amount: Money


class DiscountOut(Model):
    sale_line_id: int | None = Field(description="The line it is on; null: the whole sale (spread over the lines)")
    percent: str | None = Field(description="As asked: percent off (e.g. `10`, `7.5`); null for an amount")
    reason: str
    amount: Money = Field(description="What it took off")


class PersonRef(Model):
    id: int
    name: str


class SaleOut(Model):
    id: int
    number: int = Field(description="The receipt number: what /sale and /refund take in the chat")
    created_at: datetime
    status: Literal["completed", "partially_refunded", "refunded"]
    refunded_at: datetime | None
    cashier: PersonRef = Field(description="Who rang it up; an API key's sales name the key")
    customer: PersonRef | None
    lines: list[SaleLineOut]
    discounts: list[DiscountOut] = Field(description="Line discounts (in line order), then the sale's own")
    taxes: list[TaxOut] = Field(description="Tax by rate: the sum of the lines' (lines without a rate carry none)")
    total: Money
    payments: list[PaymentOut]

    @classmethod
    def of(cls, sale: Sale, tz: ZoneInfo) -> SaleOut:
        cur = sale.currency
        return cls(
            id=sale.id,
            number=sale.number,
            created_at=local(sale.created_at, tz),
            status="partially_refunded" if sale.status is SaleStatus.PARTLY_REFUNDED else sale.status.value,
            refunded_at=local(sale.refunded_at, tz),
            cashier=PersonRef(id=sale.cashier.id, name=sale.cashier.name),
            customer=PersonRef(id=sale.customer.id, name=sale.customer.name) if sale.customer else None,
            lines=[SaleLineOut.of(line, cur) for line in sale.lines],
            discounts=[
                DiscountOut(
                    sale_line_id=d.sale_line_id,
                    percent=format_rate(d.percent_bp).removesuffix("%") if d.percent_bp is not None else None,
                    reason=d.reason,
                    amount=Money.of(d.applied_minor, cur),
                )
                for d in sorted(sale.discounts, key=lambda d: (d.sale_line_id is None, d.sale_line_id or 0, d.id))
            ],
            taxes=[
                TaxOut(name=name, rate=format_rate(rate_bp), amount=Money.of(tax, cur))
                for name, rate_bp, tax, _net in tax_breakdown(sale)
                if name  # lines without a rate carry no tax
            ],
            total=Money.of(sale.total_minor, cur),
            payments=[
                PaymentOut(
                    method=p.method.value,
                    amount=Money.of(p.amount_minor, cur),
                    tendered=Money.of(p.tendered_minor, cur) if p.tendered_minor is not None else None,
                    change=Money.of(p.change_minor, cur) if p.change_minor is not None else None,
                )
                for p in sale.payments
            ],
        )


class RefundLineIn(Model):
    sale_line_id: Id
    quantity: Annotated[int, Field(ge=1, le=9999)]
    restock: bool = True


class RefundCreate(Model):
    """Some units of some lines of one sale, each back to stock or not (`restock`); the money goes
    out by `method` (default: how the sale was first paid)."""

    lines: Annotated[list[RefundLineIn], Field(min_length=1, max_length=100)]
    method: Method | None = None
    reason: Text = ""


class RefundLineOut(Model):
    sale_line_id: int
    quantity: int
    restock: bool
    amount: Money


class RefundOut(Model):
    sale_id: int
    number: int
    created_at: datetime
    method: PaidBy
    reason: str
    amount: Money
    lines: list[RefundLineOut]
    sale: SaleOut

    @classmethod
    def of(cls, sale: Sale, reason: str, tz: ZoneInfo) -> RefundOut:
        """The sale's newest refund (the one just recorded)."""
        cur = sale.currency
        refund = sale.refunds[-1]
        return cls(
            sale_id=sale.id,
            number=sale.number,
            created_at=local(refund.created_at, tz),
            method=refund.method.value,
            reason=refund.reason,
            amount=Money.of(refund.amount_minor, cur),
            lines=[
                RefundLineOut(
                    sale_line_id=line.sale_line_id,
                    quantity=line.quantity,
                    restock=line.restock,
                    amount=Money.of(line.amount_minor, cur),
                )
                for line in refund.lines
            ],
            sale=SaleOut.of(sale, tz),
        )


__all__ = ["RefundCreate", "RefundOut", "SaleCreate", "SaleOut", "Text"]
