"""Shifts and the cash drawer: a till (a chat) opens a shift with a float, closes it with the count.

The drawer is a ledger: every cash movement is a `DrawerEntry` (the float, the cash handed over for
a sale, the change given, a cash refund, a pay-in, a pay-out), written in the same transaction as
what caused it, and the shift's `expected_minor` moves with each entry, so it always equals their
sum (db.ledger proves it). At most one open shift per till: a partial unique index decides a race.
Closing is a conditional UPDATE on `closed_at IS NULL`, so a double tap closes once.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from db import audit, money, pricing
from db.carts import check_chat_id
from db.catalog import clean_text, is_row_id, require_int
from db.checkout import claim_counter
from db.errors import Conflict, Forbidden, InvalidInput, NotFound, PosError
from db.models import DrawerEntry, DrawerEntryKind, PaymentMethod, Role, Sale, Shift, Staff, utcnow
from db.money_report import SalesFigures, figure_lines, shift_figures

SHIFT_COUNTER = "shift"
MAX_DRAWER_MINOR = 10**13  # a hundred billion of the major unit: anything above is a typo
MAX_REASON = 128
MAX_LIST = 500

OPEN_ONE = "Open one with /shift open <float>, e.g. /shift open 100.00."


class ShiftRequired(PosError):
    """REQUIRE_SHIFT is on and the till has no open shift."""


def _when(moment: datetime, tz: ZoneInfo | None = None) -> str:
    return moment.astimezone(tz).strftime("%Y-%m-%d %H:%M") if tz else f"{moment:%Y-%m-%d %H:%M} UTC"


def _name(staff: Staff | None) -> str:
    return (staff.name or f"staff #{staff.id}") if staff is not None else "system"


def _shift_query():
    return select(Shift).options(selectinload(Shift.opened_by), selectinload(Shift.closed_by))


async def open_shift_of(session: AsyncSession, *, chat_id: int) -> Shift | None:
    """The till's open shift, if any."""
    chat_id = check_chat_id(chat_id)
    return await session.scalar(_shift_query().where(Shift.chat_id == chat_id, Shift.closed_at.is_(None)))


async def get_shift(session: AsyncSession, *, number: int) -> Shift:
    """A shift by its number (the one people see and type)."""
    if not is_row_id(number):
        raise NotFound(f"No shift #{number}.")
    shift = await session.scalar(_shift_query().where(Shift.number == number).execution_options(populate_existing=True))
    if shift is None:
        raise NotFound(f"No shift #{number}.")
    return shift


def _already_open(shift: Shift) -> Conflict:
    return Conflict(
        f"Shift #{shift.number} is already open at this till (since {_when(shift.opened_at)}, "
        f"by {_name(shift.opened_by)}). Close it first with /shift close."
    )


def check_amount(amount_minor: int, what: str, *, positive: bool) -> int:
    return require_int(amount_minor, what, lo=1 if positive else 0, hi=MAX_DRAWER_MINOR)


async def open_shift(session: AsyncSession, *, chat_id: int, float_minor: int, actor: Staff, currency: str) -> Shift:
    """Open the till's shift with ``float_minor`` counted into the drawer."""
    chat_id = check_chat_id(chat_id)
    float_minor = check_amount(float_minor, "The opening float", positive=False)
    # The number first: on PostgreSQL a concurrent open waits on the counter row until the first
    # commits, and then the check below sees its shift.
    number = await claim_counter(session, name=SHIFT_COUNTER, highest=select(func.max(Shift.number)))
    existing = await open_shift_of(session, chat_id=chat_id)
    if existing is not None:
        raise _already_open(existing)
    shift = Shift(
        number=number,
        chat_id=chat_id,
        currency=currency,
        opened_by_id=actor.id,
        float_minor=float_minor,
        expected_minor=0,
    )
    try:
        async with session.begin_nested():
            session.add(shift)
            await session.flush()
    except IntegrityError:  # a twin opened one between our check and our insert
        raise Conflict("A shift was just opened at this till. /shift shows it.") from None
    await _add_entry(session, shift_id=shift.id, kind=DrawerEntryKind.FLOAT, amount_minor=float_minor, staff=actor)
    await audit.record(
        session,
        actor=actor,
        action="shift open",
        details=f"shift #{number} at till {chat_id}: float {money.format_money(float_minor, currency)}",
    )
    return await get_shift(session, number=number)


