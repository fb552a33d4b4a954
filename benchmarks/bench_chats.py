"""A cashier's /cart while a manager's /report month renders: does the counter stay responsive?

The production Application (handlers, per-chat update processor) runs over the fake Telegram
(bot.testing.chat.FakeShop) on a temporary SQLite file; staff, 40 products and 100 sales (rung up through
carts.add_item and checkout.checkout, one transaction per tap as the bot does) are seeded with
the db functions, then the sales and their lines are copied with INSERT ... SELECT up to
``--sales`` (ringing up thousands one by one takes minutes; the copies add rows, not realism).
The cashier has 3 lines in the cart. Updates are fed the way PTB feeds them:
``processor.process_update(update, application.process_update(update))``.

Measured (latency of one /cart, from handing the update over until the reply is sent):

  (a) alone            the cashier's /cart with nothing else running (median of ``--carts``);
  (b) during /report   the manager sends ``/report month`` (SQL summary, text, chart rendered in a
                       worker thread, photo) and the cashier keeps sending /cart, one after the
                       other, until the report is done; ``--reps`` reports, all /carts counted;
  (c) serial           the same as (b) with a PerChatUpdateProcessor(max_concurrent_updates=1),
                       i.e. one update at a time for the whole bot: the cashier waits for the
                       manager's report.

Ratios
  b/a                  what a running report costs the cashier. Above 1 is expected: the report
                       shares one CPU-bound event loop, the GIL with the chart thread and, on
                       SQLite, the single write lock (every transaction begins IMMEDIATE, the
                       report's too) for the duration of its SQL. The worst case is bounded by the
                       longest single step of the report (its SQL transaction), not by the report.
  c/a                  what it would cost without per-chat concurrency: about the report's whole
                       duration, every time.
Median, 90th percentile and worst are shown; the worst is one sample and the noisiest (on a busy
machine the OS scheduler alone can add a few hundred ms to any single call).
A regression is b/a approaching c/a, i.e. the cashier waiting for whole reports again (the
processor made serial, or the chart or export rendered on the event loop instead of a thread).

    python -m benchmarks.bench_chats [--sales 3000] [--reps 5] [--carts 20] [--backend sqlite|postgres]

With POS_TEST_POSTGRES_URL set it also runs on PostgreSQL, where there is no database-wide write
lock, for contrast.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import random
import re
import sys
import time
from typing import Any

from sqlalchemy import insert, select, text
from telegram import Update
from telegram.ext import Application, BaseUpdateProcessor

from benchmarks._common import (
    Database,
    backends,
    database,
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
from bot.processor import PerChatUpdateProcessor
from bot.testing.chat import FakeShop
from db import carts, catalog, checkout, staff
from db.engine import transaction
from db.models import PaymentMethod, Role, Sale, SaleLine
from db.settings import Settings

ADMIN_ID, MANAGER_ID, CASHIER_ID = 9001, 9002, 9003
PRODUCTS = 40
REAL_SALES = 100  # rung up through the db functions; the rest are copies of them

_update_ids = itertools.count(1)
SET_SEQUENCE = "SELECT setval(pg_get_serial_sequence('sales', 'id'), (SELECT max(id) FROM sales))"


def settings() -> Settings:
    return Settings(
        _env_file=None,
        telegram_bot_token=None,
        store_name="Bench Shop",
        currency="USD",
        store_timezone="Europe/Berlin",
        admin_ids=[ADMIN_ID],
        low_stock_threshold=3,
    )


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


async def seed(db: Database, sales: int) -> None:
    """Staff, products and ``REAL_SALES`` sales through the db functions, cloned up to ``sales``."""
    rng = random.Random(7)
    async with transaction(db.factory) as session:
        await staff.add_staff(session, telegram_id=MANAGER_ID, role=Role.MANAGER, name="Mia Manager")
        cashier = await staff.add_staff(session, telegram_id=CASHIER_ID, role=Role.CASHIER, name="Cal Cashier")
        ids = [
            (
                await catalog.add_product(
                    session, name=f"Item {i:02d}", price_minor=150 + 25 * i, stock=1_000_000, category=f"Aisle {i % 5}"
                )
            ).id
            for i in range(PRODUCTS)
        ]
    real = min(sales, REAL_SALES)
    for n in range(real):
        chat_id = 50_000 + n % 8
        view = None
        for product_id in rng.sample(ids, rng.randint(1, 5)):
            async with transaction(db.factory) as session:
                view = await carts.add_item(session, chat_id=chat_id, product_id=product_id, qty=rng.randint(1, 3))
        assert view is not None
        method = rng.choice(list(PaymentMethod))
        async with transaction(db.factory) as session:
            await checkout.checkout(
                session,
                chat_id=chat_id,
                expected_version=view.version,
                cashier=cashier,
                payment_method=method,
                tendered_minor=view.total_minor + 500 if method is PaymentMethod.CASH else None,
                currency="USD",
                default_low_stock_threshold=3,
            )
    await clone_sales(db, real, sales)
    async with transaction(db.factory) as session:
        for product_id in ids[:3]:
            await carts.add_item(session, chat_id=CASHIER_ID, product_id=product_id, qty=2)


async def clone_sales(db: Database, real: int, target: int) -> None:
    """Copy the first ``real`` sales (and their lines) until there are ``target``: INSERT ... SELECT."""
    sales, lines = Sale.__table__, SaleLine.__table__
    sale_cols = [c.name for c in sales.columns]
    line_cols = [c.name for c in lines.columns if c.name != "id"]
    have, copy = real, 1
    async with transaction(db.factory) as session:
        while have < target:
            n = min(real, target - have)
            offset = copy * 1_000_000

            def shifted(col, offset=offset):
                if col.name in ("id", "sale_id"):
                    return (col + offset).label(col.name)
                if col.name == "idempotency_key":
                    return (col + f"-copy{offset}").label(col.name)
                return col

            await session.execute(
                insert(sales).from_select(
                    sale_cols, select(*(shifted(sales.c[c]) for c in sale_cols)).where(sales.c.id <= n)
                )
            )
            await session.execute(
                insert(lines).from_select(
                    line_cols, select(*(shifted(lines.c[c]) for c in line_cols)).where(lines.c.sale_id <= n)
                )
            )
            have, copy = have + n, copy + 1
    async with db.engine.begin() as conn:
        if db.backend == "postgres":  # explicit ids: move the sequence past them
            await conn.execute(text(SET_SEQUENCE))
        await conn.execute(text("ANALYZE"))


async def during_reports(
    processor: BaseUpdateProcessor, application: Application, reps: int
) -> tuple[list[float], list[float]]:
    """/cart after /cart while each of ``reps`` reports runs: (cart latencies, report durations)."""
    carts_, reports = [], []
    for _ in range(reps):
        report = asyncio.create_task(feed(processor, application, MANAGER_ID, "/report month"))
        await asyncio.sleep(0)  # the report has started (its guard is reading the staff row)
        while True:
            carts_.append(await feed(processor, application, CASHIER_ID, "/cart"))
            if report.done():
                break
        reports.append(await report)
    return carts_, reports


async def bench(backend: str, sales: int, reps: int, n_carts: int) -> dict[str, Any]:
    async with database(backend) as db:
        done = progress(f"{backend}: seeding {sales:,} sales")
        await seed(db, sales)
        done()
        async with FakeShop(settings(), db.factory) as shop:
            app = shop.application
            per_chat = app.update_processor
            assert isinstance(per_chat, PerChatUpdateProcessor)
            serial = PerChatUpdateProcessor(max_concurrent_updates=1)
            await serial.initialize()

            done = progress(f"{backend}: measuring")
            for _ in range(3):  # warm-up: imports, statement caches, matplotlib's first figure
                await feed(per_chat, app, CASHIER_ID, "/cart")
            await feed(per_chat, app, MANAGER_ID, "/report month")
            alone = [await feed(per_chat, app, CASHIER_ID, "/cart") for _ in range(n_carts)]
            concurrent, reports = await during_reports(per_chat, app, reps)
            serialised, serial_reports = await during_reports(serial, app, reps)
            done()

            errors = app.bot_data.get("recent_errors", [])
            if errors:
                raise SystemExit(f"a handler raised: {errors[-1]!r}")
            photos = [m for m in shop.fake.chat_messages(MANAGER_ID) if m.kind == "photo"]
            cart_text = shop.fake.chat_messages(CASHIER_ID)[-1].text
            assert len(photos) == 1 + 2 * reps, "every report sent its chart"
            assert "Item 00" in cart_text, cart_text
    return {
        "alone": alone,
        "concurrent": concurrent,
        "serial": serialised,
        "report": median(reports + serial_reports),
    }


async def main() -> int:
    logging.disable(logging.INFO)  # the bot logs every refusal and job at INFO
    args = parser(__doc__, reps=5)
    args.add_argument("--sales", type=int, default=3_000, help="sales in the month (default 3000)")
    args.add_argument("--carts", type=int, default=20, help="/cart samples for (a) (default 20)")
    opts = args.parse_args()
    print(machine())
    print(f"Cashier /cart latency vs a manager's /report month over {opts.sales:,} sales, {opts.reps} reports per mode")
    for backend in backends(opts.backend):
        r = await bench(backend, opts.sales, opts.reps, opts.carts)
        a = median(r["alone"])
        rows = []
        for label, key in (
            ("(a) alone", "alone"),
            ("(b) during /report, per-chat", "concurrent"),
            ("(c) during /report, serial", "serial"),
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
                ]
            )
        print_table(
            f"{backend}: cashier /cart latency (a /report month takes {ms(r['report'])}, median)",
            ["mode", "carts", "median", "p90", "worst", "median/a", "p90/a", "worst/a"],
            rows,
        )
    print(f"\n{machine()}")
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
