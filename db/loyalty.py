"""Loyalty points: a ledger per customer (earn, redeem, refund, adjust); 1 point = 1 minor unit.

Every change is a ``PointsEntry`` and the same change to ``customers.points_balance``, in the
caller's transaction. The balance moves only by a conditional UPDATE (``... WHERE points_balance +
change >= 0``): of two checkouts spending the same points at once, the second waits for the
first's row lock (PostgreSQL) or its write lock (SQLite), then finds the points gone and records
nothing. A CHECK constraint backs it; ``check_points`` proves each balance is its ledger's sum.

Points are earned on what the customer paid in money (tax included, points spent excluded), a
percentage rounded half away from zero. A return takes back the points earned on what it returns
and gives back the points spent on it, in proportion to the amounts returned so far (cumulative,
so returning everything is exact).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from db import audit, pricing
from db.catalog import clean_text, require_int
from db.customers import get_customer
from db.errors import Conflict, Forbidden, InvalidInput
from db.models import Customer, PaymentMethod, PointsEntry, PointsKind, Role, Sale, Staff

MAX_REASON = 128
MAX_ADJUST = 10**12
MAX_HISTORY = 50


class NotEnoughPoints(Conflict):
    """The customer's balance is below what was asked."""


def points_earned(paid_minor: int, earn_bp: int) -> int:
    """Points earned on ``paid_minor`` paid in money at ``earn_bp`` hundredths of a percent."""
    if paid_minor <= 0 or earn_bp <= 0:
        return 0
    return pricing.percent_of(paid_minor, earn_bp)


def cumulative_share(points: int, before_minor: int, after_minor: int, total_minor: int) -> int:
    """The part of ``points`` that goes with raising what was returned of a ``total_minor`` sale
    from ``before_minor`` to ``after_minor`` (all of it once everything is returned)."""
    if points == 0 or total_minor <= 0:
        return 0
    return pricing.round_div(points * after_minor, total_minor) - pricing.round_div(points * before_minor, total_minor)


async def change_points(
    session: AsyncSession,
    *,
    customer_id: int,
    points: int,
    kind: PointsKind,
    sale_id: int | None = None,
    refund_id: int | None = None,
    staff_id: int | None = None,
    reason: str = "",
) -> PointsEntry:
    """Write one entry and move the balance by ``points``; NotEnoughPoints (nothing written) when
    the balance would go below zero."""
    if points == 0:
        raise ValueError("a points entry is not zero")
    moved = await session.execute(
        update(Customer)
        .where(Customer.id == customer_id, Customer.points_balance + points >= 0)
        .values(points_balance=Customer.points_balance + points)
        .execution_options(synchronize_session=False)
    )
    if moved.rowcount != 1:
        have = await session.scalar(select(Customer.points_balance).where(Customer.id == customer_id))
        raise NotEnoughPoints(f"Not enough points: the customer has {have or 0}, {-points} were asked.")
    entry = PointsEntry(
        customer_id=customer_id,
        kind=kind,
        points=points,
        sale_id=sale_id,
        refund_id=refund_id,
        staff_id=staff_id,
        reason=reason[:MAX_REASON],
    )
    session.add(entry)
    await session.flush()
    return entry


async def record_sale_points(
    session: AsyncSession, *, sale: Sale, payments: Sequence[pricing.PaymentIn], staff_id: int, earn_bp: int
) -> int:
    """Spend the points a sale was paid with, then earn on the money part; the points earned.

    Called inside the sale's transaction, after the sale row exists.
    """
    spent = sum(p.amount_minor for p in payments if PaymentMethod(p.method) is PaymentMethod.POINTS)
    if spent and sale.customer_id is None:
        raise InvalidInput("Paying with points needs the customer: choose them first.")
    if sale.customer_id is None:
        return 0
    note = f"sale #{sale.number}"
    if spent:
        await change_points(
            session,
            customer_id=sale.customer_id,
            points=-spent,
            kind=PointsKind.REDEEM,
            sale_id=sale.id,
            staff_id=staff_id,
            reason=note,
        )
    earned = points_earned(sale.total_minor - spent, earn_bp)
    if earned:
        await change_points(
            session,
            customer_id=sale.customer_id,
            points=earned,
            kind=PointsKind.EARN,
            sale_id=sale.id,
            staff_id=staff_id,
            reason=note,
        )
    return earned


@dataclass(frozen=True)
class RefundPoints:
    given_back: int  # points spent on the returned units, back to the customer
    taken_back: int  # points earned on them, taken back (never more than the balance holds)


async def sale_points(session: AsyncSession, *, sale_id: int) -> tuple[int, int]:
    """(points spent, points earned) by a sale, from the ledger."""
    rows = dict(
        (
            await session.execute(
                select(PointsEntry.kind, func.sum(PointsEntry.points))
                .where(PointsEntry.sale_id == sale_id, PointsEntry.refund_id.is_(None))
                .group_by(PointsEntry.kind)
            )
        ).all()
    )
    return -int(rows.get(PointsKind.REDEEM, 0) or 0), int(rows.get(PointsKind.EARN, 0) or 0)


