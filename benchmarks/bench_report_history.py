"""Does a report stay flat as history grows? A week's report on two years of sales vs on one week.

``db.reports.sales_summary`` for the week of 23 November 2026 (Europe/Berlin) on two shops built
by ``benchmarks.shop_data``: one holding only that week (~3,200 sales, ~10,000 lines) and one
holding two years ending with it (~333,000 sales, ~1,000,000 lines, 500 products). Each day's
trade is generated from that day, so the week's sales are the same in both shops and so must be
the reports, but for refunds of sales made before the week (checked: the script exits 1 if
they differ). The month of November is also run on
the two-year shop.

Every sample is the first execution on a fresh engine (a new connection: on PostgreSQL no plan
cached by earlier runs, on SQLite a cold page cache), as the bot's first report after a restart
or on a new pooled connection is. Peak Python memory is tracemalloc's peak during one call.

Ratios
  week: 2 years / 1 week   what two years of history cost a week's report. Goal ≤ 1.5: the
                           report reads the week's rows through indexes, whatever lies around
                           them. A regression (a query that walks each product's or each sale's
                           whole history) shows as this ratio growing with the history (~100).
  month / week (2 years)   a month has ~4× the rows of a week; goal ≤ 2 (fixed costs dominate).
  memory 2 years / 1 week  ~1: Python receives grouped rows only.
  money week, money month  the same for ``db.money_report.money_summary``, the money figures /report
                           shows under the sales summary (gross, discounts, tax, payments, products
                           by net revenue); timed on a fresh engine of its own, not in the goals.

    python -m benchmarks.bench_report_history [--reps 5] [--backend sqlite|postgres]

The shops are built on first use (a minute or two each backend) and kept: see shop_data.
"""

from __future__ import annotations

import asyncio
import gc
import sys
import tracemalloc
from dataclasses import replace

from benchmarks._common import backends, machine, median, mib, ms, now, parser, print_table, ratio
from benchmarks.shop_data import MONTH, TZ, WEEK, shop
from db import money_report, reports
from db.engine import make_read_session_factory
from db.periods import Period


async def first_run(backend: str, which: str, period: Period) -> tuple[float, reports.SalesSummary]:
    """One sales_summary on a brand-new engine: its time and its result."""
    async with shop(backend, which) as db:
        factory = make_read_session_factory(db.engine)
        start = now()
        async with factory() as session, session.begin():
            summary = await reports.sales_summary(session, period=period, tz=TZ)
        return now() - start, summary


async def first_money_run(backend: str, which: str, period: Period) -> float:
    """One money_summary (what /report shows after the sales summary) on a brand-new engine."""
    async with shop(backend, which) as db:
        factory = make_read_session_factory(db.engine)
        start = now()
        async with factory() as session, session.begin():
            await money_report.money_summary(session, period=period, tz=TZ)
        return now() - start


async def peak_memory(backend: str, which: str, period: Period) -> float:
    async with shop(backend, which) as db:
        factory = make_read_session_factory(db.engine)
        async with factory() as session, session.begin():  # connect outside the measurement
            await reports.sales_summary(session, period=period, tz=TZ)
        gc.collect()
        tracemalloc.start()
        try:
            before, _ = tracemalloc.get_traced_memory()
            async with factory() as session, session.begin():
                await reports.sales_summary(session, period=period, tz=TZ)
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        return peak - before


async def bench(backend: str, reps: int) -> dict[str, float]:
    cases = {"week 1w": ("one-week", WEEK), "week 2y": ("two-years", WEEK), "month 2y": ("two-years", MONTH)}
    for which, _ in cases.values():  # build (or find) the shops before timing anything
        async with shop(backend, which):
            pass
    samples: dict[str, list[float]] = {key: [] for key in cases}
    money: dict[str, list[float]] = {key: [] for key in cases}
    results: dict[str, reports.SalesSummary] = {}
    for _ in range(reps):  # alternate, so a burst of load on the machine hits every case alike
        for key, (which, period) in cases.items():
            elapsed, results[key] = await first_run(backend, which, period)
            samples[key].append(elapsed)
            money[key].append(await first_money_run(backend, which, period))
    small, large = results["week 1w"], results["week 2y"]
    # Refunds in the week of sales made before it exist only in the two-year shop.
    if replace(small, period=large.period, refunded_count=0, refunded_minor=0) != replace(
        large, refunded_count=0, refunded_minor=0
    ):
        raise SystemExit(f"{backend}: the week's report differs between the shops:\n{small}\n{large}")
    out = {key: median(values) for key, values in samples.items()}
    out |= {f"money {key}": median(values) for key, values in money.items()}
    out["mem 1w"] = await peak_memory(backend, "one-week", WEEK)
    out["mem 2y"] = await peak_memory(backend, "two-years", WEEK)
    out["sales"] = large.sales_count
    out["month sales"] = results["month 2y"].sales_count
    return out


async def main() -> int:
    opts = parser(__doc__, reps=5).parse_args()
    print(machine())
    print(f"sales_summary, first execution on a fresh engine, medians of {opts.reps}")
    for backend in backends(opts.backend):
        r = await bench(backend, opts.reps)
        print_table(
            f"{backend}: {WEEK.label} ({r['sales']:,} sales) and {MONTH.label} ({r['month sales']:,} sales)",
            ["measure", "1-week shop", "2-year shop", "ratio"],
            [
                ["week report", ms(r["week 1w"]), ms(r["week 2y"]), f"{ratio(r['week 2y'], r['week 1w']):.2f}"],
                ["month report", "", ms(r["month 2y"]), f"{ratio(r['month 2y'], r['week 2y']):.2f} (month/week)"],
                ["week peak memory", mib(r["mem 1w"]), mib(r["mem 2y"]), f"{ratio(r['mem 2y'], r['mem 1w']):.2f}"],
                [
                    "money week",
                    ms(r["money week 1w"]),
                    ms(r["money week 2y"]),
                    f"{ratio(r['money week 2y'], r['money week 1w']):.2f}",
                ],
                [
                    "money month",
                    "",
                    ms(r["money month 2y"]),
                    f"{ratio(r['money month 2y'], r['money week 2y']):.2f} (month/week)",
                ],
            ],
        )
        print(
            f"  goals: week 2y/1w {ratio(r['week 2y'], r['week 1w']):.2f} (≤ 1.5), "
            f"month/week {ratio(r['month 2y'], r['week 2y']):.2f} (≤ 2); the week's figures agree"
        )
    print(f"\n{machine()}")
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
