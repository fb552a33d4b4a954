"""A till's shift: its cash drawer and the money figures of its sales and refunds."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from pydantic import Field

from api.schemas.common import Model, Money, SignedMoney, local
from api.schemas.reports import MoneyFigures
from db.shifts import ShiftReport


class DrawerOut(Model):
    opening_float: Money
    cash_sales: Money = Field(description="Cash handed over by customers")
    change: Money = Field(description="Change given back")
    cash_refunds: Money
    pay_ins: Money
    pay_outs: Money
    expected: Money = Field(description="float + cash sales − change − cash refunds + pay-ins − pay-outs")
    counted: Money | None = Field(description="The cash counted at the close; null while open")
    difference: SignedMoney | None = Field(description="counted − expected: below zero is short, above is over")


class ShiftOut(Model):
    number: int
    till: int = Field(description="The chat the shift belongs to")
    status: str = Field(description="open or closed")
    opened_at: datetime
    opened_by: str | None
    closed_at: datetime | None
    closed_by: str | None
    drawer: DrawerOut
    sales: MoneyFigures = Field(description="The sales and refunds of the shift")

    @classmethod
    def of(cls, report: ShiftReport, currency: str, tz: ZoneInfo) -> ShiftOut:
        shift, drawer = report.shift, report.drawer

        def m(minor: int | None) -> Money | None:
            return None if minor is None else Money.of(minor, currency)

        return cls(
            number=shift.number,
            till=shift.chat_id,
            status="closed" if report.closed else "open",
            opened_at=local(shift.opened_at, tz),
            opened_by=shift.opened_by.name if shift.opened_by else None,
            closed_at=local(shift.closed_at, tz),
            closed_by=shift.closed_by.name if shift.closed_by else None,
            drawer=DrawerOut(
                opening_float=m(drawer.float_minor),
                cash_sales=m(drawer.cash_sales_minor),
                change=m(drawer.change_minor),
                cash_refunds=m(drawer.cash_refunds_minor),
                pay_ins=m(drawer.pay_ins_minor),
                pay_outs=m(drawer.pay_outs_minor),
                expected=m(drawer.expected_minor),
                counted=m(shift.counted_minor if report.closed else None),
                difference=(
                    SignedMoney(amount=shift.difference_minor, currency=currency)
                    if report.closed and shift.difference_minor is not None
                    else None
                ),
            ),
            sales=MoneyFigures.of(report.sales, currency),
        )