async def _add_entry(
    session: AsyncSession,
    *,
    shift_id: int,
    kind: DrawerEntryKind,
    amount_minor: int,
    staff: Staff | None,
    reason: str = "",
    sale_id: int | None = None,
    refund_id: int | None = None,
) -> None:
    """One drawer entry, and the shift's running balance moved by it (the shift must be open)."""
    moved = await session.execute(
        update(Shift)
        .where(Shift.id == shift_id, Shift.closed_at.is_(None))
        .values(expected_minor=Shift.expected_minor + amount_minor)
        .execution_options(synchronize_session=False)
    )
    if moved.rowcount != 1:
        raise Conflict("The till's shift was closed meanwhile. Open a new one with /shift open <float>.")
    session.add(
        DrawerEntry(
            shift_id=shift_id,
            kind=kind,
            amount_minor=amount_minor,
            staff_id=staff.id if staff is not None else None,
            reason=reason,
            sale_id=sale_id,
            refund_id=refund_id,
        )
    )
    await session.flush()


async def cash_movement(
    session: AsyncSession, *, chat_id: int, amount_minor: int, reason: str, actor: Staff, pay_in: bool
) -> Shift:
    """/cashin (``pay_in``) or /cashout: money put into or taken out of the open shift's drawer."""
    amount_minor = check_amount(amount_minor, "The amount", positive=True)
    why = clean_text(reason, "The reason", max_len=MAX_REASON)
    shift = await open_shift_of(session, chat_id=chat_id)
    if shift is None:
        raise NotFound(f"No shift is open at this till. {OPEN_ONE}")
    if not pay_in and amount_minor > shift.expected_minor:
        have = money.format_money(shift.expected_minor, shift.currency)
        raise InvalidInput(f"The drawer should hold only {have}: it cannot pay out more.")
    kind = DrawerEntryKind.PAY_IN if pay_in else DrawerEntryKind.PAY_OUT
    signed = amount_minor if pay_in else -amount_minor
    await _add_entry(session, shift_id=shift.id, kind=kind, amount_minor=signed, staff=actor, reason=why)
    await audit.record(
        session,
        actor=actor,
        action="cash in" if pay_in else "cash out",
        details=f"shift #{shift.number}: {money.format_money(amount_minor, shift.currency)}; {why}",
    )
    return await get_shift(session, number=shift.number)


# --- what checkout and refunds write ------------------------------------------------------------
async def shift_for_sale(session: AsyncSession, *, chat_id: int, require: bool) -> Shift | None:
    """The till's open shift a sale goes into; ShiftRequired when there is none and one is required."""
    shift = await open_shift_of(session, chat_id=chat_id)
    if shift is None and require:
        raise ShiftRequired(f"Open a shift before selling: no shift is open at this till. {OPEN_ONE}")
    return shift


async def record_sale_cash(
    session: AsyncSession, *, shift: Shift, sale: Sale, payments: Sequence[pricing.PaymentIn], staff: Staff
) -> None:
    """The cash a sale put into the drawer: what was handed over, less the change given back."""
    for part in payments:
        if PaymentMethod(part.method) is not PaymentMethod.CASH:
            continue
        tendered = part.tendered_minor if part.tendered_minor is not None else part.amount_minor
        change = tendered - part.amount_minor
        for kind, amount in ((DrawerEntryKind.SALE, tendered), (DrawerEntryKind.CHANGE, -change)):
            if amount:
                await _add_entry(
                    session, shift_id=shift.id, kind=kind, amount_minor=amount, staff=staff, sale_id=sale.id
                )


async def record_refund_cash(
    session: AsyncSession, *, shift: Shift, refund_id: int, amount_minor: int, staff: Staff | None
) -> None:
    if amount_minor:
        await _add_entry(
            session,
            shift_id=shift.id,
            kind=DrawerEntryKind.REFUND,
            amount_minor=-amount_minor,
            staff=staff,
            refund_id=refund_id,
        )


