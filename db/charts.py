"""The revenue-per-day bar chart as PNG bytes: pure, no database.

Matplotlib's object API on the Agg canvas, never pyplot: pyplot keeps global state and is not
thread safe. The bot draws in a worker process (handlers/workers.py) through revenue_chart_from,
which takes plain data only.
"""

from __future__ import annotations

import io
import math
from collections.abc import Sequence
from datetime import date

from db.money import decimals, to_decimal
from db.reports import DayStat

MAX_X_LABELS = 16
BAR_VALUE_LABELS_UP_TO = 14  # days; above that the numbers on the bars overlap


def revenue_chart_png(by_day: Sequence[DayStat], *, currency: str, title: str) -> bytes:
    """Bars of revenue per day in major units, with a labelled axis for each."""
    # Matplotlib (and numpy and PIL with it) is imported by the first chart, not when the bot
    # starts: it would treble the start-up time of every process that never draws one.
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.ticker import FuncFormatter, MaxNLocator

    n = len(by_day)
    d = decimals(currency)
    revenue = [float(to_decimal(day.revenue_minor, currency)) for day in by_day]

    figure = Figure(figsize=(min(max(6.4, 3 + 0.3 * n), 12), 4.8), dpi=100, layout="constrained")
    FigureCanvasAgg(figure)
    ax = figure.add_subplot()
    bars = ax.bar(range(n), revenue, width=0.8, color="#3b75af")

    ax.set_title(_no_mathtext(title))
    ax.set_ylabel(f"Revenue ({currency})")
    ax.set_ylim(bottom=0, top=None if any(revenue) else 1)
    ax.yaxis.set_major_locator(MaxNLocator(steps=[1, 2, 2.5, 5, 10], integer=d == 0))
    ax.yaxis.set_major_formatter(FuncFormatter(lambda value, _pos: f"{value:,.{d}f}"))
    ax.grid(axis="y", alpha=0.3)
    ax.set_axisbelow(True)
    ax.spines[["top", "right"]].set_visible(False)

    step = max(1, math.ceil(n / MAX_X_LABELS))
    short = n <= 7
    ax.set_xticks(
        range(0, n, step),
        [f"{day.day:%a} {day.day.day}" if short else f"{day.day.day} {day.day:%b}" for day in by_day[::step]],
        rotation=0 if short else 45,
        ha="center" if short else "right",
    )
    # At least three bars' room, so a single day is a bar and not a wall.
    middle, half_width = (n - 1) / 2, max(n, 3) / 2 + 0.1
    ax.set_xlim(middle - half_width, middle + half_width)
    if 0 < n <= BAR_VALUE_LABELS_UP_TO:
        ax.bar_label(bars, labels=[f"{v:,.{d}f}" if v else "" for v in revenue], padding=2, fontsize=8)

    out = io.BytesIO()
    figure.savefig(out, format="png")
    return out.getvalue()


def revenue_chart_from(days: Sequence[date], revenues_minor: Sequence[int], *, currency: str, title: str) -> bytes:
    """revenue_chart_png from plain data (local days and their revenue in minor units): what a
    worker process is sent, so nothing but dates, ints and strings is pickled."""
    return revenue_chart_png(
        [DayStat(day=day, count=0, revenue_minor=revenue) for day, revenue in zip(days, revenues_minor, strict=True)],
        currency=currency,
        title=title,
    )


def chart_args(by_day: Sequence[DayStat]) -> tuple[list[date], list[int]]:
    """The plain data revenue_chart_from takes: the days and their revenues."""
    return [day.day for day in by_day], [day.revenue_minor for day in by_day]


def _no_mathtext(text: str) -> str:
    # Matplotlib reads text between two "$" as math: "$5 day at Joe's $hop" must stay as typed.
    return text.replace("$", r"\$")
