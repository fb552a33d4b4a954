"""Discounts at the counter and manager approvals: within the limit, approved, denied, expired,
two managers at once, a cart that changed meanwhile, and bad input."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from sqlalchemy import select, update

from db.models import ApprovalRequest, ApprovalStatus, AuditEntry, Discount, Sale
from tests.chat.conftest import ADMIN_ID
from tests.chat.counter_helpers import cart_of, fill, product
from tests.chat.test_checkout import checkout_to_confirm


async def _cart(session_factory, cashier):
    tea = await product(session_factory, name="Tea", price_minor=500, stock=20, sku="TEA")
    await fill(session_factory, cashier.chat_id, (tea, 4))  # 20.00
    return tea


async def _requests(session_factory):
    async with session_factory() as session:
        return list((await session.scalars(select(ApprovalRequest).order_by(ApprovalRequest.id))).all())


async def _audit_actions(session_factory):
    async with session_factory() as session:
        return [a for a in (await session.scalars(select(AuditEntry.action).order_by(AuditEntry.id))).all()]


async def test_a_discount_within_the_limit_applies_at_once(cashier, session_factory):
    await _cart(session_factory, cashier)
    await cashier.send("/discount 10% loyal customer")
    assert "Discount applied" in cashier.text
    assert "Cart discount: − $2.00 (loyal customer)" in cashier.text and "Total: $18.00" in cashier.text
    await checkout_to_confirm(cashier, method="Card")
    assert "$18.00" in cashier.text
    await cashier.tap("✅ Confirm sale")
    assert "Cart discount: − $2.00 (loyal customer)" in cashier.text and "Total: $18.00" in cashier.text
    async with session_factory() as session:
        sale = await session.scalar(select(Sale))
    assert (sale.gross_minor, sale.discount_minor, sale.total_minor) == (2000, 200, 1800)
    assert "discount" in await _audit_actions(session_factory)


async def test_bad_discounts_change_nothing(cashier, session_factory):
    await _cart(session_factory, cashier)
    before = (await cart_of(session_factory, cashier.chat_id)).version
    for bad, says in (
        ("/discount 10%", "Give a reason"),
        ("/discount", "/discount <N%|amount> <reason>"),
        ("/discount lots of it", "is not an amount"),
        ("/discount 0% none", "more than 0%"),
        ("/discount 120% why", "at most 100%"),
        ("/discount 1,50,00 x", "is not an amount"),
    ):
        await cashier.send(bad)
        assert says in cashier.text, (bad, cashier.text)
    assert (await cart_of(session_factory, cashier.chat_id)).version == before
    async with session_factory() as session:
        assert (await session.scalars(select(Discount))).all() == []


async def test_a_line_discount_from_the_cart_button(cashier, session_factory):
    await _cart(session_factory, cashier)
    await cashier.send("/cart")
    await cashier.tap("％")
    assert "Discount on that line" in cashier.text
    await cashier.send("/discount 1.00 dented tin")
    assert "− $1.00 (dented tin)" in cashier.text and "Total: $19.00" in cashier.text
    # A discount can never take a line below zero.
    await cashier.send("/cart")
    await cashier.tap("％")
    await cashier.send("/discount 999 free")
    assert "Waiting for a manager" in cashier.text  # above the cashier's 10%


async def test_above_the_limit_a_manager_approves(cashier, manager, admin, session_factory):
    await _cart(session_factory, cashier)
    await cashier.send("/discount 25% damaged box")
    waiting = cashier.last_reply
    assert "Waiting for a manager" in waiting.text and "above your limit of 10%" in waiting.text
    assert "Approval needed" in manager.text and "25% off the cart (damaged box) by Cal Cashier" in manager.text
    assert "Approval needed" in admin.text  # admins count as managers
    assert (await cart_of(session_factory, cashier.chat_id)).total_minor == 2000  # nothing applied yet

    await manager.tap("✅ Approve")
    assert "Approved by Mia Manager" in manager.text
    # The cashier's waiting screen became the cart with the discount; the admin's copy says who.
    edited = next(m for m in cashier.messages if m.message_id == waiting.message_id)
    assert "Approved by Mia Manager" in edited.text and "Total: $15.00" in edited.text
    assert "Approved by Mia Manager" in admin.text and admin.last_reply.buttons == []
    # A second answer changes nothing and says who decided.
    await admin.press(f"appr:no:{(await _requests(session_factory))[0].id}")
    assert "Already answered: ✅ Approved by Mia Manager" in admin.last_answer["text"]
    (request,) = await _requests(session_factory)
    assert request.status is ApprovalStatus.APPROVED
    actions = await _audit_actions(session_factory)
    assert {"approval_ask", "approval_approved", "discount"} <= set(actions)


async def test_a_manager_denies(cashier, manager, session_factory):
    await _cart(session_factory, cashier)
    await cashier.send("/discount 5.00 friend")
    waiting = cashier.last_reply
    await manager.tap("❌ Deny")
    edited = next(m for m in cashier.messages if m.message_id == waiting.message_id)
    assert "Denied by Mia Manager" in edited.text
    assert (await cart_of(session_factory, cashier.chat_id)).total_minor == 2000


async def test_an_expired_request_cannot_be_approved(cashier, manager, session_factory):
    await _cart(session_factory, cashier)
    await cashier.send("/discount 50% end of day")
    async with session_factory() as session, session.begin():
        (request,) = (await session.scalars(select(ApprovalRequest))).all()
        await session.execute(update(ApprovalRequest).values(expires_at=request.created_at - timedelta(minutes=1)))
    await manager.tap("✅ Approve")
    assert "Expired" in manager.last_answer["text"]
    assert (await _requests(session_factory))[0].status is ApprovalStatus.EXPIRED
    assert (await cart_of(session_factory, cashier.chat_id)).total_minor == 2000


async def test_a_cart_change_voids_the_request(cashier, manager, session_factory):
    tea = await _cart(session_factory, cashier)
    await cashier.send("/discount 30% regular")
    await fill(session_factory, cashier.chat_id, (tea, 1))  # the cart changes while it waits
    await manager.tap("✅ Approve")
    assert "cart had changed: void" in manager.text
    assert (await _requests(session_factory))[0].status is ApprovalStatus.VOID
    assert (await cart_of(session_factory, cashier.chat_id)).total_minor == 2500


async def test_two_managers_answer_at_once(cashier, manager, admin, session_factory):
    await _cart(session_factory, cashier)
    await cashier.send("/discount 40% flood sale")
    await asyncio.gather(manager.tap("✅ Approve"), admin.tap("❌ Deny"))
    (request,) = await _requests(session_factory)
    assert request.status in (ApprovalStatus.APPROVED, ApprovalStatus.DENIED)
    winner = "Mia Manager" if request.decided_by_id != (await _staff_id(session_factory, ADMIN_ID)) else "Ada"
    assert winner in manager.text and winner in admin.text
    total = (await cart_of(session_factory, cashier.chat_id)).total_minor
    assert total == (1200 if request.status is ApprovalStatus.APPROVED else 2000)


async def _staff_id(session_factory, telegram_id):
    from db.models import Staff

    async with session_factory() as session:
        return await session.scalar(select(Staff.id).where(Staff.telegram_id == telegram_id))
