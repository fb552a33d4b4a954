"""/report (figures, chart, CSV and Excel), /sale, /refund and /history.

The store is in Europe/Berlin (UTC+1 in November). The week of 2026-11-16 (Mon) to 2026-11-22
(Sun) has sales placed right at its edges in UTC, so a report that used UTC days would count
different ones. Every figure below is worked out by hand from the sales in `week`.
"""

from __future__ import annotations

import asyncio
import csv
import io
import os
import threading
from datetime import UTC, date, datetime
from decimal import Decimal

import openpyxl
import pytest
from PIL import Image

from db import checkout, exports
from db.models import MovementReason, SaleStatus
from db.periods import PERIOD_FORMS
from handlers import reports as reports_handlers
from handlers.reply import STALE_BUTTON
from tests.chat.conftest import CASHIER_ID
from tests.chat.office_helpers import Week, build_week, fetch, movements, product, sale_at, snapshot, utc
from tests.factories import make_customer, run


@pytest.fixture
async def week(shop, session_factory) -> Week:
    return await build_week(session_factory)


WEEK = "/report 2026-11-16..2026-11-22"


async def test_week_report_figures_across_the_time_zone_boundary(manager, week):
    await manager.send(WEEK)
    summary = next(m for m in manager.messages if "Sales report" in m.text).text
    assert "2026-11-16 – 2026-11-22" in summary
    assert "Sales: 3 · Revenue: $23.00" in summary
    assert "Average basket: $7.67 · Units sold: 8" in summary
    assert "1. Apple juice — 3 sales, 4 units, $10.00" in summary
    assert "2. Bread — 1 sale, 1 unit, $10.00" in summary
    assert "3. Cocoa — 1 sale, 3 units, $3.00" in summary
    assert "Slowest sellers" not in summary  # three products sold: all of them are in the best five
    assert "Products on sale that did not sell: 1" in summary  # Dates; Eggnog is archived
    assert summary.index("Cash: 1 sale, $15.00") < summary.index("Mobile money: 1 sale, $5.50")
    assert summary.index("Mobile money: 1 sale, $5.50") < summary.index("Card: 1 sale, $2.50")
    assert "Cal Cashier: 2 sales, $17.50" in summary and "Cleo Cashier: 1 sale, $5.50" in summary
    assert "Refunds: 1 ($20.00)" in summary


async def test_single_days_on_either_side_of_midnight(manager, week):
    await manager.send("/report 2026-11-15")  # only the sale at 23:59 local
    assert "Sales: 1 · Revenue: $10.00" in manager.messages[-2].text
    await manager.send("/report 2026-11-23")  # only the sale at 00:10 local
    assert "Sales: 1 · Revenue: $1.00" in manager.messages[-2].text
    await manager.send("/report 2026-11-16")
    assert "Sales: 1 · Revenue: $15.00" in manager.messages[-2].text


async def test_report_chart_is_a_png_with_export_buttons(manager, week):
    await manager.send(WEEK)
    photo = manager.photos[-1]
    assert photo is manager.last_reply
    image = Image.open(io.BytesIO(photo.file))
    assert image.format == "PNG" and image.size[0] > 300
    image.verify()
    assert "Revenue per day, 2026-11-16 – 2026-11-22" in photo.text
    assert photo.buttons == [("CSV", "rep:csv:20261116:20261122"), ("Excel", "rep:xlsx:20261116:20261122")]


EXPECTED_ROWS = [
    # sale, local time, cashier, customer, payment, sku, name, qty, unit, total
    ("s1", "2026-11-16T00:30:00+01:00", "Cal Cashier", "", "cash", "APL", "Apple juice", 2, "2.50", "5.00"),
    ("s1", "2026-11-16T00:30:00+01:00", "Cal Cashier", "", "cash", "BRD", "Bread", 1, "10.00", "10.00"),
    ("s2", "2026-11-18T12:00:00+01:00", "Cal Cashier", "Ann Lee", "card", "APL", "Apple juice", 1, "2.50", "2.50"),
    ("s3", "2026-11-22T23:30:00+01:00", "Cleo Cashier", "", "mobile", "APL", "Apple juice", 1, "2.50", "2.50"),
    ("s3", "2026-11-22T23:30:00+01:00", "Cleo Cashier", "", "mobile", "COC", "Cocoa", 3, "1.00", "3.00"),
]


