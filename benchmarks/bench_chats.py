"""A cashier's /cart while a manager's /report month renders: does the counter stay responsive?

The production Application (handlers, per-chat update processor) runs over the fake Telegram
(bot.testing.chat.FakeShop) on the two-year shop of ``benchmarks.shop_data`` (~333,000 sales, ~1,000,000
sale lines, 500 products; built on first use and kept). The cashier has 3 lines in the cart. The
manager's report is ``/report 2026-11-01..2026-11-30``, the shop's last month (~13,000 sales).
Updates are fed the way PTB feeds them: ``processor.process_update(update,
application.process_update(update))``.

Measured (latency of one /cart, from handing the update over until the reply is sent):

  (a) alone            the cashier's /cart with nothing else running (``--carts`` in all, taken in
                       batches before each of b–e, so that the baseline sees the same machine load);
  (b) during /report   the manager sends the report (SQL summary, text, chart rendered off the
                       event loop, photo) and the cashier keeps sending /cart, one after the
                       other, until the report is done; ``--reps`` reports, all /carts counted;
  (c) serial           the same as (b) with a PerChatUpdateProcessor(max_concurrent_updates=1),
                       i.e. one update at a time for the whole bot: the cashier waits for the
                       manager's report.
  (d) chart, thread    the cashier's /cart again and again while the month's chart alone is drawn
                       (no SQL), ``3 × --reps`` charts, in a worker thread (asyncio.to_thread: how
                       the bot drew it before the worker process);
  (e) chart, process   the same, drawn by the Application's worker process (handlers/workers.py),
                       as /report draws it. d and e isolate the chart from the report's SQL.

Ratios (each mode's median, p90 and worst over (a)'s median; then its p90 and worst over (a)'s own
p90 and worst, like for like: (a) has a spread of its own, its p90 is itself ~1.3-1.6 × its median)
  b/a                  what a running report costs the cashier. Goal (issue 17): p90 ≤ 1.5 and
                       worst ≤ 5 × idle; printed against idle's median (the strict reading) and
                       against idle's p90 and worst (like for like).
                       The report shares the process with the cashier: every step of it that
                       holds the event loop (or the GIL) is a step the cashier waits for.
  c/a                  what it would cost without per-chat concurrency: about the report's whole
                       duration, every time.
  d/a, e/a             what the chart alone costs the cashier, drawn in a thread (sharing the GIL)
                       and in the worker process (sharing only the CPUs).
Median, 90th percentile and worst are shown; the worst is one sample and the noisiest (on a busy
machine the OS scheduler alone can add tens of ms to any single call).
A regression is b/a approaching c/a, i.e. the cashier waiting for whole reports again (the
processor made serial, or the chart or export rendered on the event loop).

    python -m benchmarks.bench_chats [--reps 5] [--carts 60] [--backend sqlite|postgres]

With POS_TEST_POSTGRES_URL set it also runs on PostgreSQL.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import re
import sys
import time
from collections.abc import Awaitable, Callable
from datetime import date, timedelta
from typing import Any

from telegram import Update
from telegram.ext import Application, BaseUpdateProcessor

from benchmarks import shop_data
from benchmarks._common import (
    Database,
    backends,
    bench_settings,
    machine,
    median,
    ms,
    now,
    parser,
    percentile,
    print_table,
    progress,
    ratio,
)
from benchmarks.shop_data import ADMIN_ID, CASHIER_ID, CURRENCY, MANAGER_ID, MONTH, TZ
from bot.processor import PerChatUpdateProcessor
from bot.testing.chat import FakeShop
from db import carts
from db.charts import revenue_chart_from
from db.engine import transaction
from db.settings import Settings

REPORT = f"/report {MONTH.first_day}..{MONTH.last_day}"
CART_PRODUCTS = (1, 2, 3)

_update_ids = itertools.count(1)


def settings() -> Settings:
    return bench_settings(currency=CURRENCY, timezone=TZ.key, admin_id=ADMIN_ID)


def command(application: Application, user_id: int, text: str) -> Update:
    """A /command in the user's private chat, built as bot/testing/chat.py builds it."""
    match = re.match(r"/[A-Za-z0-9_]+", text)
    assert match is not None
    payload: dict[str, Any] = {
        "update_id": next(_update_ids),
        "message": {
            "message_id": next(_update_ids),
            "date": int(time.time()),
            "chat": {"id": user_id, "type": "private", "first_name": "Bench"},
            "from": {"id": user_id, "is_bot": False, "first_name": "Bench", "language_code": "en"},
            "text": text,
            "entities": [{"type": "bot_command", "offset": 0, "length": match.end()}],
        },
    }
    return Update.de_json(payload, application.bot)


async def feed(processor: BaseUpdateProcessor, application: Application, user_id: int, text: str) -> float:
    """Hand one update to the processor as PTB does; the time until it has been handled."""
    update = command(application, user_id, text)
    start = now()
    await processor.process_update(update, application.process_update(update))
    return now() - start


async def fill_cart(db: Database) -> None:
    """The cashier's cart: the same 3 lines every run (the shop is kept between runs)."""
    async with transaction(db.factory) as session:
        await carts.clear_cart(session, chat_id=CASHIER_ID)
        for product_id in CART_PRODUCTS:
            await carts.add_item(session, chat_id=CASHIER_ID, product_id=product_id, qty=2)


