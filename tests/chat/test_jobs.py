"""Scheduled pushes with a controlled clock, their schedule in the store's time zone, and the
low-stock alert: once per crossing."""

from __future__ import annotations

import io
import json
from datetime import datetime, time
from zoneinfo import ZoneInfo

import pytest
from PIL import Image
from sqlalchemy import select

from bot import jobs
from bot.testing.chat import FakeShop
from db import subscriptions
from db.engine import transaction
from db.models import JobRun
from tests.chat.conftest import ADMIN_ID, CASHIER_ID, MANAGER_ID
from tests.chat.office_helpers import build_week, fetch, product, staff_member, utc
from tests.factories import fill_cart, run, sell

GROUP_ID = -100_888
BLOCKED_ID = 4_242_424
BERLIN = ZoneInfo("Europe/Berlin")


async def subscribe(session_factory, *chat_ids: int) -> None:
    async with transaction(session_factory) as session:
        for chat_id in chat_ids:
            await subscriptions.subscribe(session, chat_id=chat_id)


def texts(fake, chat_id: int) -> list[str]:
    return [m.text for m in fake.chat_messages(chat_id)]


# --- the schedule ------------------------------------------------------------------------------
def _latest(shop, job: str, now: datetime) -> datetime:
    [push] = [p for p in jobs.pushes(shop.application) if p.job == job]
    return push.latest(now, BERLIN)


async def test_runs_fall_due_in_the_store_time_zone(shop):
    tuesday = utc(2026, 11, 24, 5, 0)  # 06:00 in Berlin (UTC+1)
    assert _latest(shop, jobs.DAILY_JOB, tuesday) == utc(2026, 11, 23, 20, 0)  # Monday 21:00 Berlin
    assert _latest(shop, jobs.DIGEST_JOB, tuesday) == utc(2026, 11, 23, 7, 0)  # Monday 08:00
    assert _latest(shop, jobs.DIGEST_JOB, utc(2026, 11, 24, 7, 0)) == utc(2026, 11, 24, 7, 0)
    weekly = _latest(shop, jobs.WEEKLY_JOB, tuesday)
    assert weekly == utc(2026, 11, 23, 7, 0) and weekly.astimezone(BERLIN).weekday() == 0
    # Over the spring change (29 March 2026) the wall-clock time stays, the UTC time moves.
    assert _latest(shop, jobs.DAILY_JOB, utc(2026, 3, 29, 23, 0)) == utc(2026, 3, 29, 19, 0)
    assert _latest(shop, jobs.DAILY_JOB, utc(2026, 3, 29, 12, 0)) == utc(2026, 3, 28, 20, 0)


async def test_scheduling_again_at_start_does_not_double_the_tick(shop):
    jobs.schedule(shop.application)
    jobs.schedule(shop.application)
    assert [job.name for job in shop.application.job_queue.jobs()] == [jobs.TICK_JOB]


# --- the job bodies with a controlled clock -----------------------------------------------------
async def test_daily_summary_reaches_subscribed_chats_only(shop, fake, session_factory):
    await build_week(session_factory)
    await subscribe(session_factory, MANAGER_ID, GROUP_ID)
    await jobs.daily_summary(shop.application, utc(2026, 11, 18, 20, 0))  # Wed 21:00 in Berlin
    for chat_id in (MANAGER_ID, GROUP_ID):
        [text] = texts(fake, chat_id)
        assert "Daily summary — Tue 21:00 – Wed 21:00" in text
        assert "Sales: 1 · Revenue: $2.50" in text
    assert texts(fake, ADMIN_ID) == []


async def test_a_midnight_daily_summary_covers_the_calendar_day(shop, settings, session_factory):
    await build_week(session_factory)
    await subscribe(session_factory, MANAGER_ID)
    async with FakeShop(settings.model_copy(update={"daily_report_time": time(0)}), session_factory) as midnight:
        # Monday 00:00 in Berlin: all of Sunday the 22nd, with its sale at 23:30 local and not
        # the one ten minutes after midnight.
        await jobs.run_due(midnight.application, utc(2026, 11, 22, 23, 0, 30))
        [text] = texts(midnight.fake, MANAGER_ID)
    assert "Daily summary — Sun 2026-11-22" in text
    assert "Sales: 1 · Revenue: $5.50" in text