def _expected(week: Week) -> list[tuple]:
    return [(getattr(week, row[0]).id, *row[1:]) for row in EXPECTED_ROWS]


async def test_csv_export_reads_back_equal_to_the_sales(manager, week):
    await manager.send(WEEK)
    answer = await manager.tap("CSV")
    assert "Preparing the CSV file" in answer["text"]
    document = manager.documents[-1]
    assert document.filename == "sales_2026-11-16_2026-11-22.csv"
    rows = list(csv.reader(io.StringIO(document.file.decode("utf-8-sig"))))
    assert rows[0][:2] == ["Sale", "Time (Europe/Berlin)"]
    got = [(int(r[0]), *r[1:7], int(r[7]), r[8], r[9]) for r in rows[1:]]
    assert got == _expected(week)


async def test_excel_export_reads_back_equal_to_the_sales(manager, week):
    await manager.send(WEEK)
    await manager.tap("Excel")
    document = manager.documents[-1]
    assert document.filename == "sales_2026-11-16_2026-11-22.xlsx"
    sheet = openpyxl.load_workbook(io.BytesIO(document.file)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][0] == "Sale" and rows[0][8] == "Unit price (USD)"
    got = [
        (
            r[0],
            r[1].isoformat() + "+01:00",
            r[2],
            r[3] or "",
            r[4],
            r[5],
            r[6],
            r[7],
            f"{Decimal(str(r[8])):.2f}",
            f"{Decimal(str(r[9])):.2f}",
        )
        for r in rows[1:]
    ]
    assert got == _expected(week)


async def test_malformed_period_gets_the_accepted_forms(manager, week):
    for text in ("/report fortnight", "/report 2026-02-30", "/report 2026-11-22..2026-11-16", "/report last week"):
        await manager.send(text)
        assert PERIOD_FORMS in manager.text, text
    assert manager.photos == []


async def test_empty_period_says_so_without_chart_or_buttons(manager, week):
    await manager.send("/report 2025-01-01..2025-01-31")
    assert "No sales in this period." in manager.text
    assert manager.photos == [] and manager.buttons == []


async def test_default_is_this_week(manager, session_factory):
    item = await product(session_factory, name="Tea", sku="TEA", price_minor=300)
    await sale_at(session_factory, datetime.now(UTC), cashier_id=CASHIER_ID, items=[(item, 2)])
    await manager.send("/report")
    summary = manager.messages[-2].text
    assert "this week" in summary and "Sales: 1 · Revenue: $6.00" in summary
    assert len(manager.photos) == 1


async def test_forged_and_stale_export_buttons(manager, cashier, week):
    await manager.send(WEEK)
    for data in ("rep:csv:20261399:20261122", "rep:pdf:20261116:20261122", "rep:csv:20261122:20261116", "rep:csv"):
        answer = await manager.press(data)
        assert answer["show_alert"] and answer["text"] == STALE_BUTTON, data
    assert manager.documents == []
    answer = await manager.press("rep:csv:20250101:20250102")  # a valid period without sales
    assert "No sales to export" in manager.text
    await cashier.send("/report")
    assert "needs the manager role" in cashier.text
    answer = await cashier.press("rep:csv:20261116:20261122")
    assert answer["show_alert"] and "manager role" in answer["text"]
    assert cashier.documents == []


