"""Sales and refunds, in DESIGN.md's shapes.

A sale lists its payments, discounts and tax by rate as recorded; a refund is some units of some
lines, each back to stock or not. What the API cannot take yet (a discount or a split in a sale
create) is refused with a 422 naming the field.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo

from pydantic import Field, field_validator, model_validator

from api.schemas.common import Code, Id, Model, Money, Text, local
from db.models import Sale, SaleStatus
from db.taxes import format_rate
from db.taxes import sale_taxes as tax_breakdown

Method = Literal["cash", "card", "mobile"]
# What a recorded sale or refund may show: loyalty points are paid at the counter, not over the API.
PaidBy = Literal["cash", "card", "mobile", "points"]
NO_DISCOUNTS = "Discounts are not available yet: leave discount out (or null)."
ONE_PAYMENT = "Split payments are not available yet: send exactly one payment."


def _no_discount(value: Any) -> Any:
    if value is not None:
        raise ValueError(NO_DISCOUNTS)
    return value


class SaleLineIn(Model):
    """A product by `product_id` or by `sku` (a barcode works too), and how many."""

    product_id: Id | None = None
    sku: Code | None = None
    quantity: Annotated[int, Field(ge=1, le=9999)]
    discount: dict[str, Any] | None = Field(default=None, description=NO_DISCOUNTS)

    _discount = field_validator("discount")(_no_discount)

    @model_validator(mode="after")
    def _one_product(self) -> SaleLineIn:
        if (self.product_id is None) == (self.sku is None):
            raise ValueError("give the product by product_id or by sku (one of them)")
        return self


class PaymentIn(Model):
    method: Method
    amount: Money = Field(description="Exactly the sale's total")
    tendered: Money | None = Field(
        default=None, description="Cash only: what was handed over (change = tendered − amount)"
    )


class SaleCreate(Model):
    lines: Annotated[list[SaleLineIn], Field(min_length=1, max_length=100)]
    discount: dict[str, Any] | None = Field(default=None, description=NO_DISCOUNTS)
    customer_id: Id | None = None
    payments: Annotated[list[PaymentIn], Field(min_length=1, description=ONE_PAYMENT)]

    _discount = field_validator("discount")(_no_discount)

    @field_validator("payments")
    @classmethod
    def _one_payment(cls, value: list[PaymentIn]) -> list[PaymentIn]:
        if len(value) > 1:
            raise ValueError(ONE_PAYMENT)
        return value


class SaleLineOut(Model):
    id: int
    product_id: int
    sku: str = Field(description="As it was when sold")
    name: str = Field(description="As it was when sold")
    quantity: int
    unit_price: Money
    discount: Money | None = None
    total: Money


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
    reason: str
    amount: Money


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
    discounts: list[DiscountOut] = Field(description="Empty until discounts exist")
    taxes: list[TaxOut] = Field(description="Empty until taxes exist")
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
            lines=[
                SaleLineOut(
                    id=line.id,
                    product_id=line.product_id,
                    sku=line.sku,
                    name=line.product_name,
                    quantity=line.quantity,
                    unit_price=Money.of(line.unit_price_minor, cur),
                    total=Money.of(line.line_total_minor, cur),
                )
                for line in sale.lines
            ],
            discounts=[DiscountOut(reason=d.reason, amount=Money.of(d.applied_minor, cur)) for d in sale.discounts],
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
    """Today a refund is the whole sale: every line, its full quantity, back to stock, back the way
    it was paid (leave `method` out or give the sale's)."""

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