# --- closing --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Closed:
    shift: Shift
    already_closed: bool  # True: a repeat (a double tap); nothing new was written


async def close_shift(session: AsyncSession, *, number: int, counted_minor: int, actor: Staff, chat_id: int) -> Closed:
    """Close shift ``number`` with the cash counted; once, whoever taps twice.

    A cashier closes their own till's shift; a manager may close any till's (from ``chat_id``).
    """
    counted_minor = check_amount(counted_minor, "The counted cash", positive=False)
    shift = await get_shift(session, number=number)
    if shift.chat_id != chat_id and not actor.role.includes(Role.MANAGER):
        raise Forbidden(f"Shift #{shift.number} belongs to another till: only a manager can close it from here.")
    if shift.closed_at is not None:
        return Closed(shift=shift, already_closed=True)
    closed = await session.execute(
        update(Shift)
        .where(Shift.id == shift.id, Shift.closed_at.is_(None))
        .values(
            closed_at=utcnow(),
            closed_by_id=actor.id,
            counted_minor=counted_minor,
            difference_minor=counted_minor - Shift.expected_minor,
        )
        .execution_options(synchronize_session=False)
    )
    shift = await get_shift(session, number=number)
    if closed.rowcount != 1:
        return Closed(shift=shift, already_closed=True)
    m = money.format_money
    cur = shift.currency
    await audit.record(
        session,
        actor=actor,
        action="shift close",
        details=(
            f"shift #{shift.number} at till {shift.chat_id}: expected {m(shift.expected_minor, cur)}, "
            f"counted {m(counted_minor, cur)}"
        ),
    )
    if shift.difference_minor:
        await audit.record(
            session,
            actor=actor,
            action="shift difference",
            details=f"shift #{shift.number}: {difference_text(shift.difference_minor, cur)}",
        )
    return Closed(shift=shift, already_closed=False)


def difference_text(difference_minor: int, currency: str) -> str:
    amount = money.format_money(abs(difference_minor), currency)
    if difference_minor > 0:
        return f"{amount} over"
    if difference_minor < 0:
        return f"{amount} short"
    return "none: the drawer is right"


# --- the X and Z reports --------------------------------------------------------------------------
@dataclass(frozen=True)
class DrawerFigures:
    float_minor: int
    cash_sales_minor: int  # cash handed over by customers
    change_minor: int  # change given back (positive)
    cash_refunds_minor: int  # positive
    pay_ins_minor: int
    pay_outs_minor: int  # positive

    @property
    def expected_minor(self) -> int:
        return (
            self.float_minor
            + self.cash_sales_minor
            - self.change_minor
            - self.cash_refunds_minor
            + self.pay_ins_minor
            - self.pay_outs_minor
        )


@dataclass(frozen=True)
class ShiftReport:
    shift: Shift
    drawer: DrawerFigures
    sales: SalesFigures

    @property
    def closed(self) -> bool:
        return self.shift.closed_at is not None


async def drawer_figures(session: AsyncSession, *, shift_id: int) -> DrawerFigures:
    """The shift's drawer entries added up by kind, in SQL."""
    sums = {
        kind: int(total)
        for kind, total in await session.execute(
            select(DrawerEntry.kind, func.coalesce(func.sum(DrawerEntry.amount_minor), 0))
            .where(DrawerEntry.shift_id == shift_id)
            .group_by(DrawerEntry.kind)
        )
    }
    k = DrawerEntryKind
    return DrawerFigures(
        float_minor=sums.get(k.FLOAT, 0),
        cash_sales_minor=sums.get(k.SALE, 0),
        change_minor=-sums.get(k.CHANGE, 0),
        cash_refunds_minor=-sums.get(k.REFUND, 0),
        pay_ins_minor=sums.get(k.PAY_IN, 0),
        pay_outs_minor=-sums.get(k.PAY_OUT, 0),
    )


async def shift_report(session: AsyncSession, *, number: int) -> ShiftReport:
    """The X report of an open shift, the Z report of a closed one."""
    shift = await get_shift(session, number=number)
    return ShiftReport(
        shift=shift,
        drawer=await drawer_figures(session, shift_id=shift.id),
        sales=await shift_figures(session, shift_id=shift.id),
    )