# --- /sale ---------------------------------------------------------------------------------------
async def test_sale_shows_one_sale_in_full(manager, week):
    await manager.send(f"/sale {week.s2.id}")
    text = manager.text
    assert f"Sale #{week.s2.id} — 2026-11-18 12:00" in text
    assert "Apple juice (APL) 1 × $2.50 = $2.50" in text
    assert "Total: $2.50" in text and "Payment: Card" in text
    assert "Cashier: Cal Cashier" in text and "Customer: Ann Lee (+4915112345678)" in text
    assert "Status: completed" in text
    assert manager.buttons == ["Refund…"]
    await manager.send(f"/sale #{week.s1.id}")
    assert "Payment: Cash — tendered $20.00, change $5.00" in manager.text and "Customer: —" in manager.text
    await manager.send(f"/sale {week.refunded.id}")
    assert "Status: ⚠️ refunded 2026-11-19 11:00" in manager.text
    assert manager.last_reply.buttons == []


async def test_sale_usage_and_unknown(manager, cashier, week):
    for text in ("/sale", "/sale abc", "/sale 1 2"):
        await manager.send(text)
        assert "Usage: /sale <number>" in manager.text
    await manager.send("/sale 99999")
    assert "No sale #99999" in manager.text
    await cashier.send(f"/sale {week.s1.id}")
    assert "needs the manager role" in cashier.text


# --- /refund -------------------------------------------------------------------------------------
async def test_refund_asks_first_then_refunds_once(manager, session_factory, week):
    bread_before = (await fetch(session_factory, "BRD")).stock
    await manager.send(f"/refund {week.s1.id}")
    assert "Refund the whole sale ($15.00)?" in manager.text
    assert manager.buttons == ["Refund $15.00", "Keep the sale", "Choose lines…"]
    question = manager.last_reply
    assert (await fetch(session_factory, "BRD")).stock == bread_before  # nothing yet
    answer = await manager.tap("Refund $15.00")
    assert f"Sale #{week.s1.id} refunded" in answer["text"]
    assert "Refunded." in manager.text and "Status: ⚠️ refunded" in manager.text
    assert manager.last_reply.message_id == question.message_id
    async with session_factory() as session:
        sale = await checkout.get_sale(session, sale_id=week.s1.id)
    assert sale.status is SaleStatus.REFUNDED
    bread = await fetch(session_factory, "BRD")
    assert bread.stock == bread_before + 1
    assert (await movements(session_factory, bread.id))[-1].reason is MovementReason.REFUND

    before = await snapshot(session_factory)
    answer = await manager.press(f"ref:do:{week.s1.id}", message=question)  # the same button again
    assert answer["show_alert"] and "already refunded" in answer["text"]
    await manager.send(f"/refund {week.s1.id}")
    assert "already refunded" in manager.text and manager.last_reply.buttons == []
    assert await snapshot(session_factory) == before


async def test_refund_from_sale_card_and_keep(manager, session_factory, week):
    await manager.send(f"/sale {week.s2.id}")
    await manager.tap("Refund…")
    assert "Refund the whole sale ($2.50)?" in manager.text
    before = await snapshot(session_factory)
    await manager.tap("Keep the sale")
    assert "Not refunded." in manager.text and manager.buttons == ["Refund…"]
    assert await snapshot(session_factory) == before


async def test_refund_button_on_a_refunded_sale_says_when_in_store_time(manager, session_factory, week):
    await manager.send(f"/sale {week.s2.id}")  # any message with buttons to press on
    card = manager.last_reply
    before = await snapshot(session_factory)
    answer = await manager.press(f"ref:do:{week.refunded.id}", message=card)  # a Refund button outliving the refund
    # Refunded 2026-11-19 10:00 UTC, which is 11:00 in Berlin.
    assert answer["show_alert"] and "already refunded on 2026-11-19 11:00" in answer["text"]
    assert "UTC" not in answer["text"]
    assert "Status: ⚠️ refunded 2026-11-19 11:00" in manager.text and manager.last_reply.buttons == []
    assert await snapshot(session_factory) == before


