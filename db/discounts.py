"""Discounts on a cart line or on the whole cart: a percentage or an amount, always with a reason.

A cashier may give up to CASHIER_MAX_DISCOUNT_PERCENT of the cart's gross in total (line and cart
discounts together); beyond it ``apply`` records nothing and says a manager must approve
(db.approvals). Managers and admins, and a cashier holding a manager's approval, apply any
discount. Every discount bumps the cart version, so a Confirm drawn before it records nothing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from db import audit, money, pricing
from db.carts import CartView, get_cart_view, locked_cart
from db.catalog import clean_text
from db.errors import InvalidInput, NotFound, StaleCart
from db.models import CartLine, Discount, Role, Staff
from db.quote import quote_cart
from db.taxes import format_rate

MAX_REASON = 128
MAX_AMOUNT_MINOR = 10**15


@dataclass(frozen=True)
class DiscountAsk:
    """What a cashier asked for: ``product_id`` None means the whole cart."""

    percent_bp: int | None
    amount_minor: int | None
    reason: str
    product_id: int | None = None

    def describe(self, currency: str) -> str:
        how = (
            format_rate(self.percent_bp)
            if self.percent_bp is not None
            else money.format_money(self.amount_minor or 0, currency)
        )
        return f"{how} off" + (" the cart" if self.product_id is None else "")


@dataclass(frozen=True)
class Outcome:
    view: CartView
    applied: bool  # False: over the cashier's limit, nothing written; ask a manager
    discount_minor: int  # the cart's discounts in total with this one
    limit_minor: int  # what the cashier may give on this cart


def parse_discount(text: str, currency: str) -> tuple[int | None, int | None]:
    """'10%' -> (1000, None); '2.50' -> (None, 250). A percentage has at most two decimals."""
    raw = (text or "").strip()
    if raw.endswith("%"):
        match = re.fullmatch(r"(\d{1,3})(?:[.,](\d{1,2}))?", raw[:-1].strip())
        if not match:
            raise InvalidInput(f"“{raw[:20]}” is not a percentage: use e.g. 10% or 7.5%.")
        value = int(match.group(1)) * 100 + int((match.group(2) or "").ljust(2, "0"))
        if not 0 < value <= pricing.FULL_BP:
            raise InvalidInput("A percentage discount is more than 0% and at most 100%.")
        return value, None
    amount = money.parse_money(raw, currency)
    if amount <= 0:
        raise InvalidInput("A discount is more than zero.")
    return None, amount


def checked(ask: DiscountAsk, *, missing_reason: str = "Give a reason for the discount.") -> DiscountAsk:
    """``ask`` with its reason trimmed, once it is a percentage (more than 0%, at most 100%) or an
    amount (more than zero), with a reason; InvalidInput otherwise."""
    reason = clean_text(ask.reason, "The reason", max_len=MAX_REASON, required=False)
    if not reason:
        raise InvalidInput(missing_reason)
    if (ask.percent_bp is None) == (ask.amount_minor is None):
        raise InvalidInput("A discount is a percentage or an amount (one of them).")
    for value in (ask.percent_bp, ask.amount_minor):
        if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
            raise InvalidInput("A discount is a whole number of hundredths of a percent or of minor units.")
    if ask.percent_bp is not None and not 0 < ask.percent_bp <= pricing.FULL_BP:
        raise InvalidInput("A percentage discount is more than 0% and at most 100%.")
    if ask.amount_minor is not None and not 0 < ask.amount_minor <= MAX_AMOUNT_MINOR:
        raise InvalidInput("A discount is more than zero.")
    return replace(ask, reason=reason)


def check_fits(ask: DiscountAsk, base_minor: int, *, what: str, currency: str) -> None:
    """Refuse an amount larger than what it comes off (``base_minor``): asked for in one go (the
    API), a discount that would take a line below zero is a mistake, not a request for all of it."""
    if ask.amount_minor is not None and ask.amount_minor > base_minor:
        raise InvalidInput(
            f"The discount of {money.format_money(ask.amount_minor, currency)} on {what} is more than "
            f"{money.format_money(base_minor, currency)}: a discount never takes a line below zero."
        )


@dataclass(frozen=True)
class Allowance:
    """What a discount giver may give on a cart, against what the cart's discounts add up to."""

    given_minor: int  # line and cart discounts together
    gross_minor: int
    limit_minor: int  # a cashier's limit on this cart
    allowed: bool  # within the limit, or given (or approved) by a manager or an admin


