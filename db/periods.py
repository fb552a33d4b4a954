"""Report periods in the store's time zone, turned into half-open UTC ranges.

"week" is the ISO week (Monday first) containing today; ranges are inclusive of both dates.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from db.errors import InvalidInput
from db.text import quoted

PERIOD_FORMS = "today, yesterday, week, lastweek, month, YYYY-MM-DD or YYYY-MM-DD..YYYY-MM-DD"
MAX_RANGE_DAYS = 3660
# The days a report can cover: a day far outside would overflow Python's dates when the store's
# time zone or the day after it is applied (`9999-12-31`, `0001-01-01`).
FIRST_DAY = date(1970, 1, 1)
LAST_DAY = date(2999, 12, 31)


@dataclass(frozen=True)
class Period:
    first_day: date  # inclusive, local
    last_day: date  # inclusive, local
    start: datetime  # UTC, inclusive
    end: datetime  # UTC, exclusive
    label: str

    def days(self) -> list[date]:
        n = (self.last_day - self.first_day).days + 1
        return [self.first_day + timedelta(days=i) for i in range(n)]


def local_midnight_utc(day: date, tz: ZoneInfo) -> datetime:
    return datetime.combine(day, time(0), tzinfo=tz).astimezone(UTC)


def period_for_days(first: date, last: date, tz: ZoneInfo, label: str | None = None) -> Period:
    if not FIRST_DAY <= first <= LAST_DAY or not FIRST_DAY <= last <= LAST_DAY:
        raise InvalidInput(f"Dates from {FIRST_DAY} to {LAST_DAY} only. Use {PERIOD_FORMS}.")
    if last < first:
        raise InvalidInput(f"The period ends before it starts. Use {PERIOD_FORMS}.")
    if (last - first).days > MAX_RANGE_DAYS:
        raise InvalidInput("That period is too long: ten years at most.")
    return Period(
        first_day=first,
        last_day=last,
        start=local_midnight_utc(first, tz),
        end=local_midnight_utc(last + timedelta(days=1), tz),
        label=label or (first.isoformat() if first == last else f"{first} – {last}"),
    )


def local_today(tz: ZoneInfo, now: datetime | None = None) -> date:
    return (now or datetime.now(UTC)).astimezone(tz).date()


def parse_period(text: str | None, tz: ZoneInfo, *, now: datetime | None = None, default: str = "today") -> Period:
    """Parse a period word or date range; raise InvalidInput naming the accepted forms."""
    word = (text or default).strip().lower()
    today = local_today(tz, now)
    monday = today - timedelta(days=today.weekday())
    if word == "today":
        return period_for_days(today, today, tz, f"today ({today})")
    if word == "yesterday":
        y = today - timedelta(days=1)
        return period_for_days(y, y, tz, f"yesterday ({y})")
    if word == "week":
        return period_for_days(
            monday, monday + timedelta(days=6), tz, f"this week ({monday} – {monday + timedelta(days=6)})"
        )
    if word == "lastweek":
        m = monday - timedelta(days=7)
        return period_for_days(m, m + timedelta(days=6), tz, f"last week ({m} – {m + timedelta(days=6)})")
    if word == "month":
        first = today.replace(day=1)
        nxt = (first + timedelta(days=32)).replace(day=1)
        return period_for_days(first, nxt - timedelta(days=1), tz, f"{first:%B %Y}")
    match = re.fullmatch(r"(\d{4}-\d{2}-\d{2})(?:\.\.(\d{4}-\d{2}-\d{2}))?", word)
    if match:
        try:
            first = date.fromisoformat(match.group(1))
            last = date.fromisoformat(match.group(2)) if match.group(2) else first
        except ValueError:
            raise InvalidInput(f"{quoted(text)} is not a real date. Use {PERIOD_FORMS}.") from None
        return period_for_days(first, last, tz)
    raise InvalidInput(f"{quoted(text)} is not a period I know. Use {PERIOD_FORMS}.")
