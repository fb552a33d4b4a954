"""/v1/reports/summary: the figures behind /report, for store days from..to."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query

from api.deps import ManagerKey, ReadSession, SettingsDep
from api.routes.periods import period_of
from api.schemas.common import problem_responses
from api.schemas.reports import SummaryOut
from db import money_report, reports

router = APIRouter(prefix="/v1/reports", tags=["reports"])


@router.get("/summary", response_model=SummaryOut, responses=problem_responses(403))
async def summary(
    session: ReadSession,
    settings: SettingsDep,
    _caller: ManagerKey,
    from_: Annotated[
        date | None, Query(alias="from", description="First store day, YYYY-MM-DD (default: today)")
    ] = None,
    to: Annotated[date | None, Query(description="Last store day, YYYY-MM-DD, inclusive (default: today)")] = None,
) -> SummaryOut:
    """Revenue, sales, units, refunds, payment methods, cashiers, days, best and slowest sellers;
    `money`: gross, discounts, refunds, net revenue, tax by rate and money per method (as /report)."""
    period = period_of(from_, to, settings.tz)
    result = await reports.sales_summary(session, period=period, tz=settings.tz)
    figures = await money_report.money_summary(session, period=period, tz=settings.tz)
    return SummaryOut.of(result, settings.currency, figures)