async def test_daily_summary_on_a_day_without_sales(shop, fake, session_factory):
    await subscribe(session_factory, MANAGER_ID)
    await jobs.daily_summary(shop.application, utc(2026, 11, 18, 20, 0))
    assert "No sales in this period." in fake.chat_messages(MANAGER_ID)[-1].text


async def test_weekly_summary_covers_last_week_with_a_chart(shop, fake, session_factory):
    await build_week(session_factory)
    await subscribe(session_factory, MANAGER_ID, GROUP_ID)
    await jobs.weekly_summary(shop.application, utc(2026, 11, 23, 7, 0))  # Monday 08:00 in Berlin
    for chat_id in (MANAGER_ID, GROUP_ID):
        summary, chart = fake.chat_messages(chat_id)
        assert "Weekly summary — last week (2026-11-16 – 2026-11-22)" in summary.text
        assert "Sales: 3 · Revenue: $23.00" in summary.text
        assert chart.kind == "photo" and Image.open(io.BytesIO(chart.file)).format == "PNG"
    assert texts(fake, ADMIN_ID) == []


async def test_low_stock_digest(shop, fake, session_factory):
    await subscribe(session_factory, MANAGER_ID)
    await product(session_factory, name="Salt", sku="SALT", stock=50)
    await jobs.low_stock_digest(shop.application, utc(2026, 11, 24, 7, 0))
    assert texts(fake, MANAGER_ID) == []  # nothing low: no message
    await product(session_factory, name="Milk", sku="MILK", stock=1)
    await product(session_factory, name="Eggs", sku="EGGS", stock=9, low_stock_threshold=10)
    await jobs.low_stock_digest(shop.application, utc(2026, 11, 24, 7, 0))
    [text] = texts(fake, MANAGER_ID)
    assert "Running low this morning (Tue 24 Nov): 2 products" in text
    assert "Milk (MILK): 1 left, threshold 3" in text and "Eggs (EGGS): 9 left, threshold 10" in text
    assert "Salt" not in text


async def test_nobody_subscribed_means_nothing_is_sent(shop, fake, session_factory):
    await build_week(session_factory)
    sent = len(fake.calls_to("sendMessage"))
    await jobs.daily_summary(shop.application, utc(2026, 11, 18, 20, 0))
    await jobs.weekly_summary(shop.application, utc(2026, 11, 23, 7, 0))
    await jobs.low_stock_digest(shop.application, utc(2026, 11, 24, 7, 0))
    assert len(fake.calls_to("sendMessage")) == sent and fake.calls_to("sendPhoto") == []


@pytest.fixture
def blocked_chat(fake, monkeypatch):
    """Telegram answers 403 for one chat, as when a user blocked the bot."""
    original = fake.do_request

    async def do_request(url, method, request_data=None, **kwargs):
        if request_data is not None and str(request_data.parameters.get("chat_id")) == str(BLOCKED_ID):
            body = {"ok": False, "error_code": 403, "description": "Forbidden: bot was blocked by the user"}
            return 403, json.dumps(body).encode()
        return await original(url, method, request_data, **kwargs)

    monkeypatch.setattr(fake, "do_request", do_request)
    return BLOCKED_ID


async def test_a_chat_that_blocked_the_bot_does_not_stop_the_others(shop, fake, session_factory, blocked_chat):
    await build_week(session_factory)
    await subscribe(session_factory, blocked_chat, MANAGER_ID)
    await jobs.weekly_summary(shop.application, utc(2026, 11, 23, 7, 0))
    assert len(fake.chat_messages(MANAGER_ID)) == 2
    assert fake.chat_messages(blocked_chat) == []


async def test_the_tick_runs_what_is_due(shop, fake, session_factory):
    await subscribe(session_factory, MANAGER_ID)
    [tick] = shop.application.job_queue.get_jobs_by_name(jobs.TICK_JOB)
    errors_before = len(shop.application.bot_data.get("recent_errors", []))
    await tick.run(shop.application)
    assert len(shop.application.bot_data.get("recent_errors", [])) == errors_before
    async with session_factory() as session:
        runs = (await session.scalars(select(JobRun.job))).all()
    assert sorted(runs) == sorted([jobs.DAILY_JOB, jobs.WEEKLY_JOB, jobs.DIGEST_JOB])


