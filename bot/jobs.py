"""Scheduled pushes to subscribed chats: the daily and weekly summaries and the low-stock digest.

The job bodies are plain `async def body(application, now)` functions so tests (and the CLI) can
run them with a clock of their choosing; `schedule` wires them to the JobQueue at start, in the
store's time zone. The chats are read from the database when a job runs, so a chat subscribed
after start gets the next push without a restart.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

from telegram.ext import Application

from db import reports
from db import stock as stock_db
from db.charts import revenue_chart_png
from db.periods import parse_period
from handlers.context import PosContext, Services
from handlers.render import counted, esc, lines, local_time, low_stock_list, sales_summary_text
from handlers.subscriptions import MORNING_PUSH_TIME, broadcast, notify_low_stock, subscribed_chats

log = logging.getLogger(__name__)

DAILY_JOB = "daily-summary"
WEEKLY_JOB = "weekly-summary"
DIGEST_JOB = "low-stock-digest"
MONDAY = 1  # python-telegram-bot counts days of the week from Sunday = 0

JobBody = Callable[[Application, datetime], Awaitable[None]]

__all__ = ["daily_summary", "low_stock_digest", "notify_low_stock", "schedule", "weekly_summary"]


def _services(application: Application) -> Services:
    return application.bot_data["services"]


async def _summary(application: Application, now: datetime, *, period: str, title: str, chart: bool) -> None:
    """A report of `period` as seen at `now` to every subscribed chat, with its chart if asked."""
    chat_ids = await subscribed_chats(application)
    if not chat_ids:
        return
    settings = _services(application).settings
    span = parse_period(period, settings.tz, now=now)
    async with _services(application).read_factory() as session:
        summary = await reports.sales_summary(session, period=span, tz=settings.tz)
    text = sales_summary_text(summary, currency=settings.currency, title=title)
    png = caption = None
    if chart and summary.sales_count:
        caption = f"Revenue per day, {span.label}"
        # Matplotlib takes a noticeable moment: never on the event loop that serves the chats.
        png = await asyncio.to_thread(revenue_chart_png, summary.by_day, currency=settings.currency, title=caption)
    await broadcast(application, text, photo=png, caption=esc(caption) if caption else None, chat_ids=chat_ids)


async def daily_summary(application: Application, now: datetime) -> None:
    """Today's figures (today in the store's time zone at `now`)."""
    await _summary(application, now, period="today", title="Daily summary", chart=False)


async def weekly_summary(application: Application, now: datetime) -> None:
    """Last week's figures and its revenue chart (last week as seen at `now`, a Monday morning)."""
    await _summary(application, now, period="lastweek", title="Weekly summary", chart=True)


async def low_stock_digest(application: Application, now: datetime) -> None:
    """The morning list of products at or below their threshold; nothing is sent when none are."""
    chat_ids = await subscribed_chats(application)
    if not chat_ids:
        return
    settings = _services(application).settings
    async with _services(application).read_factory() as session:
        products = await stock_db.low_stock(session, default_threshold=settings.low_stock_threshold)
    if not products:
        return
    day = local_time(now, settings.tz, "%a %d %b")
    text = lines(
        f"🌅 <b>Running low</b> this morning ({day}): {counted(len(products), 'product')}",
        low_stock_list(products, default_threshold=settings.low_stock_threshold),
        "/restock &lt;sku&gt; &lt;qty&gt; when the goods arrive.",
    )
    await broadcast(application, text, chat_ids=chat_ids)


def _job(body: JobBody) -> Callable[[PosContext], Awaitable[None]]:
    async def run(context: PosContext) -> None:
        await body(context.application, datetime.now(UTC))

    run.__name__ = body.__name__
    return run


def schedule(application: Application) -> None:
    """Schedule the pushes on the application's JobQueue, in the store's time zone.

    Called at every start (the subscriptions live in the database); calling it again replaces
    the jobs instead of doubling them.
    """
    job_queue = application.job_queue
    if job_queue is None:
        log.warning("no JobQueue (install python-telegram-bot[job-queue]): scheduled reports are off")
        return
    settings = _services(application).settings
    tz = settings.tz
    for name in (DAILY_JOB, WEEKLY_JOB, DIGEST_JOB):
        for job in job_queue.get_jobs_by_name(name):
            job.schedule_removal()
    job_queue.run_daily(_job(daily_summary), time=settings.daily_report_time.replace(tzinfo=tz), name=DAILY_JOB)
    job_queue.run_daily(
        _job(weekly_summary), time=MORNING_PUSH_TIME.replace(tzinfo=tz), days=(MONDAY,), name=WEEKLY_JOB
    )
    job_queue.run_daily(_job(low_stock_digest), time=MORNING_PUSH_TIME.replace(tzinfo=tz), name=DIGEST_JOB)
    log.info(
        "scheduled: daily summary %s, weekly summary Mondays %s, low-stock digest %s (%s)",
        settings.daily_report_time.strftime("%H:%M"),
        MORNING_PUSH_TIME.strftime("%H:%M"),
        MORNING_PUSH_TIME.strftime("%H:%M"),
        tz.key,
    )