async def test_refund_sad_paths(manager, cashier, session_factory, week):
    await manager.send("/refund")
    assert "Usage: /refund <number>" in manager.text
    await manager.send("/refund 99999")
    assert "No sale #99999" in manager.text
    answer = await manager.press("ref:do:99999")
    assert answer["show_alert"] and "No sale #99999" in answer["text"]
    answer = await manager.press("ref:do:99999999999")  # beyond any id: a forged button, not a crash
    assert answer["show_alert"] and answer["text"] == STALE_BUTTON
    answer = await manager.press("ref:zap:1")
    assert answer["show_alert"]
    before = await snapshot(session_factory)
    await cashier.send(f"/refund {week.s1.id}")  # a cashier gets the line screen, which asks a manager
    assert "Return from sale #" in cashier.text and "Refund $" not in " ".join(cashier.buttons[:1])
    answer = await cashier.press(f"ref:do:{week.s1.id}")
    assert answer["show_alert"] and "manager role" in answer["text"]
    assert await snapshot(session_factory) == before


# --- /history ------------------------------------------------------------------------------------
async def test_history_of_one_customer(manager, session_factory, week):
    await manager.send("/history Lee")
    text = manager.text
    assert "Ann Lee (+4915112345678)" in text
    assert "Purchases: 1 · Total spent: $2.50" in text
    assert f"#{week.s2.id} 2026-11-18 12:00 — $2.50, Card, 1 item" in text


async def test_history_with_several_matches_offers_buttons(manager, session_factory, week):
    other = await run(session_factory, make_customer, name="Ann Smith")
    apple = await fetch(session_factory, "APL")
    await sale_at(
        session_factory, utc(2026, 11, 20, 8, 0), cashier_id=CASHIER_ID, items=[(apple, 4)], customer_id=other.id
    )
    await manager.send("/history ann")
    assert "Several customers match" in manager.text
    assert manager.buttons == ["Ann Lee (+4915112345678)", "Ann Smith"]
    await manager.tap("Ann Smith")
    assert "Ann Smith" in manager.text and "Purchases: 1 · Total spent: $10.00" in manager.text
    assert "4 items" in manager.text


async def test_history_sad_paths(manager, cashier, week):
    await manager.send("/history")
    assert "Usage: /history <customer name or phone>" in manager.text
    await manager.send("/history Nobody")
    assert "No customer matches “Nobody”" in manager.text
    answer = await manager.press("hist:c:99999")
    assert answer["show_alert"] and "No customer" in answer["text"]
    await cashier.send("/history Lee")
    assert "needs the manager role" in cashier.text


async def test_best_five_and_worst_by_number_of_sales(manager, session_factory):
    # Product k is in k sales of one unit each (k = 1..7), on 2026-11-10 at noon local.
    items = [await product(session_factory, name=f"P{k}", sku=f"P{k}", price_minor=100 * k) for k in range(1, 8)]
    for k, item in enumerate(items, start=1):
        for _ in range(k):
            await sale_at(session_factory, utc(2026, 11, 10, 11, 0), cashier_id=CASHIER_ID, items=[(item, 1)])
    await manager.send("/report 2026-11-10")
    summary = manager.messages[-2].text
    best = summary[summary.index("Best sellers") : summary.index("Slowest sellers")]
    worst = summary[summary.index("Slowest sellers") : summary.index("did not sell")]
    assert [line.split(" — ")[0] for line in best.splitlines()[1:6]] == ["1. P7", "2. P6", "3. P5", "4. P4", "5. P3"]
    assert "1. P7 — 7 sales, 7 units, $49.00" in best
    assert "1. P1 — 1 sale, 1 unit, $1.00" in worst and "2. P2 — 2 sales, 2 units, $4.00" in worst
    assert "P3" not in worst
    assert "Sales: 28 · Revenue: $140.00" in summary  # sum of k*k*1.00 for k = 1..7


class HeldWorkers:
    """Stands in for the worker process (handlers/workers.py): runs each job in a thread, held
    until the test releases it, and records what it was asked to run."""

    def __init__(self) -> None:
        self.loop = asyncio.get_running_loop()
        self.started, self.release = asyncio.Event(), threading.Event()
        self.jobs: list = []

    async def run(self, fn, /, *args, **kwargs):
        self.jobs.append(fn)
        return await asyncio.to_thread(self._held, fn, *args, **kwargs)

    def _held(self, fn, *args, **kwargs):
        self.loop.call_soon_threadsafe(self.started.set)
        self.release.wait(30)  # a safety net, not a timing: the test releases it
        return fn(*args, **kwargs)

    async def shutdown(self) -> None:
        self.release.set()


