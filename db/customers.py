"""Customers: registration with a normalised phone (E.164) and e-mail, search, purchase history."""

from __future__ import annotations

import re
from typing import NamedTuple

from sqlalchemy import ColumnElement, case, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from db.catalog import UNSET, _Unset, clean_name, clean_text, is_row_id, optional_text, require_int
from db.errors import Conflict, InvalidInput, NotFound
from db.models import Customer, Sale, SaleStatus
from db.pagination import CursorPage, keyset_page
from db.text import quoted

MAX_FIND = 50


class CustomerHistory(NamedTuple):
    sales: list[Sale]  # most recent first, lines and cashier loaded
    sale_count: int  # completed sales
    total_minor: int  # sum of completed sales


def normalise_phone(text: str, default_region: str | None = None) -> str:
    """A phone number in E.164 ("+442079460958"); without a region it must start with "+"."""
    raw = clean_text(text, "The phone number", max_len=40)
    import phonenumbers  # the first phone number imports it (~10 ms), not start-up

    try:
        number = phonenumbers.parse(raw, default_region)
    except phonenumbers.NumberParseException:
        hint = "" if default_region else " with the country code, e.g. +44 20 7946 0958"
        raise InvalidInput(f"{quoted(raw)} is not a phone number I can read: write it{hint} in digits.") from None
    if not phonenumbers.is_valid_number(number):
        raise InvalidInput(f"{quoted(raw)} is not a valid phone number.")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def normalise_email(text: str) -> str:
    raw = clean_text(text, "The e-mail address", max_len=254)
    from email_validator import EmailNotValidError, validate_email  # the first e-mail imports it, not start-up

    try:
        return validate_email(raw, check_deliverability=False).normalized
    except EmailNotValidError as error:
        raise InvalidInput(f"{quoted(raw)} is not a valid e-mail address: {error}") from None


async def _customer_with_phone(session: AsyncSession, phone: str) -> Customer | None:
    return await session.scalar(select(Customer).where(Customer.phone == phone))


async def register_customer(
    session: AsyncSession,
    *,
    name: str,
    phone: str | None = None,
    email: str | None = None,
    default_region: str | None = None,
) -> Customer:
    """Register a customer; a phone number may belong to one customer only."""
    name = clean_name(name, "The name", max_len=128)
    phone = optional_text(phone, "The phone number", max_len=40)
    if phone is not None:
        phone = normalise_phone(phone, default_region)
        existing = await _customer_with_phone(session, phone)
        if existing is not None:
            raise Conflict(f"{phone} already belongs to {existing.name} (customer #{existing.id}).")
    email = optional_text(email, "The e-mail address", max_len=254)
    email = normalise_email(email) if email else None
    customer = Customer(name=name, phone=phone, email=email)
    session.add(customer)
    try:
        await session.flush()
    except IntegrityError:
        raise Conflict(f"{phone} was just registered for another customer.") from None
    return customer


async def get_customer(session: AsyncSession, *, customer_id: int) -> Customer:
    if not is_row_id(customer_id):
        raise NotFound(f"No customer #{customer_id}.")
    customer = await session.get(Customer, customer_id)
    if customer is None:
        raise NotFound(f"No customer #{customer_id}.")
    return customer


async def find_customers(
    session: AsyncSession, *, text: str, limit: int = 8, default_region: str | None = None
) -> list[Customer]:
    """Customers whose name contains ``text`` (ignoring case) or whose phone matches its digits.

    An exact phone match comes first, then the rest by name.
    """
    text = clean_text(text, "A name or phone number", max_len=128)
    limit = require_int(limit, "The limit", lo=1, hi=MAX_FIND)
    matches, exact_phone = _matches(text, default_region)
    order = [func.lower(Customer.name), Customer.id]
    if exact_phone is not None:
        order.insert(0, case((Customer.phone == exact_phone, 0), else_=1))
    query = select(Customer).where(matches).order_by(*order).limit(limit)
    return list((await session.scalars(query)).all())


def _matches(text: str, default_region: str | None) -> tuple[ColumnElement[bool], str | None]:
    """(name contains ``text`` or phone matches its digits, the exact phone ``text`` is, if any)."""
    matches = [Customer.name.icontains(text, autoescape=True)]
    exact_phone = None
    digits = re.sub(r"\D", "", text)
    if len(digits) >= 3:
        matches.append(Customer.phone.contains(digits, autoescape=True))
        try:
            exact_phone = normalise_phone(text, default_region)
        except InvalidInput:
            exact_phone = None
        if exact_phone is not None:
            matches.append(Customer.phone == exact_phone)
    return or_(*matches), exact_phone


async def customers_page(
    session: AsyncSession,
    *,
    text: str | None = None,
    cursor: str | None = None,
    limit: int = 50,
    default_region: str | None = None,
) -> CursorPage[Customer]:
    """Customers by id, a page at a time; with ``text``, those find_customers would match."""
    query = select(Customer)
    text = optional_text(text, "A name or phone number", max_len=128)
    if text:
        query = query.where(_matches(text, default_region)[0])
    return await keyset_page(session, query, id_column=Customer.id, cursor=cursor, limit=limit, newest_first=False)


async def edit_customer(
    session: AsyncSession,
    *,
    customer_id: int,
    name: str | _Unset = UNSET,
    phone: str | _Unset | None = UNSET,
    email: str | _Unset | None = UNSET,
    default_region: str | None = None,
) -> Customer:
    """Change only the given fields; ``phone``/``email`` None (or blank) clears them."""
    customer = await get_customer(session, customer_id=customer_id)
    if name is not UNSET:
        customer.name = clean_name(name, "The name", max_len=128)
    if phone is not UNSET:
        new_phone = optional_text(phone, "The phone number", max_len=40)
        new_phone = normalise_phone(new_phone, default_region) if new_phone else None
        if new_phone is not None and new_phone != customer.phone:
            existing = await _customer_with_phone(session, new_phone)
            if existing is not None:
                raise Conflict(f"{new_phone} already belongs to {existing.name} (customer #{existing.id}).")
        customer.phone = new_phone
    if email is not UNSET:
        new_email = optional_text(email, "The e-mail address", max_len=254)
        customer.email = normalise_email(new_email) if new_email else None
    try:
        await session.flush()
    except IntegrityError:
        raise Conflict(f"{customer.phone} was just registered for another customer.") from None
    return customer


async def customer_history(session: AsyncSession, *, customer_id: int, limit: int = 10) -> CustomerHistory:
    """A customer's recent sales (any status) and the count and sum of their completed sales."""
    customer = await get_customer(session, customer_id=customer_id)
    limit = require_int(limit, "The limit", lo=1, hi=MAX_FIND)
    count, total = (
        await session.execute(
            select(func.count(Sale.id), func.coalesce(func.sum(Sale.total_minor), 0)).where(
                Sale.customer_id == customer.id, Sale.status != SaleStatus.REFUNDED
            )
        )
    ).one()
    sales = await session.scalars(
        select(Sale)
        .where(Sale.customer_id == customer.id)
        .order_by(Sale.created_at.desc(), Sale.id.desc())
        .limit(limit)
        .options(selectinload(Sale.lines), selectinload(Sale.cashier))
    )
    return CustomerHistory(sales=list(sales.all()), sale_count=count, total_minor=int(total))
