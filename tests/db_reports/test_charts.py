"""The revenue chart is a real PNG of a sensible size, from one day to a month."""

from __future__ import annotations

import asyncio
import io
from datetime import date, timedelta

import pytest
from PIL import Image

from db.charts import revenue_chart_png
from db.reports import DayStat

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def days(n: int, revenue=lambda i: 1234 * (i + 1)) -> list[DayStat]:
    start = date(2024, 3, 1)
    return [DayStat(start + timedelta(days=i), i + 1, revenue(i)) for i in range(n)]


@pytest.mark.parametrize("n", [1, 7, 31])
def test_chart_is_a_png(n: int) -> None:
    png = revenue_chart_png(days(n), currency="EUR", title=f"Revenue, {n} days")
    assert png.startswith(PNG_SIGNATURE)
    image = Image.open(io.BytesIO(png))
    image.verify()
    width, height = image.size
    assert image.format == "PNG"
    assert 600 <= width <= 1300 and 400 <= height <= 600


def test_a_month_is_wider_than_a_day() -> None:
    one = Image.open(io.BytesIO(revenue_chart_png(days(1), currency="EUR", title="t")))
    month = Image.open(io.BytesIO(revenue_chart_png(days(31), currency="EUR", title="t")))
    assert month.size[0] > one.size[0]


@pytest.mark.parametrize(
    ("by_day", "currency", "title"),
    [
        (days(7, lambda i: 0), "EUR", "Nothing sold"),
        (days(3), "JPY", "Yen"),
        (days(2, lambda i: 10**12), "EUR", "Huge"),
        (days(5), "USD", "Joe's $5 $hop — week"),  # dollars are not mathtext
        ([], "EUR", "Empty"),
    ],
)
def test_chart_edge_cases(by_day, currency: str, title: str) -> None:
    png = revenue_chart_png(by_day, currency=currency, title=title)
    assert png.startswith(PNG_SIGNATURE)
    Image.open(io.BytesIO(png)).verify()


async def test_charts_drawn_in_threads_at_once() -> None:
    pngs = await asyncio.gather(
        *(asyncio.to_thread(revenue_chart_png, days(n), currency="EUR", title=str(n)) for n in (1, 7, 14, 31))
    )
    assert all(p.startswith(PNG_SIGNATURE) for p in pngs)