def allowance(cart: pricing.PricedCart, *, role: Role, limit_bp: int, approved: bool = False) -> Allowance:
    """The limit rule: a cashier may give up to ``limit_bp`` of the cart's gross in total; a manager
    or an admin (or a cashier holding a manager's approval) any discount."""
    given, gross = cart.discount_minor, cart.gross_minor
    limit = pricing.percent_of(gross, limit_bp)
    may_give_any = role.includes(Role.MANAGER) or approved
    return Allowance(given_minor=given, gross_minor=gross, limit_minor=limit, allowed=may_give_any or given <= limit)


async def apply(
    session: AsyncSession,
    *,
    chat_id: int,
    ask: DiscountAsk,
    actor: Staff,
    limit_bp: int,
    currency: str,
    prices_include_tax: bool = True,
    approved_by: Staff | None = None,
    expected_version: int | None = None,
) -> Outcome:
    """Put ``ask`` on the chat's cart (replacing the discount already on that line or the cart).

    ``expected_version``: the cart version the discount was asked for (an approval): a cart that
    changed since raises StaleCart and records nothing.
    """
    # A malformed percentage or amount raises here, before anything is written.
    ask = checked(ask, missing_reason="Give a reason for the discount, e.g. /discount 10% loyal customer.")
    reason = ask.reason
    cart = await locked_cart(session, chat_id)
    if expected_version is not None and cart.version != expected_version:
        raise StaleCart("The cart changed since the discount was asked for: ask again.")
    line_id = None
    if ask.product_id is not None:
        line_id = await session.scalar(
            select(CartLine.id).where(CartLine.cart_id == cart.id, CartLine.product_id == ask.product_id)
        )
        if line_id is None:
            raise NotFound("That product is no longer in the cart.")
    elif not await session.scalar(select(CartLine.id).where(CartLine.cart_id == cart.id).limit(1)):
        raise InvalidInput("The cart is empty: nothing to discount.")

    # Try it inside a savepoint: over the limit, nothing of it stays.
    savepoint = await session.begin_nested()
    same_target = Discount.cart_line_id == line_id if line_id is not None else Discount.cart_line_id.is_(None)
    await session.execute(delete(Discount).where(Discount.cart_id == cart.id, same_target))
    session.add(
        Discount(
            cart_id=cart.id,
            cart_line_id=line_id,
            percent_bp=ask.percent_bp,
            amount_minor=ask.amount_minor,
            reason=reason,
            staff_id=actor.id,
            approved_by_id=approved_by.id if approved_by else None,
        )
    )
    await session.flush()
    quote = await quote_cart(session, cart_id=cart.id, prices_include_tax=prices_include_tax)
    allowed = allowance(quote.cart, role=actor.role, limit_bp=limit_bp, approved=approved_by is not None)
    given, limit = allowed.given_minor, allowed.limit_minor
    if not allowed.allowed:
        await savepoint.rollback()
        view = await get_cart_view(session, chat_id=chat_id, prices_include_tax=prices_include_tax)
        return Outcome(view=view, applied=False, discount_minor=given, limit_minor=limit)
    await savepoint.commit()
    cart.version += 1  # the row is locked (locked_cart)
    await session.flush()
    await audit.record(
        session,
        actor=actor,
        action="discount",
        details=(
            f"{ask.describe(currency)} ({reason}) on cart {cart.id}: cart discounts now "
            f"{money.format_money(given, currency)}" + (f"; approved by {approved_by.name}" if approved_by else "")
        ),
    )
    view = await get_cart_view(session, chat_id=chat_id, prices_include_tax=prices_include_tax)
    return Outcome(view=view, applied=True, discount_minor=given, limit_minor=limit)


async def remove(
    session: AsyncSession, *, chat_id: int, product_id: int | None, actor: Staff, prices_include_tax: bool = True
) -> CartView:
    """Take the discount off a line (``product_id``) or off the cart (None)."""
    cart = await locked_cart(session, chat_id)
    if product_id is None:
        target = Discount.cart_line_id.is_(None)
    else:
        line_ids = select(CartLine.id).where(CartLine.cart_id == cart.id, CartLine.product_id == product_id)
        target = Discount.cart_line_id.in_(line_ids)
    removed = await session.execute(delete(Discount).where(Discount.cart_id == cart.id, target))
    if removed.rowcount:
        cart.version += 1
        await session.flush()
        await audit.record(session, actor=actor, action="discount_off", details=f"cart {cart.id}")
    return await get_cart_view(session, chat_id=chat_id, prices_include_tax=prices_include_tax)
