"""`from` and `to` query parameters: store days (YYYY-MM-DD in STORE_TIMEZONE), both inclusive."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import Query

from db.periods import Period, local_today, period_for_days

From = Annotated[date | None, Query(alias="from", description="First store day, YYYY-MM-DD (default: today)")]
To = Annotated[date | None, Query(description="Last store day, YYYY-MM-DD, inclusive (default: today)")]


def period_of(first: date | None, last: date | None, tz: ZoneInfo) -> Period:
    """Neither given: today. Only `from`: from then to today. Only `to`: that day."""
    if first is None:
        first = last or local_today(tz)
    if last is None:
        last = max(first, local_today(tz))
    return period_for_days(first, last, tz)


def period_bounds(
    first: date | None, last: date | None, tz: ZoneInfo, *, required: bool
) -> tuple[datetime | None, datetime | None]:
    """UTC [start, end) of the days; (None, None) when neither is given and none is required."""
    if first is None and last is None and not required:
        return None, None
    period = period_of(first, last, tz)
    return period.start, period.end
