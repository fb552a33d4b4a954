"""The customer's own chat: receipt links and the customer's linked Telegram account.

A receipt link is ``t.me/<bot>?start=r_<token>``: the token is 192 random bits (``secrets``),
URL-safe, and only its SHA-256 is stored, with the sale and an expiry. One link per sale: making it
again replaces the token (the old link stops working). The first person to open a link holds it;
to anyone else, or once it expired, it is the same as an unknown token (``None``: the caller gives
one answer for every case, so a guesser learns nothing).

The holder may link their Telegram account to the sale's customer record (a new record when the
sale had none), asked, never assumed; from then on ``customer_for`` finds them. A Telegram
account is linked to at most one customer (a unique column), and a customer to one account.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from db import loyalty
from db.catalog import is_row_id, require_int
from db.checkout import get_sale
from db.errors import Conflict
from db.models import Customer, PointsKind, ReceiptLink, Sale, SaleStatus, utcnow

PREFIX = "r_"
TOKEN_BYTES = 24  # 192 bits; 32 characters of A-Za-z0-9_-
PAYLOAD = re.compile(r"^r_[A-Za-z0-9_-]{32}$")
MAX_RECEIPTS = 20


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def make_link(session: AsyncSession, *, sale_id: int, days: int, now: datetime | None = None) -> str:
    """A new start payload for the sale's receipt (``r_`` + token); replaces the sale's older link."""
    sale = await get_sale(session, sale_id=sale_id)
    days = require_int(days, "RECEIPT_LINK_DAYS", lo=1, hi=3650)
    token = secrets.token_urlsafe(TOKEN_BYTES)
    expires = (now or utcnow()) + timedelta(days=days)
    link = await session.scalar(select(ReceiptLink).where(ReceiptLink.sale_id == sale.id))
    if link is None:
        session.add(ReceiptLink(sale_id=sale.id, token_hash=token_hash(token), expires_at=expires))
    else:
        link.token_hash, link.expires_at, link.opened_by = token_hash(token), expires, None
    await session.flush()
    return PREFIX + token


async def _held_link(session: AsyncSession, telegram_id: int, now: datetime | None, **where) -> ReceiptLink | None:
    query = select(ReceiptLink).filter_by(**where).with_for_update()
    link = await session.scalar(query)
    if link is None or link.expires_at <= (now or utcnow()):
        return None
    if link.opened_by is not None and link.opened_by != telegram_id:
        return None
    return link


async def open_link(
    session: AsyncSession, *, payload: str, telegram_id: int, now: datetime | None = None
) -> Sale | None:
    """The sale a receipt link opens for this person (who now holds the link), or None for an
    unknown, malformed, expired or someone else's link."""
    if not isinstance(payload, str) or not PAYLOAD.match(payload):
        return None
    link = await _held_link(session, telegram_id, now, token_hash=token_hash(payload[len(PREFIX) :]))
    if link is None:
        return None
    link.opened_by = telegram_id
    await session.flush()
    return await get_sale(session, sale_id=link.sale_id)


async def customer_for(session: AsyncSession, *, telegram_id: int) -> Customer | None:
    """The customer record linked to this Telegram account, if any."""
    return await session.scalar(select(Customer).where(Customer.telegram_id == telegram_id))


class AlreadyLinked(Conflict):
    """The account or the customer record is linked elsewhere already."""


async def link_customer(
    session: AsyncSession,
    *,
    sale_id: int,
    telegram_id: int,
    name: str,
    earn_bp: int = 0,
    now: datetime | None = None,
) -> Customer | None:
    """Link this account to the customer of a sale whose link it holds (None: no such link held).

    A sale without a customer gets a new customer record named ``name``, and earns its points
    (on what was paid, when nothing of it was returned yet).
    """
    if not is_row_id(sale_id):
        return None
    link = await _held_link(session, telegram_id, now, sale_id=sale_id)
    if link is None or link.opened_by != telegram_id:
        return None
    mine = await customer_for(session, telegram_id=telegram_id)
    sale = await get_sale(session, sale_id=sale_id)
    if sale.customer_id is not None:
        customer = await session.get(Customer, sale.customer_id)
        assert customer is not None
        if mine is not None and mine.id != customer.id:
            raise AlreadyLinked("Your account already keeps another customer's receipts: /stop that first.")
        if customer.telegram_id not in (None, telegram_id):
            raise AlreadyLinked("These receipts are already kept in another Telegram account.")
        customer.telegram_id = telegram_id
        await session.flush()
        return customer
    if mine is not None:  # the sale joins the account's own record
        customer = mine
    else:
        customer = Customer(name=(name.strip() or "Customer")[:128], telegram_id=telegram_id)
        session.add(customer)
        await session.flush()
    await session.execute(update(Sale).where(Sale.id == sale.id).values(customer_id=customer.id))
    earned = loyalty.points_earned(sale.total_minor, earn_bp) if sale.status is SaleStatus.COMPLETED else 0
    if earned:
        await loyalty.change_points(
            session,
            customer_id=customer.id,
            points=earned,
            kind=PointsKind.EARN,
            sale_id=sale.id,
            reason=f"sale #{sale.number}",
        )
    await session.refresh(customer)
    return customer


async def unlink(session: AsyncSession, *, telegram_id: int) -> Customer | None:
    """Forget the account's link (the customer record, its receipts and points stay)."""
    customer = await customer_for(session, telegram_id=telegram_id)
    if customer is not None:
        customer.telegram_id = None
        await session.flush()
    return customer


async def customer_sales(session: AsyncSession, *, customer_id: int, limit: int = 10) -> list[Sale]:
    """The customer's newest sales, lines loaded."""
    limit = require_int(limit, "The limit", lo=1, hi=MAX_RECEIPTS)
    rows = await session.scalars(
        select(Sale)
        .where(Sale.customer_id == customer_id)
        .order_by(Sale.created_at.desc(), Sale.id.desc())
        .limit(limit)
        .options(selectinload(Sale.lines))
    )
    return list(rows.all())


async def own_sale(session: AsyncSession, *, customer_id: int, sale_id: int) -> Sale | None:
    """One of the customer's own sales in full, or None (another customer's, or none)."""
    if not is_row_id(sale_id):
        return None
    sale = await session.scalar(select(Sale.id).where(Sale.id == sale_id, Sale.customer_id == customer_id))
    return await get_sale(session, sale_id=sale) if sale is not None else None