async def test_a_chart_being_drawn_does_not_hold_up_another_chat(shop, manager, cashier, week):
    """The chart is drawn off the event loop (by the Application's workers): while it is held,
    the cashier still gets answers. Drawn on the event loop, the held drawing would never start."""
    held = shop.application.bot_data["services"].workers = HeldWorkers()
    started, release = held.started, held.release
    report = asyncio.create_task(manager.send(WEEK))
    await asyncio.wait_for(started.wait(), 30)
    await cashier.send("/help")
    assert "Your commands (cashier)" in cashier.text
    assert manager.photos == [] and not release.is_set()  # the chart is still being drawn
    release.set()
    await report
    assert len(manager.photos) == 1
    assert held.jobs == [reports_handlers.revenue_chart_from]


async def test_the_chart_is_drawn_in_a_worker_process_from_plain_data(shop, manager, week):
    """The real workers: a process of its own (spawned, not forked) that is sent dates, ints and
    strings, and keeps running for the next chart; the Application stops it."""
    workers = shop.application.bot_data["services"].workers
    sent = []
    run = workers.run

    async def recorded(fn, /, *args, **kwargs):
        sent.append((fn, args, kwargs))
        return await run(fn, *args, **kwargs)

    workers.run = recorded
    await manager.send(WEEK)
    await manager.send(WEEK)
    assert len(manager.photos) == 2
    with Image.open(io.BytesIO(manager.photos[-1].file)) as image:
        assert image.format == "PNG"
    assert [fn for fn, _, _ in sent] == [reports_handlers.revenue_chart_from] * 2
    (days, revenues), kwargs = sent[0][1], sent[0][2]
    assert all(type(d) is date for d in days) and all(type(r) is int for r in revenues) and len(days) == 7
    assert kwargs == {"currency": "USD", "title": kwargs["title"]} and isinstance(kwargs["title"], str)
    pool = workers._pool
    assert pool is not None and pool._mp_context.get_start_method() == "spawn"
    pids = {p.pid for p in pool._processes.values()}
    assert len(pids) == 1 and os.getpid() not in pids  # one worker, reused by the second chart


async def test_exports_are_made_by_the_workers_from_plain_data(shop, manager, week):
    """CSV and Excel files are made off the event loop, by the Application's workers (the real
    ones: the files read back right in the tests above), and are sent plain tuples."""
    await manager.send(WEEK)
    held = shop.application.bot_data["services"].workers = HeldWorkers()
    held.release.set()
    sent = []
    run = held.run

    async def recorded(fn, /, *args, **kwargs):
        sent.append((fn, args, kwargs))
        return await run(fn, *args, **kwargs)

    held.run = recorded
    await manager.tap("CSV")
    await manager.tap("Excel")
    assert [(fn, args[0]) for fn, args, _ in sent] == [(exports.export_file, "csv"), (exports.export_file, "xlsx")]
    for _, (_, rows), kwargs in sent:
        assert rows and all(type(row) is tuple for row in rows)
        assert kwargs == {"tz": "Europe/Berlin", "currency": "USD"}
    assert len(manager.documents) == 2


async def test_a_file_being_made_does_not_hold_up_another_chat(shop, manager, cashier, week):
    await manager.send(WEEK)
    held = shop.application.bot_data["services"].workers = HeldWorkers()
    export = asyncio.create_task(manager.tap("Excel"))
    await asyncio.wait_for(held.started.wait(), 30)
    await cashier.send("/help")
    assert "Your commands (cashier)" in cashier.text
    assert manager.documents == [] and not held.release.is_set()  # the file is still being made
    held.release.set()
    await export
    assert len(manager.documents) == 1
