"""Shifts and the cash drawer: one open shift per till, the drawer ledger, closing once, the proofs."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError

from db import carts, checkout, ledger, pricing, refunds, shifts
from db.errors import Conflict, Forbidden, InvalidInput, NotFound
from db.models import AuditEntry, DrawerEntry, DrawerEntryKind, PaymentMethod, Refund, Role, Sale, Shift, utcnow
from tests.factories import CURRENCY, THRESHOLD, fill_cart, make_product, make_staff, run, sell

TILL = 4242


@pytest.fixture
async def cashier(session_factory):
    return await run(session_factory, make_staff, role=Role.CASHIER)


@pytest.fixture
async def manager(session_factory):
    return await run(session_factory, make_staff, role=Role.MANAGER)


async def _open(factory, actor, float_minor=10_000, chat_id=TILL) -> Shift:
    return await run(
        factory, shifts.open_shift, chat_id=chat_id, float_minor=float_minor, actor=actor, currency=CURRENCY
    )


async def _entries(factory, shift_id) -> list[tuple[DrawerEntryKind, int]]:
    async with factory() as session:
        rows = await session.execute(
            select(DrawerEntry.kind, DrawerEntry.amount_minor)
            .where(DrawerEntry.shift_id == shift_id)
            .order_by(DrawerEntry.id)
        )
        return [tuple(r) for r in rows]


async def test_open_writes_the_float_and_a_second_open_says_which_is_open(session_factory, cashier):
    shift = await _open(session_factory, cashier)
    assert (shift.number, shift.float_minor, shift.expected_minor, shift.closed_at) == (1, 10_000, 10_000, None)
    assert await _entries(session_factory, shift.id) == [(DrawerEntryKind.FLOAT, 10_000)]
    with pytest.raises(Conflict, match=r"Shift #1 is already open at this till"):
        await _open(session_factory, cashier, 500)
    other = await _open(session_factory, cashier, 0, chat_id=TILL + 1)  # another till: its own shift
    assert other.number == 2
    async with session_factory() as session:
        assert await session.scalar(select(func.count(Shift.id))) == 2
        assert await session.scalar(select(func.count(AuditEntry.id)).where(AuditEntry.action == "shift open")) == 2


async def test_two_opens_at_once_open_one(session_factory, cashier):
    results = await asyncio.gather(
        _open(session_factory, cashier), _open(session_factory, cashier, 2_000), return_exceptions=True
    )
    opened = [r for r in results if isinstance(r, Shift)]
    refused = [r for r in results if isinstance(r, Conflict)]
    assert len(opened) == 1 and len(refused) == 1, results
    async with session_factory() as session:
        assert await session.scalar(select(func.count(Shift.id))) == 1
        assert await session.scalar(select(func.count(DrawerEntry.id))) == 1


async def test_the_database_refuses_a_second_open_shift(session_factory, cashier):
    """The partial unique index, not only the check before writing: a second open row is refused,
    a closed one beside an open one is not."""
    await _open(session_factory, cashier)
    with pytest.raises(IntegrityError):
        async with session_factory() as session, session.begin():
            session.add(Shift(number=99, chat_id=TILL, currency=CURRENCY, float_minor=0, expected_minor=0))
            await session.flush()
    async with session_factory() as session, session.begin():
        session.add(
            Shift(number=98, chat_id=TILL, currency=CURRENCY, float_minor=0, expected_minor=0, closed_at=utcnow())
        )


async def test_sales_refunds_and_movements_fill_the_drawer(session_factory, cashier, manager):
    shift = await _open(session_factory, cashier)
    milk = await run(session_factory, make_product, name="Milk", price_minor=350, stock=20)
    cash = await sell(
        session_factory,
        cashier=cashier,
        items=[(milk, 2)],
        chat_id=TILL,
        method=PaymentMethod.CASH,
        tendered_minor=1_000,
    )
    card = await sell(session_factory, cashier=cashier, items=[(milk, 1)], chat_id=TILL, method=PaymentMethod.CARD)
    await run(session_factory, fill_cart, chat_id=TILL, items=[(milk, 3)])  # 10.50: 5.00 card, 5.50 cash of 6.00
    version = (await run(session_factory, carts.get_cart_view, chat_id=TILL)).version
    split = await run(
        session_factory,
        checkout.checkout,
        chat_id=TILL,
        expected_version=version,
        cashier=cashier,
        payments=[pricing.PaymentIn("card", 500), pricing.PaymentIn("cash", 550, 600)],
        currency=CURRENCY,
        default_low_stock_threshold=THRESHOLD,
    )
    elsewhere = await sell(
        session_factory, cashier=cashier, items=[(milk, 1)], method=PaymentMethod.CASH, tendered_minor=350
    )
    await run(session_factory, refunds.refund, sale_id=cash.sale.id, lines=None, actor=manager, chat_id=TILL)
    await run(session_factory, refunds.refund, sale_id=card.sale.id, lines=None, actor=manager, chat_id=TILL)
    await run(
        session_factory,
        shifts.cash_movement,
        chat_id=TILL,
        amount_minor=2_000,
        reason="change from the bank",
        actor=cashier,
        pay_in=True,
    )
    await run(
        session_factory,
        shifts.cash_movement,
        chat_id=TILL,
        amount_minor=1_250,
        reason="window cleaner",
        actor=cashier,
        pay_in=False,
    )
    k = DrawerEntryKind
    assert await _entries(session_factory, shift.id) == [
        (k.FLOAT, 10_000),
        (k.SALE, 1_000),
        (k.CHANGE, -300),
        (k.SALE, 600),
        (k.CHANGE, -50),
        (k.REFUND, -700),
        (k.PAY_IN, 2_000),
        (k.PAY_OUT, -1_250),
    ]
    async with session_factory() as session:
        shift_of = dict((await session.execute(select(Sale.id, Sale.shift_id))).all())
        refund_shifts = list((await session.scalars(select(Refund.shift_id).order_by(Refund.id))).all())
        report = await shifts.shift_report(session, number=shift.number)
    assert shift_of == {
        cash.sale.id: shift.id,
        card.sale.id: shift.id,
        split.sale.id: shift.id,
        elsewhere.sale.id: None,
    }
    assert refund_shifts == [shift.id, shift.id]
    d = report.drawer
    assert (d.float_minor, d.cash_sales_minor, d.change_minor, d.cash_refunds_minor) == (10_000, 1_600, 350, 700)
    assert (d.pay_ins_minor, d.pay_outs_minor, d.expected_minor) == (2_000, 1_250, 11_300)
    assert report.shift.expected_minor == 11_300
    assert (report.sales.sales_count, report.sales.gross_minor, report.sales.refunds_minor) == (3, 2_100, 1_050)
    assert {p.method: p.amount_minor for p in report.sales.payments} == {
        PaymentMethod.CASH: 1_250,
        PaymentMethod.CARD: 850,
    }
    async with session_factory() as session:
        assert await ledger.check_drawers(session) == []


async def test_bad_amounts_and_missing_reasons_change_nothing(session_factory, cashier):
    with pytest.raises(NotFound, match="No shift is open"):
        await run(
            session_factory,
            shifts.cash_movement,
            chat_id=TILL,
            amount_minor=100,
            reason="x",
            actor=cashier,
            pay_in=True,
        )
    with pytest.raises(InvalidInput):
        await _open(session_factory, cashier, -1)
    shift = await _open(session_factory, cashier, 1_000)
    for amount, reason in ((0, "float"), (-5, "float"), (100, "   ")):
        with pytest.raises(InvalidInput):
            await run(
                session_factory,
                shifts.cash_movement,
                chat_id=TILL,
                amount_minor=amount,
                reason=reason,
                actor=cashier,
                pay_in=True,
            )
    with pytest.raises(InvalidInput, match="only"):
        await run(
            session_factory,
            shifts.cash_movement,
            chat_id=TILL,
            amount_minor=1_001,
            reason="too much",
            actor=cashier,
            pay_in=False,
        )
    assert await _entries(session_factory, shift.id) == [(DrawerEntryKind.FLOAT, 1_000)]


async def test_require_shift_refuses_a_sale_and_a_cash_refund_without_one(session_factory, cashier, manager):
    milk = await run(session_factory, make_product, name="Milk", price_minor=350, stock=20)
    sold = await sell(
        session_factory, cashier=cashier, items=[(milk, 1)], chat_id=TILL, method=PaymentMethod.CASH, tendered_minor=350
    )
    assert sold.sale.shift_id is None  # off: a sale outside a shift is still a sale
    await run(session_factory, fill_cart, chat_id=TILL, items=[(milk, 1)])
    version = (await run(session_factory, carts.get_cart_view, chat_id=TILL)).version
    with pytest.raises(shifts.ShiftRequired, match="Open a shift"):
        await run(
            session_factory,
            checkout.checkout,
            chat_id=TILL,
            expected_version=version,
            cashier=cashier,
            payment_method=PaymentMethod.CARD,
            currency=CURRENCY,
            default_low_stock_threshold=THRESHOLD,
            require_shift=True,
        )
    with pytest.raises(shifts.ShiftRequired):
        await run(
            session_factory,
            refunds.refund,
            sale_id=sold.sale.id,
            lines=None,
            actor=manager,
            chat_id=TILL,
            require_shift=True,
        )
    # A card refund needs no drawer.
    await run(
        session_factory,
        refunds.refund,
        sale_id=sold.sale.id,
        lines=None,
        actor=manager,
        chat_id=TILL,
        method=PaymentMethod.CARD,
        require_shift=True,
    )
    async with session_factory() as session:
        assert await session.scalar(select(func.count(Sale.id))) == 1
        assert (await carts.get_cart_view(session, chat_id=TILL)).version == version  # nothing claimed


async def test_close_once_and_a_cashier_cannot_close_another_till(session_factory, cashier, manager):
    shift = await _open(session_factory, cashier, 5_000)
    with pytest.raises(Forbidden, match="another till"):
        await run(session_factory, shifts.close_shift, number=1, counted_minor=0, actor=cashier, chat_id=TILL + 1)
    closes = await asyncio.gather(
        *(
            run(session_factory, shifts.close_shift, number=1, counted_minor=counted, actor=manager, chat_id=77)
            for counted in (4_950, 4_900)
        )
    )
    assert sorted(c.already_closed for c in closes) == [False, True]
    first = next(c for c in closes if not c.already_closed)
    async with session_factory() as session:
        closed = await shifts.get_shift(session, number=1)
        actions = list((await session.scalars(select(AuditEntry.action).order_by(AuditEntry.id))).all())
    assert closed.counted_minor == first.shift.counted_minor
    assert closed.difference_minor == closed.counted_minor - 5_000
    assert closed.closed_by_id == manager.id
    assert actions.count("shift close") == 1 and actions.count("shift difference") == 1
    with pytest.raises(NotFound):
        await run(
            session_factory, shifts.cash_movement, chat_id=TILL, amount_minor=1, reason="x", actor=cashier, pay_in=True
        )
    reopened = await _open(session_factory, cashier, 0)  # the till opens again
    assert (reopened.number, reopened.id != shift.id) == (2, True)


async def test_the_check_proves_each_drawer_and_finds_a_tampered_entry(session_factory, cashier):
    shift = await _open(session_factory, cashier, 10_000)
    milk = await run(session_factory, make_product, name="Milk", price_minor=350, stock=20)
    sold = await sell(
        session_factory, cashier=cashier, items=[(milk, 1)], chat_id=TILL, method=PaymentMethod.CASH, tendered_minor=500
    )
    await run(session_factory, shifts.close_shift, number=1, counted_minor=10_300, actor=cashier, chat_id=TILL)
    async with session_factory() as session:
        assert await ledger.check_drawers(session) == []
    async with session_factory() as session, session.begin():
        await session.execute(
            update(DrawerEntry).where(DrawerEntry.kind == DrawerEntryKind.CHANGE).values(amount_minor=-100)
        )
    async with session_factory() as session:
        problems = await ledger.check_drawers(session)
    assert [(p.shift_number, p.what, p.recorded, p.entries_sum) for p in problems] == [
        (shift.number, "balance", 10_350, 10_400),
        (shift.number, f"cash of sale #{sold.sale.number}", 350, 400),
    ]