def refund_points_due(
    sale: Sale, *, spent: int, earned: int, before_minor: int, returned_minor: int
) -> tuple[int, int]:
    """(given back, taken back) for a refund of ``returned_minor`` after ``before_minor`` returned."""
    after = before_minor + returned_minor
    return (
        cumulative_share(spent, before_minor, after, sale.total_minor),
        cumulative_share(earned, before_minor, after, sale.total_minor),
    )


async def record_refund_points(
    session: AsyncSession, *, sale: Sale, refund_id: int, give_back: int, take_back: int, staff_id: int | None
) -> RefundPoints:
    """The points side of a refund, as one entry (what is given back less what is taken back).

    Points earned on the sale that were spent since are taken back only as far as the balance goes.
    """
    if sale.customer_id is None or (give_back == 0 and take_back == 0):
        return RefundPoints(0, 0)
    balance = await session.scalar(
        select(Customer.points_balance).where(Customer.id == sale.customer_id).with_for_update()
    )
    take_back = min(take_back, (balance or 0) + give_back)
    net = give_back - take_back
    if net:
        await change_points(
            session,
            customer_id=sale.customer_id,
            points=net,
            kind=PointsKind.REFUND,
            sale_id=sale.id,
            refund_id=refund_id,
            staff_id=staff_id,
            reason=f"refund of sale #{sale.number}",
        )
    return RefundPoints(give_back, take_back)


async def adjust_points(
    session: AsyncSession, *, customer_id: int, points: int, reason: str, actor: Staff
) -> tuple[Customer, PointsEntry]:
    """A manager's manual adjustment (± points, a reason); never below zero; audited."""
    if not isinstance(actor, Staff) or not actor.active or not actor.role.includes(Role.MANAGER):
        raise Forbidden("Only a manager can adjust points.")
    points = require_int(points, "The points", lo=-MAX_ADJUST, hi=MAX_ADJUST)
    if points == 0:
        raise InvalidInput("Adjust by a number of points other than zero, e.g. +50 or -20.")
    why = clean_text(reason, "The reason", max_len=MAX_REASON, required=False)
    if not why:
        raise InvalidInput("Say why: /points <customer> ±N <reason>.")
    customer = await get_customer(session, customer_id=customer_id)
    entry = await change_points(
        session,
        customer_id=customer.id,
        points=points,
        kind=PointsKind.ADJUST,
        staff_id=actor.id,
        reason=why,
    )
    await audit.record(
        session, actor=actor, action="points", details=f"customer #{customer.id} {customer.name}: {points:+d}; {why}"
    )
    await session.refresh(customer)
    return customer, entry


async def points_history(session: AsyncSession, *, customer_id: int, limit: int = 10) -> list[PointsEntry]:
    """A customer's newest points entries first."""
    limit = require_int(limit, "The limit", lo=1, hi=MAX_HISTORY)
    rows = await session.scalars(
        select(PointsEntry).where(PointsEntry.customer_id == customer_id).order_by(PointsEntry.id.desc()).limit(limit)
    )
    return list(rows.all())


async def balance(session: AsyncSession, *, customer_id: int) -> int:
    value = await session.scalar(select(Customer.points_balance).where(Customer.id == customer_id))
    return int(value or 0)


async def receipt_points(session: AsyncSession, sale: Sale) -> tuple[int, int] | None:
    """(points the sale earned, the customer's balance now) for its receipt; None without a customer."""
    if sale.customer_id is None:
        return None
    _spent, earned = await sale_points(session, sale_id=sale.id)
    return earned, await balance(session, customer_id=sale.customer_id)


@dataclass(frozen=True)
class PointsMismatch:
    customer_id: int
    name: str
    balance: int
    entries_sum: int

    @property
    def difference(self) -> int:
        return self.balance - self.entries_sum


async def check_points(session: AsyncSession) -> list[PointsMismatch]:
    """Customers whose balance disagrees with their points entries; empty when the ledger is clean."""
    entries_sum = func.coalesce(func.sum(PointsEntry.points), 0)
    query = (
        select(Customer.id, Customer.name, Customer.points_balance, entries_sum)
        .outerjoin(PointsEntry, PointsEntry.customer_id == Customer.id)
        .group_by(Customer.id, Customer.name, Customer.points_balance)
        .having(Customer.points_balance != entries_sum)
        .order_by(Customer.id)
    )
    return [
        PointsMismatch(customer_id=cid, name=name, balance=int(bal), entries_sum=int(total))
        for cid, name, bal, total in (await session.execute(query)).all()
    ]
