"""Pushes go out once per run: two processes at once, a restart after an outage, dead chats.

Two FakeShops on one database stand for two bot processes (a standby, or an old one still up
during an upgrade); `jobs.run_due(application, now)` is what each process's tick runs.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re

import pytest
from sqlalchemy import select

from bot import jobs
from bot.testing.chat import FakeShop
from db import subscriptions
from db.engine import transaction
from db.models import JobRun, JobRunStatus
from tests.chat.conftest import MANAGER_ID
from tests.chat.office_helpers import build_week, product, sale_at, utc
from tests.chat.test_jobs import GROUP_ID, subscribe, texts

DAILY = "Daily summary"


def summaries(fake, chat_id: int, title: str = DAILY) -> list[str]:
    return [t for t in texts(fake, chat_id) if title in t]


async def runs(session_factory) -> list[tuple[str, str]]:
    async with session_factory() as session:
        rows = (await session.scalars(select(JobRun).order_by(JobRun.scheduled_for, JobRun.job))).all()
    return [(r.job, r.status.value) for r in rows]


async def test_two_processes_running_the_jobs_at_once_send_each_push_once(shop, settings, session_factory):
    await build_week(session_factory)
    await product(session_factory, name="Milk", sku="MILK", stock=1)  # low: the digest has news
    await subscribe(session_factory, MANAGER_ID, GROUP_ID)
    monday_morning = utc(2026, 11, 23, 7, 0, 5)  # Monday 08:00:05 in Berlin: weekly and digest due
    async with FakeShop(settings, session_factory) as other:
        for _ in range(3):  # both tick, again and again, at the same moment
            await asyncio.gather(
                jobs.run_due(shop.application, monday_morning), jobs.run_due(other.application, monday_morning)
            )
        for chat_id in (MANAGER_ID, GROUP_ID):
            for title in ("Weekly summary", "Running low this morning"):
                sent = summaries(shop.fake, chat_id, title) + summaries(other.fake, chat_id, title)
                assert len(sent) == 1, (title, chat_id, sent)
    assert len([p for p in shop.fake.calls_to("sendPhoto") + other.fake.calls_to("sendPhoto")]) == 2  # 1 chart each
    assert await runs(session_factory) == [
        ("daily-summary", "skipped"),  # Sunday 21:00 was 11 hours ago: too late to be useful
        ("low-stock-digest", "sent"),
        ("weekly-summary", "sent"),
    ]


async def test_a_push_missed_during_an_outage_is_sent_late_and_an_old_one_skipped(shop, fake, session_factory, caplog):
    await subscribe(session_factory, MANAGER_ID)
    milk = await product(session_factory, name="Milk", sku="MILK", price_minor=100, stock=50)
    await jobs.run_due(shop.application, utc(2026, 11, 17, 20, 0, 10))  # Tue 21:00:10: on time
    await sale_at(session_factory, utc(2026, 11, 18, 10, 0), cashier_id=9003, items=[(milk, 2)])
    # The bot is down from Wednesday 20:30 to 23:30 (Berlin 21:30 to 00:30): Wednesday's summary
    # is sent when it comes back, once, however often it ticks.
    await jobs.run_due(shop.application, utc(2026, 11, 18, 23, 30))
    await jobs.run_due(shop.application, utc(2026, 11, 18, 23, 30, 20))
    tuesday, wednesday = summaries(fake, MANAGER_ID)
    assert "Mon 21:00 – Tue 21:00" in tuesday
    assert "Tue 21:00 – Wed 21:00" in wednesday and "Sales: 1 · Revenue: $2.00" in wednesday
    # Down again from Thursday evening to Friday 03:00: Thursday's summary is 6 hours late and
    # skipped (logged); Friday's covers from Wednesday's end, so Thursday's sale is in it.
    await sale_at(session_factory, utc(2026, 11, 19, 12, 0), cashier_id=9003, items=[(milk, 3)])
    with caplog.at_level(logging.WARNING, logger="bot.jobs"):
        await jobs.run_due(shop.application, utc(2026, 11, 20, 2, 0))
    assert any("skipped daily-summary" in r.getMessage() for r in caplog.records)
    assert len(summaries(fake, MANAGER_ID)) == 2
    await jobs.run_due(shop.application, utc(2026, 11, 20, 20, 0, 5))
    friday = summaries(fake, MANAGER_ID)[-1]
    assert "Wed 18 Nov 21:00 – Fri 20 Nov 21:00" in friday and "Sales: 1 · Revenue: $3.00" in friday
    daily = [status for job, status in await runs(session_factory) if job == jobs.DAILY_JOB]
    assert daily == ["sent", "sent", "skipped", "sent"]


async def test_consecutive_daily_summaries_add_up_to_the_whole_history(shop, fake, session_factory):
    week = await build_week(session_factory)
    await subscribe(session_factory, MANAGER_ID)
    # Every evening from the Saturday before the week to the Monday after it, at 21:00:05 Berlin.
    for day in range(14, 24):
        await jobs.run_due(shop.application, utc(2026, 11, day, 20, 0, 5))
    counted = 0
    for text in summaries(fake, MANAGER_ID)[1:]:  # the first one covers the day before the sales
        match = re.search(r"Sales: (\d+)", text)
        counted += int(match.group(1)) if match else 0
    # Every completed sale of the week lands in exactly one summary, the late-evening ones too.
    assert counted == len([week.s1, week.s2, week.s3, week.before, week.after])
    assert "Sun 21:00 – Mon 21:00" in summaries(fake, MANAGER_ID)[-1]


@pytest.fixture
def gone_chats(fake, monkeypatch):
    """Telegram answers 403 for one chat (it blocked the bot) and 400 'chat not found' for another."""
    original = fake.do_request
    blocked, deleted = 4_242_424, -100_555

    async def do_request(url, method, request_data=None, **kwargs):
        chat = str(request_data.parameters.get("chat_id")) if request_data is not None else ""
        if chat == str(blocked):
            body = {"ok": False, "error_code": 403, "description": "Forbidden: bot was blocked by the user"}
            return 403, json.dumps(body).encode()
        if chat == str(deleted):
            body = {"ok": False, "error_code": 400, "description": "Bad Request: chat not found"}
            return 400, json.dumps(body).encode()
        return await original(url, method, request_data, **kwargs)

    monkeypatch.setattr(fake, "do_request", do_request)
    return blocked, deleted


async def test_a_chat_that_blocked_the_bot_or_was_deleted_is_unsubscribed(shop, fake, session_factory, gone_chats):
    await subscribe(session_factory, *gone_chats, MANAGER_ID)
    await jobs.daily_summary(shop.application, utc(2026, 11, 18, 20, 0))
    assert len(summaries(fake, MANAGER_ID)) == 1
    async with transaction(session_factory) as session:
        assert await subscriptions.list_chat_ids(session) == [MANAGER_ID]
    await jobs.daily_summary(shop.application, utc(2026, 11, 19, 20, 0))
    assert len(summaries(fake, MANAGER_ID)) == 2
    assert not [c for c in fake.calls if str(c.params.get("chat_id")) in {str(g) for g in gone_chats}][2:]


async def test_a_claimed_run_is_not_claimed_twice(session_factory):
    from db import job_runs

    moment = utc(2026, 11, 18, 20, 0)
    async with transaction(session_factory) as session:
        assert await job_runs.claim(session, job="daily-summary", scheduled_for=moment, by="a")
    async with transaction(session_factory) as session:
        assert not await job_runs.claim(session, job="daily-summary", scheduled_for=moment, by="b")
    async with session_factory() as session:
        [row] = (await session.scalars(select(JobRun))).all()
    assert row.claimed_by == "a" and row.status is JobRunStatus.CLAIMED
