"""Report periods: words and dates in the store's time zone, as half-open UTC ranges."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest

from db.errors import InvalidInput
from db.periods import parse_period

NEW_YORK = ZoneInfo("America/New_York")
KATHMANDU = ZoneInfo("Asia/Kathmandu")
# Tuesday 2024-03-05 21:30 in New York, already Wednesday 03-06 08:15 in Kathmandu and in UTC.
NOW = datetime(2024, 3, 6, 2, 30, tzinfo=UTC)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)  # type: ignore[misc]


@pytest.mark.parametrize(
    ("text", "first", "last", "start", "end"),
    [
        ("today", date(2024, 3, 5), date(2024, 3, 5), utc(2024, 3, 5, 5), utc(2024, 3, 6, 5)),
        (None, date(2024, 3, 5), date(2024, 3, 5), utc(2024, 3, 5, 5), utc(2024, 3, 6, 5)),
        ("  TODAY ", date(2024, 3, 5), date(2024, 3, 5), utc(2024, 3, 5, 5), utc(2024, 3, 6, 5)),
        ("yesterday", date(2024, 3, 4), date(2024, 3, 4), utc(2024, 3, 4, 5), utc(2024, 3, 5, 5)),
        # The week clocks spring forward: it starts at UTC-5 and ends at UTC-4.
        ("week", date(2024, 3, 4), date(2024, 3, 10), utc(2024, 3, 4, 5), utc(2024, 3, 11, 4)),
        ("lastweek", date(2024, 2, 26), date(2024, 3, 3), utc(2024, 2, 26, 5), utc(2024, 3, 4, 5)),
        ("month", date(2024, 3, 1), date(2024, 3, 31), utc(2024, 3, 1, 5), utc(2024, 4, 1, 4)),
        ("2024-02-29", date(2024, 2, 29), date(2024, 2, 29), utc(2024, 2, 29, 5), utc(2024, 3, 1, 5)),
        (
            "2024-03-01..2024-03-03",
            date(2024, 3, 1),
            date(2024, 3, 3),
            utc(2024, 3, 1, 5),
            utc(2024, 3, 4, 5),
        ),
        ("2024-11-03", date(2024, 11, 3), date(2024, 11, 3), utc(2024, 11, 3, 4), utc(2024, 11, 4, 5)),
    ],
)
def test_parse_period_new_york(text, first, last, start, end) -> None:
    period = parse_period(text, NEW_YORK, now=NOW)
    assert (period.first_day, period.last_day, period.start, period.end) == (first, last, start, end)
    assert period.days()[0] == first and period.days()[-1] == last


def test_today_is_the_store_day_not_the_utc_day() -> None:
    period = parse_period("today", KATHMANDU, now=NOW)
    assert period.first_day == date(2024, 3, 6)
    assert (period.start, period.end) == (utc(2024, 3, 5, 18, 15), utc(2024, 3, 6, 18, 15))


def test_week_is_iso_monday_to_sunday_on_a_sunday_and_a_monday() -> None:
    sunday_evening = datetime(2024, 3, 10, 23, 59, tzinfo=NEW_YORK)
    monday_midnight = datetime(2024, 3, 11, 0, 0, tzinfo=NEW_YORK)
    assert parse_period("week", NEW_YORK, now=sunday_evening).first_day == date(2024, 3, 4)
    week = parse_period("week", NEW_YORK, now=monday_midnight)
    assert (week.first_day, week.last_day) == (date(2024, 3, 11), date(2024, 3, 17))
    assert week.start == monday_midnight.astimezone(UTC)


def test_month_in_december_and_february() -> None:
    december = parse_period("month", NEW_YORK, now=utc(2024, 12, 15, 12))
    assert (december.first_day, december.last_day) == (date(2024, 12, 1), date(2024, 12, 31))
    february = parse_period("month", NEW_YORK, now=utc(2023, 2, 10, 12))
    assert (february.first_day, february.last_day, len(february.days())) == (
        date(2023, 2, 1),
        date(2023, 2, 28),
        28,
    )


def test_default_word() -> None:
    assert parse_period("", NEW_YORK, now=NOW, default="week").first_day == date(2024, 3, 4)


@pytest.mark.parametrize(
    "text",
    [
        "tomorrow",
        "2024-02-30",
        "2024-13-01",
        "2024-3-5",
        "2024-03-05..",
        "2024-03-05...2024-03-06",
        "2024-03-06..2024-03-05",  # ends before it starts
        "2000-01-01..2024-01-01",  # too long
    ],
)
def test_invalid_periods_name_the_accepted_forms(text: str) -> None:
    with pytest.raises(InvalidInput) as error:
        parse_period(text, NEW_YORK, now=NOW)
    assert error.value.message
