"""/v1/sales: ring up, look up, list by period; /v1/sales/{id}/refunds; /v1/sales/{id}/receipt.pdf."""

from __future__ import annotations

import asyncio
from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import Response

from api.deps import CashierKey, Create, ManagerKey, ReadSession, SettingsDep
from api.problems import ApiProblem
from api.routes.periods import period_bounds
from api.routes.products import Cursor, Limit
from api.schemas.common import Id, ListOf, problem_responses
from api.schemas.sales import DiscountIn, RefundCreate, RefundOut, SaleCreate, SaleOut
from db import checkout, receipts
from db.apikeys import Caller
from db.checkout import LineRequest, PaymentRequest, RefundLineRequest
from db.discounts import DiscountAsk
from db.models import Role
from db.receipt_pdf import receipt_pdf

router = APIRouter(prefix="/v1/sales", tags=["sales"])


def _sees_every_sale(caller: Caller) -> bool:
    """As in the chat: a cashier sees their own sales, a manager everyone's."""
    return caller.role.includes(Role.MANAGER)


def _discount(discount: DiscountIn | None, currency: str, field: str) -> DiscountAsk | None:
    if discount is None:
        return None
    amount = discount.amount.minor(currency, f"{field}.amount") if discount.amount is not None else None
    return DiscountAsk(percent_bp=discount.percent_bp, amount_minor=amount, reason=discount.reason)


@router.post("", status_code=201, response_model=SaleOut, responses=problem_responses(403, 404, 409))
async def create_sale(body: SaleCreate, caller: CashierKey, writer: Create, settings: SettingsDep) -> Response:
    """Ring up a sale at today's prices, taking the stock the counter sells.

    **Discounts**: on a line (`lines[].discount`) or on the whole sale (`discount`), each a
    `percent` or an `amount`, always with a `reason`, priced as at the counter: a sale discount is
    spread over the lines in proportion, tax is computed per line after discounts. A cashier key
    may give up to CASHIER_MAX_DISCOUNT_PERCENT of the sale's gross in all; more is 403 (a manager
    or admin key may give any). An amount more than what it comes off is 422.

    **Payments**: one, or a split (cash, card, mobile; each part more than zero) adding up to the
    total exactly; otherwise 422 naming the total. A cash part may be tendered above its amount
    (the sale records the change); other methods take no `tendered`.

    A shortage is 409 with `shortages` naming each product and how many are missing. On any error
    nothing is recorded.
    """
    cur = settings.currency

    async def work(session):
        result = await checkout.sell(
            session,
            lines=[
                LineRequest(
                    quantity=line.quantity,
                    product_id=line.product_id,
                    sku=line.sku,
                    discount=_discount(line.discount, cur, f"lines[{n}].discount"),
                )
                for n, line in enumerate(body.lines)
            ],
            payments=[
                PaymentRequest(
                    method=payment.method,
                    amount_minor=payment.amount.minor(cur, f"payments[{n}].amount"),
                    tendered_minor=payment.tendered.minor(cur, f"payments[{n}].tendered") if payment.tendered else None,
                )
                for n, payment in enumerate(body.payments)
            ],
            discount=_discount(body.discount, cur, "discount"),
            role=caller.role,
            discount_limit_bp=settings.cashier_max_discount_bp,
            cashier=caller.staff,
            currency=cur,
            default_low_stock_threshold=settings.low_stock_threshold,
            customer_id=body.customer_id,
            prices_include_tax=settings.prices_include_tax,
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


@router.get(
    "/{sale_id}/receipt.pdf",
    response_class=Response,
    responses={200: {"content": {"application/pdf": {}}, "description": "The receipt as a PDF"}}
    | problem_responses(403, 404),
)
async def get_receipt_pdf(sale_id: Id, session: ReadSession, settings: SettingsDep, caller: CashierKey) -> Response:
    """The sale's receipt as a PDF on the store's roll (RECEIPT_WIDTH), as the chat's 📄 PDF button
    sends it. A cashier key gets only the receipts of the sales it rang up."""
    sale = await checkout.get_sale(session, sale_id=sale_id)
    if not _sees_every_sale(caller) and sale.cashier_id != caller.staff.id:
        raise ApiProblem(403, f"Sale #{sale.id} was rung up by someone else: a cashier key sees its own sales.")
    document = receipts.from_sale(sale, store=receipts.Store.from_settings(settings), tz=settings.tz)
    content = await asyncio.to_thread(receipt_pdf, document, width_mm=settings.receipt_width)
    disposition = f'inline; filename="{document.filename}"'
    return Response(content, media_type="application/pdf", headers={"Content-Disposition": disposition})


@router.post(
    "/{sale_id}/refunds", status_code=201, response_model=RefundOut, responses=problem_responses(403, 404, 409)
)
async def refund_sale(
    sale_id: Id, body: RefundCreate, caller: ManagerKey, writer: Create, settings: SettingsDep
) -> Response:
    """Refund some units of some lines of a sale: each pays back what the customer paid for those
    units (discounts and tax included). More than a line sold is 422; more than is left to return
    (after earlier refunds), or a sale already refunded in full, is 409."""

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
