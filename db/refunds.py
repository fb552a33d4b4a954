"""Returns: some units of some lines of one sale, paid back exactly what the customer paid.

A refund first locks the sale row (``FOR UPDATE`` on PostgreSQL; SQLite's ``BEGIN IMMEDIATE``
already serialises writers), so two refunds of one sale run one after the other; each line's
returned count is also raised by a conditional UPDATE that can never pass the quantity sold (and a
CHECK constraint backs it). Amounts are each line's paid amount and tax shared cumulatively over
its units (db.pricing.refund_share), so returning everything pays back exactly the total.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from db import audit, loyalty, money, pricing, shifts
from db.catalog import clean_text, get_product, require_int
from db.checkout import get_sale
from db.errors import Conflict, InvalidInput
from db.models import MovementReason, PaymentMethod, Refund, RefundLine, Sale, SaleLine, SaleStatus, Staff, utcnow
from db.stock import clear_alert_if_recovered, move_stock

MAX_REASON = 128


@dataclass(frozen=True)
class ReturnLine:
    quantity: int
    restock: bool = True


def returnable(line: SaleLine) -> int:
    return line.quantity - line.refunded_quantity


def _only_left(line: SaleLine, number: int) -> str:
    return f"Only {returnable(line)} of {line.product_name} can still be returned from sale #{number}."


def refund_amounts(line: SaleLine, quantity: int) -> tuple[int, int]:
    """(amount, tax) that returning ``quantity`` more units of ``line`` pays back now."""
    already = line.refunded_quantity
    return (
        pricing.refund_share(line.line_total_minor, line.quantity, already, quantity),
        pricing.refund_share(line.tax_minor, line.quantity, already, quantity),
    )


def default_method(sale: Sale) -> PaymentMethod:
    """How the sale was paid (its first payment in money), which is how its money goes back by
    default; points spent go back as points whatever the method."""
    for payment in sale.payments:
        if payment.method is not PaymentMethod.POINTS:
            return payment.method
    return sale.payments[0].method if sale.payments else sale.payment_method


async def refund(
    session: AsyncSession,
    *,
    sale_id: int,
    lines: Mapping[int, ReturnLine] | None,
    actor: Staff | None,
    method: PaymentMethod | str | None = None,
    reason: str = "",
    approved_by: Staff | None = None,
    default_threshold: int | None = None,
    chat_id: int | None = None,
    require_shift: bool = False,
) -> Refund:
    """Record one refund: ``lines`` maps sale-line ids to what comes back (None: all that is left,
    back to stock). Raises Conflict when more would come back than is still returnable.

    Made at a till (``chat_id``), it belongs to the till's open shift, and cash paid back leaves
    its drawer; with ``require_shift`` a cash refund at a till without one raises ShiftRequired.
    """
    sale = await get_sale(session, sale_id=sale_id)
    await session.execute(select(Sale.id).where(Sale.id == sale.id).with_for_update())
    sale = await get_sale(session, sale_id=sale.id)  # fresh, now that no other refund can run
    by_id = {line.id: line for line in sale.lines}
    if sale.status is SaleStatus.REFUNDED:
        when = f" on {sale.refunded_at:%Y-%m-%d %H:%M} UTC" if sale.refunded_at else ""
        raise Conflict(f"Sale #{sale.number} was already refunded in full{when}.")
    if lines is None:
        lines = {line.id: ReturnLine(returnable(line)) for line in sale.lines if returnable(line) > 0}
        if not lines:
            raise Conflict(f"Sale #{sale.number} was already refunded in full.")
    wanted = {}
    for line_id, item in lines.items():
        line = by_id.get(line_id)
        if line is None:
            raise InvalidInput(f"Sale #{sale.number} has no line #{line_id}.")
        qty = require_int(item.quantity, "A quantity to return", lo=0, hi=line.quantity)
        if qty > returnable(line):
            raise Conflict(_only_left(line, sale.number))
        if qty > 0:
            wanted[line_id] = (qty, bool(item.restock))
    if not wanted:
        raise InvalidInput("Choose at least one unit to return.")
    try:
        how = PaymentMethod(method) if method is not None else default_method(sale)
    except ValueError:
        raise InvalidInput(f"Unknown refund method “{str(method)[:16]}”.") from None
    why = clean_text(reason, "The reason", max_len=MAX_REASON, required=False) or ""
    shift = await shifts.open_shift_of(session, chat_id=chat_id) if chat_id is not None else None
    if shift is None and require_shift and how is PaymentMethod.CASH:
        raise shifts.ShiftRequired(
            f"Open a shift before paying cash back: no shift is open at this till. {shifts.OPEN_ONE}"
        )

    record = Refund(
        sale_id=sale.id,
        method=how,
        amount_minor=0,
        tax_minor=0,
        reason=why,
        staff_id=actor.id if actor else None,
        approved_by_id=approved_by.id if approved_by else None,
        shift_id=shift.id if shift is not None else None,
    )
    session.add(record)
    await session.flush()
    total = tax_total = 0
    for line_id in sorted(wanted):
        qty, restock = wanted[line_id]
        line = by_id[line_id]
        amount, tax = refund_amounts(line, qty)
        claim = await session.execute(
            update(SaleLine)
            .where(SaleLine.id == line_id, SaleLine.refunded_quantity + qty <= SaleLine.quantity)
            .values(refunded_quantity=SaleLine.refunded_quantity + qty)
            .execution_options(synchronize_session=False)
        )
        if claim.rowcount != 1:
            raise Conflict(_only_left(line, sale.number))
        session.add(
            RefundLine(
                refund_id=record.id,
                sale_line_id=line_id,
                quantity=qty,
                amount_minor=amount,
                tax_minor=tax,
                restock=restock,
            )
        )
        total += amount
        tax_total += tax
        if restock:
            await move_stock(
                session,
                product_id=line.product_id,
                delta=qty,
                reason=MovementReason.REFUND,
                staff_id=actor.id if actor else None,
                note=f"refund of sale #{sale.number}",
                sale_id=sale.id,
            )
            clear_alert_if_recovered(await get_product(session, product_id=line.product_id), default_threshold)
    record.amount_minor, record.tax_minor = total, tax_total
    # Points: those spent on the returned units go back, those earned on them are taken back.
    spent, earned = await loyalty.sale_points(session, sale_id=sale.id)
    give_back, take_back = loyalty.refund_points_due(
        sale, spent=spent, earned=earned, before_minor=sale.refunded_minor, returned_minor=total
    )
    if how is PaymentMethod.POINTS and total - give_back > 0:
        raise InvalidInput("Points go back on their own: pay the rest back in cash, by card or mobile money.")
    points = await loyalty.record_refund_points(
        session,
        sale=sale,
        refund_id=record.id,
        give_back=give_back,
        take_back=take_back,
        staff_id=actor.id if actor else None,
    )
    record.points_minor = points.given_back
    cash_out = total - record.points_minor  # the points went back as points
    if shift is not None and how is PaymentMethod.CASH and cash_out > 0:
        await shifts.record_refund_cash(session, shift=shift, refund_id=record.id, amount_minor=cash_out, staff=actor)
    left = await session.scalar(
        select(func.sum(SaleLine.quantity - SaleLine.refunded_quantity)).where(SaleLine.sale_id == sale.id)
    )
    now = utcnow()
    await session.execute(
        update(Sale)
        .where(Sale.id == sale.id)
        .values(
            refunded_minor=Sale.refunded_minor + total,
            status=SaleStatus.REFUNDED if not left else SaleStatus.PARTLY_REFUNDED,
            refunded_at=now,
            refunded_by_id=actor.id if actor else None,
        )
        .execution_options(synchronize_session=False)
    )
    units = sum(q for q, _ in wanted.values())
    await audit.record(
        session,
        actor=actor,
        action="refund",
        details=(
            f"sale #{sale.number}: {money.format_money(total - points.given_back, sale.currency)} by {how.value}, "
            + (f"{points.given_back} points back, " if points.given_back else "")
            + (f"{points.taken_back} points taken back, " if points.taken_back else "")
            + f"{units} unit{'s' if units != 1 else ''}"
            + (f"; {why}" if why else "")
            + (f"; approved by {approved_by.name}" if approved_by else "")
        ),
    )
    await session.flush()
    return record