def report_lines(report: ShiftReport, *, tz: ZoneInfo) -> list[str]:
    """The report as plain text lines (the chat escapes them, the CLI prints them)."""
    shift, drawer = report.shift, report.drawer
    cur = shift.currency

    def m(minor: int) -> str:
        return money.format_money(minor, cur)

    title = f"Z report · shift #{shift.number}" if report.closed else f"X report · shift #{shift.number} (open)"
    out = [
        title,
        f"Till {shift.chat_id} · opened {_when(shift.opened_at, tz)} by {_name(shift.opened_by)}",
    ]
    if shift.closed_at is not None:
        out.append(f"Closed {_when(shift.closed_at, tz)} by {_name(shift.closed_by)}")
    out += [
        "",
        "Cash drawer",
        f"  Opening float: {m(drawer.float_minor)}",
        f"  + Cash received for sales: {m(drawer.cash_sales_minor)}",
        f"  − Change given: {m(drawer.change_minor)}",
        f"  − Cash refunds: {m(drawer.cash_refunds_minor)}",
        f"  + Pay-ins: {m(drawer.pay_ins_minor)}",
        f"  − Pay-outs: {m(drawer.pay_outs_minor)}",
        f"  = Expected in the drawer: {m(drawer.expected_minor)}",
    ]
    if shift.closed_at is not None and shift.counted_minor is not None and shift.difference_minor is not None:
        out += [
            f"  Counted: {m(shift.counted_minor)}",
            f"  Difference: {difference_text(shift.difference_minor, cur)}",
        ]
    out += [
        "",
        f"Sales: {report.sales.sales_count}",
        *figure_lines(report.sales, currency=cur, span="during the shift"),
    ]
    return out


async def list_shifts(session: AsyncSession, *, start: datetime, end: datetime, limit: int = MAX_LIST) -> list[Shift]:
    """Shifts opened with ``start <= opened_at < end``, oldest first."""
    limit = require_int(limit, "The limit", lo=1, hi=MAX_LIST)
    query = (
        _shift_query()
        .where(Shift.opened_at >= start, Shift.opened_at < end)
        .order_by(Shift.opened_at, Shift.id)
        .limit(limit)
    )
    return list((await session.scalars(query)).all())


async def shift_reports(session: AsyncSession, *, start: datetime, end: datetime) -> list[ShiftReport]:
    return [await shift_report(session, number=s.number) for s in await list_shifts(session, start=start, end=end)]


CSV_COLUMNS = [
    "shift",
    "till",
    "opened_at",
    "opened_by",
    "closed_at",
    "closed_by",
    "float",
    "cash_sales",
    "change",
    "cash_refunds",
    "pay_ins",
    "pay_outs",
    "expected",
    "counted",
    "difference",
    "sales",
    "gross",
    "discounts",
    "refunds",
    "tax",
    "currency",
]


def csv_rows(reports: Sequence[ShiftReport], *, tz: ZoneInfo) -> list[list]:
    """One row per shift, money in major units as decimals (exports.py's habit)."""
    rows: list[list] = [CSV_COLUMNS]
    for r in reports:
        s, d, cur = r.shift, r.drawer, r.shift.currency

        def dec(minor: int | None, cur: str = cur) -> object:
            return None if minor is None else money.to_decimal(minor, cur)

        rows.append(
            [
                s.number,
                s.chat_id,
                _when(s.opened_at, tz),
                _name(s.opened_by),
                _when(s.closed_at, tz) if s.closed_at else None,
                _name(s.closed_by) if s.closed_at else None,
                dec(d.float_minor),
                dec(d.cash_sales_minor),
                dec(d.change_minor),
                dec(d.cash_refunds_minor),
                dec(d.pay_ins_minor),
                dec(d.pay_outs_minor),
                dec(d.expected_minor),
                dec(s.counted_minor),
                dec(s.difference_minor),
                r.sales.sales_count,
                dec(r.sales.gross_minor),
                dec(r.sales.discounts_minor),
                dec(r.sales.refunds_minor),
                dec(r.sales.tax_minor),
                cur,
            ]
        )
    return rows
