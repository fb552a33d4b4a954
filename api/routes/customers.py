"""/v1/customers: find, register, edit; a customer's sales."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import Response

from api.deps import CashierKey, Change, Create, ManagerKey, ReadSession, SettingsDep
from api.routes.products import Cursor, Limit
from api.schemas.common import Id, ListOf, Text, problem_responses
from api.schemas.customers import CustomerCreate, CustomerOut, CustomerPatch
from api.schemas.sales import SaleOut
from db import checkout
from db import customers as customers_db
from db.catalog import UNSET

router = APIRouter(prefix="/v1/customers", tags=["customers"])


@router.get("", response_model=ListOf[CustomerOut], responses=problem_responses(403))
async def list_customers(
    session: ReadSession,
    settings: SettingsDep,
    _caller: CashierKey,
    q: Annotated[Text | None, Query(description="Name contains it, or phone matches its digits")] = None,
    cursor: Cursor = None,
    limit: Limit = 50,
) -> ListOf[CustomerOut]:
    """Customers by id, a page at a time."""
    page = await customers_db.customers_page(
        session, text=q, cursor=cursor, limit=limit, default_region=settings.phone_region
    )
    return ListOf[CustomerOut](items=[CustomerOut.of(c, settings.tz) for c in page.items], next_cursor=page.next_cursor)


@router.get("/{customer_id}", response_model=CustomerOut, responses=problem_responses(403, 404))
async def get_customer(
    customer_id: Id, session: ReadSession, settings: SettingsDep, _caller: CashierKey
) -> CustomerOut:
    return CustomerOut.of(await customers_db.get_customer(session, customer_id=customer_id), settings.tz)


@router.post("", status_code=201, response_model=CustomerOut, responses=problem_responses(403, 409))
async def create_customer(body: CustomerCreate, _caller: CashierKey, writer: Create, settings: SettingsDep) -> Response:
    """Register a customer; a phone number belongs to one customer only (409)."""

    async def work(session):
        customer = await customers_db.register_customer(
            session, name=body.name, phone=body.phone, email=body.email, default_region=settings.phone_region
        )
        return CustomerOut.of(customer, settings.tz)

    return await writer.run(work, status=201)


@router.patch("/{customer_id}", response_model=CustomerOut, responses=problem_responses(403, 404, 409))
async def patch_customer(
    customer_id: Id, body: CustomerPatch, _caller: ManagerKey, writer: Change, settings: SettingsDep
) -> Response:
    """Change the fields sent; null clears phone or e-mail."""
    given = body.model_fields_set

    async def work(session):
        customer = await customers_db.edit_customer(
            session,
            customer_id=customer_id,
            name=body.name if "name" in given else UNSET,
            phone=body.phone if "phone" in given else UNSET,
            email=body.email if "email" in given else UNSET,
            default_region=settings.phone_region,
        )
        return CustomerOut.of(customer, settings.tz)

    return await writer.run(work)


@router.get("/{customer_id}/sales", response_model=ListOf[SaleOut], responses=problem_responses(403, 404))
async def customer_sales(
    customer_id: Id,
    session: ReadSession,
    settings: SettingsDep,
    _caller: ManagerKey,
    cursor: Cursor = None,
    limit: Limit = 50,
) -> ListOf[SaleOut]:
    """The customer's sales, newest first (any status)."""
    customer = await customers_db.get_customer(session, customer_id=customer_id)
    page = await checkout.sales_page(session, customer_id=customer.id, cursor=cursor, limit=limit)
    return ListOf[SaleOut](items=[SaleOut.of(s, settings.tz) for s in page.items], next_cursor=page.next_cursor)