async def during_reports(
    processor: BaseUpdateProcessor, application: Application, reps: int
) -> tuple[list[float], list[float]]:
    """/cart after /cart while each of ``reps`` reports runs: (cart latencies, report durations)."""
    carts_, reports = [], []
    for _ in range(reps):
        report = asyncio.create_task(feed(processor, application, MANAGER_ID, REPORT))
        await asyncio.sleep(0)  # the report has started (its guard is reading the staff row)
        while True:
            carts_.append(await feed(processor, application, CASHIER_ID, "/cart"))
            if report.done():
                break
        reports.append(await report)
    return carts_, reports


async def during_charts(
    processor: BaseUpdateProcessor, application: Application, draw: Callable[[], Awaitable[bytes]], charts: int
) -> list[float]:
    """/cart after /cart while each of ``charts`` charts is drawn by ``draw``."""
    carts_ = []
    for _ in range(charts):
        chart = asyncio.create_task(draw())
        await asyncio.sleep(0)
        while True:
            carts_.append(await feed(processor, application, CASHIER_ID, "/cart"))
            if chart.done():
                break
        assert (await chart).startswith(b"\x89PNG")
    return carts_


def month_chart() -> tuple[list[date], list[int], dict[str, str]]:
    """The month's chart as /report draws it: 30 days, revenues of the shop's size."""
    days = [MONTH.first_day + timedelta(days=i) for i in range((MONTH.last_day - MONTH.first_day).days + 1)]
    revenues = [1_200_000 + 97_000 * (i % 7) for i in range(len(days))]
    return days, revenues, {"currency": CURRENCY, "title": f"Revenue per day, {MONTH.label}"}


async def bench(backend: str, reps: int, n_carts: int) -> dict[str, Any]:
    async with shop_data.shop(backend) as db:
        await fill_cart(db)
        async with FakeShop(settings(), db.factory) as shop:
            app = shop.application
            per_chat = app.update_processor
            assert isinstance(per_chat, PerChatUpdateProcessor)
            serial = PerChatUpdateProcessor(max_concurrent_updates=1)
            await serial.initialize()

            done = progress(f"{backend}: measuring")
            for _ in range(3):  # warm-up: imports, statement caches, matplotlib's first figure
                await feed(per_chat, app, CASHIER_ID, "/cart")
            await feed(per_chat, app, MANAGER_ID, REPORT)
            alone: list[float] = []

            async def idle() -> None:
                alone.extend([await feed(per_chat, app, CASHIER_ID, "/cart") for _ in range(-(-n_carts // 4))])

            await idle()
            concurrent, reports = await during_reports(per_chat, app, reps)
            await idle()
            serialised, serial_reports = await during_reports(serial, app, reps)
            days, revenues, kwargs = month_chart()
            workers = app.bot_data["services"].workers
            await idle()
            in_thread = await during_charts(
                per_chat,
                app,
                lambda: asyncio.to_thread(revenue_chart_from, days, revenues, **kwargs),
                3 * reps,
            )
            await idle()
            in_process = await during_charts(
                per_chat, app, lambda: workers.run(revenue_chart_from, days, revenues, **kwargs), 3 * reps
            )
            done()

            errors = app.bot_data.get("recent_errors", [])
            if errors:
                raise SystemExit(f"a handler raised: {errors[-1]!r}")
            photos = [m for m in shop.fake.chat_messages(MANAGER_ID) if m.kind == "photo"]
            cart_text = shop.fake.chat_messages(CASHIER_ID)[-1].text
            assert len(photos) == 1 + 2 * reps, "every report sent its chart"
            assert "Product 001" in cart_text, cart_text
    return {
        "alone": alone,
        "concurrent": concurrent,
        "serial": serialised,
        "chart_thread": in_thread,
        "chart_process": in_process,
        "report": median(reports + serial_reports),
    }


async def main() -> int:
    logging.disable(logging.INFO)  # the bot logs every refusal and job at INFO
    args = parser(__doc__, reps=5)
    args.add_argument("--carts", type=int, default=60, help="/cart samples for (a) (default 60)")
    opts = args.parse_args()
    print(machine())
    print(f"Cashier /cart latency vs a manager's {REPORT} on the two-year shop, {opts.reps} reports per mode")
    for backend in backends(opts.backend):
        r = await bench(backend, opts.reps, opts.carts)
        a = median(r["alone"])
        a_p90, a_worst = percentile(r["alone"], 90), max(r["alone"])
        rows = []
        for label, key in (
            ("(a) alone", "alone"),
            ("(b) during /report, per-chat", "concurrent"),
            ("(c) during /report, serial", "serial"),
            ("(d) during a chart, thread", "chart_thread"),
            ("(e) during a chart, process", "chart_process"),
        ):
            samples = r[key]
            p90, worst = percentile(samples, 90), max(samples)
            rows.append(
                [
                    label,
                    len(samples),
                    ms(median(samples)),
                    ms(p90),
                    ms(worst),
                    f"{ratio(median(samples), a):.2f}",
                    f"{ratio(p90, a):.2f}",
                    f"{ratio(worst, a):.2f}",
                    f"{ratio(p90, a_p90):.2f}",
                    f"{ratio(worst, a_worst):.2f}",
                ]
            )
        print_table(
            f"{backend}: cashier /cart latency (a /report month takes {ms(r['report'])}, median)",
            ["mode", "carts", "median", "p90", "worst", "median/a", "p90/a", "worst/a", "p90/a p90", "worst/a worst"],
            rows,
        )
    print(f"\n{machine()}")
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
