"""The ledger checks: every product's stock must equal the sum of its movements, and every cash
drawer's balance the sum of its entries."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import DrawerEntry, Payment, PaymentMethod, Product, Refund, Sale, Shift, StockMovement


@dataclass(frozen=True)
class LedgerMismatch:
    product_id: int
    sku: str
    name: str
    stock: int
    movements_sum: int

    @property
    def difference(self) -> int:
        return self.stock - self.movements_sum


async def check_ledger(session: AsyncSession) -> list[LedgerMismatch]:
    """Products whose stock disagrees with their movements, by id; empty when the ledger is clean."""
    movements_sum = func.coalesce(func.sum(StockMovement.quantity), 0)
    query = (
        select(Product.id, Product.sku, Product.name, Product.stock, movements_sum)
        .outerjoin(StockMovement, StockMovement.product_id == Product.id)
        .group_by(Product.id, Product.sku, Product.name, Product.stock)
        .having(Product.stock != movements_sum)
        .order_by(Product.id)
    )
    return [
        LedgerMismatch(product_id=pid, sku=sku, name=name, stock=stock, movements_sum=int(total))
        for pid, sku, name, stock, total in (await session.execute(query)).all()
    ]


# --- the cash drawers ---------------------------------------------------------------------------


@dataclass(frozen=True)
class DrawerMismatch:
    shift_number: int
    what: str  # which proof failed, in words
    recorded: int  # what the shift (or the sale, or the refund) says
    entries_sum: int  # what its drawer entries add up to

    @property
    def difference(self) -> int:
        return self.recorded - self.entries_sum


async def check_drawers(session: AsyncSession) -> list[DrawerMismatch]:
    """Every way a drawer can disagree with its ledger, by shift number; empty when all are clean.

    - a shift's balance (``expected_minor``) is the sum of its entries;
    - a closed shift's difference is its count less that balance;
    - a sale in a shift put its cash payments in (cash handed over less change);
    - a cash refund in a shift took what it paid back in cash out (not the points it gave back).
    """
    out: list[DrawerMismatch] = []
    entries_sum = func.coalesce(func.sum(DrawerEntry.amount_minor), 0)
    for number, expected, total in await session.execute(
        select(Shift.number, Shift.expected_minor, entries_sum)
        .outerjoin(DrawerEntry, DrawerEntry.shift_id == Shift.id)
        .group_by(Shift.id, Shift.number, Shift.expected_minor)
        .having(Shift.expected_minor != entries_sum)
        .order_by(Shift.number)
    ):
        out.append(DrawerMismatch(number, "balance", expected, int(total)))
    for number, counted, expected, difference in await session.execute(
        select(Shift.number, Shift.counted_minor, Shift.expected_minor, Shift.difference_minor)
        .where(Shift.closed_at.is_not(None))
        .where((Shift.counted_minor - Shift.expected_minor) != Shift.difference_minor)
        .order_by(Shift.number)
    ):
        out.append(DrawerMismatch(number, "difference (counted − expected)", difference, counted - expected))

    cash_paid = (
        select(Payment.sale_id, func.sum(Payment.amount_minor).label("paid"))
        .where(Payment.method == PaymentMethod.CASH)
        .group_by(Payment.sale_id)
        .subquery()
    )
    sale_entries = (
        select(DrawerEntry.sale_id, func.sum(DrawerEntry.amount_minor).label("moved"))
        .where(DrawerEntry.sale_id.is_not(None))
        .group_by(DrawerEntry.sale_id)
        .subquery()
    )
    paid, moved = func.coalesce(cash_paid.c.paid, 0), func.coalesce(sale_entries.c.moved, 0)
    for number, receipt, cash, total in await session.execute(
        select(Shift.number, Sale.number, paid, moved)
        .join(Shift, Shift.id == Sale.shift_id)
        .outerjoin(cash_paid, cash_paid.c.sale_id == Sale.id)
        .outerjoin(sale_entries, sale_entries.c.sale_id == Sale.id)
        .where(paid != moved)
        .order_by(Shift.number, Sale.number)
    ):
        out.append(DrawerMismatch(number, f"cash of sale #{receipt}", int(cash), int(total)))

    refund_entries = (
        select(DrawerEntry.refund_id, func.sum(DrawerEntry.amount_minor).label("moved"))
        .where(DrawerEntry.refund_id.is_not(None))
        .group_by(DrawerEntry.refund_id)
        .subquery()
    )
    back = func.coalesce(refund_entries.c.moved, 0)
    paid_back = Refund.amount_minor - Refund.points_minor  # the points went back as points, not cash
    for number, refund_id, amount, total in await session.execute(
        select(Shift.number, Refund.id, paid_back, back)
        .join(Shift, Shift.id == Refund.shift_id)
        .outerjoin(refund_entries, refund_entries.c.refund_id == Refund.id)
        .where(Refund.method == PaymentMethod.CASH, -paid_back != back)
        .order_by(Shift.number, Refund.id)
    ):
        out.append(DrawerMismatch(number, f"cash refund #{refund_id}", -int(amount), int(total)))
    return out
