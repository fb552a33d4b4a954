"""/v1/shifts: the tills' shifts with their X (open) or Z (closed) figures, read-only.

Shifts are opened, paid into and closed at the till (the chat); the API reads them.
"""

from __future__ import annotations

from fastapi import APIRouter

from api.deps import ManagerKey, ReadSession, SettingsDep
from api.routes.periods import From, To, period_of
from api.schemas.common import Id, ListOf, problem_responses
from api.schemas.shifts import ShiftOut
from db import shifts

router = APIRouter(prefix="/v1/shifts", tags=["shifts"])


@router.get("", response_model=ListOf[ShiftOut], responses=problem_responses(403))
async def list_shifts(
    session: ReadSession, settings: SettingsDep, _caller: ManagerKey, from_: From = None, to: To = None
) -> ListOf[ShiftOut]:
    """Shifts opened on the store days `from`..`to` (inclusive; default today), oldest first, with
    their drawer and money figures. At most 500: narrow the days for more."""
    period = period_of(from_, to, settings.tz)
    reports = await shifts.shift_reports(session, start=period.start, end=period.end)
    return ListOf[ShiftOut](items=[ShiftOut.of(r, settings.currency, settings.tz) for r in reports], next_cursor=None)


@router.get("/{number}", response_model=ShiftOut, responses=problem_responses(403, 404))
async def get_shift(number: Id, session: ReadSession, settings: SettingsDep, _caller: ManagerKey) -> ShiftOut:
    """One shift by its number: the X report while it is open, the Z report once closed."""
    report = await shifts.shift_report(session, number=number)
    return ShiftOut.of(report, settings.currency, settings.tz)
