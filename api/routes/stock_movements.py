"""/v1/stock-movements: the stock ledger, by product and period."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query

from api.deps import ManagerKey, ReadSession, SettingsDep
from api.routes.periods import period_bounds
from api.routes.products import Cursor, Limit
from api.schemas.common import Id, ListOf, problem_responses
from api.schemas.products import MovementOut
from db import stock as stock_db

router = APIRouter(prefix="/v1/stock-movements", tags=["stock"])


@router.get("", response_model=ListOf[MovementOut], responses=problem_responses(403, 404))
async def list_movements(
    session: ReadSession,
    settings: SettingsDep,
    _caller: ManagerKey,
    product_id: Annotated[Id | None, Query(description="Only this product's movements")] = None,
    from_: Annotated[date | None, Query(alias="from", description="First store day, YYYY-MM-DD (inclusive)")] = None,
    to: Annotated[date | None, Query(description="Last store day, YYYY-MM-DD (inclusive)")] = None,
    cursor: Cursor = None,
    limit: Limit = 50,
) -> ListOf[MovementOut]:
    """Stock movements, newest first: initial stock, sales, refunds, restocks, adjustments."""
    start, end = period_bounds(from_, to, settings.tz, required=False)
    page = await stock_db.movements_page(
        session, product_id=product_id, start=start, end=end, cursor=cursor, limit=limit
    )
    return ListOf[MovementOut](items=[MovementOut.of(m, settings.tz) for m in page.items], next_cursor=page.next_cursor)
