"""/v1/sales: ring up, look up, list by period; /v1/sales/{id}/refunds."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import Response

from api.deps import CashierKey, Create, ManagerKey, ReadSession, SettingsDep
from api.problems import ApiProblem
from api.routes.periods import period_bounds
from api.routes.products import Cursor, Limit
from api.schemas.common import Id, ListOf, problem_responses
from api.schemas.sales import RefundCreate, RefundOut, SaleCreate, SaleOut
from db import checkout
from db.apikeys import Caller
from db.checkout import LineRequest, PaymentRequest, RefundLineRequest
from db.models import Role

router = APIRouter(prefix="/v1/sales", tags=["sales"])


def _sees_every_sale(caller: Caller) -> bool:
    """As in the chat: a cashier sees their own sales, a manager everyone's."""
    return caller.role.includes(Role.MANAGER)


@router.post("", status_code=201, response_model=SaleOut, responses=problem_responses(403, 404, 409))
async def create_sale(body: SaleCreate, caller: CashierKey, writer: Create, settings: SettingsDep) -> Response:
    """Ring up a sale at today's prices, taking the stock the counter sells.

    The payment must be exactly the total; cash may be tendered above it (the sale records the
    change). Split payments are not available yet: send exactly one payment (more is 422).
    Discounts and taxes are not available yet. A shortage is 409 with
    `shortages` naming each product and how many are missing; nothing is recorded then.
    """
    payment = body.payments[0]

    async def work(session):
        result = await checkout.sell(
            session,
            lines=[
                LineRequest(quantity=line.quantity, product_id=line.product_id, sku=line.sku) for line in body.lines
            ],
            payment=PaymentRequest(
                method=payment.method,
                amount_minor=payment.amount.minor(settings.currency, "payments[0].amount"),
                tendered_minor=payment.tendered.minor(settings.currency, "payments[0].tendered")
                if payment.tendered
                else None,
            ),
            cashier=caller.staff,
            currency=settings.currency,
            default_low_stock_threshold=settings.low_stock_threshold,
            customer_id=body.customer_id,
            loyalty_earn_bp=settings.loyalty_earn_bp,  # a sale to a customer earns, as at the counter
        )
        return SaleOut.of(result.sale, settings.tz)

    return await writer.run(work, status=201)


@router.get("", response_model=ListOf[SaleOut], responses=problem_responses(403))
async def list_sales(
    session: ReadSession,
    settings: SettingsDep,
    caller: CashierKey,
    from_: Annotated[
        date | None, Query(alias="from", description="First store day, YYYY-MM-DD (default: today)")
    ] = None,
    to: Annotated[date | None, Query(description="Last store day, YYYY-MM-DD, inclusive (default: today)")] = None,
    cursor: Cursor = None,
    limit: Limit = 50,
) -> ListOf[SaleOut]:
    """Sales of the store days `from`..`to` (both inclusive), newest first. A cashier key sees its own."""
    start, end = period_bounds(from_, to, settings.tz, required=True)
    page = await checkout.sales_page(
        session,
        start=start,
        end=end,
        cashier_id=None if _sees_every_sale(caller) else caller.staff.id,
        cursor=cursor,
        limit=limit,
    )
    return ListOf[SaleOut](items=[SaleOut.of(s, settings.tz) for s in page.items], next_cursor=page.next_cursor)


@router.get("/{sale_id}", response_model=SaleOut, responses=problem_responses(403, 404))
async def get_sale(sale_id: Id, session: ReadSession, settings: SettingsDep, caller: CashierKey) -> SaleOut:
    """One sale by its number. A cashier key sees only the sales it rang up."""
    sale = await checkout.get_sale(session, sale_id=sale_id)
    if not _sees_every_sale(caller) and sale.cashier_id != caller.staff.id:
        raise ApiProblem(403, f"Sale #{sale.id} was rung up by someone else: a cashier key sees its own sales.")
    return SaleOut.of(sale, settings.tz)


@router.post(
    "/{sale_id}/refunds", status_code=201, response_model=RefundOut, responses=problem_responses(403, 404, 409)
)
async def refund_sale(
    sale_id: Id, body: RefundCreate, caller: ManagerKey, writer: Create, settings: SettingsDep
) -> Response:
    """Refund a sale. Today that is the whole sale: list every line with its full quantity and
    `restock: true`; the money goes back the way it was paid. A sale already refunded is 409."""

    async def work(session):
        sale = await checkout.refund_lines(
            session,
            sale_id=sale_id,
            lines=[RefundLineRequest(line.sale_line_id, line.quantity, line.restock) for line in body.lines],
            method=body.method,
            reason=body.reason,
            actor=caller.staff,
            default_threshold=settings.low_stock_threshold,
        )
        return RefundOut.of(sale, body.reason.strip(), settings.tz)

    return await writer.run(work, status=201)