# --- low-stock alerts: once per crossing --------------------------------------------------------
async def _sell(shop, session_factory, item, qty: int) -> None:
    """A checkout as the cashier's handler does it: the sale, then the alert for what it crossed."""
    cashier = await staff_member(session_factory, CASHIER_ID)
    result = await sell(session_factory, cashier=cashier, items=[(item, qty)])
    await jobs.notify_low_stock(shop.application, result.low_stock_crossed)


def alerts(fake, chat_id: int) -> list[str]:
    return [t for t in texts(fake, chat_id) if "Running low" in t and "after a sale" in t]


async def test_low_stock_alert_fires_once_per_crossing(shop, manager, fake, session_factory):
    await subscribe(session_factory, MANAGER_ID, GROUP_ID)
    milk = await product(session_factory, name="Milk", sku="MILK", stock=6)  # store threshold 3

    await _sell(shop, session_factory, milk, 2)  # 4 left: above
    assert alerts(fake, MANAGER_ID) == []
    await _sell(shop, session_factory, milk, 1)  # 3 left: crosses
    [alert] = alerts(fake, MANAGER_ID)
    assert "Milk (MILK): 3 left, threshold 3" in alert
    assert len(alerts(fake, GROUP_ID)) == 1
    await _sell(shop, session_factory, milk, 1)  # 2 left: still below, no new alert
    await _sell(shop, session_factory, milk, 1)
    assert len(alerts(fake, MANAGER_ID)) == 1

    await manager.send("/restock MILK 10")  # 11: above again, the alert is re-armed
    assert (await fetch(session_factory, "MILK")).low_stock_alerted is False
    await _sell(shop, session_factory, milk, 7)  # 4 left
    assert len(alerts(fake, MANAGER_ID)) == 1
    await _sell(shop, session_factory, milk, 2)  # 2 left: the second crossing
    assert len(alerts(fake, MANAGER_ID)) == 2
    assert "Milk (MILK): 2 left" in alerts(fake, MANAGER_ID)[-1]
    assert texts(fake, ADMIN_ID) == []


async def test_one_alert_lists_every_product_a_sale_crossed(shop, fake, session_factory):
    await subscribe(session_factory, MANAGER_ID)
    tea = await product(session_factory, name="Tea", sku="TEA", stock=4)
    jam = await product(session_factory, name="Jam", sku="JAM", stock=12, low_stock_threshold=10)
    cashier = await staff_member(session_factory, CASHIER_ID)
    result = await sell(session_factory, cashier=cashier, items=[(tea, 2), (jam, 2)])
    await jobs.notify_low_stock(shop.application, result.low_stock_crossed)
    [alert] = alerts(fake, MANAGER_ID)
    assert "Tea (TEA): 2 left, threshold 3" in alert and "Jam (JAM): 10 left, threshold 10" in alert


async def test_alert_with_nothing_crossed_sends_nothing(shop, fake, session_factory):
    await subscribe(session_factory, MANAGER_ID)
    await jobs.notify_low_stock(shop.application, [])
    assert texts(fake, MANAGER_ID) == []


async def test_sales_at_the_counter_alert_once_per_crossing(shop, cashier, manager, fake, session_factory):
    """End to end: the cashier's checkout sends the alert; the manager's /restock re-arms it."""
    await subscribe(session_factory, GROUP_ID)
    jam = await product(session_factory, name="Jam", sku="JAM", stock=5)  # store threshold 3

    async def sell_at_counter(qty: int) -> None:
        await run(session_factory, fill_cart, chat_id=CASHIER_ID, items=[(jam, qty)])
        await cashier.send("/checkout")
        await cashier.tap("Card")
        await cashier.tap("✅ Confirm sale")
        assert "Sale #" in cashier.text

    await sell_at_counter(2)  # 3 left: crosses
    await sell_at_counter(1)  # 2 left: still below
    assert len(alerts(fake, GROUP_ID)) == 1
    await manager.send("/restock JAM 8")  # 10
    await sell_at_counter(6)  # 4 left
    assert len(alerts(fake, GROUP_ID)) == 1
    await sell_at_counter(2)  # 2 left: crosses again
    assert len(alerts(fake, GROUP_ID)) == 2
    assert "Jam (JAM): 2 left, threshold 3" in alerts(fake, GROUP_ID)[-1]
